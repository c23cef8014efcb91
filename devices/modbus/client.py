"""Modbus meter client: read a register map from many unit ids over TCP or RTU, through pymodbus.

:class:`ModbusMeterClient` reads a :class:`~m2c.devices.modbus.registers.RegisterMap`
over TCP (``tcp:HOST:PORT`` or ``socket://HOST:PORT``) or RTU on a serial
port, using pymodbus's clients (retries and timeouts are pymodbus's own).
Serial settings default to :attr:`MeterProtocol.MODBUS <m2c.devices.protocol.MeterProtocol>`'s
(9600 8N1).

A float32 holds 24 significant bits, so import energy above 131 072 kWh is
no longer exact to 0.01 kWh: :meth:`ModbusMeterClient.read_energy_ckwh`
rounds to the nearest centi-kWh (core.units.kwh_to_ckwh).
"""

from __future__ import annotations

try:
    from pymodbus.client import ModbusSerialClient, ModbusTcpClient
    from pymodbus.exceptions import ModbusException
except ImportError as exc:  # pragma: no cover - pymodbus is a dependency of m2c
    raise ImportError(
        "Modbus meters need pymodbus >= 3.10 (SimDevice/SimData): pip install 'pymodbus>=3.10'"
    ) from exc

from m2c.core.units import kwh_to_ckwh
from m2c.devices.errors import ProtocolError, ReadFailedError, SettingsError, TransportError
from m2c.devices.modbus.registers import SDM_MAP, RegisterMap, registers_to_float
from m2c.devices.protocol import MeterProtocol
from m2c.devices.transport import SerialSettings, normalize_url


class ModbusReplyError(ProtocolError):
    """The meter answered with a Modbus exception response."""


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
    >>> from m2c.devices.modbus.emulator import ModbusEmulator
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
            s = settings or MeterProtocol.MODBUS.settings(timeout_s)
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
