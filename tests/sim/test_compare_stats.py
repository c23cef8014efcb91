"""Paired t-intervals of m2c.sim.compare.stats checked against hand arithmetic."""

import math

import numpy as np
import pyarrow as pa
import pytest

from m2c.sim.compare.stats import paired_ci, summary_table, t_ppf


@pytest.mark.parametrize(
    "df, expected", [(1, 12.706), (2, 4.303), (5, 2.571), (9, 2.262), (29, 2.045)]
)
def test_t_quantile_matches_tables(df, expected):
    assert abs(t_ppf(0.975, df) - expected) < 5e-4
    assert abs(t_ppf(0.025, df) + expected) < 5e-4


def test_t_quantile_closed_forms():
    # df = 1 is Cauchy: F(t) = 1/2 + atan(t)/pi, so F^-1(0.75) = tan(pi/4) = 1;
    # df = 2: F(t) = 1/2 + t / (2 sqrt(2 + t^2)), so F^-1(p) = (2p - 1) sqrt(2 / (1 - (2p-1)^2))
    assert abs(t_ppf(0.75, 1) - 1.0) < 1e-12
    q = 2 * 0.9 - 1
    assert abs(t_ppf(0.9, 2) - q * math.sqrt(2 / (1 - q * q))) < 1e-12


@pytest.mark.parametrize(("p", "df"), [(0.0, 3), (1.0, 3), (0.5, 0)])
def test_t_quantile_refuses_bad_arguments(p, df):
    with pytest.raises(ValueError, match="expected"):
        t_ppf(p, df)


def test_paired_interval_by_hand():
    # base = [10, 12, 9, 11], other = [11, 15, 9, 14]: d = [1, 3, 0, 3], mean 1.75
    # s^2 = ((-0.75)^2 + 1.25^2 + (-1.75)^2 + 1.25^2) / 3 = (0.5625 + 1.5625 + 3.0625
    #       + 1.5625) / 3 = 6.75 / 3 = 2.25, s = 1.5
    # half = t_{0.975,3} * s / sqrt(4) = 3.18245 * 1.5 / 2 = 2.38684
    ci = paired_ci(np.array([10, 12, 9, 11]), np.array([11, 15, 9, 14]))
    assert ci.n == 4 and ci.mean == 1.75
    assert abs(ci.low - (1.75 - 2.38684)) < 1e-4 and abs(ci.high - (1.75 + 2.38684)) < 1e-4
    assert not ci.significant  # the interval [-0.64, 4.14] contains 0
    # d = [2, 3, 2, 3]: mean 2.5, s = sqrt(4 * 0.25 / 3) = 0.57735,
    # half = 3.18245 * 0.57735 / 2 = 0.91870 -> [1.5813, 3.4187], significant
    ci = paired_ci(np.array([0, 0, 0, 0]), np.array([2, 3, 2, 3]))
    assert abs(ci.low - 1.5813) < 1e-4 and abs(ci.high - 3.4187) < 1e-4 and ci.significant


def test_summary_table_pairs_by_replication():
    # policy B is listed with replications out of order; pairing must follow replication ids
    tidy = pa.table(
        {
            "policy": ["A"] * 4 + ["B"] * 4,
            "replication": [0, 1, 2, 3, 3, 2, 1, 0],
            "kpi": ["k"] * 8,
            "value": [10.0, 12, 9, 11, 14, 9, 15, 11],
        }
    )
    rows = summary_table(tidy).to_pylist()
    a, b = rows
    assert a["policy"] == "A" and a["diff"] == 0 and not a["significant"]
    # paired by replication: B = [11, 15, 9, 14], d = [1, 3, 0, 3], mean 1.75
    assert b["mean"] == 12.25 and b["diff"] == 1.75
    # n = 4: expanded level 2 Phi(sqrt(4/3) t_{0.975,3}) - 1 = 2 Phi(3.675) - 1 = 0.99976, so
    # the bounds are the extreme resampled means: all four draws d = 0 (replication 2,
    # p = 1/256, ~16 of 4 000 resamples) and all draws 3 (replications 1, 3: p = 1/16)
    assert (b["diff_low"], b["diff_high"]) == (0.0, 3.0)
    assert not b["significant"]  # 0 is the lower bound: not excluded
    # A's mean 10.5 lies in [9, 12] (all-9 and all-12 resamples); the t-interval's
    # 10.5 +/- 2.054 would be [8.45, 12.55], beyond what A ever took
    assert (a["mean_low"], a["mean_high"]) == (9.0, 12.0)
    # relative change 12.25 / 10.5 - 1 = 0.16667
    assert b["rel_diff"] == pytest.approx(12.25 / 10.5 - 1)
    assert b["rel_low"] >= -1.0
    # reps for an interval half as wide as 1.75: t_{m-1} / sqrt(m) <= 0.875 / 3 -> 48
    assert b["reps_needed"] == 48
    assert "n < 5" in b["warning"] and "interval wider than effect" in b["warning"]
