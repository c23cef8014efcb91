"""Modbus meters: the SDM register map, the pymodbus client against the pymodbus emulator."""

from __future__ import annotations

import pytest

from m2c.devices.errors import SettingsError
from m2c.devices.modbus import (
    SDM_MAP,
    ModbusEmulator,
    ModbusMeterClient,
    ModbusReplyError,
    float_to_registers,
    registers_to_float,
)
from m2c.devices.state import InMemoryState
from m2c.devices.transport import NullModem, SerialSettings


def test_float32_big_endian_registers():
    # 1206.42 as IEEE-754 float32 = 0x4496CD71 -> registers [0x4496, 0xCD71]
    assert float_to_registers(1206.42) == [0x4496, 0xCD71]
    assert registers_to_float([0x4496, 0xCD71]) == pytest.approx(1206.42, abs=1e-4)
    # 230.0 V = 0x43660000
    assert float_to_registers(230.0) == [0x4366, 0x0000]


def test_register_map_is_data():
    assert [(r.name, r.address) for r in SDM_MAP.registers][:3] == [
        ("voltage", 0x0000),
        ("current", 0x0006),
        ("active_power", 0x000C),
    ]
    assert SDM_MAP.get("import_energy").address == 0x0048
    assert SDM_MAP.span == (0x0000, 0x004C)  # up to export energy 0x004A + 2 registers
    with pytest.raises(SettingsError, match="import_energy"):
        SDM_MAP.get("kwh")


@pytest.fixture
def modbus_state():
    s = InMemoryState.synthetic(4, seed=8)
    s.energy[0, 0] = 120642  # 1206.42 kWh
    s.voltage_dv[1, 0] = 2301  # 230.1 V
    s.current_ma[1, 0] = 5250  # 5.25 A
    s.power_w[1] = 1208
    return s


def test_modbus_tcp_many_units(modbus_state):
    with ModbusEmulator(modbus_state).serve_tcp() as emu:
        assert emu.url.startswith("socket://127.0.0.1:")
        with ModbusMeterClient.open(emu.url) as client:
            assert client.read_energy_ckwh(1) == 120642
            for unit in range(1, 5):
                assert client.read_energy_ckwh(unit) == modbus_state.energy_ckwh(unit - 1)
            v = client.read_all(2)
            assert v["voltage"] == pytest.approx(230.1, abs=1e-4)
            assert v["current"] == pytest.approx(5.25)
            assert v["active_power"] == 1208.0
            # the registers follow the state at read time
            modbus_state.energy[2, 0] += 1
            assert client.read_energy_ckwh(3) == modbus_state.energy_ckwh(2)


def test_modbus_unknown_unit_fails_typed(modbus_state):
    from m2c.devices.errors import DeviceError

    with (
        ModbusEmulator(modbus_state).serve_tcp() as emu,
        ModbusMeterClient.open(emu.url, timeout_s=0.3, retries=0) as client,
        pytest.raises(DeviceError),
    ):
        client.read_energy_ckwh(99)


def test_modbus_rtu_over_a_null_modem(modbus_state):
    modem = NullModem()
    try:
        with (
            ModbusEmulator(modbus_state).serve_serial(modem.path_a, SerialSettings(9600, "8N1")),
            ModbusMeterClient.open(
                modem.path_b, SerialSettings(9600, "8N1"), timeout_s=1.0
            ) as client,
        ):
            assert client.read_energy_ckwh(1) == 120642
            assert client.read(2, "voltage") == pytest.approx(230.1, abs=1e-4)
    finally:
        modem.close()


def test_emulator_unit_range_validated():
    with pytest.raises(SettingsError, match=r"1\.\.247"):
        ModbusEmulator(InMemoryState.synthetic(248))
    assert issubclass(ModbusReplyError, Exception)
