"""Modbus electricity meters, one module per layer (pymodbus does the wire protocol).

* :mod:`~m2c.devices.modbus.registers` - register maps as data (:data:`SDM_MAP`),
  float32 <-> register conversion (no pymodbus needed);
* :mod:`~m2c.devices.modbus.client` - :class:`ModbusMeterClient` (TCP or RTU);
* :mod:`~m2c.devices.modbus.emulator` - :class:`ModbusEmulator`, many unit ids
  on one bus.

Importing this package imports pymodbus; :mod:`m2c.devices` itself does not,
so its users import this package on demand (inside the function that needs
Modbus).
"""

from m2c.devices.modbus.client import ModbusMeterClient, ModbusReplyError
from m2c.devices.modbus.emulator import ModbusEmulator
from m2c.devices.modbus.registers import (
    SDM_MAP,
    ModbusRegister,
    RegisterMap,
    float_to_registers,
    registers_to_float,
)

__all__ = [
    "SDM_MAP",
    "ModbusEmulator",
    "ModbusMeterClient",
    "ModbusRegister",
    "ModbusReplyError",
    "RegisterMap",
    "float_to_registers",
    "registers_to_float",
]
