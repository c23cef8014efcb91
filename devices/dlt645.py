"""DL/T 645-2007 frame codec: pure bytes in, typed frames out, no I/O.

Frame layout (DL/T 645-2007 §7.1)::

    [FE x 0..4]  68  A0 A1 A2 A3 A4 A5  68  C  L  DATA(L bytes)  CS  16

* ``A0..A5``: meter address, 6 bytes BCD, **low byte first** on the wire.
  m2c writes an address as 12 digits most significant first, the way it is
  printed on the nameplate: wire ``25 04 03 02 01 00`` is ``"000102030425"``.
  ``99 99 99 99 99 99`` is broadcast (no reply); a byte ``AA`` is a wildcard
  (``"AAAAAAAAAAAA"`` reaches any single meter, used by "read address" 13H).
* ``C``: control code. D7 direction (1 = reply from the meter), D6 abnormal
  reply, D5 follow-up frame exists, D4..D0 function (§7.2).
* ``L``: number of data bytes; at most 200 (§7.1: reads <= 200, writes <= 50).
* ``DATA``: each byte +0x33 on the wire (mod 256); :class:`Frame` holds the
  plain bytes.
* ``CS``: sum mod 256 of every byte from the first 68 to the end of DATA.

Main names: :class:`Frame`, :func:`encode_frame`, :func:`decode_frame`,
:class:`StreamDecoder` (resynchronises on garbage and split reads), the
request builders (:func:`read_request`, :func:`write_request`,
:func:`control_request`, :func:`broadcast_time_request` ...), the reply
builders used by emulators, and :class:`Password` (its repr is masked).
Every failure raises a :class:`m2c.devices.errors.ProtocolError` subclass.
"""

from __future__ import annotations

import datetime as dt
import enum
from dataclasses import dataclass, field

from m2c.devices.errors import (
    AddressFormatError,
    AddressMismatchError,
    ChecksumError,
    DataFormatError,
    DelimiterError,
    LengthError,
    MeterReplyError,
    ProtocolError,
    SettingsError,
    TruncatedFrameError,
    UnexpectedReplyError,
)

START = 0x68
END = 0x16
PREAMBLE = 0xFE
OFFSET = 0x33
#: §7.1: L <= 200 for reads (writes <= 50); a larger L is treated as garbage.
MAX_DATA_LEN = 200
HEADER_LEN = 10  # 68 + 6 address + 68 + C + L
BROADCAST = "999999999999"
WILDCARD = "AAAAAAAAAAAA"

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


class RelayAction(enum.IntEnum):
    """N1 of the control command 1CH (DL/T 645-2007 amendment, remote control)."""

    TRIP = 0x1A
    CLOSE_PERMIT = 0x1B
    CLOSE_DIRECT = 0x1C
    ALARM = 0x2A
    ALARM_CLEAR = 0x2B
    HOLD = 0x3A
    HOLD_CLEAR = 0x3B


# --- addresses -------------------------------------------------------------


def _valid_address_byte(b: int) -> bool:
    return b == 0xAA or ((b >> 4) <= 9 and (b & 0x0F) <= 9)


def normalize_address(address: str | int) -> str:
    """Return ``address`` as 12 upper-case digits, most significant first.

    Accepts an int (``102030425``) or a string of up to 12 digits (padded
    with leading zeros); ``"AA"`` pairs are wildcards.

    Raises
    ------
    SettingsError
        If the address is not 12 BCD digits (or AA pairs).
    """
    if isinstance(address, int):
        if not 0 <= address <= 999_999_999_999:
            raise SettingsError(f"meter address {address}: expected 0..999999999999")
        return f"{address:012d}"
    text = str(address).strip().replace(" ", "").upper()
    if not text or len(text) > 12:
        raise SettingsError(f"meter address {address!r}: expected up to 12 BCD digits")
    text = text.rjust(12, "0")
    try:
        raw = bytes.fromhex(text)
    except ValueError:
        raise SettingsError(f"meter address {address!r}: expected up to 12 BCD digits") from None
    if not all(_valid_address_byte(b) for b in raw):
        raise SettingsError(f"meter address {address!r}: expected BCD digits or AA wildcards")
    return text


def address_to_wire(address: str) -> bytes:
    """12-digit address (most significant first) -> 6 wire bytes, low byte first."""
    return bytes.fromhex(normalize_address(address))[::-1]


def address_from_wire(raw: bytes) -> str:
    """6 wire bytes (low byte first) -> 12-digit address; raises AddressFormatError."""
    if len(raw) != 6:
        raise AddressFormatError(f"address needs 6 bytes, got {len(raw)}")
    if not all(_valid_address_byte(b) for b in raw):
        raise AddressFormatError(f"address bytes {raw.hex(' ')} are not BCD")
    return raw[::-1].hex().upper()


def address_matches(pattern: str, address: str) -> bool:
    """True when ``pattern`` (possibly with AA wildcard bytes) selects ``address``."""
    return all(p == "AA" or p == a for p, a in zip(_pairs(pattern), _pairs(address), strict=True))


def _pairs(text: str) -> list[str]:
    return [text[i : i + 2] for i in range(0, 12, 2)]


# --- BCD helpers (shared with the data-identifier formats) ------------------


def bcd_to_int(raw: bytes) -> int:
    """Little-endian BCD bytes -> non-negative int; raises DataFormatError."""
    value = 0
    for b in reversed(raw):
        hi, lo = b >> 4, b & 0x0F
        if hi > 9 or lo > 9:
            raise DataFormatError(f"byte {b:02X} is not BCD")
        value = value * 100 + hi * 10 + lo
    return value


def int_to_bcd(value: int, nbytes: int) -> bytes:
    """Non-negative int -> ``nbytes`` little-endian BCD bytes; raises DataFormatError."""
    if value < 0 or value >= 100**nbytes:
        raise DataFormatError(f"{value} does not fit in {nbytes} BCD bytes")
    out = bytearray()
    for _ in range(nbytes):
        value, two = divmod(value, 100)
        out.append((two // 10) << 4 | (two % 10))
    return bytes(out)


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
    >>> f = read_request("000102030425", 0x00010000)
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

    Examples
    --------
    >>> d = StreamDecoder()
    >>> wire = encode_frame(read_request("000102030425", 0x00010000))
    >>> d.feed(b"\\x00\\x68garbage" + wire[:5]), len(d.feed(wire[5:]))
    ([], 1)
    """

    max_errors: int = 100
    buffer: bytearray = field(default_factory=bytearray)
    errors: list[ProtocolError] = field(default_factory=list)
    skipped: int = 0

    def feed(self, chunk: bytes) -> list[Frame]:
        """Append ``chunk`` and return the frames completed by it, in order."""
        self.buffer += chunk
        out: list[Frame] = []
        buf = self.buffer
        pos = 0
        while True:
            start = buf.find(START, pos)
            if start < 0:
                self.skipped += len(buf) - pos
                pos = len(buf)
                break
            self.skipped += start - pos
            pos = start
            if len(buf) - pos < HEADER_LEN:
                break  # wait for the header
            n = buf[pos + 9]
            if buf[pos + 7] != START or n > MAX_DATA_LEN:
                pos += 1
                self.skipped += 1
                continue
            if len(buf) - pos < HEADER_LEN + n + 2:
                break  # wait for the rest of the frame
            try:
                out.append(_parse_at(buf, pos))
            except ProtocolError as exc:
                self._error(exc)
                pos += 1
                self.skipped += 1
                continue
            pos += HEADER_LEN + n + 2
        del buf[:pos]
        return out

    def reset(self) -> None:
        """Forget buffered bytes (e.g. before a new request)."""
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


# --- passwords and times -----------------------------------------------------


@dataclass(frozen=True)
class Password:
    """A meter password: privilege level PA (0 = highest .. 9) and 6 digits.

    Sent as ``PA P0 P1 P2`` (P0..P2 BCD, low byte first) in write (14H) and
    control (1CH) requests. ``repr`` and ``str`` never show the digits, so a
    password cannot leak into logs or tracebacks.
    """

    level: int
    digits: str = field(repr=False)

    def __post_init__(self) -> None:
        if not 0 <= self.level <= 9:
            raise SettingsError(f"password level {self.level}: expected 0..9")
        if len(self.digits) != 6 or not self.digits.isdigit():
            raise SettingsError("password: expected exactly 6 decimal digits")

    def __repr__(self) -> str:
        return f"Password(level={self.level:02d}, digits=******)"

    __str__ = __repr__

    def to_bytes(self) -> bytes:
        """``PA P0 P1 P2`` plain bytes."""
        return bytes((self.level,)) + int_to_bcd(int(self.digits), 3)

    @classmethod
    def from_bytes(cls, raw: bytes) -> Password:
        """Parse ``PA P0 P1 P2``; raises DataFormatError."""
        if len(raw) != 4:
            raise DataFormatError(f"password field needs 4 bytes, got {len(raw)}")
        if raw[0] > 9:
            raise DataFormatError(f"password level {raw[0]:02X}: expected 00..09")
        return cls(raw[0], f"{bcd_to_int(raw[1:4]):06d}")


def operator_to_bytes(operator: str) -> bytes:
    """Operator code (8 digits, C0..C3 low byte first)."""
    if len(operator) != 8 or not operator.isdigit():
        raise SettingsError(f"operator code {operator!r}: expected 8 decimal digits")
    return int_to_bcd(int(operator), 4)


def datetime_to_bcd(when: dt.datetime) -> bytes:
    """``ss mm hh DD MM YY`` BCD (broadcast time 08H, control valid-until N3..N8)."""
    if not 2000 <= when.year <= 2099:
        raise DataFormatError(f"year {when.year}: DL/T 645 stores years 2000..2099")
    return bytes(
        int_to_bcd(v, 1)[0]
        for v in (when.second, when.minute, when.hour, when.day, when.month, when.year - 2000)
    )


def datetime_from_bcd(raw: bytes) -> dt.datetime:
    """Inverse of :func:`datetime_to_bcd`; raises DataFormatError."""
    if len(raw) != 6:
        raise DataFormatError(f"date-time needs 6 bytes, got {len(raw)}")
    s, mi, h, d, mo, y = (bcd_to_int(raw[k : k + 1]) for k in range(6))
    try:
        return dt.datetime(2000 + y, mo, d, h, mi, s)
    except ValueError as exc:
        raise DataFormatError(f"invalid date-time {raw.hex(' ')}: {exc}") from None


# --- requests (master -> meter) -----------------------------------------------


def di_to_bytes(di: int) -> bytes:
    """Data identifier DI3..DI0 as an int (``0x00010000``) -> wire order DI0..DI3."""
    if not 0 <= di <= 0xFFFFFFFF:
        raise SettingsError(f"data identifier {di}: expected 0..0xFFFFFFFF")
    return di.to_bytes(4, "little")


def di_from_bytes(raw: bytes) -> int:
    """Wire order DI0..DI3 -> int; raises DataFormatError."""
    if len(raw) < 4:
        raise DataFormatError(f"data identifier needs 4 bytes, got {len(raw)}")
    return int.from_bytes(raw[:4], "little")


def read_request(address: str, di: int) -> Frame:
    """Read data 11H: ``DI0..DI3``."""
    return Frame(normalize_address(address), Function.READ, di_to_bytes(di))


def read_follow_request(address: str, di: int, seq: int) -> Frame:
    """Read follow-up data 12H: ``DI0..DI3 SEQ``."""
    return Frame(
        normalize_address(address), Function.READ_FOLLOW, di_to_bytes(di) + bytes((seq & 0xFF,))
    )


def read_address_request() -> Frame:
    """Read communication address 13H, sent to the wildcard address, no data."""
    return Frame(WILDCARD, Function.READ_ADDRESS)


def write_request(
    address: str, di: int, payload: bytes, password: Password, operator: str
) -> Frame:
    """Write data 14H: ``DI0..DI3 PA P0 P1 P2 C0..C3 DATA`` (L <= 50, §7.1)."""
    data = di_to_bytes(di) + password.to_bytes() + operator_to_bytes(operator) + payload
    if len(data) > 50:
        raise LengthError(f"write of {len(data)} bytes: at most 50")
    return Frame(normalize_address(address), Function.WRITE, data)


def broadcast_time_request(when: dt.datetime) -> Frame:
    """Broadcast time sync 08H to 999999999999: ``ss mm hh DD MM YY``; no reply."""
    return Frame(BROADCAST, Function.BROADCAST_TIME, datetime_to_bcd(when))


def control_request(
    address: str,
    action: RelayAction,
    password: Password,
    operator: str,
    valid_until: dt.datetime,
) -> Frame:
    """Control 1CH: ``PA P0 P1 P2 C0..C3 N1 N2 N3..N8`` (N2 reserved = 0, N3..N8 valid-until)."""
    data = (
        password.to_bytes()
        + operator_to_bytes(operator)
        + bytes((RelayAction(action), 0))
        + datetime_to_bcd(valid_until)
    )
    return Frame(normalize_address(address), Function.CONTROL, data)


# --- replies (meter -> master) -------------------------------------------------


def read_reply(address: str, di: int, payload: bytes, follow: bool = False) -> Frame:
    """Normal reply to 11H: control 91H (B1H with follow-up), ``DI0..DI3 DATA``."""
    control = DIR_REPLY | Function.READ | (FOLLOW if follow else 0)
    return Frame(address, control, di_to_bytes(di) + payload)


def follow_reply(address: str, di: int, payload: bytes, seq: int, follow: bool = False) -> Frame:
    """Normal reply to 12H: control 92H/B2H, ``DI0..DI3 DATA SEQ``."""
    control = DIR_REPLY | Function.READ_FOLLOW | (FOLLOW if follow else 0)
    return Frame(address, control, di_to_bytes(di) + payload + bytes((seq & 0xFF,)))


def ack_reply(address: str, function: int) -> Frame:
    """Normal reply without data (94H for writes, 9CH for control)."""
    return Frame(address, DIR_REPLY | function)


def address_reply(address: str) -> Frame:
    """Reply to 13H: control 93H, the 6 address bytes as data."""
    return Frame(address, DIR_REPLY | Function.READ_ADDRESS, address_to_wire(address))


def error_reply(address: str, function: int, error: int) -> Frame:
    """Abnormal reply: control ``function | 0xC0`` and one error byte."""
    return Frame(address, DIR_REPLY | ABNORMAL | function, bytes((error & 0xFF,)))


# --- reply checks used by clients ---------------------------------------------


def check_reply(frame: Frame, address: str, function: int, di: int | None = None) -> None:
    """Check that ``frame`` answers a request ``function`` sent to ``address``.

    Raises
    ------
    AddressMismatchError
        The reply comes from another meter (a wildcard request accepts any).
    MeterReplyError
        The meter answered with an abnormal reply.
    UnexpectedReplyError
        Not a reply, another function, or (for reads) another data identifier.
    """
    if not frame.is_reply:
        raise UnexpectedReplyError(f"frame {frame.control:02X}H from {frame.address} is a request")
    if frame.address != address and not address_matches(address, frame.address):
        raise AddressMismatchError(f"reply from meter {frame.address}, request went to {address}")
    if frame.function != function:
        raise UnexpectedReplyError(
            f"meter {frame.address} answered function {frame.function:02X}H to {function:02X}H"
        )
    if frame.is_abnormal:
        if len(frame.data) != 1:
            raise DataFormatError(f"abnormal reply with {len(frame.data)} data bytes: expected 1")
        raise MeterReplyError(frame.address, function, frame.data[0], di)
    if di is not None:
        got = di_from_bytes(frame.data)
        if got != di:
            raise UnexpectedReplyError(
                f"meter {frame.address} answered DI {got:08X}, request was DI {di:08X}"
            )
