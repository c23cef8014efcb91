"""Serve any emulated meter bus on a byte stream: a pty or a TCP port.

Protocol-independent: a server needs only a bus with a ``session()`` method
(:class:`StreamBus`) that returns, for one byte stream, a function from the
bytes a read returned to the encoded reply frames.
:class:`~m2c.devices.dlt645.emulator.Dlt645Bus` is one; a new protocol's bus
is served by implementing ``session``. (The Modbus emulator is served by
pymodbus's own servers, :mod:`m2c.devices.modbus.emulator`.)

:class:`PtyServer` prints a path that any program, including third-party
DL/T 645 tools, can open; :class:`TcpServer` listens on 127.0.0.1 by default
(``socket://127.0.0.1:PORT`` for pyserial), one thread per connection through
the standard library's :class:`socketserver.ThreadingTCPServer`. Both add a
configurable turnaround delay and can pace replies at a baud rate
(:class:`ReplyTiming`) so that timings look like a real RS-485 bus; both
default to no delay for tests.

Example::

    >>> from m2c.devices.dlt645.emulator import Dlt645Bus
    >>> from m2c.devices.state import InMemoryState
    >>> with TcpServer(Dlt645Bus(InMemoryState.synthetic(1))) as server:
    ...     server.url.startswith("socket://127.0.0.1:")
    True
"""

from __future__ import annotations

import contextlib
import socket
import socketserver
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Protocol

from m2c.devices.transport import PtyPair, SerialSettings


class StreamBus(Protocol):
    """What a server needs from an emulated bus: an extension point for new protocols."""

    def session(self) -> Callable[[bytes], Iterable[bytes]]:
        """A reply function for one byte stream: received bytes -> encoded reply frames."""
        ...


@dataclass(frozen=True)
class ReplyTiming:
    """How long a meter takes to answer.

    Parameters
    ----------
    turnaround_s : float
        Delay between the end of a request and the start of the reply
        (real meters: about 20..200 ms; DL/T 645-2007 §8 allows up to 500 ms).
    pace : SerialSettings or None
        If given, each reply is also held back for its wire time at this
        baud rate (e.g. 24 bytes at 2400 bps 8E1 = 0.11 s).
    """

    turnaround_s: float = 0.0
    pace: SerialSettings | None = None

    def delay_for(self, nbytes: int) -> float:
        """Seconds to wait before writing a reply of ``nbytes``."""
        return self.turnaround_s + (self.pace.seconds_for(nbytes) if self.pace else 0.0)


def _serve_stream(
    bus: StreamBus,
    read: Callable[[float], bytes | None],
    write: Callable[[bytes], None],
    timing: ReplyTiming,
    stop: threading.Event,
) -> None:
    """Answer requests on one stream until ``stop``, EOF (``read`` gives None) or an OSError."""
    replies = bus.session()
    while not stop.is_set():
        try:
            chunk = read(0.05)
        except OSError:
            return
        if chunk is None:
            return
        for wire in replies(chunk):
            delay = timing.delay_for(len(wire))
            if delay > 0:
                time.sleep(delay)
            try:
                write(wire)
            except OSError:
                return


class PtyServer:
    """Serve a bus on a pty; other programs open :attr:`path`.

    Examples
    --------
    >>> from m2c.devices.dlt645.emulator import Dlt645Bus
    >>> from m2c.devices.state import InMemoryState
    >>> with PtyServer(Dlt645Bus(InMemoryState.synthetic(1))) as server:
    ...     server.path.startswith("/dev/")
    True
    """

    def __init__(self, bus: StreamBus, timing: ReplyTiming | None = None):
        self.bus = bus
        self.timing = timing or ReplyTiming()
        self.pty = PtyPair()
        self.path = self.pty.path
        self._stop = threading.Event()
        self._thread = threading.Thread(
            target=_serve_stream,
            args=(bus, self.pty.read_master, self.pty.write_master, self.timing, self._stop),
            name=f"m2c-emulator-pty-{self.path}",
            daemon=True,
        )
        self._thread.start()

    def close(self) -> None:
        """Stop serving and close the pty."""
        self._stop.set()
        self._thread.join(timeout=1.0)
        self.pty.close()

    def __enter__(self) -> PtyServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class _ConnectionHandler(socketserver.BaseRequestHandler):
    """One TCP connection: read with a short timeout so that ``close`` is noticed."""

    server: _ThreadingServer

    def handle(self) -> None:
        conn: socket.socket = self.request
        owner = self.server.owner
        conn.settimeout(0.05)

        def read(timeout: float) -> bytes | None:
            try:
                data = conn.recv(4096)
            except TimeoutError:
                return b""
            return data or None  # b"" from recv = peer closed

        with owner.track(conn):
            _serve_stream(owner.bus, read, conn.sendall, owner.timing, owner.stop_event)


class _ThreadingServer(socketserver.ThreadingTCPServer):
    daemon_threads = True  # a stuck client never keeps the process alive
    block_on_close = False  # close() closes the connections itself
    allow_reuse_address = True  # as socket.create_server on POSIX
    request_queue_size = 128  # as socket.listen()'s default: survive connection floods

    def __init__(self, owner: TcpServer, address: tuple[str, int]):
        self.owner = owner
        super().__init__(address, _ConnectionHandler)


class TcpServer:
    """Serve a bus on TCP (``socket://HOST:PORT`` for pyserial).

    Parameters
    ----------
    bus : StreamBus
        The emulated bus (e.g. a :class:`~m2c.devices.dlt645.emulator.Dlt645Bus`).
    host : str
        Interface to bind; 127.0.0.1 by default (emulators stay local).
    port : int
        0 picks a free port; read it back from :attr:`port`.
    timing : ReplyTiming, optional
        Turnaround delay and pacing of every reply.
    """

    def __init__(
        self,
        bus: StreamBus,
        host: str = "127.0.0.1",
        port: int = 0,
        timing: ReplyTiming | None = None,
    ):
        self.bus = bus
        self.timing = timing or ReplyTiming()
        self.stop_event = threading.Event()
        self._conns: set[socket.socket] = set()
        self._conns_lock = threading.Lock()
        self._server = _ThreadingServer(self, (host, port))
        self.host, self.port = self._server.server_address[:2]
        self.url = f"socket://{self.host}:{self.port}"
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(0.1,), name="m2c-emulator-tcp", daemon=True
        )
        self._thread.start()

    @contextlib.contextmanager
    def track(self, conn: socket.socket):
        """Remember ``conn`` while it is served, so that :meth:`close` can close it."""
        with self._conns_lock:
            self._conns.add(conn)
        try:
            yield
        finally:
            with self._conns_lock:
                self._conns.discard(conn)

    def close(self) -> None:
        """Stop accepting, close every connection."""
        self.stop_event.set()
        self._server.shutdown()
        self._server.server_close()
        with self._conns_lock:
            conns = list(self._conns)
        for c in conns:
            with contextlib.suppress(OSError):
                c.close()
        self._thread.join(timeout=1.0)

    def __enter__(self) -> TcpServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
