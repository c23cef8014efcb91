"""Bootstrap intervals that stay in the KPI's range, planning figures, warnings, yearly KPIs."""

import math

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from m2c.sim.compare.stats import (
    Interval,
    boot_mean_ci,
    boot_paired_ci,
    expanded_level,
    mean_ci,
    reps_needed,
    summary_table,
    t_ppf,
    warnings_for,
    yearly_summary,
    yearly_tidy,
)

money = st.lists(st.floats(min_value=0, max_value=1e9, allow_nan=False), min_size=2, max_size=12)
rates = st.lists(st.floats(min_value=0, max_value=1, allow_nan=False), min_size=2, max_size=12)


@settings(max_examples=60, deadline=None)
@given(money)
def test_money_mean_interval_never_below_zero(x):
    ci = boot_mean_ci(np.array(x))
    assert 0.0 <= min(x) <= ci.low + 1e-6 * max(1.0, abs(ci.low))
    assert ci.high <= max(x) * (1 + 1e-12) + 1e-9


@settings(max_examples=60, deadline=None)
@given(rates)
def test_rate_interval_stays_in_unit_interval(x):
    ci = boot_mean_ci(np.array(x))
    assert 0.0 <= ci.low <= ci.high <= 1.0


@settings(max_examples=60, deadline=None)
@given(st.data())
def test_paired_difference_within_observed_range_and_ratio_above_minus_one(data):
    n = data.draw(st.integers(2, 10))
    vals = st.floats(min_value=0, max_value=1e8, allow_nan=False)
    base = np.array(data.draw(st.lists(vals, min_size=n, max_size=n)))
    other = np.array(data.draw(st.lists(vals, min_size=n, max_size=n)))
    d, rel = boot_paired_ci(base, other)
    diff = other - base
    tol = 1e-6 * max(1.0, float(np.abs(diff).max()))
    assert diff.min() - tol <= d.low <= d.high <= diff.max() + tol
    if base.mean() > 0:
        assert rel.low >= -1.0 - 1e-12


def test_issue_16_old_arrears_interval_no_longer_negative():
    # one customer in one replication holds all old arrears: t goes below 0, bootstrap not
    x = np.array([0.0, 0.0, 0.0, 0.0, 4.8e6])
    # t: mean 960 000, s = 2 146 625, half = 2.776 * s / sqrt(5) = 2 665 400 -> low < 0
    assert mean_ci(x).low < 0
    ci = boot_mean_ci(x)
    assert ci.low == 0.0 and ci.mean == 960_000.0


def test_two_replications_interval_is_their_range():
    # n = 2: resampled means are a, (a+b)/2, b with p 1/4, 1/2, 1/4; the expanded level
    # 2 Phi(sqrt(2) * 12.706) - 1 is 1 - 1e-70, so the bounds are a and b
    ci = boot_mean_ci(np.array([3.0, 7.0]))
    assert (ci.low, ci.mean, ci.high) == (3.0, 5.0, 7.0)


def test_expanded_level_by_hand():
    # n = 5: t_{0.975,4} = 2.7764, z = 2.7764 * sqrt(5/4) = 3.1041, 2 Phi(z) - 1 = 0.99809
    assert expanded_level(5) == pytest.approx(0.99809, abs=2e-5)
    # large n tends to the nominal level: n = 200 -> within 0.2 %
    assert 0.95 < expanded_level(200) < 0.952


def test_reps_needed_by_hand():
    # d = [1, 3, 0, 3]: mean 1.75, s = 1.5; need 2 t_{m-1} 1.5 / sqrt(m) <= 0.875, i.e.
    # t_{m-1} / sqrt(m) <= 0.29167: m = 47 gives 2.0129 / 6.8557 = 0.29361 (no),
    # m = 48 gives 2.0117 / 6.9282 = 0.29037 (yes)
    assert t_ppf(0.975, 46) / math.sqrt(47) > 0.875 / 3 > t_ppf(0.975, 47) / math.sqrt(48)
    assert reps_needed(np.array([1.0, 3, 0, 3])) == 48
    assert math.isnan(reps_needed(np.array([1.0, -1.0])))  # no effect to resolve
    assert reps_needed(np.array([2.0, 2.0, 2.0])) == 3  # no spread: already resolved


def test_warnings_by_hand():
    wide = Interval(10, 1.0, -0.5, 2.0)  # width 2.5 > |1.0|
    narrow = Interval(10, 1.0, 0.8, 1.2)
    assert warnings_for(False, 10, wide, float("nan")) == "interval wider than effect"
    assert warnings_for(False, 10, narrow, 0.2) == ""
    assert "top 1 % hold 70 %" in warnings_for(False, 10, narrow, 0.7)
    assert "top 1 % hold 90 %" in warnings_for(False, 10, narrow, 0.1, base_top1=0.9)
    assert warnings_for(True, 10, wide, float("nan")) == ""  # the first policy has no diff
    assert warnings_for(True, 3, narrow, float("nan")).startswith("n < 5")


def test_concentration_pooled_over_replications():
    tidy = pa.table(
        {
            "policy": ["A", "A", "B", "B"],
            "replication": [0, 1, 0, 1],
            "kpi": ["old_arrears"] * 4,
            "value": [100.0, 300, 50, 40],
        }
    )
    conc = pa.table(
        {
            "policy": ["A", "A", "B", "B"],
            "replication": [0, 1, 0, 1],
            "kpi": ["old_arrears"] * 4,
            "top1_share": [1.0, 0.2, 0.1, 0.1],
            "total": [100.0, 300.0, 50.0, 40.0],
        }
    )
    rows = summary_table(tidy, concentration=conc).to_pylist()
    # A: (1.0 * 100 + 0.2 * 300) / 400 = 0.4 (no warning of its own), B: 0.1
    assert rows[0]["top1_share"] == pytest.approx(0.4)
    assert rows[1]["top1_share"] == pytest.approx(0.1)
    assert "few customers" not in rows[1]["warning"]


def _monthly(months, rep=0, policy="P", full=None):
    """County and one station row per month, hand-made figures."""
    n = len(months)
    rows = {
        "policy": [policy] * 2 * n,
        "replication": [rep] * 2 * n,
        "month": [m for m in months for _ in (0, 1)],
        "station": ["ALL", "R01"] * n,
        "receivable": [100, 100] * n,
        "unpaid_month": [10, 10] * n,
        "collected": [95, 95] * n,
        "old_arrears_ratio": [0.5, 0.5] * n,
        "old_arrears": [7, 7] * n,
        "dso_days": [3.0, 3.0] * n,
        "bad_debt": [0, 0] * n,
        "collection_cost": [20, 20] * n,
        "disconnections": [1, 1] * n,
        "customer_days_without_supply": [2, 2] * n,
        "penalty_pct": [1, 30] * n,
        "arrears_90_plus": [0, 0] * n,
        "billing_error_rate": [0.0, 0.0] * n,
        "reading_error_rate": [0.0, 0.0] * n,
        "crew_queue_max": [0, 0] * n,
        "recovery_rate_customer": [0.9, 0.9] * n,
        "recovery_rate_station": [0.95, 0.95] * n,
        "prepaid_stock": [50, 50] * n,
    }
    if full is not None:
        rows["full_month"] = [f for f in full for _ in (0, 1)]
    return pa.table(rows)


def test_yearly_tidy_sums_full_months_by_year():
    months = ["2025-11", "2025-12", "2026-01", "2026-02"]
    t = _monthly(months, full=[True, True, True, False])  # February simulated in part
    y = yearly_tidy(t, customers=4)
    v = {(r["year"], r["kpi"]): (r["value"], r["months"]) for r in y.to_pylist()}
    # 2025: 2 months; per-customer 1 - 20/200 = 0.9; station 190/200 = 0.95
    assert v[(2025, "recovery_rate_customer")] == (pytest.approx(0.9), 2)
    assert v[(2025, "recovery_rate_station")][0] == pytest.approx(0.95)
    assert v[(2025, "disconnections")][0] == 2  # sum of 2 county months
    assert v[(2025, "collection_cost_per_customer")][0] == 40 / 4
    assert v[(2025, "penalty_months")][0] == 2  # the station penalised both months
    assert v[(2025, "prepaid_stock_ratio")][0] == 0.5  # mean stock 50 / mean receivable 100
    # 2026: only January is whole (February is left out)
    assert v[(2026, "disconnections")] == (1, 1)


def test_yearly_summary_has_year_and_months():
    t = pa.concat_tables(
        [_monthly(["2025-01", "2025-02"], rep=r, policy=p) for p in ("A", "B") for r in (0, 1)]
    )
    s = yearly_summary(yearly_tidy(t, customers=10))
    assert s.column_names[:2] == ["year", "months"]
    assert set(s["year"].to_pylist()) == {2025} and set(s["months"].to_pylist()) == {2}
