"""Interval load files: a long CSV of ``customer,timestamp,kwh`` into a load matrix.

The format a meter-data system exports: one row per customer and interval,
``timestamp`` the start of the interval, ``kwh`` the energy of the interval.
Rows may come in any order; blank lines are skipped. Every problem is
reported with the file, the line (the header is line 1; blank lines count)
and the field, and nothing is dropped silently: a duplicated interval, a gap
or a value off the interval grid is an error, not a guess.

Timestamps are ISO 8601 interval starts on a whole minute:
``2025-01-01T00:00`` (or a space for the ``T``), optionally with zero
seconds (``:00``, ``:00.000``) and a UTC offset (``+08:00``, ``+0800``,
``Z``). They are the customer's **local wall-clock time**, because tariff
periods (TOU hours, months) are local. An offset is therefore not converted
to UTC or any other zone: it states the file's zone, must be the same on
every line (one fixed-offset zone, e.g. China Standard Time +08:00; a file
whose offset changes, such as one crossing a daylight-saving change, is
refused) and is kept in :attr:`IntervalLoad.utc_offset`. A file exported in
UTC must be converted to the customers' local time before billing.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from m2c.core.units import MAX_STEP_KWH

REQUIRED_COLUMNS = ("customer", "timestamp", "kwh")

#: An interval start: date, hour:minute, optional seconds (must be zero) and UTC offset.
_TIMESTAMP = (
    r"^(?P<date>\d{4}-\d{2}-\d{2})[T ](?P<hm>\d{2}:\d{2})"
    r"(?::(?P<sec>\d{2})(?:\.(?P<frac>\d+))?)?(?P<off>Z|[+-]\d{2}:?\d{2})?$"
)
_EXPECTED_TIME = "an ISO 8601 interval start such as 2025-01-01T00:00 or 2025-01-01T00:00+08:00"


class LoadFileError(ValueError):
    """A load file that cannot be billed; the message names file, line and field."""


@dataclass(frozen=True)
class IntervalLoad:
    """Loads ready for :func:`m2c.core.bill_interval`.

    ``customers`` the customer labels (row order of ``kwh``); ``kwh`` float64
    (n_customers, n_steps); ``start`` ISO timestamp (local wall-clock time,
    minutes) of the first step; ``utc_offset`` the file's UTC offset
    (``"+08:00"``; ``"Z"`` is ``"+00:00"``) or None when its timestamps carry none.
    """

    customers: list[str]
    kwh: np.ndarray
    start: str
    step_minutes: int
    utc_offset: str | None = None


def _fail(path: Path, line: int | None, field: str, msg: str) -> LoadFileError:
    where = f"{path}:{line}" if line is not None else str(path)
    return LoadFileError(f"{where}: field '{field}': {msg}")


def _lines(path: Path, rows: list[int]) -> list[int]:
    """File line numbers (1-based) of data rows ``rows`` (0-based, as pyarrow numbered them).

    pyarrow skips blank lines, so row ``i`` is not line ``i + 2`` after one;
    this re-reads the file with :mod:`csv` (quoted newlines included) and is
    only called to report an error.
    """
    want = {r: -1 for r in rows}
    with path.open(newline="", encoding="utf-8", errors="replace") as f:
        reader = csv.reader(f)
        row, prev = -1, 0  # row -1 is the header
        for rec in reader:
            first, prev = prev + 1, reader.line_num
            if not rec:
                continue  # a blank line
            if row in want:
                want[row] = first
            row += 1
            if row > max(rows):
                break
    return [want[r] if want[r] > 0 else r + 2 for r in rows]


def _fail_row(path: Path, row: int, field: str, msg: str) -> LoadFileError:
    return _fail(path, _lines(path, [row])[0], field, msg)


def _check_step(path: Path, step_minutes: object) -> int:
    """``step_minutes`` as an int that divides 60 (what :func:`m2c.core.bill_interval` bills)."""
    ok = isinstance(step_minutes, int | np.integer) and not isinstance(step_minutes, bool)
    if not ok or not 1 <= step_minutes <= 60 or 60 % step_minutes:
        raise LoadFileError(
            f"{path}: step_minutes {step_minutes!r} (--step-minutes): expected a whole "
            "number of minutes that divides 60, e.g. 60 or 15"
        )
    return int(step_minutes)


def read_interval_csv(path: str | Path, step_minutes: int = 60) -> IntervalLoad:
    """Read a long ``customer,timestamp,kwh`` CSV into an :class:`IntervalLoad`.

    ``step_minutes`` is the interval length; it must divide 60. Line numbers
    in errors count the header as line 1 and every blank line.

    Raises
    ------
    LoadFileError
        For anything that cannot be billed exactly (see the module docstring);
        the message names the file, the line and the field.
    """
    path = Path(path)
    step_minutes = _check_step(path, step_minutes)
    if not path.is_file():
        raise LoadFileError(f"{path}: no such file")
    try:
        table = pacsv.read_csv(
            path,
            convert_options=pacsv.ConvertOptions(
                column_types={
                    "customer": pa.string(),
                    "timestamp": pa.string(),
                    "kwh": pa.string(),
                },
                strings_can_be_null=True,
            ),
        )
    except pa.ArrowInvalid as exc:
        raise LoadFileError(f"{path}: not a readable CSV: {exc}") from None
    missing = [c for c in REQUIRED_COLUMNS if c not in table.column_names]
    if missing:
        raise _fail(
            path,
            1,
            missing[0],
            f"column missing; the header must name "
            f"{', '.join(REQUIRED_COLUMNS)}, found {', '.join(table.column_names)}",
        )
    if table.num_rows == 0:
        raise LoadFileError(
            f"{path}:2: no data rows: expected one line per customer and interval "
            f"after the header {','.join(REQUIRED_COLUMNS)}"
        )
    for name in REQUIRED_COLUMNS:
        nulls = table[name].is_null()
        if pc.any(nulls).as_py():
            row = int(np.flatnonzero(nulls.to_numpy(zero_copy_only=False))[0])
            raise _fail_row(path, row, name, "empty value")
    kwh = _parse_floats(path, table["kwh"].to_numpy(zero_copy_only=False))
    ts, utc_offset = _parse_times(path, table["timestamp"])
    labels, cust = np.unique(table["customer"].to_numpy(zero_copy_only=False), return_inverse=True)
    start = ts.min()
    step = np.timedelta64(step_minutes, "m")
    offset = ts - start
    off_grid = (offset % step) != np.timedelta64(0, "m")
    if off_grid.any():
        row = int(np.flatnonzero(off_grid)[0])
        raise _fail_row(
            path,
            row,
            "timestamp",
            f"{ts[row]} is not on the {step_minutes}-minute grid starting {start}",
        )
    k = (offset // step).astype(np.int64)
    n_steps = int(k.max()) + 1
    n = len(labels)
    flat = cust.astype(np.int64) * n_steps + k
    order = np.argsort(flat, kind="stable")
    dup = np.flatnonzero(flat[order][1:] == flat[order][:-1])
    if dup.size:
        a, b = order[dup[0]], order[dup[0] + 1]
        line_a, line_b = _lines(path, [int(a), int(b)])
        raise _fail(
            path,
            line_b,
            "timestamp",
            f"customer {labels[cust[b]]} has {ts[b]} twice (also on line {line_a})",
        )
    if flat.size != n * n_steps:
        have = np.zeros(n * n_steps, dtype=bool)
        have[flat] = True
        gap = int(np.flatnonzero(~have)[0])
        raise LoadFileError(
            f"{path}: {n * n_steps - flat.size} interval(s) missing: customer "
            f"{labels[gap // n_steps]} has no value at {start + (gap % n_steps) * step} "
            "(fill gaps with estimates before billing; m2c does not guess)"
        )
    out = np.empty(n * n_steps, dtype=np.float64)
    out[flat] = kwh
    return IntervalLoad(
        [str(c) for c in labels],
        out.reshape(n, n_steps),
        str(start.astype("datetime64[m]")),
        step_minutes,
        utc_offset,
    )


def _parse_floats(path: Path, raw: np.ndarray) -> np.ndarray:
    """The ``kwh`` column as float64 kWh, each finite, >= 0 and below :data:`MAX_STEP_KWH`."""
    try:
        vals = raw.astype(np.float64)
    except ValueError:
        for i, v in enumerate(raw):
            try:
                float(v)
            except ValueError:
                raise _fail_row(path, i, "kwh", f"expected a number of kWh, got {v!r}") from None
        raise
    bad = ~np.isfinite(vals) | (vals < 0) | (vals >= MAX_STEP_KWH)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        why = (
            "(export / net metering is not billed)"
            if vals[i] < 0
            else "(the billing sums a year of steps exactly in int64 Wh)"
        )
        raise _fail_row(
            path,
            i,
            "kwh",
            f"expected a finite energy >= 0 and below {MAX_STEP_KWH:.0e} kWh per interval, "
            f"got {raw[i]!r} {why}",
        )
    return vals


def _first(mask: pa.Array | pa.ChunkedArray) -> int | None:
    """Index of the first true value of a boolean array (nulls count as false), or None."""
    if not pc.any(mask).as_py():
        return None
    return int(np.flatnonzero(mask.to_numpy(zero_copy_only=False))[0])


def _parse_times(path: Path, column: pa.ChunkedArray) -> tuple[np.ndarray, str | None]:
    """The ``timestamp`` column as datetime64[m] local wall-clock times, and the file's offset.

    Refuses (naming the line) a timestamp that is not an interval start on a
    whole minute, an invalid date, and an offset that differs from the first
    line's (see the module docstring: offsets are not converted).
    """
    column = column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column
    i = _first(pc.invert(pc.match_substring_regex(column, _TIMESTAMP)))
    if i is not None:
        v = column[i].as_py()
        raise _fail_row(path, i, "timestamp", f"expected {_EXPECTED_TIME}, got {v!r}")
    # The pattern pins "YYYY-MM-DD?HH:MM" to the first 16 characters; the rest is
    # optional seconds and an offset.
    rest = pc.utf8_slice_codeunits(column, 16)
    zone = None
    if pc.max(pc.utf8_length(rest)).as_py():
        whole = pc.match_substring_regex(rest, r"^(?::00(?:\.0+)?)?(?:Z|[+-]\d{2}:?\d{2})?$")
        i = _first(pc.invert(whole))
        if i is not None:
            raise _fail_row(
                path,
                i,
                "timestamp",
                f"{column[i].as_py()!r} has seconds: an interval starts on a whole minute "
                f"(expected {_EXPECTED_TIME})",
            )
        off = pc.replace_substring_regex(rest, r"^:\d{2}(?:\.\d+)?", "")
        # one spelling per offset: Z -> +00:00, +0800 -> +08:00
        norm = pc.replace_substring_regex(off, r"^([+-]\d{2})(\d{2})$", r"\1:\2")
        norm = pc.replace_substring_regex(norm, "^Z$", "+00:00")
        zone = norm[0].as_py() or None
        i = _first(pc.not_equal(norm, norm[0]))
        if i is not None:
            line0, line_i = _lines(path, [0, i])
            first, this = (
                f"UTC offset {o}" if o else "no UTC offset"
                for o in (off[0].as_py(), off[i].as_py())
            )
            raise _fail(
                path,
                line_i,
                "timestamp",
                f"{column[i].as_py()!r} has {this} but line {line0} has {first}: a load file "
                "is in one zone (local wall-clock time; offsets are not converted)",
            )
    local = pc.utf8_slice_codeunits(column, 0, 16)
    try:
        seconds = pc.cast(local, pa.timestamp("s")).cast(pa.int64()).to_numpy()
    except pa.ArrowInvalid:  # e.g. 2025-02-30 or hour 24: find the first one
        for i, v in enumerate(local.to_pylist()):
            try:
                pc.cast(pa.array([v]), pa.timestamp("s"))
            except pa.ArrowInvalid:
                raise _fail_row(
                    path,
                    i,
                    "timestamp",
                    f"expected {_EXPECTED_TIME} (a real date and time), got {column[i].as_py()!r}",
                ) from None
        raise
    return (seconds // 60).astype("datetime64[m]"), zone
