"""MeterProtocol: parsing, the clear refusal, and each protocol's serial defaults."""

from __future__ import annotations

import pytest

from m2c.devices.errors import SettingsError
from m2c.devices.protocol import MeterProtocol


def test_parse_gives_the_member_which_equals_its_string():
    assert MeterProtocol.parse("dlt645") is MeterProtocol.DLT645
    assert MeterProtocol.parse(MeterProtocol.MODBUS) is MeterProtocol.MODBUS
    assert MeterProtocol.DLT645 == "dlt645" and f"{MeterProtocol.MODBUS}" == "modbus"


@pytest.mark.parametrize("bad", ["dlms", "DLT645", "", None])
def test_bad_protocol_names_the_setting_and_the_choices(bad):
    with pytest.raises(SettingsError) as exc:
        MeterProtocol.parse(bad)
    assert str(exc.value) == f"--protocol {bad!r}: expected 'dlt645' or 'modbus'"
    with pytest.raises(SettingsError, match=r"^protocol 'dlms'"):
        MeterProtocol.parse("dlms", "protocol")


def test_defaults_dlt645_2400_8e1_modbus_9600_8n1():
    # DL/T 645-2007 §5: 8 data bits, even parity, 1 stop bit; SDM factory setting 9600 8N1.
    d, m = MeterProtocol.DLT645, MeterProtocol.MODBUS
    assert (d.baudrate, d.bytesize, d.parity, d.stopbits) == (2400, 8, "E", 1)
    assert (m.baudrate, m.bytesize, m.parity, m.stopbits) == (9600, 8, "N", 1)
    s = d.settings(2.5)
    assert (s.baudrate, s.framing, s.timeout_s) == (2400, "8E1", 2.5)
    # 11 bits per byte at 2400 bps: a 16-byte read request takes 16 * 11 / 2400 s
    assert s.seconds_for(16) == pytest.approx(16 * 11 / 2400)
    s = m.settings(1.0, baudrate=19200, framing="8E1")
    assert (s.baudrate, s.framing) == (19200, "8E1")
    assert m.settings().framing == "8N1"
