"""Counter-based RNG: order and thread independence, uniformity, distinct purposes."""

import numba
import numpy as np
from numba import njit, prange

from m2c.core import rng

SEED = 20251124
P_A, P_B = rng.purpose("test.a"), rng.purpose("test.b")


@njit(parallel=True)
def _draws(seed, ids, day, purpose, out):
    for j in prange(ids.shape[0]):
        out[j] = rng.uniform(seed, ids[j], day, purpose, 0)


def test_order_independence():
    ids = np.arange(1000, dtype=np.int64)
    a = rng.uniform_array(SEED, ids, 7, P_A)
    perm = np.random.default_rng(0).permutation(ids)
    b = rng.uniform_array(SEED, perm, 7, P_A)
    np.testing.assert_array_equal(a[perm], b)


def test_thread_count_independence():
    ids = np.arange(50_000, dtype=np.int64)
    before = numba.get_num_threads()
    try:
        outs = []
        for t in (1, min(2, numba.config.NUMBA_NUM_THREADS)):
            numba.set_num_threads(t)
            out = np.empty(ids.shape[0])
            _draws(SEED, ids, 3, P_A, out)
            outs.append(out)
    finally:
        numba.set_num_threads(before)
    np.testing.assert_array_equal(outs[0], outs[1])


def test_chi_square_uniformity():
    # 100 000 draws into 100 bins: chi-square with 99 d.o.f.; the 99.9 % critical
    # value is 148.2, a biased generator (e.g. one that drops the top bit) fails.
    u = rng.uniform_array(SEED, np.arange(100_000, dtype=np.int64), 0, P_A)
    counts = np.bincount((u * 100).astype(np.int64), minlength=100)
    chi2 = float(((counts - 1000.0) ** 2 / 1000.0).sum())
    assert chi2 < 148.2
    assert u.min() >= 0.0 and u.max() < 1.0


def test_distinct_purposes_and_days_give_distinct_streams():
    ids = np.arange(10_000, dtype=np.int64)
    a = rng.uniform_array(SEED, ids, 0, P_A)
    b = rng.uniform_array(SEED, ids, 0, P_B)
    c = rng.uniform_array(SEED, ids, 1, P_A)
    # independent streams: correlation near 0, no equal draws
    assert abs(np.corrcoef(a, b)[0, 1]) < 0.05 and abs(np.corrcoef(a, c)[0, 1]) < 0.05
    assert not np.any(a == b)


def test_poisson_and_bernoulli_rates():
    n = 20_000
    pois = np.array([rng.poisson(3.5, SEED, i, 0, P_A) for i in range(n)])
    # mean 3.5, standard error sqrt(3.5/20000) = 0.013: 0.06 is > 4 sigma
    assert abs(pois.mean() - 3.5) < 0.06 and abs(pois.var() - 3.5) < 0.2
    bern = np.array([rng.bernoulli(0.02, SEED, i, 0, P_B) for i in range(n)])
    # 2 % of 20 000 = 400, sd 19.8
    assert 320 < bern.sum() < 480


def test_purpose_tags_are_stable():
    # FNV-1a 32-bit of "a" is 0xE40C292C
    assert rng.purpose("a") == 0xE40C292C
