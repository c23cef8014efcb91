"""Start an emulated meter bus (DL/T 645 or Modbus) on a pty or a local TCP port.

One function, :func:`start_emulator`, behind ``m2c emulate``: it builds the
bus for a protocol around a :class:`~m2c.devices.state.StateProvider`,
serves it where asked, and returns a :class:`RunningEmulator` that says
where clients connect. The state provider is a parameter, so the simulation
can serve its own fleet arrays the same way the CLI serves a static file.
:func:`serve_until` then keeps the caller waiting (and, for a simulated
fleet, advancing it) until a duration passes or Ctrl-C.
"""

from __future__ import annotations

import os
import re
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass

from m2c.devices.dlt645.emulator import Dlt645Bus, MeterSecurity
from m2c.devices.errors import PortUnavailableError, SettingsError, TransportError
from m2c.devices.protocol import MeterProtocol
from m2c.devices.server import (
    DEFAULT_IDLE_TIMEOUT_S,
    DEFAULT_MAX_CONNECTIONS,
    PtyServer,
    ReplyTiming,
    TcpServer,
)
from m2c.devices.state import StateProvider
from m2c.devices.transport import NullModem


@dataclass
class RunningEmulator:
    """An emulator being served; :attr:`where` is the path or URL to give clients.

    :attr:`server` is the DL/T 645 :class:`PtyServer` or :class:`TcpServer`
    (None for Modbus, served by pymodbus).
    """

    protocol: MeterProtocol
    where: str
    meters: int
    _closers: tuple
    server: PtyServer | TcpServer | None = None

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
    protocol: MeterProtocol | str,
    port: str,
    state: StateProvider,
    *,
    timing: ReplyTiming | None = None,
    security: MeterSecurity | None = None,
    max_connections: int = DEFAULT_MAX_CONNECTIONS,
    idle_timeout_s: float | None = DEFAULT_IDLE_TIMEOUT_S,
) -> RunningEmulator:
    """Serve ``state`` as a bus of ``protocol`` meters on ``port`` (see :func:`parse_port`).

    DL/T 645 meters answer by their address; Modbus meters as unit ids
    1..N (at most 247 on one bus). ``timing`` applies to DL/T 645 only
    (pymodbus answers as fast as it can), and so do ``max_connections`` and
    ``idle_timeout_s`` (see :class:`~m2c.devices.server.TcpServer`; a pty
    has one stream).

    Raises
    ------
    SettingsError
        For a malformed ``port`` or limit.
    PortUnavailableError
        When the port cannot be served on (TCP port in use, an address that
        is not this machine's, no pty available); the message names the port.
    """
    protocol = MeterProtocol.parse(protocol)
    kind, host, number = parse_port(port)
    n = state.meter_count()
    where = "a pty" if kind == "pty" else f"{host}:{number}"
    try:
        if protocol is MeterProtocol.DLT645:
            bus = Dlt645Bus(state, security=security)
            if kind == "pty":
                pty = PtyServer(bus, timing)
                return RunningEmulator(protocol, pty.path, n, (pty.close,), pty)
            tcp = TcpServer(
                bus,
                host,
                number,
                timing,
                max_connections=max_connections,
                idle_timeout_s=idle_timeout_s,
            )
            return RunningEmulator(protocol, tcp.url, n, (tcp.close,), tcp)
        from m2c.devices.modbus.emulator import ModbusEmulator  # pymodbus on demand

        emu = ModbusEmulator(state)
        if kind == "tcp":
            _probe_tcp(host, number)
            emu.serve_tcp(host, number)
            return RunningEmulator(protocol, emu.url, n, (emu.close,))
        modem = NullModem()  # pymodbus opens a path: give it one end, clients the other
        try:
            emu.serve_serial(modem.path_a)
        except BaseException:
            modem.close()
            raise
        return RunningEmulator(protocol, modem.path_b, n, (emu.close, modem.close))
    except OSError as exc:
        raise PortUnavailableError(
            f"port {port!r}: cannot serve on {where}: {_reason(exc)}"
        ) from None
    except PortUnavailableError:
        raise
    except TransportError as exc:  # pymodbus could not start (its reason is in the text)
        raise PortUnavailableError(
            f"port {port!r}: cannot serve on {where}: {_reason(exc)}"
        ) from None


def _reason(exc: BaseException) -> str:
    """A short reason for a port that cannot be used: 'address already in use' etc."""
    # os.strerror: without create_server's "(while attempting to bind ...)"
    text = os.strerror(exc.errno) if isinstance(exc, OSError) and exc.errno else str(exc)
    return text[:1].lower() + text[1:] if text else type(exc).__name__


def _probe_tcp(host: str, port: int) -> None:
    """Bind ``host:port`` once and let go: raises the OSError a server would get.

    pymodbus reports a busy port only as "Could not start listen" (and logs
    its own line); probing first gives the operating system's reason.
    """
    if port:
        with socket.create_server((host, port)):
            pass


def serve_until(
    duration: float | None = None,
    *,
    every_s: float | None = None,
    tick: Callable[[], None] | None = None,
) -> None:
    """Keep serving until ``duration`` seconds have passed (None: until Ctrl-C).

    The emulator's servers answer on their own threads; this only blocks the
    caller. With ``tick`` and ``every_s``, ``tick()`` is called every
    ``every_s`` seconds (``m2c emulate --scenario --day-seconds``: the
    simulation behind the served meters advances one day per call). Ctrl-C
    returns normally.
    """
    pacing = bool(tick and every_s)
    deadline = None if duration is None else time.monotonic() + duration
    next_tick = time.monotonic() + (every_s or 0)
    try:
        while deadline is None or time.monotonic() < deadline:
            time.sleep(0.05 if pacing else 0.2)
            if pacing and time.monotonic() >= next_tick:
                next_tick += every_s
                tick()
    except KeyboardInterrupt:
        pass
