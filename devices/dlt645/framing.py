"""DL/T 645-2007 framing: :class:`Frame`, checksum, encode/decode, stream resynchronisation.

Pure bytes in, typed frames out, no I/O. Frame layout (DL/T 645-2007 §7.1)::

    [FE x 0..4]  68  A0 A1 A2 A3 A4 A5  68  C  L  DATA(L bytes)  CS  16

* ``A0..A5``: meter address, 6 bytes BCD, low byte first on the wire (see
  :mod:`~m2c.devices.dlt645.encoding`).
* ``C``: control code. D7 direction (1 = reply from the meter), D6 abnormal
  reply, D5 follow-up frame exists, D4..D0 :class:`Function` (§7.2).
* ``L``: number of data bytes; at most 200 (§7.1: reads <= 200, writes <= 50).
* ``DATA``: each byte +0x33 on the wire (mod 256); :class:`Frame` holds the
  plain bytes.
* ``CS``: sum mod 256 of every byte from the first 68 to the end of DATA.

Main names: :class:`Frame`, :func:`encode_frame`, :func:`decode_frame`,
:class:`StreamDecoder` (resynchronises on garbage and split reads) and
:func:`split_frames` (whole-frame cuts for fault injection). What the data
field *means* is :mod:`~m2c.devices.dlt645.messages`' business. Every failure
raises a :class:`m2c.devices.errors.ProtocolError` subclass.
"""

from __future__ import annotations

import enum
import heapq
from dataclasses import dataclass, field

from m2c.devices.dlt645.encoding import address_from_wire, address_to_wire
from m2c.devices.errors import (
    AddressFormatError,
    ChecksumError,
    DelimiterError,
    LengthError,
    ProtocolError,
    SettingsError,
    TruncatedFrameError,
)

START = 0x68
END = 0x16
PREAMBLE = 0xFE
OFFSET = 0x33
#: §7.1: L <= 200 for reads (writes <= 50); a larger L is treated as garbage.
MAX_DATA_LEN = 200
HEADER_LEN = 10  # 68 + 6 address + 68 + C + L
MAX_FRAME_LEN = HEADER_LEN + MAX_DATA_LEN + 2  # + CS + 16: 212 bytes, preamble excluded

# Control-code bits (§7.2).
DIR_REPLY = 0x80
ABNORMAL = 0x40
FOLLOW = 0x20
FUNCTION_MASK = 0x1F


class Function(enum.IntEnum):
    """Function codes D4..D0 of the control byte used by m2c (§7.2)."""

    BROADCAST_TIME = 0x08
    READ = 0x11
    READ_FOLLOW = 0x12
    READ_ADDRESS = 0x13
    WRITE = 0x14
    CONTROL = 0x1C


# --- frames ----------------------------------------------------------------


@dataclass(frozen=True)
class Frame:
    """One DL/T 645 frame with plain (un-offset) data bytes.

    Parameters
    ----------
    address : str
        12 digits, most significant first (see module docstring).
    control : int
        Control byte, 0..255 (direction, abnormal, follow-up bits + function).
    data : bytes
        Data field without the +0x33 offset, at most 200 bytes.

    Examples
    --------
    >>> f = Frame("000102030425", Function.READ, bytes.fromhex("00000100"))  # read DI 00010000
    >>> encode_frame(f, preamble=0).hex(" ")
    '68 25 04 03 02 01 00 68 11 04 33 33 34 33 e1 16'
    """

    address: str
    control: int
    data: bytes = b""

    @property
    def function(self) -> int:
        """Function code D4..D0."""
        return self.control & FUNCTION_MASK

    @property
    def is_reply(self) -> bool:
        """D7: sent by a meter."""
        return bool(self.control & DIR_REPLY)

    @property
    def is_abnormal(self) -> bool:
        """D6: abnormal (error) reply."""
        return bool(self.control & ABNORMAL)

    @property
    def has_follow(self) -> bool:
        """D5: more data follows (read with 12H)."""
        return bool(self.control & FOLLOW)


def checksum(raw: bytes | bytearray | memoryview) -> int:
    """DL/T 645 checksum: byte sum modulo 256."""
    return sum(raw) & 0xFF


def encode_frame(frame: Frame, preamble: int = 4) -> bytes:
    """Frame -> wire bytes with ``preamble`` leading FE bytes (0..4).

    Raises
    ------
    ProtocolError
        If the data field is longer than 200 bytes or the control byte is out of range.
    """
    if not 0 <= preamble <= 4:
        raise SettingsError(f"preamble {preamble}: expected 0..4 FE bytes")
    if len(frame.data) > MAX_DATA_LEN:
        raise LengthError(f"data field of {len(frame.data)} bytes: at most {MAX_DATA_LEN}")
    if not 0 <= frame.control <= 0xFF:
        raise ProtocolError(f"control byte {frame.control}: expected 0..255")
    try:
        addr = address_to_wire(frame.address)
    except SettingsError as exc:
        raise AddressFormatError(str(exc)) from None
    body = bytearray((START,))
    body += addr
    body += bytes((START, frame.control, len(frame.data)))
    body += bytes((b + OFFSET) & 0xFF for b in frame.data)
    body.append(checksum(body))
    body.append(END)
    return bytes((PREAMBLE,) * preamble) + bytes(body)


def decode_frame(raw: bytes) -> Frame:
    """Decode exactly one frame (optional FE preamble, nothing after the 16).

    Raises
    ------
    TruncatedFrameError, DelimiterError, LengthError, ChecksumError, AddressFormatError
        All subclasses of :class:`ProtocolError`.
    """
    raw = bytes(raw)
    i = 0
    while i < len(raw) and raw[i] == PREAMBLE:
        i += 1
    if i > 4:
        raise DelimiterError(f"{i} FE preamble bytes: at most 4")
    if len(raw) - i < HEADER_LEN + 2:
        raise TruncatedFrameError(
            f"{len(raw) - i} bytes after the preamble: a frame has at least 12"
        )
    if raw[i] != START or raw[i + 7] != START:
        raise DelimiterError("missing 68 start delimiter at byte 0 or 7 of the frame")
    n = raw[i + 9]
    if n > MAX_DATA_LEN:
        raise LengthError(f"length byte {n}: at most {MAX_DATA_LEN}")
    end = i + HEADER_LEN + n + 2
    if len(raw) < end:
        raise TruncatedFrameError(f"length byte says {n} data bytes; buffer ends early")
    if len(raw) > end:
        raise LengthError(f"{len(raw) - end} bytes after the end of the frame")
    return _parse_at(raw, i)


def _parse_at(raw: bytes | bytearray, i: int) -> Frame:
    """Parse a complete, length-checked candidate frame starting at ``i``."""
    n = raw[i + 9]
    cs_at = i + HEADER_LEN + n
    if raw[cs_at + 1] != END:
        raise DelimiterError(f"end byte {raw[cs_at + 1]:02X}: expected 16")
    cs = checksum(memoryview(raw)[i:cs_at])
    if cs != raw[cs_at]:
        raise ChecksumError(f"checksum {raw[cs_at]:02X}: computed {cs:02X}")
    address = address_from_wire(bytes(raw[i + 1 : i + 7]))
    data = bytes((b - OFFSET) & 0xFF for b in raw[i + HEADER_LEN : cs_at])
    return Frame(address, raw[i + 8], data)


@dataclass
class StreamDecoder:
    """Incremental decoder for a byte stream that arrives in pieces.

    :meth:`feed` takes whatever a read returned and yields every complete,
    valid frame. Bytes that cannot start a frame (garbage, FE preambles) are
    skipped; a candidate frame with a bad checksum, end byte or address is
    dropped from its first byte only, so a real frame hidden after garbage
    that looked like a header is still found. Dropped candidates are kept in
    :attr:`errors` (typed :class:`ProtocolError` instances, newest last,
    at most ``max_errors``); :meth:`feed` itself never raises.

    A candidate that is still incomplete does not block the stream: when a
    complete, valid frame starts inside it, that frame is returned at once and
    the candidate is dropped (issue 13: the fake header
    ``68 00 00 00 00 00 00 68 11 50`` promised 80 data bytes and made the
    meter swallow the next four requests). The rare price: a real frame that
    is still arriving and whose data field contains a whole valid frame loses
    to that inner frame.

    Work is linear in the bytes fed: each byte is classified once as a
    possible start (:attr:`examined`) and each plausible start gets at most
    one whole-frame check, when its last byte arrives (:attr:`checked`). At
    most one frame's worth (212 bytes) is kept between calls.

    Examples
    --------
    >>> d = StreamDecoder()
    >>> wire = encode_frame(Frame("000102030425", Function.READ, bytes.fromhex("00000100")))
    >>> d.feed(b"\\x00\\x68garbage" + wire[:5]), len(d.feed(wire[5:]))
    ([], 1)
    """

    max_errors: int = 100
    buffer: bytearray = field(default_factory=bytearray)
    errors: list[ProtocolError] = field(default_factory=list)
    #: bytes dropped without being part of a frame
    skipped: int = 0
    #: possible starts (68 bytes) classified so far: at most the bytes fed
    examined: int = 0
    #: whole-frame checks (end byte, checksum, address) so far: at most one per start
    checked: int = 0
    # Stream offsets (from the first byte ever fed) rather than buffer indices,
    # so that dropping consumed bytes does not shift the pending candidates.
    _base: int = field(default=0, repr=False)  # stream offset of buffer[0]
    _pos: int = field(default=0, repr=False)  # first byte not yet consumed
    _scan: int = field(default=0, repr=False)  # first byte not yet classified
    # (end, start) of plausible headers whose frame is not complete yet
    _pending: list[tuple[int, int]] = field(default_factory=list, repr=False)

    def feed(self, chunk: bytes) -> list[Frame]:
        """Append ``chunk`` and return the frames completed by it, in order."""
        self.buffer += chunk
        buf = self.buffer
        base = self._base
        top = base + len(buf)
        # 1. Classify the new possible starts: a 68 whose header (68 A0..A5 68 C L)
        #    is plausible becomes a pending candidate ending at start + L + 12.
        q = max(self._scan, self._pos)
        while True:
            i = buf.find(START, q - base)
            if i < 0:
                q = top
                break
            if len(buf) - i < HEADER_LEN:
                q = base + i  # header not complete: classify on a later feed
                break
            self.examined += 1
            n = buf[i + 9]
            if buf[i + 7] == START and n <= MAX_DATA_LEN:
                heapq.heappush(self._pending, (base + i + HEADER_LEN + n + 2, base + i))
            q = base + i + 1
        self._scan = q
        # 2. Check every candidate whose last byte has arrived, once.
        found: list[tuple[int, int, Frame]] = []
        pending = self._pending
        while pending and pending[0][0] <= top:
            end, start = heapq.heappop(pending)
            if start < self._pos:
                continue  # inside a frame already returned
            self.checked += 1
            try:
                found.append((start, end, _parse_at(buf, start - base)))
            except ProtocolError as exc:
                self._error(exc)
        # 3. Return valid frames in stream order. A valid frame wins over any
        #    earlier candidate that is still incomplete (it would contain it);
        #    a frame that starts inside one already returned is not a frame.
        found.sort(key=lambda t: t[0])
        out: list[Frame] = []
        for start, end, frame in found:
            if start < self._pos:
                continue
            self.skipped += start - self._pos
            out.append(frame)
            self._pos = end
        # 4. Drop what no candidate can need: a pending candidate ends after
        #    ``top`` and spans at most one frame, so it starts after
        #    ``top - MAX_FRAME_LEN``; nothing before ``_scan`` is unclassified.
        keep = max(self._pos, min(self._scan, top - MAX_FRAME_LEN + 1))
        if keep > self._pos:
            self.skipped += keep - self._pos
            self._pos = keep
        self._scan = max(self._scan, keep)
        del buf[: keep - base]
        self._base = keep
        return out

    def reset(self) -> None:
        """Forget buffered bytes and pending candidates (e.g. before a new request)."""
        self._base += len(self.buffer)
        self._pos = self._scan = self._base
        self._pending.clear()
        self.buffer.clear()

    def _error(self, exc: ProtocolError) -> None:
        self.errors.append(exc)
        if len(self.errors) > self.max_errors:
            del self.errors[0]


def split_frames(buf: bytes | bytearray) -> tuple[list[bytes], bytes]:
    """Cut a byte stream into structurally complete frame candidates.

    Unlike :class:`StreamDecoder` the checksum is *not* checked: fault
    injection uses this to act on whole frames. Returns ``(chunks, rest)``
    where ``chunks`` are complete candidates (each with the garbage or
    preamble bytes before it) and ``rest`` is an incomplete tail.
    """
    chunks: list[bytes] = []
    pos = 0
    cut = 0
    while True:
        start = buf.find(START, pos)
        if start < 0 or len(buf) - start < HEADER_LEN:
            break
        n = buf[start + 9]
        if buf[start + 7] != START or n > MAX_DATA_LEN:
            pos = start + 1
            continue
        end = start + HEADER_LEN + n + 2
        if end > len(buf):
            break
        chunks.append(bytes(buf[cut:end]))
        cut = pos = end
    if cut == 0 and buf.find(START) < 0:
        # no frame can start here: pass the garbage through now
        return ([bytes(buf)] if buf else []), b""
    return chunks, bytes(buf[cut:])
