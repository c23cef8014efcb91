"""Issue 13: a TCP emulator bounds its connections and closes idle ones, with a log line.

Before the fix each connection held a thread until the client hung up:
1 000 idle connections = 1 004 threads.
"""

from __future__ import annotations

import logging
import socket
import threading
import time

import pytest

from m2c.devices import dlt645
from m2c.devices.errors import SettingsError
from m2c.devices.server import DEFAULT_IDLE_TIMEOUT_S, DEFAULT_MAX_CONNECTIONS, TcpServer

REQUEST = dlt645.encode_frame(dlt645.read_request("000000000001", 0x00010000))


def _connect(server: TcpServer) -> socket.socket:
    return socket.create_connection((server.host, server.port), timeout=5.0)


def _ask(s: socket.socket) -> dlt645.Frame:
    """Send the read request on ``s`` and return the reply frame."""
    s.sendall(REQUEST)
    d = dlt645.StreamDecoder()
    while True:
        chunk = s.recv(4096)
        assert chunk, "the server closed the connection instead of answering"
        frames = d.feed(chunk)
        if frames:
            return frames[0]


def _closed_by_server(s: socket.socket) -> bool:
    """True when the server closes ``s`` within its 5 s timeout."""
    try:
        return s.recv(4096) == b""
    except ConnectionResetError:
        return True
    except TimeoutError:
        return False


def _wait(cond, timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():
            return True
        time.sleep(0.01)
    return cond()


def test_defaults_are_bounded():
    assert DEFAULT_MAX_CONNECTIONS == 64
    assert DEFAULT_IDLE_TIMEOUT_S == 120.0


def test_connection_beyond_the_bound_is_refused_with_a_log_line(bus, caplog):
    caplog.set_level(logging.WARNING, logger="m2c.devices.server")
    with TcpServer(bus, max_connections=2, idle_timeout_s=None) as server:
        a, b = _connect(server), _connect(server)
        try:
            assert _ask(a).is_reply and _ask(b).is_reply  # both served
            with _connect(server) as c:  # the third: accepted, then closed at once
                assert _closed_by_server(c)
            assert any(
                "refused the connection" in r.getMessage()
                and "max_connections = 2" in r.getMessage()
                for r in caplog.records
            ), caplog.text
            assert _ask(a).is_reply  # the two served ones are untouched
            a.close()  # frees a place ...
            assert _wait(lambda: server._server.active == 1)
            with _connect(server) as d:  # ... which the next client gets
                assert _ask(d).is_reply
        finally:
            a.close()
            b.close()


def test_threads_stay_bounded_under_many_idle_connections(bus):
    # 200 idle clients against max_connections 8: at most 8 handler threads
    # (before the fix: one thread per client, 200).
    before = threading.active_count()
    with TcpServer(bus, max_connections=8, idle_timeout_s=None) as server:
        socks = []
        try:
            for _ in range(200):
                socks.append(_connect(server))
            assert _wait(lambda: server._server.active == 8)
            time.sleep(0.2)  # give any extra thread time to appear
            # + 1: the server's accept loop
            assert threading.active_count() <= before + 1 + 8
        finally:
            for s in socks:
                s.close()
        assert _wait(lambda: server._server.active == 0)


def test_idle_connection_is_closed_with_a_log_line(bus, caplog):
    caplog.set_level(logging.WARNING, logger="m2c.devices.server")
    with TcpServer(bus, idle_timeout_s=0.3) as server:
        with _connect(server) as busy, _connect(server) as idle:
            # the busy client asks every 0.1 s for 0.8 s: never idle for 0.3 s
            for _ in range(8):
                assert _ask(busy).is_reply
                time.sleep(0.1)
            assert _closed_by_server(idle)
            assert _ask(busy).is_reply
        assert any(
            "closed the connection" in r.getMessage() and "idle for 0.3 s" in r.getMessage()
            for r in caplog.records
        ), caplog.text
        assert _wait(lambda: server._server.active == 0)


@pytest.mark.parametrize(
    ("kwargs", "words"),
    [
        ({"max_connections": 0}, "max_connections 0: expected an integer >= 1"),
        ({"idle_timeout_s": 0}, "idle_timeout_s 0: expected seconds > 0"),
        ({"idle_timeout_s": -1.0}, "idle_timeout_s -1.0"),
    ],
)
def test_bad_limits_are_refused(bus, kwargs, words):
    with pytest.raises(SettingsError, match=words):
        TcpServer(bus, **kwargs)
