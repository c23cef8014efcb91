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
the standard library's :class:`socketserver.ThreadingTCPServer`, at most
``max_connections`` at once (a connection beyond that is closed at once) and
each closed after ``idle_timeout_s`` without a byte received (issue 13: 1 000
idle clients held 1 000 threads forever); both events are logged on the
``m2c.devices.server`` logger (WARNING). Both servers add a
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
import logging
import socket
import socketserver
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Protocol

from m2c.devices.errors import SettingsError
from m2c.devices.transport import PtyPair, SerialSettings

log = logging.getLogger(__name__)

#: Default bound on simultaneous TCP connections of one emulator: a real data
#: concentrator or head-end talks to a meter bus over one or a few sockets.
DEFAULT_MAX_CONNECTIONS = 64
#: Default seconds without a received byte before a TCP connection is closed.
#: Head-end systems poll at most every few minutes and reconnect when needed.
DEFAULT_IDLE_TIMEOUT_S = 120.0


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
    idle_timeout_s: float | None = None,
) -> str:
    """Answer requests on one stream until ``stop``, EOF, an OSError or idleness.

    ``read(timeout)`` returns the bytes received (``b""`` when none came
    within ``timeout``) or None at end of stream. Returns why it stopped:
    ``"stop"``, ``"eof"``, ``"error"`` or ``"idle"`` (nothing received for
    ``idle_timeout_s`` seconds; None never times out).
    """
    replies = bus.session()
    last = time.monotonic()
    while not stop.is_set():
        try:
            chunk = read(0.05)
        except OSError:
            return "error"
        if chunk is None:
            return "eof"
        if not chunk:
            if idle_timeout_s is not None and time.monotonic() - last >= idle_timeout_s:
                return "idle"
            continue
        last = time.monotonic()
        for wire in replies(chunk):
            delay = timing.delay_for(len(wire))
            if delay > 0:
                time.sleep(delay)
            try:
                write(wire)
            except OSError:
                return "error"
    return "stop"


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
            why = _serve_stream(
                owner.bus, read, conn.sendall, owner.timing, owner.stop_event, owner.idle_timeout_s
            )
        if why == "idle":
            log.warning(
                "emulator %s: closed the connection from %s: idle for %g s (idle timeout)",
                owner.url,
                _peer(self.client_address),
                owner.idle_timeout_s,
            )


def _peer(address: object) -> str:
    """``HOST:PORT`` of a client address tuple."""
    if isinstance(address, tuple) and len(address) >= 2:
        return f"{address[0]}:{address[1]}"
    return str(address)


class _ThreadingServer(socketserver.ThreadingTCPServer):
    daemon_threads = True  # a stuck client never keeps the process alive
    block_on_close = False  # close() closes the connections itself
    allow_reuse_address = True  # as socket.create_server on POSIX
    request_queue_size = 128  # as socket.listen()'s default: survive connection floods

    def __init__(self, owner: TcpServer, address: tuple[str, int]):
        self.owner = owner
        self.active = 0  # connections being served (each holds one thread)
        self.active_lock = threading.Lock()
        self.refusal_logged_at = -1e9  # time.monotonic() of the last refusal logged
        self.refused_unlogged = 0
        super().__init__(address, _ConnectionHandler)

    def process_request(self, request, client_address) -> None:
        """Start a thread for the connection, or close it when ``max_connections`` are open."""
        limit = self.owner.max_connections
        with self.active_lock:
            full = self.active >= limit
            if not full:
                self.active += 1
        if full:
            # One line per refusal, but at most one a second under a flood
            # (the count of the ones not logged goes on the next line).
            now = time.monotonic()
            if now - self.refusal_logged_at >= 1.0:
                more = f" ({self.refused_unlogged} more refused)" if self.refused_unlogged else ""
                log.warning(
                    "emulator %s: refused the connection from %s: already serving "
                    "max_connections = %d%s",
                    self.owner.url,
                    _peer(client_address),
                    limit,
                    more,
                )
                self.refusal_logged_at, self.refused_unlogged = now, 0
            else:
                self.refused_unlogged += 1
            self.shutdown_request(request)
            return
        try:
            super().process_request(request, client_address)
        except BaseException:  # the thread did not start: give its place back
            with self.active_lock:
                self.active -= 1
            raise

    def process_request_thread(self, request, client_address) -> None:
        try:
            super().process_request_thread(request, client_address)
        finally:
            with self.active_lock:
                self.active -= 1


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
    max_connections : int
        Connections served at once (>= 1); one more is accepted and closed
        immediately, with a WARNING log line naming the client (at most one
        line a second; the next line counts those not logged).
    idle_timeout_s : float or None
        Seconds without a received byte after which a connection is closed
        (> 0, WARNING log line); None keeps idle connections open forever.

    Raises
    ------
    SettingsError
        For a bad ``max_connections`` or ``idle_timeout_s``.
    OSError
        When the port cannot be bound (e.g. in use).
    """

    def __init__(
        self,
        bus: StreamBus,
        host: str = "127.0.0.1",
        port: int = 0,
        timing: ReplyTiming | None = None,
        *,
        max_connections: int = DEFAULT_MAX_CONNECTIONS,
        idle_timeout_s: float | None = DEFAULT_IDLE_TIMEOUT_S,
    ):
        if isinstance(max_connections, bool) or not (
            isinstance(max_connections, int) and max_connections >= 1
        ):
            raise SettingsError(f"max_connections {max_connections!r}: expected an integer >= 1")
        if idle_timeout_s is not None and not idle_timeout_s > 0:
            raise SettingsError(f"idle_timeout_s {idle_timeout_s!r}: expected seconds > 0 or None")
        self.bus = bus
        self.timing = timing or ReplyTiming()
        self.max_connections = max_connections
        self.idle_timeout_s = idle_timeout_s
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
