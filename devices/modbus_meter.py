"""Modbus RTU/TCP electricity meters through pymodbus: a register map, a client, an emulator.

DIN-rail meters such as the Eastron SDM series publish their readings as
IEEE-754 float32 values in *input registers* (function 04), two 16-bit
registers each, big-endian word order. :data:`SDM_MAP` is that map as data
(voltage 0x0000, current 0x0006, active power 0x000C, power factor 0x001E,
frequency 0x0046, import energy 0x0048, export energy 0x004A); another
meter is another :class:`RegisterMap`.

:class:`ModbusMeterClient` reads it over TCP (``tcp:HOST:PORT`` or
``socket://HOST:PORT``) or RTU on a serial port, using pymodbus's clients
(retries and timeouts are pymodbus's own). :class:`ModbusEmulator` serves
many unit ids on one bus with pymodbus's server API (``SimDevice`` and
``SimData``, pymodbus >= 3.10), on TCP or on a serial port / pty (RTU); each
read refreshes the registers from a :class:`~m2c.devices.state.StateProvider`.

A float32 holds 24 significant bits, so import energy above 131 072 kWh is
no longer exact to 0.01 kWh: :meth:`ModbusMeterClient.read_energy_ckwh`
rounds to the nearest centi-kWh (core.units.kwh_to_ckwh).
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import struct
import threading
from dataclasses import dataclass

from pymodbus.client import ModbusSerialClient, ModbusTcpClient
from pymodbus.exceptions import ModbusException
from pymodbus.server import ModbusSerialServer, ModbusTcpServer
from pymodbus.simulator import DataType, SimData, SimDevice

from m2c.core.units import kwh_to_ckwh
from m2c.devices.errors import ProtocolError, ReadFailedError, SettingsError, TransportError
from m2c.devices.state import StateProvider
from m2c.devices.transport import SerialSettings, normalize_url


@dataclass(frozen=True)
class ModbusRegister:
    """One float32 reading: name, first register address (0-based), unit, decimals shown."""

    name: str
    address: int
    unit: str
    decimals: int = 2


@dataclass(frozen=True)
class RegisterMap:
    """A meter model's register map (input registers, float32, big-endian words)."""

    model: str
    registers: tuple[ModbusRegister, ...]

    def get(self, name: str) -> ModbusRegister:
        """The register called ``name``; raises SettingsError listing the known names."""
        for r in self.registers:
            if r.name == name:
                return r
        raise SettingsError(
            f"register {name!r} is not in the {self.model} map; expected one of "
            f"{[r.name for r in self.registers]}"
        )

    @property
    def span(self) -> tuple[int, int]:
        """First register address and number of registers covering the map."""
        lo = min(r.address for r in self.registers)
        hi = max(r.address for r in self.registers) + 2
        return lo, hi - lo


#: Eastron SDM120/SDM630-style map (input registers, float32 big-endian).
SDM_MAP = RegisterMap(
    "eastron-sdm",
    (
        ModbusRegister("voltage", 0x0000, "V"),
        ModbusRegister("current", 0x0006, "A"),
        ModbusRegister("active_power", 0x000C, "W", 1),
        ModbusRegister("power_factor", 0x001E, "", 3),
        ModbusRegister("frequency", 0x0046, "Hz"),
        ModbusRegister("import_energy", 0x0048, "kWh"),
        ModbusRegister("export_energy", 0x004A, "kWh"),
    ),
)


class ModbusReplyError(ProtocolError):
    """The meter answered with a Modbus exception response."""


def float_to_registers(value: float) -> list[int]:
    """float -> two 16-bit registers, IEEE-754 float32 big-endian."""
    hi, lo = struct.unpack(">HH", struct.pack(">f", value))
    return [hi, lo]


def registers_to_float(regs: list[int]) -> float:
    """Two 16-bit registers, big-endian -> float."""
    return struct.unpack(">f", struct.pack(">HH", regs[0], regs[1]))[0]


def _host_port(url: str) -> tuple[str, int] | None:
    url = normalize_url(url)
    if url.startswith("socket://"):
        host, _, port = url[len("socket://") :].rpartition(":")
        return host.strip("[]"), int(port.split("/")[0].split("?")[0])
    if "://" in url:
        raise SettingsError(
            f"Modbus port {url!r}: expected tcp:HOST:PORT, socket://HOST:PORT or a serial path"
        )
    return None


class ModbusMeterClient:
    """Read a Modbus meter map from many unit ids on one TCP link or RTU bus.

    Examples
    --------
    >>> from m2c.devices.state import InMemoryState
    >>> state = InMemoryState.synthetic(2, seed=4)
    >>> with ModbusEmulator(state).serve_tcp() as emu:                     # doctest: +SKIP
    ...     client = ModbusMeterClient.open(emu.url)
    ...     client.read_energy_ckwh(1) == state.energy_ckwh(0)
    True
    """

    def __init__(
        self,
        client: ModbusTcpClient | ModbusSerialClient,
        url: str,
        register_map: RegisterMap = SDM_MAP,
    ):
        self.client = client
        self.url = url
        self.register_map = register_map

    @classmethod
    def open(
        cls,
        url: str,
        settings: SerialSettings | None = None,
        register_map: RegisterMap = SDM_MAP,
        timeout_s: float = 1.0,
        retries: int = 2,
    ) -> ModbusMeterClient:
        """Connect to ``tcp:HOST:PORT`` / ``socket://HOST:PORT`` or a serial path (RTU)."""
        hp = _host_port(url)
        if hp is not None:
            client: ModbusTcpClient | ModbusSerialClient = ModbusTcpClient(
                hp[0], port=hp[1], timeout=timeout_s, retries=retries
            )
        else:
            s = settings or SerialSettings(9600, "8N1", timeout_s)
            client = ModbusSerialClient(
                url,
                baudrate=s.baudrate,
                bytesize=s.bytesize,
                parity=s.parity,
                stopbits=s.stopbits,
                timeout=timeout_s,
                retries=retries,
            )
        if not client.connect():
            raise TransportError(f"cannot connect to Modbus meter at {url!r}")
        return cls(client, normalize_url(url), register_map)

    def read(self, unit: int, name: str) -> float:
        """Read register ``name`` of unit ``unit`` as a float in its unit."""
        reg = self.register_map.get(name)
        try:
            rr = self.client.read_input_registers(reg.address, count=2, device_id=unit)
        except ModbusException as exc:
            raise ReadFailedError(
                f"unit {unit}", name, 1 + getattr(self.client, "retries", 0), exc
            ) from None
        if rr.isError():
            raise ModbusReplyError(f"unit {unit}, {name} (register {reg.address:#06x}): {rr}")
        return registers_to_float(list(rr.registers))

    def read_all(self, unit: int) -> dict[str, float]:
        """Every register of the map for one unit."""
        return {r.name: self.read(unit, r.name) for r in self.register_map.registers}

    def read_energy_ckwh(self, unit: int) -> int:
        """Import active energy in centi-kWh (m2c's energy unit)."""
        return int(kwh_to_ckwh(self.read(unit, "import_energy")))

    def close(self) -> None:
        """Close the connection."""
        self.client.close()

    def __enter__(self) -> ModbusMeterClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _free_port(host: str) -> int:
    with contextlib.closing(socket.socket(socket.AF_INET, socket.SOCK_STREAM)) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


class ModbusEmulator:
    """Many Modbus meters (unit ids) on one bus, answering from a state provider.

    Parameters
    ----------
    state : StateProvider
        Meter ``m`` answers as unit id ``first_unit + m``.
    register_map : RegisterMap
        The map served (every register float32).
    first_unit : int
        Unit id of meter 0 (Modbus unit ids are 1..247).
    """

    def __init__(
        self, state: StateProvider, register_map: RegisterMap = SDM_MAP, first_unit: int = 1
    ):
        n = state.meter_count()
        if not first_unit >= 1 or first_unit + n - 1 > 247:
            raise SettingsError(f"{n} meters from unit {first_unit}: Modbus unit ids are 1..247")
        self.state = state
        self.register_map = register_map
        self.first_unit = first_unit
        self.url = ""
        self._loop: asyncio.AbstractEventLoop | None = None
        self._server: ModbusTcpServer | ModbusSerialServer | None = None
        self._thread: threading.Thread | None = None

    def values(self, meter: int) -> dict[str, float]:
        """Current readings of ``meter`` from the state provider, in the map's units."""
        meas = self.state.measurements(meter)
        return {
            "voltage": meas.voltage_dv[0] / 10,
            "current": meas.current_ma[0] / 1000,
            "active_power": float(meas.power_w),
            "power_factor": meas.pf_milli / 1000,
            "frequency": meas.frequency_chz / 100,
            "import_energy": self.state.energy_ckwh(meter, 0) / 100,
            "export_energy": self.state.energy_ckwh(meter, 0, reverse=True) / 100,
        }

    def _device(self, meter: int) -> SimDevice:
        start, count = self.register_map.span

        async def refresh(fc, start_address, address, count_, registers, set_values):
            # Fill the requested window from the state provider at read time.
            vals = self.values(meter)
            for r in self.register_map.registers:
                if r.name in vals:
                    off = r.address - start_address
                    registers[off : off + 2] = float_to_registers(vals[r.name])
            return None

        return SimDevice(
            self.first_unit + meter,
            simdata=[SimData(start, count=count, values=0, datatype=DataType.REGISTERS)],
            action=refresh,
        )

    def _run(self, make_server, ready: threading.Event, errors: list) -> None:
        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        self._loop = loop

        async def main() -> None:
            try:
                self._server = make_server()
                await self._server.serve_forever(background=True)
            except Exception as exc:  # reported to the starting thread
                errors.append(exc)
                ready.set()
                return
            ready.set()
            await self._server.serving

        try:
            loop.run_until_complete(main())
        finally:
            loop.close()

    def _start(self, make_server, what: str) -> ModbusEmulator:
        ready, errors = threading.Event(), []
        devices = [self._device(m) for m in range(self.state.meter_count())]
        self._thread = threading.Thread(
            target=self._run,
            args=(lambda: make_server(devices), ready, errors),
            daemon=True,
            name="m2c-modbus-emulator",
        )
        self._thread.start()
        if not ready.wait(10.0) or errors:
            raise TransportError(
                f"Modbus emulator could not start on {what}: {errors[0] if errors else 'timeout'}"
            )
        return self

    def serve_tcp(self, host: str = "127.0.0.1", port: int = 0) -> ModbusEmulator:
        """Serve Modbus TCP on ``host:port`` (0 = a free port); sets :attr:`url`."""
        port = port or _free_port(host)
        self.url = f"socket://{host}:{port}"
        return self._start(lambda d: ModbusTcpServer(d, address=(host, port)), self.url)

    def serve_serial(self, path: str, settings: SerialSettings | None = None) -> ModbusEmulator:
        """Serve Modbus RTU on a serial port or a pty path (e.g. a NullModem end)."""
        s = settings or SerialSettings(9600, "8N1")
        self.url = path
        return self._start(
            lambda d: ModbusSerialServer(
                d,
                port=path,
                baudrate=s.baudrate,
                bytesize=s.bytesize,
                parity=s.parity,
                stopbits=s.stopbits,
                timeout=s.timeout_s,
            ),
            path,
        )

    def close(self) -> None:
        """Stop the server and its thread."""
        if self._loop is not None and self._server is not None and not self._loop.is_closed():
            with contextlib.suppress(Exception):
                asyncio.run_coroutine_threadsafe(self._server.shutdown(), self._loop).result(5.0)
        if self._thread is not None:
            self._thread.join(timeout=5.0)

    def __enter__(self) -> ModbusEmulator:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
