"""Interval load files: a long CSV of ``customer,timestamp,kwh`` into a load matrix.

The format a meter-data system exports: one row per customer and interval,
``timestamp`` the start of the interval (ISO 8601, local time), ``kwh`` the
energy of the interval. Rows may come in any order. Every problem is
reported with the file, the line and the field, and nothing is dropped
silently: a duplicated interval, a gap or a value off the interval grid is an
error, not a guess.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

REQUIRED_COLUMNS = ("customer", "timestamp", "kwh")


class LoadFileError(ValueError):
    """A load file that cannot be billed; the message names file, line and field."""


@dataclass(frozen=True)
class IntervalLoad:
    """Loads ready for :func:`m2c.core.bill_interval`.

    ``customers`` the customer labels (row order of ``kwh``); ``kwh`` float64
    (n_customers, n_steps); ``start`` ISO timestamp of the first step.
    """

    customers: list[str]
    kwh: np.ndarray
    start: str
    step_minutes: int


def _fail(path: Path, line: int | None, field: str, msg: str) -> LoadFileError:
    where = f"{path}:{line}" if line is not None else str(path)
    return LoadFileError(f"{where}: field '{field}': {msg}")


def read_interval_csv(path: str | Path, step_minutes: int = 60) -> IntervalLoad:
    """Read a long ``customer,timestamp,kwh`` CSV into an :class:`IntervalLoad`.

    Line numbers in errors count the header as line 1.
    """
    path = Path(path)
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
    for name in REQUIRED_COLUMNS:
        nulls = table[name].is_null()
        if pc.any(nulls).as_py():
            row = int(np.flatnonzero(nulls.to_numpy(zero_copy_only=False))[0])
            raise _fail(path, row + 2, name, "empty value")
    kwh = _parse_floats(path, table["kwh"].to_numpy(zero_copy_only=False))
    ts = _parse_times(path, table["timestamp"].to_numpy(zero_copy_only=False))
    labels, cust = np.unique(table["customer"].to_numpy(zero_copy_only=False), return_inverse=True)
    start = ts.min()
    step = np.timedelta64(step_minutes, "m")
    offset = ts - start
    off_grid = (offset % step) != np.timedelta64(0, "m")
    if off_grid.any():
        row = int(np.flatnonzero(off_grid)[0])
        raise _fail(
            path,
            row + 2,
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
        raise _fail(
            path,
            int(b) + 2,
            "timestamp",
            f"customer {labels[cust[b]]} has {ts[b]} twice (also on line {int(a) + 2})",
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
    )


def _parse_floats(path: Path, raw: np.ndarray) -> np.ndarray:
    try:
        vals = raw.astype(np.float64)
    except ValueError:
        for i, v in enumerate(raw):
            try:
                float(v)
            except ValueError:
                raise _fail(path, i + 2, "kwh", f"expected a number of kWh, got {v!r}") from None
        raise
    bad = ~np.isfinite(vals) | (vals < 0)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise _fail(
            path,
            i + 2,
            "kwh",
            f"expected a finite energy >= 0 kWh, got {raw[i]!r} "
            "(export / net metering is not billed)",
        )
    return vals


def _parse_times(path: Path, raw: np.ndarray) -> np.ndarray:
    try:
        return raw.astype("datetime64[m]")
    except ValueError:
        for i, v in enumerate(raw):
            try:
                np.datetime64(v, "m")
            except ValueError:
                raise _fail(
                    path,
                    i + 2,
                    "timestamp",
                    f"expected an ISO timestamp like 2025-01-01T00:00, got {v!r}",
                ) from None
        raise
