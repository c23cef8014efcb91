"""The pty/TCP servers are protocol-independent: any bus with ``session()`` is served."""

from __future__ import annotations

import socket

from m2c.devices.server import TcpServer


class _UpperBus:
    """A toy protocol: every line received is answered in upper case."""

    def session(self):
        pending = bytearray()

        def replies(chunk: bytes):
            pending.extend(chunk)
            while b"\n" in pending:
                line, _, rest = bytes(pending).partition(b"\n")
                pending[:] = rest
                yield line.upper() + b"\n"

        return replies


def _ask(url: str, data: bytes, n: int) -> bytes:
    host, port = url[len("socket://") :].rsplit(":", 1)
    with socket.create_connection((host, int(port)), timeout=2.0) as s:
        s.sendall(data)
        got = b""
        while len(got) < n:
            got += s.recv(4096)
    return got


def test_tcp_server_serves_any_stream_bus_one_session_per_connection():
    with TcpServer(_UpperBus()) as server:
        assert _ask(server.url, b"ab\ncd\n", 6) == b"AB\nCD\n"
        assert _ask(server.url, b"x", 0) == b""  # half a line, then hang up
        assert _ask(server.url, b"y\n", 2) == b"Y\n"  # the "x" stayed in its own session
