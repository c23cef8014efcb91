"""Transports: settings validation, real-vs-emulated classification, loop://, ptys, null modem."""

from __future__ import annotations

import pytest
import serial

from m2c.devices.errors import SettingsError, TransportError
from m2c.devices.transport import (
    InProcessTransport,
    NullModem,
    PtyPair,
    SerialSettings,
    is_real_port,
    normalize_url,
    open_transport,
    port_kind,
)


def test_settings_defaults_and_bits_per_byte():
    s = SerialSettings()
    assert (s.baudrate, s.bytesize, s.parity, s.stopbits) == (2400, 8, serial.PARITY_EVEN, 1)
    assert s.bits_per_byte == 11  # start + 8 data + parity + stop (8E1)
    assert SerialSettings(9600, "8N1").bits_per_byte == 10
    # 20 bytes at 2400 bps 8E1: 20 * 11 / 2400 = 0.091666... s
    assert s.seconds_for(20) == pytest.approx(220 / 2400)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"baudrate": 2401}, "baud rate"),
        ({"framing": "8X1"}, "framing"),
        ({"framing": "9E1"}, "framing"),
        ({"timeout_s": 0}, "timeout"),
        ({"inter_byte_timeout_s": -1}, "inter-byte"),
    ],
)
def test_settings_errors_state_the_expected_form(kwargs, match):
    with pytest.raises(SettingsError, match=match) as info:
        SerialSettings(**kwargs)
    assert "expected" in str(info.value)


def test_parse_settings():
    assert SerialSettings.parse("9600,8n1") == SerialSettings(9600, "8n1")
    with pytest.raises(SettingsError, match="BAUD"):
        SerialSettings.parse("fast")


@pytest.mark.parametrize(
    ("url", "kind"),
    [
        ("/dev/ttyUSB0", "real"),  # never opened: classified by name
        ("/dev/ttyS0", "real"),
        ("/dev/serial/by-id/usb-FTDI_FT232R-if00-port0", "real"),
        ("COM3", "real"),
        ("rfc2217://192.0.2.1:2217", "real"),
        ("socket://192.0.2.7:4001", "real"),  # an RS-485/Ethernet gateway
        ("tcp:10.0.0.5:502", "real"),
        ("loop://", "emulated"),
        ("socket://127.0.0.1:5000", "emulated"),
        ("tcp:localhost:5000", "emulated"),
        ("/dev/pts/7", "emulated"),
        ("inprocess://bus", "emulated"),
    ],
)
def test_port_kind(url, kind):
    assert port_kind(url) == kind
    assert is_real_port(url) == (kind == "real")


def test_url_errors():
    with pytest.raises(SettingsError, match="unknown scheme"):
        normalize_url("http://x")
    with pytest.raises(SettingsError, match="socket://HOST:PORT"):
        normalize_url("socket://nohostport")
    assert normalize_url("tcp:127.0.0.1:9") == "socket://127.0.0.1:9"


def test_loop_transport():
    with open_transport("loop://", SerialSettings(9600, "8N1", 0.1)) as t:
        t.write(b"\x68\x16")
        assert t.read(0.2) == b"\x68\x16"
        assert t.read(0.01) == b""


def test_open_missing_port_is_a_transport_error():
    with pytest.raises(TransportError, match="cannot open"):
        open_transport("/dev/m2c-no-such-port")


def test_pty_pair_is_emulated_and_carries_bytes_with_parity_set():
    pty = PtyPair()
    try:
        assert port_kind(pty.path) == "emulated"
        # Even parity is accepted by a pty but not enforced (no UART): bytes pass.
        with open_transport(pty.path, SerialSettings(2400, "8E1", 0.2)) as t:
            t.write(b"abc")
            assert pty.read_master(1.0) == b"abc"
            pty.write_master(b"\x68xyz")
            assert t.read(1.0) == b"\x68xyz"
            # Modem lines do not exist on a pty (see the transport docstring).
            with pytest.raises(OSError):
                _ = t.port.cts
    finally:
        pty.close()


def test_null_modem_connects_two_paths():
    nm = NullModem()
    try:
        with (
            open_transport(nm.path_a, SerialSettings(9600, "8N1", 0.2)) as a,
            open_transport(nm.path_b, SerialSettings(9600, "8N1", 0.2)) as b,
        ):
            a.write(b"ping")
            got = b""
            for _ in range(20):
                got += b.read(0.1)
                if len(got) >= 4:
                    break
            assert got == b"ping"
        assert port_kind(nm.path_a) == port_kind(nm.path_b) == "emulated"
    finally:
        nm.close()


def test_in_process_transport_never_waits():
    t = InProcessTransport(lambda b: b[::-1])
    t.write(b"ab")
    assert (t.read(10.0), t.read(10.0), t.synchronous) == (b"ba", b"", True)
