"""Sanity marks on a monthly KPI table: partial months and implausible station-month rates.

Applied after a run (or to a comparison's ``monthly.parquet``), never inside
the model: :func:`mark_months` adds ``full_month`` (False for a calendar month
the run simulated only in part, e.g. the last month of a 60-day run, whose
station-level rate can read 4 600 %: issue 16) and :func:`flag_station_months`
adds ``rate_flag`` and ``rate_reason`` to every station row whose station-level
recovery rate (collected / receivable) is above :data:`HIGH` or below
:data:`LOW`. The reason is inferred from the row's own columns and the
station's previous months (no per-customer data needed):

high (more cash than the month's bills)
    ``negotiation settlement`` (critical customers' arrears settled by
    agreement: ``negotiated`` column), ``back-bill paid`` (tampering found at
    the station in the 3 months before: the back-bill is a receivable of that
    month and is paid later), ``opening arrears paid`` / ``arrears paid``
    (outstanding fell; "opening" in the first 3 reported months, when the money
    owed at the start is being recovered), ``prepayment`` (prepaid credit stock
    rose), ``small receivable`` (the month's bills are under a quarter of the
    station's median month);
low (less cash than the month's bills)
    ``back-bill billed`` (tampering found this month: a back-bill raised the
    receivable), ``prepaid stock drawn down``, ``arrears building``,
    ``large receivable`` (over 3x the station's median month);
either
    ``partial month``; ``first reported month`` (no earlier month to compare
    outstanding and prepaid stock with: the warm-up is not in the table); or
    ``unexplained`` when nothing accounts for at least a quarter of the gap.

A reason is listed when it accounts for at least :data:`SHARE` of the gap
between collected and receivable; several are joined by ``"; "``, largest first.
"""

from __future__ import annotations

import calendar
import datetime as dt

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

#: Station-month station-level rates above this are flagged (issue 16: 150 %).
HIGH = 1.5
#: Station-month station-level rates below this are flagged (issue 16: 50 %).
LOW = 0.5
#: A reason must account for this share of the gap to be named.
SHARE = 0.25
#: Tampering found this many months before a high month explains it as a back-bill paid.
BACKBILL_MONTHS = 3
#: Months at the start of the reported period in which paid-down arrears are "opening".
OPENING_MONTHS = 3


def month_days(start: str, days: int, warmup_days: int = 0) -> dict[str, tuple[int, int]]:
    """``{"YYYY-MM": (days simulated, days in the month)}`` for the reported period.

    The model simulates whole months of warm-up before ``start`` (see
    :func:`m2c.sim.inputs.build_calendar`), so with ``warmup_days > 0`` the days
    of ``start``'s month before ``start`` count as simulated.

    Example: start 2025-01-01, 60 days -> January (31, 31), February (28, 28),
    March (1, 31).
    """
    first = dt.date.fromisoformat(start)
    last = first + dt.timedelta(days=days - 1)
    if days < 1:
        raise ValueError(f"days: expected >= 1, got {days}")
    out: dict[str, tuple[int, int]] = {}
    y, m = first.year, first.month
    while (y, m) <= (last.year, last.month):
        length = calendar.monthrange(y, m)[1]
        lo = dt.date(y, m, 1)
        hi = dt.date(y, m, length)
        a = lo if (warmup_days > 0 or lo >= first) else first
        b = min(hi, last)
        out[f"{y}-{m:02d}"] = ((b - a).days + 1, length)
        m += 1
        if m > 12:
            y, m = y + 1, 1
    return out


def mark_months(kpi: pa.Table, start: str, days: int, warmup_days: int = 0) -> pa.Table:
    """``kpi`` with a ``full_month`` column (bool): False for months simulated in part.

    Months absent from the reported period (none, normally) are marked False.
    Replaces an existing ``full_month`` column.
    """
    cover = month_days(start, days, warmup_days)
    full = [cover.get(m, (0, 1))[0] == cover.get(m, (0, 1))[1] for m in kpi["month"].to_pylist()]
    if "full_month" in kpi.column_names:
        kpi = kpi.drop_columns(["full_month"])
    return kpi.append_column("full_month", pa.array(full, pa.bool_()))


def _reasons_high(
    gap, negotiated, tamper_before, paid_down, opening, stock_up, recv, median_recv, partial, first
) -> list[str]:
    cands = []
    if negotiated >= SHARE * gap:
        cands.append((negotiated, "negotiation settlement"))
    if tamper_before:
        cands.append((gap, "back-bill paid"))
    if paid_down >= SHARE * gap:
        cands.append((paid_down, "opening arrears paid" if opening else "arrears paid"))
    if stock_up >= SHARE * gap:
        cands.append((stock_up, "prepayment"))
    if median_recv > 0 and recv < 0.25 * median_recv:
        cands.append((0.0, "small receivable"))
    return _ordered(cands, partial, first)


def _reasons_low(gap, tamper_now, drawn, building, recv, median_recv, partial, first) -> list[str]:
    cands = []
    if tamper_now:
        cands.append((gap, "back-bill billed"))
    if drawn >= SHARE * gap:
        cands.append((drawn, "prepaid stock drawn down"))
    if building >= SHARE * gap:
        cands.append((building, "arrears building"))
    if median_recv > 0 and recv > 3.0 * median_recv:
        cands.append((0.0, "large receivable"))
    return _ordered(cands, partial, first)


def _ordered(cands: list[tuple[float, str]], partial: bool, first: bool) -> list[str]:
    names = [n for _, n in sorted(cands, key=lambda c: -c[0])]
    if first and not names:
        names.append("first reported month")
    if partial:
        names.insert(0, "partial month")
    return names or ["unexplained"]


def flag_station_months(kpi: pa.Table) -> pa.Table:
    """``kpi`` with ``rate_flag`` ("high", "low" or "") and ``rate_reason`` (str) columns.

    Station rows (station != ``ALL``) whose ``recovery_rate_station`` is above
    :data:`HIGH` or below :data:`LOW` are flagged, with the reasons of the module
    docstring; county rows and rates inside the band get ``""``. Rows are
    grouped by (policy, replication, station) when those columns exist, and
    ordered by month within a group (for the previous month's outstanding and
    prepaid stock). A missing ``full_month`` column counts every month as full.
    """
    n = kpi.num_rows
    col = {c: kpi[c].to_numpy(zero_copy_only=False) for c in kpi.column_names}
    pol = col.get("policy", np.array([""] * n, dtype=object))
    rep = col.get("replication", np.zeros(n, dtype=np.int64))
    full = col.get("full_month", np.ones(n, dtype=bool))
    zeros = np.zeros(n)

    def num(name: str) -> np.ndarray:
        return np.asarray(col[name], dtype=np.float64) if name in col else zeros

    rate, recv, cash = num("recovery_rate_station"), num("receivable"), num("collected")
    outst, stock, tamper = num("outstanding"), num("prepaid_stock"), num("tamper_found")
    negotiated = num("negotiated") - num("offsets")  # the cash part (offsets are no cash)
    flags = [""] * n
    reasons = [""] * n
    groups: dict[tuple, list[int]] = {}
    for i in range(n):
        if col["station"][i] != "ALL":
            groups.setdefault((pol[i], rep[i], col["station"][i]), []).append(i)
    for rows in groups.values():
        rows.sort(key=lambda i: col["month"][i])
        median_recv = float(np.median(recv[rows]))
        for k, i in enumerate(rows):
            if LOW <= rate[i] <= HIGH:
                continue
            prev = rows[k - 1] if k > 0 else None
            d_out = outst[i] - outst[prev] if prev is not None else 0.0
            d_stock = stock[i] - stock[prev] if prev is not None else 0.0
            gap = abs(cash[i] - recv[i])
            partial = not bool(full[i])
            if rate[i] > HIGH:
                before = rows[max(0, k - BACKBILL_MONTHS) : k]
                flags[i] = "high"
                why = _reasons_high(
                    gap,
                    max(negotiated[i], 0.0),
                    bool(tamper[before].sum() > 0) if before else False,
                    max(-d_out, 0.0),
                    k < OPENING_MONTHS,
                    max(d_stock, 0.0),
                    recv[i],
                    median_recv,
                    partial,
                    prev is None,
                )
            else:
                flags[i] = "low"
                why = _reasons_low(
                    gap,
                    bool(tamper[i] > 0),
                    max(-d_stock, 0.0),
                    max(d_out, 0.0),
                    recv[i],
                    median_recv,
                    partial,
                    prev is None,
                )
            reasons[i] = "; ".join(why)
    for name in ("rate_flag", "rate_reason"):
        if name in kpi.column_names:
            kpi = kpi.drop_columns([name])
    kpi = kpi.append_column("rate_flag", pa.array(flags, pa.string()))
    return kpi.append_column("rate_reason", pa.array(reasons, pa.string()))


def flag_counts(kpi: pa.Table) -> dict[str, int]:
    """How many station-months a flagged table holds: ``station_months``, ``high``,
    ``low``, ``partial`` (station rows of months not wholly simulated)."""
    st = kpi.filter(pc.not_equal(kpi["station"], "ALL"))
    flags = st["rate_flag"].to_pylist() if "rate_flag" in st.column_names else []
    partial = (
        int(pc.sum(pc.invert(st["full_month"])).as_py() or 0)
        if "full_month" in st.column_names
        else 0
    )
    return {
        "station_months": st.num_rows,
        "high": flags.count("high"),
        "low": flags.count("low"),
        "partial": partial,
    }


def sanitise(kpi: pa.Table, start: str, days: int, warmup_days: int = 0) -> pa.Table:
    """:func:`mark_months` then :func:`flag_station_months`: what reports and plots read."""
    return flag_station_months(mark_months(kpi, start, days, warmup_days))
