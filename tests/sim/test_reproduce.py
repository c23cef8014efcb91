"""Verdict rules of ``m2c reproduce`` on hand-made tables, and the per-run evidence helpers."""

import math

import numpy as np
import pyarrow as pa
import pytest

from m2c.core import ledger as L
from m2c.sim.compare import evidence as E
from m2c.sim.compare.reproduce import (
    OUTCOMES,
    VERDICTS,
    Check,
    Direction,
    Outcome,
    judge,
    reproduce_table,
)
from m2c.sim.compare.stats import Interval


def iv(mean, low, high, n=5):
    return Interval(n, mean, low, high)


@pytest.mark.parametrize(
    ("check", "figure", "direction", "sign", "expected"),
    [
        # at least 80 %: the whole interval must clear it
        (Check("at_least", 0.8), iv(0.85, 0.81, 0.9), None, 1, "reproduced"),
        (Check("at_least", 0.8), iv(0.85, 0.79, 0.9), None, 1, "not reproduced"),
        # ... otherwise "direction only" if the paired difference is > 0 throughout
        (Check("at_least", 0.8), iv(0.5, 0.4, 0.6), iv(0.5, 0.4, 0.6), 1, "direction only"),
        (Check("at_least", 0.8), iv(0.5, 0.4, 0.6), iv(0.1, -0.1, 0.3), 1, "not reproduced"),
        # tolerance: 100 % within 0.05 points
        (Check("at_least", 1.0, 0.0005), iv(0.9997, 0.9995, 1.0), None, 1, "reproduced"),
        # at most 0 (old arrears): a single positive upper bound fails it
        (Check("at_most", 0.0), iv(0.0, 0.0, 0.0), None, -1, "reproduced"),
        (Check("at_most", 0.0), iv(0.01, 0.0, 0.03), iv(-0.2, -0.3, -0.1), -1, "direction only"),
        # near 90 % +/- 3 points: the interval must lie in [87, 93]
        (Check("near", 0.9, 0.03), iv(0.9, 0.88, 0.92), None, 1, "reproduced"),
        (Check("near", 0.9, 0.03), iv(0.9, 0.86, 0.92), None, 1, "not reproduced"),
        # relative change -24 % +/- 5: -64 % [-69, -61] goes the right way only
        (Check("rel_change", -0.24, 0.05), iv(-0.64, -0.69, -0.61), None, 1, "direction only"),
        (Check("rel_change", -0.24, 0.05), iv(-0.22, -0.26, -0.2), None, 1, "reproduced"),
        (Check("rel_change", -0.24, 0.05), iv(0.1, -0.05, 0.2), None, 1, "not reproduced"),
        # one replication: judged on the mean
        (Check("at_least", 0.8), Interval(1, 0.9, math.nan, math.nan), None, 1, "reproduced"),
    ],
)
def test_judge(check, figure, direction, sign, expected):
    assert judge(check, figure, direction, sign, 0.0) == expected


def test_check_refuses_unknown_kind():
    with pytest.raises(ValueError, match="at_least"):
        Check("above", 1.0)


def _evidence(rows):
    """rows: {(policy, statistic): [values by replication]}."""
    d = {"policy": [], "replication": [], "statistic": [], "value": []}
    for (p, s), vals in rows.items():
        for r, v in enumerate(vals):
            d["policy"].append(p)
            d["replication"].append(r)
            d["statistic"].append(s)
            d["value"].append(float(v))
    return pa.table(d)


STOCK = Outcome(
    "stock",
    "prepaid balances above 80 %",
    "> 80 %",
    "DOMAIN.md",
    "P",
    "stock",
    Check("at_least", 0.8),
    Direction("stock", +1, "B"),
)


@pytest.mark.parametrize(
    ("p_vals", "b_vals", "verdict"),
    [
        ([0.85, 0.9, 0.82], [0, 0, 0], "reproduced"),  # every value, so every mean, >= 0.8
        ([0.5, 0.6, 0.55], [0, 0, 0], "direction only"),  # d = 0.5..0.6 > 0 throughout
        ([0.5, 0.6, 0.55], [0.7, 0.7, 0.7], "not reproduced"),  # below and below baseline
    ],
)
def test_reproduce_table_verdicts_from_hand_made_evidence(p_vals, b_vals, verdict):
    t = reproduce_table(_evidence({("P", "stock"): p_vals, ("B", "stock"): b_vals}), (STOCK,))
    row = t.to_pylist()[0]
    assert row["verdict"] == verdict
    assert row["value"] == pytest.approx(np.mean(p_vals))
    # n = 3: the expanded bootstrap interval is the range of resampled means = [min, max]
    assert (row["low"], row["high"]) == (min(p_vals), max(p_vals))
    assert row["m2c_figure"].startswith(f"{100 * np.mean(p_vals):.2f} %")
    assert row["versus_figure"].startswith(f"B: {100 * np.mean(b_vals):.2f} %")


def test_not_measured_rows_say_why():
    staff = Outcome("s", "staff -20 %", "-20 %", "src", "P", "", None, not_measured="no FTE")
    needs = Outcome(
        "bd",
        "no bad debt",
        "0",
        "src",
        "P",
        "bad",
        Check("at_most", 0.0),
        needs="ok",
        needs_reason="write-off needs 1 095 days",
    )
    empty = Outcome("l", "suits", "x", "src", "P", "legal", Check("at_least", 0.8))
    ev = _evidence({("P", "bad"): [0, 0], ("P", "ok"): [1, 0], ("P", "legal"): [math.nan] * 2})
    rows = {r["key"]: r for r in reproduce_table(ev, (staff, needs, empty)).to_pylist()}
    assert rows["s"]["verdict"] == "not measured yet" and rows["s"]["reason"] == "no FTE"
    assert rows["bd"]["verdict"] == "not measured yet"
    assert rows["bd"]["reason"] == "write-off needs 1 095 days"
    assert rows["l"]["verdict"] == "not measured yet" and "none happened" in rows["l"]["reason"]


def test_runs_without_the_event_are_left_out_and_said():
    o = Outcome("l", "suits", "x", "src", "P", "legal", Check("at_least", 0.8))
    row = reproduce_table(_evidence({("P", "legal"): [1.0, math.nan, 0.9]}), (o,)).to_pylist()[0]
    assert row["n"] == 2 and row["value"] == pytest.approx(0.95)
    assert row["verdict"] == "reproduced" and "1 of 3 runs had none" in row["reason"]


def test_relative_change_row():
    o = Outcome(
        "c",
        "cost -24 %",
        "-24 %",
        "src",
        "A",
        "cost",
        Check("rel_change", -0.24, 0.05),
        versus="B",
        fmt="fen",
    )
    # A = 0.76 x B in every replication: -24 % exactly
    ev = _evidence({("A", "cost"): [76, 152, 114], ("B", "cost"): [100, 200, 150]})
    row = reproduce_table(ev, (o,)).to_pylist()[0]
    assert row["value"] == pytest.approx(-0.24) and row["verdict"] == "reproduced"
    assert row["m2c_figure"].startswith("-24.00 %")
    # the two policies' own figures (fen shown in CNY): A 114 fen, B 150 fen
    assert row["versus_figure"] == "A: 1.14 CNY [0.76, 1.52]; B: 1.50 CNY [1.00, 2.00]"


def test_bundled_outcomes_are_well_formed():
    keys = [o.key for o in OUTCOMES]
    assert len(set(keys)) == len(keys)
    for o in OUTCOMES:
        assert o.kind in ("outcome", "target", "calibrated")
        assert o.not_measured or (o.statistic in E.STATISTICS and o.check is not None), o.key
        if o.direction is not None:
            assert o.direction.statistic in E.STATISTICS
    # every outcome the issue lists has a row
    for k in (
        "prepaid_recovery_every_month",
        "prepaid_old_arrears",
        "prepaid_large_defaulter",
        "prepaid_stock",
        "prepaid_no_disconnection",
        "baseline_clear_top",
        "auto_staff",
        "auto_cost",
        "auto_data_collection",
        "pay_on_own",
        "credit_legal_deliberate",
    ):
        assert k in keys
    assert set(VERDICTS) >= {"reproduced", "direction only", "not reproduced"}


def test_top_share_by_hand():
    # 200 customers: one owes 900, 199 owe 0.5 -> top 1 % = 2 customers hold 900.5 / 999.5
    v = np.array([900.0] + [0.5] * 199)
    assert E.top_share(v) == pytest.approx(900.5 / 999.5)
    assert math.isnan(E.top_share(np.zeros(10)))


def _entries(rows):
    e = np.zeros(len(rows), dtype=L.ENTRY_DTYPE)
    for i, (c, d, k, a) in enumerate(rows):
        e[i] = (c, d, k, a)
    return e


def test_paid_by_due_by_hand():
    # due 10 days after the bill; bills on day 5 and 35 for each customer
    e = _entries(
        [
            (0, 5, L.BILL, 100),
            (0, 12, L.PAYMENT, 100),  # on time
            (0, 35, L.BILL, 80),
            (0, 50, L.PAYMENT, 80),  # 15 days: late
            (1, 5, L.BILL, 100),
            (1, 6, L.PAYMENT, 100),  # on time, but owes 30 opening:
            (1, 35, L.BILL, 50),
            (1, 40, L.PAYMENT, 50),  # FIFO: still 30 short of day 35
        ]
    )
    opening = np.array([0, 30], dtype=np.int64)
    # customer 1, bill of day 5: credits 100 by day 15 < 30 + 100 -> late;
    # bill of day 35: credits 150 by day 45 < 30 + 150 -> late. So 1 of 4 bills on time
    bills, customers = E.paid_by_due(e, opening, due_days=10, first_day=0, last_day=60)
    assert bills == 0.25 and customers == 0.0
    # without the opening debt customer 1 pays both on time: 3 of 4, 1 of 2 customers
    bills, customers = E.paid_by_due(e, np.zeros(2, np.int64), 10, 0, 60)
    assert bills == 0.75 and customers == 0.5


def test_cleared_within_by_hand():
    e = _entries(
        [
            (0, 10, L.TOPUP, 300),  # owes 200 at the start: cleared on day 10
            (1, 10, L.TOPUP, 100),
            (1, 95, L.TOPUP, 500),  # owes 200: 100 left until day 95
        ]
    )
    opening = np.array([200, 200], dtype=np.int64)
    got = E._cleared_within(e, opening, np.array([0, 1]), 90)
    assert got.tolist() == [True, False]


def test_evidence_task_on_a_small_run():
    from m2c.sim.compare.runner import Point, resolved_scenario

    sc = resolved_scenario(Point("smoke", "smoke", {"run.warmup_days": 0}))
    res = E.evidence_task(sc, "smoke", 0, 300, 90, 3)
    s = res["statistics"]
    assert set(s) == set(E.STATISTICS)
    for k in ("recovery_customer", "paid_by_due_share", "station_months_settled_share"):
        assert 0.0 <= s[k] <= 1.0, (k, s[k])
    # the monthly table is sanity-marked and the county rows match the summary
    assert {"full_month", "rate_flag", "rate_reason"} <= set(res["kpi"].column_names)
    assert {r["kpi"] for r in res["concentration"]} == set(E.CONCENTRATED)


def test_rows_warn_when_the_figure_rests_on_few_customers():
    o = Outcome(
        "oa",
        "old arrears 0",
        "0",
        "src",
        "P",
        "oar",
        Check("at_most", 0.0),
        concentrated="old_arrears_ratio",
    )
    ev = _evidence({("P", "oar"): [0.0, 0.0, 0.0, 0.0, 0.01]})
    conc = pa.table(
        {
            "policy": ["P"] * 5,
            "replication": list(range(5)),
            "kpi": ["old_arrears_ratio"] * 5,
            # one customer holds it all in the one replication that has any
            "top1_share": [math.nan] * 4 + [1.0],
            "total": [0.0] * 4 + [8460.0],
        }
    )
    row = reproduce_table(ev, (o,), concentration=conc).to_pylist()[0]
    assert "rests on few customers (top 1 % hold 100 %)" in row["warning"]
    row = reproduce_table(ev, (o,)).to_pylist()[0]
    assert row["warning"] == ""  # 5 replications, no concentration data: nothing to say
    ev3 = _evidence({("P", "oar"): [0.0, 0.0, 0.0]})
    assert reproduce_table(ev3, (o,)).to_pylist()[0]["warning"].startswith("n < 5")


def test_legal_row_reports_the_share_or_no_suits():
    # credit_driven row: with suits, the share of suits on deliberate debtors and how many
    # suits there were (3 runs: 4, 0, 6 suits; shares 0.75, none, 1.0 -> mean 0.875);
    # without any suit, "no suits"
    o = next(x for x in OUTCOMES if x.key == "credit_legal_deliberate")
    ev = _evidence(
        {
            ("credit_driven", "legal_on_deliberate_share"): [0.75, math.nan, 1.0],
            ("credit_driven", "legal_actions"): [4, 0, 6],
        }
    )
    row = reproduce_table(ev, (o,)).to_pylist()[0]
    assert row["value"] == pytest.approx(0.875) and row["n"] == 2
    assert "10 suits in 3 runs (3.3 per run)" in row["reason"]
    assert "1 of 3 runs had no suits" in row["reason"]
    none = _evidence(
        {
            ("credit_driven", "legal_on_deliberate_share"): [math.nan] * 3,
            ("credit_driven", "legal_actions"): [0, 0, 0],
        }
    )
    row = reproduce_table(none, (o,)).to_pylist()[0]
    assert row["verdict"] == "not measured yet" and row["reason"].startswith("no suits")
