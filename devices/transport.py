"""Byte transports for meters: pyserial URLs, pty pairs, a virtual null modem, in-process.

A :class:`Transport` moves bytes and knows nothing of frames. Everything a
client talks to is one: a real port (``/dev/ttyUSB0``, ``COM3``), the
pyserial URL handlers ``loop://``, ``socket://host:port`` and
``rfc2217://host:port`` (all through :func:`serial.serial_for_url`), a pty
whose path other programs can open (:class:`PtyPair`), two ptys wired
back to back (:class:`NullModem`), or an emulator called in-process
(:class:`InProcessTransport`). Fault injection (:mod:`m2c.devices.faults`)
wraps any of them.

Serial settings are per meter (:class:`SerialSettings`): baud rate, framing
``8E1`` (DL/T 645 default, 2400 bps) or ``8N1`` (common for Modbus RTU),
timeouts; they are validated with messages that state the expected values.

**What ptys cannot do.** A Linux pty takes the settings it is opened with
(8E1 at 2400 bps is fine) but ignores baud rate and parity: there is no
UART, bytes move at memory speed and are never parity-checked, so a parity
mismatch that would garble a real RS-485 bus goes unnoticed on a pty.
Changing settings on an open pty (parity, or pyserial's ``timeout``, which
re-applies termios) was seen to fail with ``EINVAL``, and so does a second
client asking for parity on a pty an earlier client had set to 8E1; so
:class:`SerialTransport` opens a pty without parity (:func:`is_pty`),
configures a port once, at open, and waits with its own loop. Modem lines
(RTS, DTR, CTS, DSR, and the RS-485 direction control that rides on RTS)
do not exist: the ioctls fail with ``ENOTTY``, and :class:`SerialTransport`
never touches them. Tests use ptys for framing,
timing and protocol, never for line settings (an RFC 2217 server in front
of a pty must keep line settings to itself: tests/devices/dlt645/test_dlt645_client_emulator.py).

**Real or emulated.** :func:`port_kind` decides whether relay control
needs the explicit allow flag (DESIGN.md "Devices"): ``loop://``, in-process
transports, pseudo-terminals (``/dev/pts/N``, ``/dev/ttyp*``, any pty made by
this module) and ``socket://`` to 127.0.0.1/localhost/::1 are *emulated*;
every other path (``/dev/ttyUSB0``, ``/dev/ttyS0``, ``/dev/serial/by-id/...``,
``COM3``), ``rfc2217://`` (a serial-port server, hence real hardware) and
``socket://`` to any other host (e.g. an RS-485-to-Ethernet gateway) are
*real*. Unknown forms count as real: the safe side.
"""

from __future__ import annotations

import contextlib
import os
import re
import select
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import serial

from m2c.devices.errors import SettingsError, TransportError

#: Baud rates accepted for meters (DL/T 645-2007 §5: 1200..9600 typical, 2400 default).
BAUDRATES = (300, 600, 1200, 2400, 4800, 9600, 19200, 38400, 57600, 115200)
PARITIES = {"N": serial.PARITY_NONE, "E": serial.PARITY_EVEN, "O": serial.PARITY_ODD}
URL_FORMS = (
    "a device path (/dev/ttyUSB0, COM3), loop://, socket://HOST:PORT, "
    "rfc2217://HOST:PORT, or tcp:HOST:PORT"
)
_LOCAL_HOSTS = ("127.0.0.1", "localhost", "::1", "[::1]")
#: Port-level read timeout, seconds: how often a waiting read re-checks its deadline.
POLL_S = 0.02


@dataclass(frozen=True)
class SerialSettings:
    """Serial line settings of one meter (or one bus).

    Parameters
    ----------
    baudrate : int
        Bits per second, one of :data:`BAUDRATES` (DL/T 645 default 2400).
    framing : str
        ``"<bytesize><parity><stopbits>"``: ``"8E1"`` (DL/T 645-2007 §5: 8 data
        bits, even parity, 1 stop bit) or ``"8N1"``, ``"8O1"``, ``"8N2"`` ...
    timeout_s : float
        Longest wait for the first byte of a reply, seconds (> 0).
    inter_byte_timeout_s : float or None
        Longest gap inside a reply, seconds; ``None`` = no limit.

    Examples
    --------
    >>> SerialSettings.parse("9600,8N1").bits_per_byte
    10
    """

    baudrate: int = 2400
    framing: str = "8E1"
    timeout_s: float = 1.0
    inter_byte_timeout_s: float | None = None

    def __post_init__(self) -> None:
        if self.baudrate not in BAUDRATES:
            raise SettingsError(
                f"Not a valid baud rate: {self.baudrate!r}; expected one of {BAUDRATES}"
            )
        m = re.fullmatch(r"([5-8])([NEO])([12])", str(self.framing).upper())
        if not m:
            raise SettingsError(
                f"Not a valid framing: {self.framing!r}; expected bytesize, parity, stop bits "
                'like "8E1" or "8N1" (bytesize 5-8, parity N/E/O, stop bits 1-2)'
            )
        if not self.timeout_s > 0:
            raise SettingsError(f"Not a valid timeout: {self.timeout_s!r}; expected seconds > 0")
        if self.inter_byte_timeout_s is not None and not self.inter_byte_timeout_s > 0:
            raise SettingsError(
                f"Not a valid inter-byte timeout: {self.inter_byte_timeout_s!r}; "
                "expected > 0 or None"
            )

    @classmethod
    def parse(cls, text: str, timeout_s: float = 1.0) -> SerialSettings:
        """``"2400,8E1"`` or ``"9600"`` (framing defaults to 8E1) -> settings."""
        parts = [p.strip() for p in text.split(",")]
        try:
            baud = int(parts[0])
        except ValueError:
            raise SettingsError(f'serial settings {text!r}: expected "BAUD[,8E1]"') from None
        return cls(baud, parts[1] if len(parts) > 1 else "8E1", timeout_s)

    @property
    def bytesize(self) -> int:
        """Data bits per character."""
        return int(self.framing[0])

    @property
    def parity(self) -> str:
        """pyserial parity constant."""
        return PARITIES[self.framing[1].upper()]

    @property
    def stopbits(self) -> int:
        """Stop bits."""
        return int(self.framing[2])

    @property
    def bits_per_byte(self) -> int:
        """Bits on the line per byte: start + data + parity + stop (8E1 -> 11)."""
        return 1 + self.bytesize + (self.framing[1].upper() != "N") + self.stopbits

    def seconds_for(self, nbytes: int) -> float:
        """Wire time of ``nbytes`` at this baud rate, seconds."""
        return nbytes * self.bits_per_byte / self.baudrate


@runtime_checkable
class Transport(Protocol):
    """What clients need from a byte pipe (an extension point: implement these five).

    ``read(timeout)`` waits up to ``timeout`` seconds for at least one byte
    and returns what is available (possibly ``b""``). ``synchronous`` is
    True when the peer answers inside ``write`` (in-process emulators): an
    empty read then means no reply will ever come, so clients need not wait.
    ``url`` decides :func:`port_kind`.
    """

    url: str
    synchronous: bool

    def write(self, data: bytes) -> None:
        """Send bytes."""
        ...

    def read(self, timeout: float) -> bytes:
        """Receive what arrives within ``timeout`` seconds."""
        ...

    def reset_input(self) -> None:
        """Discard received, unread bytes."""
        ...

    def close(self) -> None:
        """Release the port."""
        ...


# --- classification ------------------------------------------------------------

_OWN_PTYS: set[str] = set()
_PTY_PATTERNS = (r"/dev/pts/\d+", r"/dev/tty[p-za-e][0-9a-f]", r"/dev/ttys\d+")


def normalize_url(url: str) -> str:
    """Expand the ``tcp:HOST:PORT`` shorthand to ``socket://HOST:PORT``; validate the form.

    Raises
    ------
    SettingsError
        For an empty string or an unknown scheme.
    """
    url = str(url).strip()
    if not url:
        raise SettingsError(f"empty port: expected {URL_FORMS}")
    if url.startswith("tcp:") and not url.startswith("tcp://"):
        url = "socket://" + url[4:]
    if "://" in url:
        scheme = url.split("://", 1)[0]
        if scheme not in ("loop", "socket", "rfc2217", "inprocess"):
            raise SettingsError(f"port {url!r}: unknown scheme {scheme!r}; expected {URL_FORMS}")
        if scheme in ("socket", "rfc2217") and not re.fullmatch(
            rf"{scheme}://(\[[0-9a-fA-F:]+\]|[^:/]+):\d+([/?].*)?", url
        ):
            raise SettingsError(
                f'port {url!r}: expected a string in the form "{scheme}://HOST:PORT"'
            )
    return url


def port_kind(url: str) -> str:
    """``"emulated"`` or ``"real"`` (see the module docstring); never opens the port."""
    url = normalize_url(url)
    if url.startswith(("loop://", "inprocess://")):
        return "emulated"
    if url.startswith("socket://"):
        host = url[len("socket://") :].rsplit(":", 1)[0]
        return "emulated" if host in _LOCAL_HOSTS else "real"
    if url.startswith("rfc2217://"):
        return "real"
    return "emulated" if is_pty(url) else "real"


def is_pty(url: str) -> bool:
    """True for a pseudo-terminal path (one made here, or /dev/pts/N and the like)."""
    if not url.startswith("/"):
        return False
    path = os.path.realpath(url)
    return (
        url in _OWN_PTYS or path in _OWN_PTYS or any(re.fullmatch(p, path) for p in _PTY_PATTERNS)
    )


def is_real_port(url: str) -> bool:
    """True for hardware (or a remote serial server): relay control needs the allow flag."""
    return port_kind(url) == "real"


# --- pyserial transport -------------------------------------------------------


class SerialTransport:
    """A :class:`Transport` over :func:`serial.serial_for_url`.

    Examples
    --------
    >>> t = open_transport("loop://", SerialSettings(9600, "8N1", 0.05))
    >>> t.write(b"\\x68"); t.read(0.05)
    b'h'
    >>> t.close()
    """

    synchronous = False

    def __init__(self, url: str, settings: SerialSettings | None = None):
        self.url = normalize_url(url)
        self.settings = settings or SerialSettings()
        # A pty has no parity; asking for it again after an earlier client set it fails
        # with EINVAL, so a second `m2c read` of the same emulator could not open it.
        parity = serial.PARITY_NONE if is_pty(self.url) else self.settings.parity
        try:
            self.port = serial.serial_for_url(
                self.url,
                baudrate=self.settings.baudrate,
                bytesize=self.settings.bytesize,
                parity=parity,
                stopbits=self.settings.stopbits,
                timeout=POLL_S,
                inter_byte_timeout=self.settings.inter_byte_timeout_s,
            )
        except (serial.SerialException, OSError) as exc:
            raise TransportError(f"cannot open port {self.url!r}: {exc}") from exc
        except ValueError as exc:
            raise SettingsError(f"port {self.url!r}: {exc}") from exc

    def write(self, data: bytes) -> None:
        """Send ``data`` and wait until it has left the buffer."""
        try:
            self.port.write(data)
            self.port.flush()
        except (serial.SerialException, OSError) as exc:
            raise TransportError(f"write to {self.url!r} failed: {exc}") from exc

    def read(self, timeout: float) -> bytes:
        """First byte within ``timeout`` s, then everything already waiting.

        The port's own timeout stays at :data:`POLL_S` (changing it would
        reprogram a real UART's termios on every call); this loop waits.
        """
        deadline = time.monotonic() + max(timeout, 0.0)
        try:
            while True:
                first = self.port.read(1)
                if first:
                    n = self.port.in_waiting
                    return first + (self.port.read(n) if n else b"")
                if time.monotonic() >= deadline:
                    return b""
        except (serial.SerialException, OSError) as exc:
            raise TransportError(f"read from {self.url!r} failed: {exc}") from exc

    def reset_input(self) -> None:
        """Drop unread input."""
        with contextlib.suppress(serial.SerialException, OSError):
            self.port.reset_input_buffer()

    def close(self) -> None:
        """Close the port."""
        self.port.close()

    def __enter__(self) -> SerialTransport:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def open_transport(url: str, settings: SerialSettings | None = None) -> SerialTransport:
    """Open ``url`` (path, ``loop://``, ``socket://``, ``rfc2217://``, ``tcp:H:P``)."""
    return SerialTransport(url, settings)


# --- in-process ---------------------------------------------------------------


class InProcessTransport:
    """A transport whose peer is a function called inside :meth:`write`.

    ``handler(request_bytes) -> reply_bytes`` is typically
    :meth:`m2c.devices.dlt645.emulator.Dlt645Bus.handle_bytes`. No threads,
    no sockets, no waiting: the fastest way to run a campaign over thousands
    of emulated meters. Counts as an emulated port.
    """

    synchronous = True

    def __init__(self, handler: Callable[[bytes], bytes], name: str = "bus"):
        self.url = f"inprocess://{name}"
        self.handler = handler
        self._rx = bytearray()

    def write(self, data: bytes) -> None:
        """Hand ``data`` to the peer; its answer is queued for :meth:`read`."""
        self._rx += self.handler(bytes(data))

    def read(self, timeout: float) -> bytes:
        """Everything queued (never waits)."""
        out = bytes(self._rx)
        self._rx.clear()
        return out

    def reset_input(self) -> None:
        """Drop queued bytes."""
        self._rx.clear()

    def close(self) -> None:
        """Nothing to release."""


# --- ptys -------------------------------------------------------------------------


def _set_raw(fd: int) -> None:
    import tty

    tty.setraw(fd)


class PtyPair:
    """A pseudo-terminal: the emulator keeps the master fd, others open :attr:`path`.

    The slave end stays open inside this object so that the master never
    sees a hang-up while no client is connected. See the module docstring
    for what a pty cannot emulate (baud, parity, modem lines).
    """

    def __init__(self) -> None:
        try:
            self.master, self.slave = os.openpty()
        except OSError as exc:
            raise TransportError(f"cannot create a pty: {exc}") from exc
        _set_raw(self.slave)
        _set_raw(self.master)
        self.path = os.ttyname(self.slave)
        _OWN_PTYS.add(self.path)

    def read_master(self, timeout: float, max_bytes: int = 4096) -> bytes:
        """Bytes written by whoever opened :attr:`path`, within ``timeout`` s."""
        ready, _, _ = select.select([self.master], [], [], max(timeout, 0.0))
        if not ready:
            return b""
        try:
            return os.read(self.master, max_bytes)
        except OSError:
            return b""

    def write_master(self, data: bytes) -> None:
        """Bytes for whoever opened :attr:`path`."""
        view = memoryview(data)
        while view:
            n = os.write(self.master, view)
            view = view[n:]

    def close(self) -> None:
        """Close both ends."""
        _OWN_PTYS.discard(self.path)
        for fd in (self.master, self.slave):
            with contextlib.suppress(OSError):
                os.close(fd)


class NullModem:
    """Two ptys whose masters are bridged by a thread: ``path_a`` <-> ``path_b``.

    What ``socat pty pty`` does: a program that opens only a port path (the
    pymodbus serial server, a third-party DL/T 645 tool) talks to another
    that opens the other path. Both paths count as emulated.
    """

    def __init__(self) -> None:
        self.a = PtyPair()
        self.b = PtyPair()
        self.path_a = self.a.path
        self.path_b = self.b.path
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._pump, name="m2c-null-modem", daemon=True)
        self._thread.start()

    def _pump(self) -> None:
        pairs = {self.a.master: self.b, self.b.master: self.a}
        while not self._stop.is_set():
            try:
                ready, _, _ = select.select(list(pairs), [], [], 0.05)
            except (OSError, ValueError):
                return
            for fd in ready:
                try:
                    data = os.read(fd, 4096)
                except OSError:
                    time.sleep(0.01)  # the other side is not open yet
                    continue
                if data:
                    with contextlib.suppress(OSError):
                        pairs[fd].write_master(data)

    def close(self) -> None:
        """Stop the bridge and close both ptys."""
        self._stop.set()
        self._thread.join(timeout=1.0)
        self.a.close()
        self.b.close()
