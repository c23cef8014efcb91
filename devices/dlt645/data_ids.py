"""DL/T 645-2007 data identifiers (DI) and their value formats, as a table of data.

A data identifier is four bytes ``DI3 DI2 DI1 DI0`` written most significant
first (``00 01 00 00`` = total forward active energy) and kept as an int
(``0x00010000``). Each :class:`DataId` names its value :class:`Bcd`,
:class:`Word`, :class:`DateWeek`, :class:`Hms` or :class:`Block` format, its
unit, and the ``source`` an emulator answers it from (see
:mod:`m2c.devices.state`). The codec never looks at this table, so a user adds
identifiers without touching the codec::

    >>> from m2c.devices.dlt645.data_ids import DEFAULT_TABLE, DataId, Bcd
    >>> table = DEFAULT_TABLE.copy()
    >>> table.add(DataId(0x02800008, "clock battery voltage", Bcd(4, 2), "V"))
    >>> table.decode(0x02800008, bytes.fromhex("6003"))
    360

Decoded values are integers in the register step (the unit of the last
digit): energy ``XXXXXX.XX kWh`` -> centi-kWh, exactly m2c's energy unit
(core/units.py); voltage ``XXX.X V`` -> decivolts; current ``XXX.XXX A`` ->
milliamps; active power ``XX.XXXX kW`` -> 0.1 W; power factor ``X.XXX`` ->
thousandths; balance ``XXXXXX.XX yuan`` -> fen. Signed formats keep the sign in
bit 7 of the most significant byte (DL/T 645-2007 appendix A). Dates and times
decode to :class:`datetime.date` and :class:`datetime.time`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Protocol

from m2c.devices.dlt645.encoding import bcd_to_int, int_to_bcd
from m2c.devices.errors import DataFormatError, SettingsError, UnknownDataIdError

Value = int | dt.date | dt.time | tuple


class Format(Protocol):
    """What a value format provides; implement it to add a new kind of register."""

    @property
    def nbytes(self) -> int:
        """Size of the value on the wire, in bytes."""
        ...

    def decode(self, raw: bytes) -> Value:
        """Plain bytes (low byte first) -> value; raises DataFormatError."""
        ...

    def encode(self, value: Value) -> bytes:
        """Value -> plain bytes; raises DataFormatError."""
        ...

    def text(self, value: Value) -> str:
        """Human-readable value (without the unit)."""
        ...


@dataclass(frozen=True)
class Bcd:
    """``digits`` BCD digits with ``decimals`` after the point, optionally signed.

    The value is the integer of all digits (``XXXXXX.XX`` 1206.42 -> 120642).
    """

    digits: int
    decimals: int = 0
    signed: bool = False

    @property
    def nbytes(self) -> int:
        """Two digits per byte."""
        return self.digits // 2

    def decode(self, raw: bytes) -> int:
        """BCD bytes, low byte first -> int (sign from bit 7 of the last byte)."""
        if len(raw) != self.nbytes:
            raise DataFormatError(f"BCD value needs {self.nbytes} bytes, got {len(raw)}")
        negative = False
        if self.signed:
            negative = bool(raw[-1] & 0x80)
            raw = raw[:-1] + bytes((raw[-1] & 0x7F,))
        value = bcd_to_int(raw)
        return -value if negative else value

    def encode(self, value: Value) -> bytes:
        """int -> BCD bytes; raises DataFormatError when out of range."""
        if not isinstance(value, int):
            raise DataFormatError(f"BCD value {value!r}: expected an int")
        limit = 8 * 10 ** (self.digits - 1) if self.signed else 10**self.digits
        if value < 0 and not self.signed:
            raise DataFormatError(f"{value} is negative; the format is unsigned")
        if abs(value) >= limit:
            raise DataFormatError(f"{value} does not fit in {self.digits} BCD digits")
        raw = int_to_bcd(abs(value), self.nbytes)
        if value < 0:
            raw = raw[:-1] + bytes((raw[-1] | 0x80,))
        return raw

    def text(self, value: Value) -> str:
        """``120642`` with 2 decimals -> ``"1206.42"``."""
        return str(Decimal(int(value)).scaleb(-self.decimals))  # type: ignore[arg-type]


@dataclass(frozen=True)
class Word:
    """Unsigned binary word (status words ``XXXX``), low byte first."""

    size: int = 2

    @property
    def nbytes(self) -> int:
        """Bytes on the wire."""
        return self.size

    def decode(self, raw: bytes) -> int:
        """Bytes -> int."""
        if len(raw) != self.size:
            raise DataFormatError(f"status word needs {self.size} bytes, got {len(raw)}")
        return int.from_bytes(raw, "little")

    def encode(self, value: Value) -> bytes:
        """int -> bytes."""
        if not isinstance(value, int) or not 0 <= value < 256**self.size:
            raise DataFormatError(f"status word {value!r}: expected 0..{256**self.size - 1}")
        return value.to_bytes(self.size, "little")

    def text(self, value: Value) -> str:
        """Hex with bits, e.g. ``"0010H"``."""
        return f"{value:0{2 * self.size}X}H"


@dataclass(frozen=True)
class DateWeek:
    """``YYMMDDWW`` date with weekday (04 00 01 01); WW 0 = Sunday (DL/T 645-2007 A.5)."""

    @property
    def nbytes(self) -> int:
        """Bytes on the wire."""
        return 4

    def decode(self, raw: bytes) -> dt.date:
        """``WW DD MM YY`` -> date (the weekday byte is checked for BCD only)."""
        if len(raw) != 4:
            raise DataFormatError(f"date needs 4 bytes, got {len(raw)}")
        _, d, m, y = (bcd_to_int(raw[k : k + 1]) for k in range(4))
        try:
            return dt.date(2000 + y, m, d)
        except ValueError as exc:
            raise DataFormatError(f"invalid date {raw.hex(' ')}: {exc}") from None

    def encode(self, value: Value) -> bytes:
        """date -> ``WW DD MM YY``."""
        if not isinstance(value, dt.date) or not 2000 <= value.year <= 2099:
            raise DataFormatError(f"date {value!r}: expected a date in 2000..2099")
        week = value.isoweekday() % 7  # Sunday = 0
        return bytes(int_to_bcd(v, 1)[0] for v in (week, value.day, value.month, value.year - 2000))

    def text(self, value: Value) -> str:
        """ISO date."""
        return value.isoformat()  # type: ignore[union-attr]


@dataclass(frozen=True)
class Hms:
    """``hhmmss`` time of day (04 00 01 02), wire ``ss mm hh``."""

    @property
    def nbytes(self) -> int:
        """Bytes on the wire."""
        return 3

    def decode(self, raw: bytes) -> dt.time:
        """``ss mm hh`` -> time."""
        if len(raw) != 3:
            raise DataFormatError(f"time needs 3 bytes, got {len(raw)}")
        s, m, h = (bcd_to_int(raw[k : k + 1]) for k in range(3))
        try:
            return dt.time(h, m, s)
        except ValueError as exc:
            raise DataFormatError(f"invalid time {raw.hex(' ')}: {exc}") from None

    def encode(self, value: Value) -> bytes:
        """time -> ``ss mm hh``."""
        if not isinstance(value, dt.time):
            raise DataFormatError(f"time {value!r}: expected a datetime.time")
        return bytes(int_to_bcd(v, 1)[0] for v in (value.second, value.minute, value.hour))

    def text(self, value: Value) -> str:
        """``hh:mm:ss``."""
        return value.isoformat()  # type: ignore[union-attr]


@dataclass(frozen=True)
class Block:
    """``count`` values of one format back to back (block reads such as 00 01 FF 00)."""

    item: Bcd | Word
    count: int

    @property
    def nbytes(self) -> int:
        """Bytes on the wire."""
        return self.item.nbytes * self.count

    def decode(self, raw: bytes) -> tuple:
        """Bytes -> tuple of ``count`` values."""
        if len(raw) != self.nbytes:
            raise DataFormatError(f"block needs {self.nbytes} bytes, got {len(raw)}")
        k = self.item.nbytes
        return tuple(self.item.decode(raw[i * k : (i + 1) * k]) for i in range(self.count))

    def encode(self, value: Value) -> bytes:
        """Sequence of ``count`` values -> bytes."""
        if not isinstance(value, tuple | list) or len(value) != self.count:
            raise DataFormatError(f"block value: expected {self.count} items")
        return b"".join(self.item.encode(v) for v in value)

    def text(self, value: Value) -> str:
        """Space-separated values."""
        return " ".join(self.item.text(v) for v in value)  # type: ignore[union-attr]


@dataclass(frozen=True)
class DataId:
    """One row of the data-identifier table.

    Parameters
    ----------
    di : int
        Identifier ``DI3 DI2 DI1 DI0`` as an int, e.g. ``0x00010000``.
    name : str
        What it is (English).
    fmt : Format
        Value format; its ``nbytes`` is the payload size after the DI.
    unit : str
        Unit of the displayed value (``"kWh"``; ``""`` for words, dates).
    source : str or None
        What an emulator answers from (``"energy_fwd:0"``, ``"voltage:1"`` ...,
        see :class:`m2c.devices.dlt645.emulator.Dlt645Bus`); ``None``: the
        emulator answers "no data".
    writable : bool
        Whether write 14H may set it (date and time).
    """

    di: int
    name: str
    fmt: Format
    unit: str = ""
    source: str | None = None
    writable: bool = False

    @property
    def di_text(self) -> str:
        """``"00010000"``."""
        return f"{self.di:08X}"


def parse_di(text: str | int) -> int:
    """``"00010000"``, ``"00 01 00 00"``, ``"0x00010000"`` or an int -> int.

    Raises
    ------
    SettingsError
        If it is not 8 hex digits.
    """
    if isinstance(text, int):
        if not 0 <= text <= 0xFFFFFFFF:
            raise SettingsError(f"data identifier {text}: expected 0..0xFFFFFFFF")
        return text
    t = text.strip().replace(" ", "").lower().removeprefix("0x")
    if len(t) != 8:
        raise SettingsError(f"data identifier {text!r}: expected 8 hex digits like 00010000")
    try:
        return int(t, 16)
    except ValueError:
        raise SettingsError(
            f"data identifier {text!r}: expected 8 hex digits like 00010000"
        ) from None


@dataclass
class DataIdTable:
    """Data identifiers by DI; decode and encode payloads.

    Examples
    --------
    >>> DEFAULT_TABLE.decode(0x00010000, bytes.fromhex("42061200"))
    120642
    >>> DEFAULT_TABLE.text(0x00010000, 120642)
    '1206.42 kWh'
    """

    entries: dict[int, DataId] = field(default_factory=dict)

    @classmethod
    def of(cls, entries: Iterable[DataId]) -> DataIdTable:
        """Build a table; duplicated DIs are an error."""
        table = cls()
        for e in entries:
            table.add(e)
        return table

    def add(self, entry: DataId, replace: bool = False) -> None:
        """Add ``entry``; refuses to overwrite an existing DI unless ``replace``."""
        if entry.di in self.entries and not replace:
            raise SettingsError(f"data identifier {entry.di_text} is already in the table")
        self.entries[entry.di] = entry

    def copy(self) -> DataIdTable:
        """A copy to extend without changing this one."""
        return DataIdTable(dict(self.entries))

    def get(self, di: int) -> DataId:
        """The entry for ``di``; raises :class:`UnknownDataIdError`."""
        try:
            return self.entries[di]
        except KeyError:
            raise UnknownDataIdError(
                f"data identifier {di:08X} is not in the table; add it with DataIdTable.add"
            ) from None

    def __contains__(self, di: object) -> bool:
        return di in self.entries

    def __iter__(self) -> Iterator[DataId]:
        return iter(sorted(self.entries.values(), key=lambda e: e.di))

    def __len__(self) -> int:
        return len(self.entries)

    def decode(self, di: int, payload: bytes) -> Value:
        """Payload after the DI -> value; raises DataFormatError or UnknownDataIdError."""
        return self.get(di).fmt.decode(payload)

    def encode(self, di: int, value: Value) -> bytes:
        """Value -> payload bytes."""
        return self.get(di).fmt.encode(value)

    def text(self, di: int, value: Value) -> str:
        """Value with its unit, e.g. ``"1206.42 kWh"``."""
        e = self.get(di)
        return f"{e.fmt.text(value)} {e.unit}".rstrip()


ENERGY = Bcd(8, 2)  # XXXXXX.XX kWh, 4 bytes (DL/T 645-2007 A.1)
TARIFF_NAMES = (
    "total",
    "tariff 1 (sharp)",
    "tariff 2 (peak)",
    "tariff 3 (flat)",
    "tariff 4 (valley)",
)
PHASES = ("A", "B", "C")


def _default_entries() -> list[DataId]:
    rows: list[DataId] = []
    for t, tname in enumerate(TARIFF_NAMES):
        rows.append(
            DataId(
                0x00010000 | t << 8,
                f"forward active energy, {tname}",
                ENERGY,
                "kWh",
                f"energy_fwd:{t}",
            )
        )
        rows.append(
            DataId(
                0x00020000 | t << 8,
                f"reverse active energy, {tname}",
                ENERGY,
                "kWh",
                f"energy_rev:{t}",
            )
        )
    rows.append(
        DataId(
            0x0001FF00,
            "forward active energy block (total, tariffs 1-4)",
            Block(ENERGY, 5),
            "kWh",
            "energy_fwd_block",
        )
    )
    rows.append(
        DataId(
            0x0002FF00,
            "reverse active energy block (total, tariffs 1-4)",
            Block(ENERGY, 5),
            "kWh",
            "energy_rev_block",
        )
    )
    for p, pname in enumerate(PHASES, start=1):
        rows.append(
            DataId(0x02010000 | p << 8, f"phase {pname} voltage", Bcd(4, 1), "V", f"voltage:{p}")
        )
        rows.append(
            DataId(
                0x02020000 | p << 8, f"phase {pname} current", Bcd(6, 3, True), "A", f"current:{p}"
            )
        )
        rows.append(
            DataId(
                0x02030000 | p << 8,
                f"phase {pname} active power",
                Bcd(6, 4, True),
                "kW",
                f"power:{p}",
            )
        )
        rows.append(
            DataId(
                0x02060000 | p << 8, f"phase {pname} power factor", Bcd(4, 3, True), "", f"pf:{p}"
            )
        )
    rows += [
        DataId(0x0201FF00, "voltage block (A, B, C)", Block(Bcd(4, 1), 3), "V", "voltage_block"),
        DataId(
            0x0202FF00, "current block (A, B, C)", Block(Bcd(6, 3, True), 3), "A", "current_block"
        ),
        DataId(0x02030000, "total active power", Bcd(6, 4, True), "kW", "power:0"),
        DataId(0x02060000, "total power factor", Bcd(4, 3, True), "", "pf:0"),
        DataId(0x02800002, "grid frequency", Bcd(4, 2), "Hz", "frequency"),
        DataId(0x04000101, "date and weekday (YYMMDDWW)", DateWeek(), "", "date", writable=True),
        DataId(0x04000102, "time (hhmmss)", Hms(), "", "time", writable=True),
        DataId(0x04000401, "communication address", Bcd(12), "", "address"),
    ]
    for k in range(1, 8):
        rows.append(DataId(0x04000500 | k, f"meter status word {k}", Word(2), "", f"status{k}"))
    rows += [
        DataId(0x00900100, "prepaid remaining energy", ENERGY, "kWh", None),
        DataId(0x00900200, "prepaid remaining balance", Bcd(8, 2), "yuan", "balance"),
        DataId(0x00900201, "prepaid overdraft", Bcd(8, 2), "yuan", "overdraft"),
    ]
    return rows


#: The built-in table; ``DEFAULT_TABLE.copy()`` before adding your own rows.
DEFAULT_TABLE = DataIdTable.of(_default_entries())

# Status word 3 (04 00 05 03, "operation" word) bits used by m2c. Bit 4 is the
# relay state (1 = open/tripped) and bit 6 the relay command state (1 = trip
# commanded) in DL/T 645-2007 A.4; bit 7 pre-trip alarm; bit 12 hold (保电) as
# used by the emulator (check a real meter's manual for vendor differences).
STATUS3_RELAY_OPEN = 1 << 4
STATUS3_TRIP_COMMANDED = 1 << 6
STATUS3_ALARM = 1 << 7
STATUS3_HOLD = 1 << 12
