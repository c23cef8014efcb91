"""Issue 13: the stream decoder must not stall on a fake header that promises a long frame.

A fake header ``68 A0..A5 68 C L`` with a large ``L`` makes a naive decoder wait
for ``L + 2`` more bytes before it can see that the candidate is bad; a valid
request sent meanwhile is swallowed by that wait (the meter stayed silent for
four resends). The decoder shared by the client and the emulator drops such a
candidate as soon as a complete, valid frame starts inside it.
"""

from __future__ import annotations

import socket

from m2c.devices import dlt645
from m2c.devices.dlt645 import StreamDecoder
from m2c.devices.dlt645.client import Dlt645Client
from m2c.devices.server import TcpServer
from m2c.devices.transport import open_transport

ADDRESS = "000000000001"
#: The fake header of the issue: 68, address 00 x 6, 68, C = 11H, L = 50H (80 data bytes).
FAKE_HEADER = bytes.fromhex("68 00 00 00 00 00 00 68 11 50")


def _request() -> bytes:
    return dlt645.encode_frame(dlt645.read_request(ADDRESS, 0x00010000))


def test_fake_header_before_a_request_does_not_swallow_it():
    # Before the fix the decoder waited for 80 + 2 more bytes after the fake
    # header: the 16-byte request (+4 FE) and three resends were swallowed,
    # the fourth resend completed the fake frame (checksum fails) and only
    # then were all five requests decoded at once.
    req = _request()
    d = StreamDecoder()
    assert d.feed(FAKE_HEADER + req) == [dlt645.decode_frame(req)]
    assert d.feed(req) == [dlt645.decode_frame(req)]  # the resend, once, on its own


def test_fake_header_split_from_the_request():
    # The fake header and the request arrive in separate reads, byte by byte.
    req = _request()
    d = StreamDecoder()
    got = [f for b in FAKE_HEADER + req for f in d.feed(bytes([b]))]
    assert got == [dlt645.decode_frame(req)]


def test_emulator_answers_the_first_request_after_a_fake_header(bus):
    replies = bus.session()
    out = list(replies(FAKE_HEADER + _request()))
    assert len(out) == 1
    reply = dlt645.decode_frame(out[0])
    assert reply.address == ADDRESS and reply.is_reply and not reply.is_abnormal


def test_100_kb_of_68_then_a_request_is_answered_at_once_and_in_linear_work(bus):
    # 100 000 bytes of 68: every byte is a candidate start whose L = 68H = 104
    # promises a 116-byte frame; the last 115 stay incomplete when the flood
    # ends. The request that follows must be answered by the first read, and
    # the decoder must examine each byte a bounded number of times.
    flood = b"\x68" * 100_000
    req = _request()
    for chunk in (4096, 61, 1):
        d = StreamDecoder()
        for i in range(0, len(flood), chunk):
            assert d.feed(flood[i : i + chunk]) == []
        assert d.feed(req) == [dlt645.decode_frame(req)]
        # each byte is classified once as a possible start (<= 100 016 bytes)
        assert d.examined <= len(flood) + len(req)
        # and at most one whole-frame check per start (a check costs <= 212 bytes)
        assert d.checked <= len(flood) + len(req)
        assert len(d.buffer) <= 212  # never more than one frame's worth kept
    replies = bus.session()
    assert list(replies(flood)) == []
    assert len(list(replies(req))) == 1


def test_client_reads_through_a_tcp_emulator_after_a_flood(bus):
    # End to end: a client on the same TCP connection that first sent the flood
    # gets its reply on the first attempt (no retry).
    with TcpServer(bus) as server:
        host, port = server.url[len("socket://") :].rsplit(":", 1)
        with socket.create_connection((host, int(port)), timeout=5.0) as s:
            s.sendall(b"\x68" * 100_000 + FAKE_HEADER + _request())
            got = b""
            d = StreamDecoder()
            frames = []
            while not frames:
                chunk = s.recv(4096)
                assert chunk, "server closed the connection"
                got += chunk
                frames += d.feed(chunk)
            assert frames[0].is_reply and frames[0].address == ADDRESS
        t = open_transport(server.url)
        try:
            client = Dlt645Client(t, timeout_s=2.0, retries=0)
            t.write(FAKE_HEADER)
            assert client.read_energy_ckwh(ADDRESS) == 120642
            assert client.stats["retries"] == 0
        finally:
            t.close()
