"""Comparisons: the paired t-interval by hand, resume and worker-count independence."""

import numpy as np

from m2c.sim.comparison import paired_ci, run_comparison, t975


def test_paired_ci_by_hand():
    # a = [1, 2, 3, 4], b = [2, 4, 3, 7]: d = [1, 2, 0, 3], mean 1.5,
    # s = sqrt(((-.5)^2 + .5^2 + 1.5^2 + 1.5^2) / 3) = sqrt(5/3) = 1.29099,
    # half width = t_{0.975,3} x s / 2 = 3.182 x 0.645497 = 2.05397
    mean, lo, hi, sig = paired_ci(np.array([1, 2, 3, 4]), np.array([2, 4, 3, 7]))
    assert mean == 1.5
    assert abs(lo - (1.5 - 2.05397)) < 1e-4 and abs(hi - (1.5 + 2.05397)) < 1e-4
    assert not sig
    assert t975(9) == 2.262 and t975(29) == 2.045


def test_resume_and_workers_give_identical_tables(tmp_path):
    args = (["smoke", "prepaid_county"], 2, 200, 60, 3)
    full = tmp_path / "full"
    a = run_comparison(*args, full, workers=1)
    # a "killed" comparison: one result file missing; the rerun fills it in
    part = tmp_path / "part"
    run_comparison(*args, part, workers=2)
    victim = sorted((part / "results").iterdir())[1]
    victim.unlink()
    b = run_comparison(*args, part, workers=2)
    assert a.equals(b)
    assert (full / "comparison.csv").read_bytes() == (part / "comparison.csv").read_bytes()
    assert a.num_rows == 2 * 2 * 11
