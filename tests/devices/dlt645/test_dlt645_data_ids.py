"""Data-identifier table: formats, signs, dates, blocks, user extension."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from m2c.devices.dlt645.data_ids import DEFAULT_TABLE, Bcd, DataId, parse_di
from m2c.devices.errors import DataFormatError, SettingsError, UnknownDataIdError


def test_current_is_signed_bcd_in_milliamps():
    # XXX.XXX A, 3 bytes, sign in bit 7 of the top byte: -12.345 A
    # digits 012345 -> bytes low first 45 23 01 ; sign -> 45 23 81
    assert DEFAULT_TABLE.encode(0x02020100, -12345) == bytes([0x45, 0x23, 0x81])
    assert DEFAULT_TABLE.decode(0x02020100, bytes([0x45, 0x23, 0x81])) == -12345
    assert DEFAULT_TABLE.text(0x02020100, -12345) == "-12.345 A"


def test_power_and_voltage_steps():
    # active power XX.XXXX kW: 1.5 kW = 15000 steps of 0.1 W -> 00 50 01
    assert DEFAULT_TABLE.encode(0x02030000, 15000) == bytes([0x00, 0x50, 0x01])
    assert DEFAULT_TABLE.text(0x02030000, 15000) == "1.5000 kW"
    # voltage XXX.X V: 220.1 V = 2201 dV -> 01 22
    assert DEFAULT_TABLE.decode(0x02010100, bytes([0x01, 0x22])) == 2201


def test_date_and_time_formats():
    # 04 00 01 01 YYMMDDWW: 2024-03-15 is a Friday (WW = 5) -> wire WW DD MM YY
    assert DEFAULT_TABLE.encode(0x04000101, dt.date(2024, 3, 15)) == bytes([0x05, 0x15, 0x03, 0x24])
    assert DEFAULT_TABLE.encode(0x04000101, dt.date(2024, 3, 17))[0] == 0  # Sunday = 0
    assert DEFAULT_TABLE.decode(0x04000102, bytes([0x07, 0x30, 0x10])) == dt.time(10, 30, 7)
    with pytest.raises(DataFormatError):
        DEFAULT_TABLE.decode(0x04000102, bytes([0x07, 0x30, 0x25]))  # hour 25


def test_energy_block_has_five_registers():
    e = DEFAULT_TABLE.get(0x0001FF00)
    raw = b"".join(Bcd(8, 2).encode(v) for v in (100, 10, 20, 30, 40))
    assert e.fmt.nbytes == 20 and e.fmt.decode(raw) == (100, 10, 20, 30, 40)


def test_table_covers_the_issue_list():
    for di in (
        0x00010000,
        0x00010100,
        0x00010400,
        0x0001FF00,
        0x00020000,
        0x02010100,
        0x02020100,
        0x02030000,
        0x02060000,
        0x04000101,
        0x04000102,
        0x04000503,
        0x00900200,
    ):
        assert di in DEFAULT_TABLE


def test_user_adds_an_identifier_without_touching_the_codec():
    table = DEFAULT_TABLE.copy()
    table.add(DataId(0x02800008, "clock battery voltage", Bcd(4, 2), "V", None))
    assert table.text(0x02800008, table.decode(0x02800008, bytes([0x60, 0x03]))) == "3.60 V"
    assert 0x02800008 not in DEFAULT_TABLE
    with pytest.raises(SettingsError, match="already"):
        table.add(DataId(0x00010000, "dup", Bcd(8, 2)))
    with pytest.raises(UnknownDataIdError, match="12345678"):
        DEFAULT_TABLE.get(0x12345678)


def test_parse_di_forms():
    assert parse_di("00010000") == parse_di("00 01 00 00") == parse_di("0x00010000") == 0x00010000
    with pytest.raises(SettingsError, match="8 hex digits"):
        parse_di("0001")


def test_bcd_range_and_digit_errors():
    with pytest.raises(DataFormatError):
        Bcd(8, 2).encode(100_000_000)
    with pytest.raises(DataFormatError):
        Bcd(8, 2).encode(-1)
    with pytest.raises(DataFormatError):
        Bcd(8, 2).decode(bytes([0x0A, 0, 0, 0]))


@given(st.integers(-799_999, 799_999))
def test_signed_bcd_round_trip(v):
    assert Bcd(6, 3, True).decode(Bcd(6, 3, True).encode(v)) == v
