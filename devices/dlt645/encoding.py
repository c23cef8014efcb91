"""DL/T 645-2007 value encodings: BCD numbers, meter addresses, date-times, DI bytes, passwords.

Pure functions on plain (un-offset) bytes, shared by the framing
(:mod:`~m2c.devices.dlt645.framing`: addresses), the messages
(:mod:`~m2c.devices.dlt645.messages`: DIs, passwords, operator codes,
date-times) and the data-identifier formats (:mod:`~m2c.devices.dlt645.data_ids`:
BCD).

* Addresses: 6 bytes BCD, **low byte first** on the wire (DL/T 645-2007
  §7.1). m2c writes an address as 12 digits most significant first, the way
  it is printed on the nameplate: wire ``25 04 03 02 01 00`` is
  ``"000102030425"``. ``999999999999`` is :data:`BROADCAST` (no reply); a
  byte ``AA`` is a wildcard (:data:`WILDCARD` reaches any single meter).
* BCD numbers: little-endian, two decimal digits per byte.
* Data identifiers ``DI3..DI0`` are kept as ints (``0x00010000``) and sent
  DI0 first.
* :class:`Password` (``PA P0 P1 P2``, §7.4) masks its digits in ``repr``.

Every failure raises :class:`~m2c.devices.errors.DataFormatError` /
:class:`~m2c.devices.errors.AddressFormatError` (bytes from the wire) or
:class:`~m2c.devices.errors.SettingsError` (values from the caller).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from m2c.devices.errors import AddressFormatError, DataFormatError, SettingsError

BROADCAST = "999999999999"
WILDCARD = "AAAAAAAAAAAA"


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


# --- BCD numbers -------------------------------------------------------


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


# --- data identifiers, passwords, operator codes, date-times -------------------


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
