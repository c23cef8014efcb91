"""DL/T 645 client against the emulated bus: in-process, over a pty pair, over TCP."""

from __future__ import annotations

import datetime as dt
import logging

import pytest

from m2c.devices import dlt645
from m2c.devices.dlt645 import Password
from m2c.devices.dlt645.client import Dlt645Client
from m2c.devices.dlt645.data_ids import STATUS3_RELAY_OPEN
from m2c.devices.dlt645.emulator import Dlt645Bus, MeterSecurity
from m2c.devices.errors import (
    AddressMismatchError,
    ErrorFlag,
    MeterReplyError,
    ReadFailedError,
    RelayControlRefusedError,
    SettingsError,
    UnknownDataIdError,
)
from m2c.devices.server import PtyServer, ReplyTiming
from m2c.devices.state import InMemoryState
from m2c.devices.transport import InProcessTransport, SerialSettings, open_transport

M1 = "000000000001"
T0 = dt.datetime(2024, 3, 15, 10, 30, 0)  # the emulated meters' clock (conftest.py)
CONTROL_PASSWORD = Password(2, "000000")  # level 02, MeterSecurity's default


@pytest.fixture(params=["inprocess", "pty", "tcp"])
def client(request, bus):
    """A client with the control password, on each kind of transport."""
    if request.param == "inprocess":
        yield Dlt645Client(InProcessTransport(bus.handle_bytes), password=CONTROL_PASSWORD)
        return
    server = PtyServer(bus) if request.param == "pty" else None
    if server is None:
        from m2c.devices.server import TcpServer

        server = TcpServer(bus)
    url = server.path if request.param == "pty" else server.url
    t = open_transport(url, SerialSettings(2400, "8E1", 1.0))
    try:
        yield Dlt645Client(t, timeout_s=1.0, password=CONTROL_PASSWORD)
    finally:
        t.close()
        server.close()


def test_read_energy_and_text(client, state):
    assert client.read_energy_ckwh(M1) == 120642
    assert client.read_text(M1, 0x00010000) == "1206.42 kWh"
    assert client.read_energy_ckwh(M1, tariff=4) == 60642
    assert client.read_energy_ckwh("000000000003") == state.energy_ckwh(2)
    # tariff registers of the synthetic meters sum to the total
    assert sum(client.read(M1, 0x0001FF00)[1:]) == client.read_energy_ckwh(M1) == 120642


def test_read_and_set_time(client, state):
    assert client.read_time(M1) == T0
    new = dt.datetime(2024, 3, 16, 8, 0, 5)
    client.set_time(M1, new)
    assert client.read_time(M1) == new
    assert state.clock(0) == new and state.clock(1) == T0  # other meters untouched


def test_trip_and_close(client, state):
    assert client.relay_closed(M1)
    client.trip(M1)
    assert not state.relay_closed(0) and not client.relay_closed(M1)
    assert client.read(M1, 0x04000503) & STATUS3_RELAY_OPEN
    client.close(M1)
    assert state.relay_closed(0) and client.relay_closed(M1)


def test_wrong_password_is_a_meter_error_naming_the_meter(client):
    client.password = Password(2, "999999")
    with pytest.raises(MeterReplyError) as info:
        client.trip(M1)
    assert info.value.flags == ErrorFlag.PASSWORD and M1 in str(info.value)
    # level 04 is right for writes but not privileged enough for relay control
    client.password = Password(4, "000000")
    client.set_time(M1, T0)
    with pytest.raises(MeterReplyError, match="PASSWORD"):
        client.trip(M1)


def test_no_data_replies(client):
    with pytest.raises(MeterReplyError) as info:
        client.read(M1, 0x00900200)  # synthetic meters keep no prepaid balance
    assert info.value.flags == ErrorFlag.NO_DATA and "00900200" in str(info.value)
    with pytest.raises(UnknownDataIdError):
        client.read(M1, 0x12345678)  # not in the table: refused before sending


def test_unknown_meter_times_out_naming_meter_and_di(bus):
    client = Dlt645Client(InProcessTransport(bus.handle_bytes), retries=2, backoff_s=0)
    with pytest.raises(ReadFailedError) as info:
        client.read_energy_ckwh("000000000099")
    err = info.value
    assert (err.address, err.item, err.attempts) == ("000000000099", "DI 00010000", 3)
    assert "000000000099" in str(err) and "00010000" in str(err)


def test_timeout_over_a_pty(pty_server):
    with open_transport(pty_server.path, SerialSettings(2400, "8E1", 0.1)) as t:
        client = Dlt645Client(t, timeout_s=0.1, retries=1, backoff_s=0.01)
        with pytest.raises(ReadFailedError, match="000000000099"):
            client.read_energy_ckwh("000000000099")
        assert client.stats["requests"] == 2


def test_reply_from_the_wrong_address_is_rejected(bus):
    def impostor(data: bytes) -> bytes:
        # every reply comes back re-addressed to meter ...02 (valid checksum)
        out = b""
        for f in dlt645.StreamDecoder().feed(data):
            for r in bus.handle(f):
                out += dlt645.encode_frame(dlt645.Frame("000000000002", r.control, r.data))
        return out

    client = Dlt645Client(InProcessTransport(impostor), retries=1, backoff_s=0)
    with pytest.raises(ReadFailedError) as info:
        client.read_energy_ckwh(M1)
    assert isinstance(info.value.last_error, AddressMismatchError)
    assert client.stats["rejected"] == 2


def test_follow_up_frames_are_joined(state):
    bus = Dlt645Bus(state, max_payload=8)  # 20-byte block -> 8 + 8 + 4 bytes
    client = Dlt645Client(InProcessTransport(bus.handle_bytes))
    assert client.read(M1, 0x0001FF00) == (120642, 10000, 20000, 30000, 60642)
    assert client.stats["requests"] == 3  # 11H, then 12H seq 1 and seq 2


def test_broadcast_time_and_read_address(state):
    single = InMemoryState(["000102030425"], now=lambda: T0)
    client = Dlt645Client(InProcessTransport(Dlt645Bus(single).handle_bytes))
    assert client.read_address() == "000102030425"
    client.broadcast_time(dt.datetime(2025, 1, 2, 3, 4, 5))
    assert single.clock(0) == dt.datetime(2025, 1, 2, 3, 4, 5)


def test_expired_or_held_control_is_refused(bus, state):
    client = Dlt645Client(InProcessTransport(bus.handle_bytes), password=CONTROL_PASSWORD)
    with pytest.raises(MeterReplyError, match="OTHER"):  # valid-until already past
        client.relay(M1, dlt645.RelayAction.TRIP, now=T0 - dt.timedelta(hours=1))
    client.relay(M1, dlt645.RelayAction.HOLD, now=T0)
    with pytest.raises(MeterReplyError, match="OTHER"):  # held on (保电): no trip
        client.relay(M1, dlt645.RelayAction.TRIP, now=T0)
    assert state.relay_closed(0)


class _FakeRealPort(InProcessTransport):
    """An emulator behind a URL that looks like a USB adapter (never opened)."""

    def __init__(self, handler):
        super().__init__(handler)
        self.url = "/dev/ttyUSB0"


def test_relay_control_refused_on_real_port_without_flag(bus, state):
    client = Dlt645Client(_FakeRealPort(bus.handle_bytes), password=CONTROL_PASSWORD)
    with pytest.raises(RelayControlRefusedError, match="allow-relay-control"):
        client.trip(M1)
    assert state.relay_closed(0)  # nothing was sent
    assert client.stats["requests"] == 0
    assert client.read_energy_ckwh(M1) == 120642  # reading is always allowed
    allowed = Dlt645Client(
        _FakeRealPort(bus.handle_bytes), password=CONTROL_PASSWORD, allow_relay_control=True
    )
    allowed.trip(M1)
    assert not state.relay_closed(0)


def test_passwords_never_logged_or_printed(state, caplog):
    secret = "975318"
    bus = Dlt645Bus(state, security=MeterSecurity({2: secret, 4: secret}))
    client = Dlt645Client(InProcessTransport(bus.handle_bytes), password=Password(2, secret))
    with caplog.at_level(logging.DEBUG, logger="m2c.devices"):
        client.trip(M1)
        client.set_time(M1, T0)
    assert not state.relay_closed(0)
    text = caplog.text + repr(client) + repr(client.password) + repr(bus.security)
    # neither the digits nor their wire form (BCD low byte first: 18 53 97)
    assert secret not in text and "18 53 97" not in text and "185397" not in text
    assert "not shown" in caplog.text


def test_client_settings_validated():
    t = InProcessTransport(lambda b: b"")
    with pytest.raises(SettingsError, match="timeout"):
        Dlt645Client(t, timeout_s=0)
    with pytest.raises(SettingsError, match="operator"):
        Dlt645Client(t, operator="12")
    with pytest.raises(SettingsError, match="password"):
        Dlt645Client(t).set_time(M1, T0)


def test_reply_delay_is_applied(bus):
    timing = ReplyTiming(0.0, SerialSettings(2400, "8E1"))
    # read reply for 00 01 00 00: 4 FE + 12 + 8 data = 24 bytes; 24 * 11 / 2400 = 0.11 s
    assert timing.delay_for(24) == pytest.approx(24 * 11 / 2400)
    with PtyServer(bus, ReplyTiming(0.05)) as server, open_transport(server.path) as t:
        assert Dlt645Client(t, timeout_s=1.0).read_energy_ckwh(M1) == 120642


class _LineSettingsOnly:
    """A pty seen by pyserial's RFC 2217 PortManager: line settings and modem
    lines are kept here instead of reaching the pty, which cannot change them
    once open (EINVAL) and has no modem lines (ENOTTY): see transport.py."""

    _LOCAL = ("rts", "dtr", "break_condition", "baudrate", "bytesize", "parity", "stopbits")
    rts = dtr = break_condition = cts = dsr = ri = cd = False

    def __init__(self, port):
        object.__setattr__(self, "port", port)

    def __getattr__(self, name):
        return getattr(self.port, name)

    def __setattr__(self, name, value):
        if name in self._LOCAL:
            object.__setattr__(self, name, value)
        else:
            setattr(self.port, name, value)


@pytest.mark.filterwarnings("ignore::DeprecationWarning:serial.rfc2217")
def test_rfc2217_to_an_emulator_on_a_pty(pty_server, state):
    """rfc2217:// client -> TCP 127.0.0.1 -> pyserial PortManager -> pty -> emulator."""
    import socket
    import threading

    import serial
    import serial.rfc2217

    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    stop = threading.Event()

    class _Writer:
        def __init__(self, conn):
            self.write = conn.sendall

    def serve():
        conn, _ = listener.accept()
        conn.settimeout(0.05)
        ser = serial.serial_for_url(pty_server.path, timeout=0.05)
        manager = serial.rfc2217.PortManager(_LineSettingsOnly(ser), _Writer(conn))

        def to_net():
            while not stop.is_set():
                data = ser.read(ser.in_waiting or 1)
                if data:
                    conn.sendall(b"".join(manager.escape(data)))

        threading.Thread(target=to_net, daemon=True).start()
        while not stop.is_set():
            try:
                data = conn.recv(1024)
            except TimeoutError:
                continue
            if not data:
                break
            ser.write(b"".join(manager.filter(data)))
        stop.set()
        conn.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        url = f"rfc2217://127.0.0.1:{port}"
        with open_transport(url, SerialSettings(2400, "8E1", 1.0)) as t:
            client = Dlt645Client(t, timeout_s=1.0, password=CONTROL_PASSWORD)
            assert client.read_energy_ckwh("000000000002") == state.energy_ckwh(1)
            assert client.read_text(M1, 0x00010000) == "1206.42 kWh"
            # an RFC 2217 server fronts a real serial port: relay control needs the flag
            with pytest.raises(RelayControlRefusedError):
                client.trip(M1)
    finally:
        stop.set()
        listener.close()
        thread.join(timeout=2.0)
