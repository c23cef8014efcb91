"""Modbus meter emulator: many unit ids on one bus answering from a state provider (pymodbus).

:class:`ModbusEmulator` serves many unit ids on one bus with pymodbus's
server API (``SimDevice`` and ``SimData``, pymodbus >= 3.10), on TCP or on a
serial port / pty (RTU); each read refreshes the registers from a
:class:`~m2c.devices.state.StateProvider`. pymodbus runs its own asyncio
server in a thread, so this emulator does not use :mod:`m2c.devices.server`.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading

try:
    from pymodbus.server import ModbusSerialServer, ModbusTcpServer
    from pymodbus.simulator import DataType, SimData, SimDevice
except ImportError as exc:  # pragma: no cover - pymodbus is a dependency of m2c
    raise ImportError(
        "Modbus meters need pymodbus >= 3.10 (SimDevice/SimData): pip install 'pymodbus>=3.10'"
    ) from exc

from m2c.devices.errors import SettingsError, TransportError
from m2c.devices.modbus.registers import SDM_MAP, RegisterMap, float_to_registers
from m2c.devices.protocol import MeterProtocol
from m2c.devices.state import StateProvider
from m2c.devices.transport import SerialSettings


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
        s = settings or MeterProtocol.MODBUS.settings()
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
