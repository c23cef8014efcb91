"""Start an emulated meter bus (DL/T 645 or Modbus) on a pty or a local TCP port.

One function, :func:`start_emulator`, behind ``m2c emulate``: it builds the
bus for a protocol around a :class:`~m2c.devices.state.StateProvider`,
serves it where asked, and returns a :class:`RunningEmulator` that says
where clients connect. The state provider is a parameter, so the simulation
can serve its own fleet arrays the same way the CLI serves a static file.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from m2c.devices.dlt645_emulator import Dlt645Bus, MeterSecurity, PtyServer, ReplyTiming, TcpServer
from m2c.devices.errors import SettingsError
from m2c.devices.state import StateProvider
from m2c.devices.transport import NullModem

PROTOCOLS = ("dlt645", "modbus")


@dataclass
class RunningEmulator:
    """An emulator being served; :attr:`where` is the path or URL to give clients."""

    protocol: str
    where: str
    meters: int
    _closers: tuple

    def close(self) -> None:
        """Stop serving."""
        for c in self._closers:
            c()

    def __enter__(self) -> RunningEmulator:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def parse_port(port: str) -> tuple[str, str, int]:
    """``"pty"``, ``"tcp:PORT"`` or ``"tcp:HOST:PORT"`` -> (kind, host, port).

    Raises
    ------
    SettingsError
        For any other form.
    """
    if port == "pty":
        return "pty", "", 0
    m = re.fullmatch(r"tcp:(?:([\w.\-]+|\[[0-9a-fA-F:]+\]):)?(\d{1,5})", port)
    if not m or int(m.group(2)) > 65535:
        raise SettingsError(f'--port {port!r}: expected "pty", "tcp:PORT" or "tcp:HOST:PORT"')
    return "tcp", (m.group(1) or "127.0.0.1").strip("[]"), int(m.group(2))


def start_emulator(
    protocol: str,
    port: str,
    state: StateProvider,
    *,
    timing: ReplyTiming | None = None,
    security: MeterSecurity | None = None,
) -> RunningEmulator:
    """Serve ``state`` as a bus of ``protocol`` meters on ``port`` (see :func:`parse_port`).

    DL/T 645 meters answer by their address; Modbus meters as unit ids
    1..N (at most 247 on one bus). ``timing`` applies to DL/T 645 only
    (pymodbus answers as fast as it can).
    """
    if protocol not in PROTOCOLS:
        raise SettingsError(f"--protocol {protocol!r}: expected one of {PROTOCOLS}")
    kind, host, number = parse_port(port)
    n = state.meter_count()
    if protocol == "dlt645":
        bus = Dlt645Bus(state, security=security)
        if kind == "pty":
            server: PtyServer | TcpServer = PtyServer(bus, timing)
            return RunningEmulator(protocol, server.path, n, (server.close,))
        server = TcpServer(bus, host, number, timing)
        return RunningEmulator(protocol, server.url, n, (server.close,))
    from m2c.devices.modbus_meter import ModbusEmulator

    emu = ModbusEmulator(state)
    if kind == "tcp":
        emu.serve_tcp(host, number)
        return RunningEmulator(protocol, emu.url, n, (emu.close,))
    modem = NullModem()  # pymodbus opens a path: give it one end, clients the other
    emu.serve_serial(modem.path_a)
    return RunningEmulator(protocol, modem.path_b, n, (emu.close, modem.close))
