"""Modbus meter register maps: which input register holds which reading (data, no I/O).

DIN-rail meters such as the Eastron SDM series publish their readings as
IEEE-754 float32 values in *input registers* (function 04), two 16-bit
registers each, big-endian word order. :data:`SDM_MAP` is that map as data
(voltage 0x0000, current 0x0006, active power 0x000C, power factor 0x001E,
frequency 0x0046, import energy 0x0048, export energy 0x004A); another
meter is another :class:`RegisterMap`. :func:`float_to_registers` and
:func:`registers_to_float` convert a reading to and from its two registers.

A float32 holds 24 significant bits, so import energy above 131 072 kWh is
no longer exact to 0.01 kWh (the client rounds to the nearest centi-kWh).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from m2c.devices.errors import SettingsError


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


def float_to_registers(value: float) -> list[int]:
    """float -> two 16-bit registers, IEEE-754 float32 big-endian."""
    hi, lo = struct.unpack(">HH", struct.pack(">f", value))
    return [hi, lo]


def registers_to_float(regs: list[int]) -> float:
    """Two 16-bit registers, big-endian -> float."""
    return struct.unpack(">f", struct.pack(">HH", regs[0], regs[1]))[0]
