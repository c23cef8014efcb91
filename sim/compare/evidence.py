"""Per-run evidence for ``m2c reproduce``: the figures the field reports' outcomes are judged on.

:func:`evidence_task` runs one simulation (on a Dask worker) and returns,
through Dask (no shared disk), its monthly KPI table (sanity-marked, see
:mod:`m2c.sim.kpi_sanity`), its summary, the evidence figures of
:data:`STATISTICS` and the per-customer concentration of the money KPIs
(:func:`concentration`). Everything is computed from what the run produces:
the monthly KPI rows, the ledger, the event log, and the model's final state
and fleet (the hidden behaviour segment is read only to *report* who was sued,
never by a policy).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from m2c.core import ledger as L
from m2c.sim.kpi_catalog import COMPARED

#: Capacity from which DOMAIN.md's prepaid county fitted prepaid meters with trip (kVA).
LARGE_KVA = 80
#: The fertiliser plant "cleared all its old arrears within three months" (DOMAIN.md).
CLEAR_DAYS = 90
#: Segments that DOMAIN.md calls deliberate debtors (strategic, malicious), by index
#: in :data:`m2c.sim.scenario.SEGMENTS`.
DELIBERATE = ("strategic", "malicious")

#: Evidence figures of one run: name -> what it is (unit in brackets).
STATISTICS: dict[str, str] = {
    "recovery_customer": "county per-customer recovery over the reported full months (fraction)",
    "recovery_customer_month_min": "lowest county per-customer monthly recovery rate (fraction)",
    "station_months_settled_share": "share of station-months with per-customer rate 100 %",
    "recovery_station_steady": "county station-level rate, full months after the first (fraction)",
    "recovery_customer_steady": "county per-customer rate, full months after the first (fraction)",
    "station_minus_customer_steady": "station-level minus per-customer rate, steady state",
    "old_arrears_ratio_end": "old-arrears ratio at the last month (fraction)",
    "bad_debt": "bad debt written off in the reported period (fen)",
    "bad_debt_measurable": "1 when a debt can age past dunning.write_off_after_days in the run",
    "prepaid_stock_ratio": "mean prepaid credit stock / mean monthly receivable",
    "disconnections_per_1000_year": "disconnections per 1 000 customers per year",
    "large_defaulters": "customers >= 80 kVA (not critical) owing at the warm-up start",
    "large_defaulters_cleared_90d": "share of those whose balance reached 0 within 90 days",
    "paid_by_due_share": "share of bills paid in full by their due date (before any dunning)",
    "customers_all_by_due_share": "share of billed customers who paid every bill by its due date",
    "legal_actions": "lawsuits filed in the reported period",
    "legal_on_deliberate_share": "share of lawsuits against deliberate (strategic, malicious)",
    "actual_read_rate": "county share of reads not estimated, mean of full months",
    "billing_accuracy": "1 - billing error rate, mean of full months",
    "collection_cost_per_customer_year": "collection cost per customer per year (fen)",
    "m2c_cost_per_customer_year": "whole meter-to-cash cost per customer per year (fen): staff, "
    "meters, fees (m2c.sim.staff_costs)",
    "fte_reading_dunning_per_1000": "reading, dunning and disconnection staff per 1 000 "
    "customers (FTE, mean of months)",
    "fte_per_1000": "meter-to-cash staff per 1 000 customers (FTE, mean of months)",
    "notice_timeliness": "share of notices and dunning visits served within "
    "dunning.notice_allowance_days of the request (late: still queued after it), full "
    "months (NaN when none)",
    "notices_per_1000_year": "notices and dunning visits due per 1 000 customers per year",
}

#: KPIs whose per-customer concentration is measured: KPI name -> per-customer vector.
CONCENTRATED = {
    "old_arrears": "old arrears at the end",
    "old_arrears_ratio": "old arrears at the end",
    "dso_days": "amount owed at the end",
    "recovery_rate_customer": "unpaid receivable of the last month",
    "bad_debt": "written off",
    "disconnections": "disconnections",
}


def top_share(values: np.ndarray, top: float = 0.01) -> float:
    """Share of ``sum(values)`` held by the largest ``ceil(top * n)`` entries (NaN if 0).

    Example: 200 customers, one owes 900 and 199 owe 0.5 each: the top 1 % is
    2 customers holding 900.5 of 999.5, share 0.9010.
    """
    v = np.asarray(values, dtype=np.float64)
    total = float(v.sum())
    if v.size == 0 or total <= 0:
        return float("nan")
    k = max(1, math.ceil(top * v.size))
    return float(np.sort(v)[-k:].sum() / total)


def _customers(events: pa.Table, event: str) -> np.ndarray:
    """int64: the customer of each ``event`` row (empty when none; an event table with
    no rows at all has untyped columns)."""
    if events.num_rows == 0:
        return np.zeros(0, dtype=np.int64)
    t = events.filter(pc.equal(events["event"], event))["customer"]
    return np.asarray(t.to_numpy(zero_copy_only=False), dtype=np.int64)


def _per_customer(sim, result) -> dict[str, np.ndarray]:
    s, cal = sim.state, sim.cal
    n = sim.fleet.n
    last_year = int(cal.year[-1])
    S = s.unpaid.shape[1]
    old_slots = cal.slot_year[:S] < last_year
    old = s.unpaid[:, old_slots].sum(axis=1) if old_slots.any() else np.zeros(n)
    from m2c.sim.rules import Field

    owed = np.maximum(s.cs[:, Field.OWED], 0)
    last_slot = int(cal.slot[-1])
    e = result.ledger.entries
    wo = e[(e["kind"] == L.WRITE_OFF) & (e["day"] >= sim.warmup_days)]
    ev = result.events
    disc = _customers(ev, "disconnect")
    return {
        "old arrears at the end": old.astype(np.float64),
        "amount owed at the end": owed.astype(np.float64),
        "unpaid receivable of the last month": s.unpaid[:, last_slot].astype(np.float64),
        "written off": np.bincount(wo["customer"], weights=wo["amount_fen"], minlength=n),
        "disconnections": np.bincount(disc, minlength=n).astype(np.float64),
    }


def concentration(sim, result) -> list[dict[str, Any]]:
    """Rows ``{kpi, top1_share, total, holders}`` per :data:`CONCENTRATED` KPI of one run.

    ``top1_share`` is :func:`top_share` of the per-customer vector, ``total`` its
    sum and ``holders`` how many customers hold a non-zero part.
    """
    vec = _per_customer(sim, result)
    rows = []
    for kpi, what in CONCENTRATED.items():
        v = vec[what]
        rows.append(
            {
                "kpi": kpi,
                "top1_share": top_share(v),
                "total": float(v.sum()),
                "holders": int(np.count_nonzero(v)),
            }
        )
    return rows


def _county(kpi: pa.Table) -> dict[str, np.ndarray]:
    t = kpi.filter(pc.equal(kpi["station"], "ALL"))
    if "full_month" in t.column_names:
        t = t.filter(t["full_month"])
    t = t.sort_by("month")
    return {c: t[c].to_numpy(zero_copy_only=False) for c in t.column_names}


def _ratio(a: float, b: float) -> float:
    return float(a / b) if b else float("nan")


def paid_by_due(
    entries: np.ndarray, opening: np.ndarray, due_days: int, first_day: int, last_day: int
) -> tuple[float, float]:
    """Share of bills paid in full by their due date, and of customers who paid all so.

    Payments settle the oldest charges first (first in, first out): a bill of
    day ``b`` is paid by its due date ``b + due_days`` when the customer's
    credits up to that day cover the opening balance and every charge up to
    day ``b``. Bills of days ``first_day .. last_day - due_days`` count.

    Parameters
    ----------
    entries : ledger entries (:data:`m2c.core.ledger.ENTRY_DTYPE`).
    opening : int64 (n,) opening balance owed (fen; negative = credit).
    """
    n = opening.shape[0]
    cust = entries["customer"].astype(np.int64)
    day = entries["day"].astype(np.int64)
    kind = entries["kind"].astype(np.int64)
    amt = entries["amount_fen"].astype(np.float64)
    signed = L.KIND_SIGN[kind] * amt
    K = int(max(last_day, int(day.max(initial=0))) + 2)
    key = cust * K + day
    order = np.argsort(key, kind="stable")
    key, signed_o = key[order], signed[order]
    charges = np.cumsum(np.where(signed_o > 0, signed_o, 0.0))
    credits = np.cumsum(np.where(signed_o < 0, -signed_o, 0.0))

    def upto(c: np.ndarray, d: np.ndarray, cum: np.ndarray) -> np.ndarray:
        """Cumulative ``cum`` of customer ``c`` through day ``d`` (since its first entry)."""
        hi = np.searchsorted(key, c * K + d, side="right") - 1
        lo = np.searchsorted(key, c * K, side="left") - 1
        at_hi = np.where(hi >= 0, cum[np.maximum(hi, 0)], 0.0)
        at_lo = np.where(lo >= 0, cum[np.maximum(lo, 0)], 0.0)
        return np.where(hi > lo, at_hi - at_lo, 0.0)

    sel = (kind == L.BILL) & (day >= first_day) & (day + due_days <= last_day)
    bc, bd = cust[sel], day[sel]
    if bc.size == 0:
        return float("nan"), float("nan")
    owed = upto(bc, bd, charges) + np.maximum(opening[bc], 0)
    paid = upto(bc, bd + due_days, credits) + np.maximum(-opening[bc], 0)
    ok = paid >= owed
    late = np.bincount(bc[~ok], minlength=n)
    billed = np.bincount(bc, minlength=n) > 0
    return float(ok.mean()), float(((late == 0) & billed).sum() / billed.sum())


def _cleared_within(
    entries: np.ndarray, opening: np.ndarray, who: np.ndarray, days: int
) -> np.ndarray:
    """bool (len(who),): the customer's balance reached <= 0 by the end of day ``days - 1``."""
    out = np.zeros(who.size, dtype=bool)
    early = entries[entries["day"] < days]
    for j, c in enumerate(who):
        e = early[early["customer"] == c]
        bal = float(opening[c])
        if bal <= 0:
            out[j] = True
            continue
        e = e[np.argsort(e["day"], kind="stable")]
        signed = L.KIND_SIGN[e["kind"].astype(np.int64)] * e["amount_fen"]
        run = bal + np.cumsum(signed)
        # end-of-day balances: the last entry of each day
        last_of_day = np.r_[e["day"][1:] != e["day"][:-1], True] if e.size else np.zeros(0, bool)
        out[j] = bool(np.any(run[last_of_day] <= 0))
    return out


def statistics(sim, result) -> dict[str, float]:
    """The :data:`STATISTICS` of one finished run (``sim`` as built, ``result`` its RunResult)."""
    from m2c.sim.scenario import SEGMENTS

    sc = sim.scenario
    n = sim.fleet.n
    # the reported period: the calendar less the warm-up (= result.days)
    years = (sim.cal.days - sim.warmup_days) / 365.0
    c = _county(result.kpi_monthly)
    recv = np.asarray(c["receivable"], np.float64)
    steady = slice(1, None)
    st = result.kpi_monthly.filter(pc.not_equal(result.kpi_monthly["station"], "ALL"))
    if "full_month" in st.column_names:
        st = st.filter(st["full_month"])
    st_rate = st["recovery_rate_customer"].to_numpy()
    out: dict[str, float] = {
        "recovery_customer": 1.0 - _ratio(c["unpaid_month"].sum(), recv.sum()),
        "recovery_customer_month_min": float(np.min(c["recovery_rate_customer"]))
        if recv.size
        else float("nan"),
        "station_months_settled_share": float(np.mean(st_rate >= 1.0 - 1e-12))
        if st_rate.size
        else float("nan"),
        "recovery_station_steady": _ratio(c["collected"][steady].sum(), recv[steady].sum()),
        "recovery_customer_steady": 1.0
        - _ratio(c["unpaid_month"][steady].sum(), recv[steady].sum()),
        "old_arrears_ratio_end": float(c["old_arrears_ratio"][-1]) if recv.size else float("nan"),
        "bad_debt": float(result.summary["bad_debt"]),
        "bad_debt_measurable": float(sim.cal.days > sc.dunning.write_off_after_days),
        "prepaid_stock_ratio": _ratio(np.mean(c["prepaid_stock"]), np.mean(recv))
        if recv.size
        else float("nan"),
        "disconnections_per_1000_year": float(result.summary["disconnections"]) / n * 1000 / years,
        "actual_read_rate": float(np.mean(c["actual_read_rate"])) if recv.size else float("nan"),
        "billing_accuracy": 1.0 - float(np.mean(c["billing_error_rate"]))
        if recv.size
        else float("nan"),
        "collection_cost_per_customer_year": float(result.summary["collection_cost"]) / n / years,
        # issue 16 item 2: the whole cost and the staff, on the same base in every policy
        "m2c_cost_per_customer_year": float(result.summary["m2c_cost_per_customer_year"]),
        "fte_reading_dunning_per_1000": float(result.summary["fte_reading_dunning"]) / n * 1000,
        "fte_per_1000": float(result.summary["fte_total"]) / n * 1000,
    }
    due = float(np.sum(c["notices_due"])) if "notices_due" in c else 0.0
    out["notice_timeliness"] = (
        float(np.sum(c["notices_on_time"])) / due if due > 0 else float("nan")
    )
    out["notices_per_1000_year"] = (
        float(result.summary["notices_due"]) / n * 1000 / years
        if "notices_due" in result.summary
        else float("nan")
    )
    out["station_minus_customer_steady"] = (
        out["recovery_station_steady"] - out["recovery_customer_steady"]
    )
    e = result.ledger.entries
    opening = result.ledger.opening_fen
    out["paid_by_due_share"], out["customers_all_by_due_share"] = paid_by_due(
        e, opening, sc.billing.due_days, sim.warmup_days, sim.cal.days - 1
    )
    f = sim.fleet
    from m2c.sim.rules import Klass

    large = np.flatnonzero(
        (f.capacity_kva >= LARGE_KVA) & (f.klass != Klass.CRITICAL) & (opening > 0)
    )
    out["large_defaulters"] = float(large.size)
    out["large_defaulters_cleared_90d"] = (
        float(_cleared_within(e, opening, large, CLEAR_DAYS).mean()) if large.size else math.nan
    )
    ev = result.events
    sued = _customers(ev, "legal")
    deliberate = np.isin(f.segment, [SEGMENTS.index(s) for s in DELIBERATE])
    out["legal_actions"] = float(sued.size)
    out["legal_on_deliberate_share"] = float(deliberate[sued].mean()) if sued.size else float("nan")
    return out


def evidence_task(
    scenario: dict[str, Any],
    label: str,
    rep: int,
    customers: int,
    days: int,
    seed: int,
) -> dict[str, Any]:
    """Run one simulation of a resolved scenario and return its evidence (on a Dask worker).

    ``scenario`` is :func:`m2c.sim.compare.runner.resolved_scenario`'s JSON data, so
    a worker needs no scenario files; nothing is written (the result travels
    back through Dask).

    Returns
    -------
    dict
        ``kpi`` (the monthly table with ``policy, replication, seed`` columns first,
        sanity-marked), ``summary`` (:data:`COMPARED` KPIs), ``statistics``
        (:func:`statistics`), ``concentration`` (:func:`concentration` rows).
    """
    from m2c.sim.compare.runner import one_numba_thread
    from m2c.sim.kpi_sanity import sanitise
    from m2c.sim.model import Simulation
    from m2c.sim.run import run_built
    from m2c.sim.scenario import parse_scenario

    one_numba_thread()
    sc = parse_scenario(scenario, f"<{label}>")
    sim = Simulation(sc, customers, days, seed)
    res = run_built(sim)
    res.kpi_monthly = sanitise(res.kpi_monthly, sc.run.start, days, sc.run.warmup_days)
    kpi = res.kpi_monthly
    m = kpi.num_rows
    table = pa.table(
        {
            "policy": [label] * m,
            "replication": [rep] * m,
            "seed": [seed] * m,
            **{col: kpi[col] for col in kpi.column_names},
        }
    )
    return {
        "label": label,
        "replication": rep,
        "seed": seed,
        "kpi": table,
        "summary": {k: float(res.summary[k]) for k in COMPARED},
        "statistics": statistics(sim, res),
        "concentration": concentration(sim, res),
    }
