"""Counter-based RNG: order and thread independence, uniformity, distinct purposes."""

import math

import numba
import numpy as np
from numba import njit, prange

from m2c.core import rng

SEED = 20251124
P_A, P_B = rng.purpose("test.a"), rng.purpose("test.b")


@njit(parallel=True)
def _draws(seed, ids, day, purpose, out):
    """A prange kernel drawing per customer, as the simulation's daily kernels do."""
    for j in prange(ids.shape[0]):
        out[j] = rng.uniform(seed, ids[j], day, purpose, 0) + rng.normal(
            seed, ids[j], day, purpose, 1
        )


@njit
def _poisson_many(lam, seed, n, purpose):
    out = np.empty(n, dtype=np.int64)
    for i in range(n):
        out[i] = rng.poisson(lam, seed, i, 0, purpose)
    return out


@njit
def _bernoulli_many(p, seed, n, purpose):
    out = 0
    for i in range(n):
        out += rng.bernoulli(p, seed, i, 0, purpose)
    return out


@njit
def _normal_many(seed, n, purpose):
    out = np.empty(n)
    for i in range(n):
        out[i] = rng.normal(seed, i, 0, purpose)
    return out


def test_order_independence():
    # shuffle the customers: each customer keeps its draw
    ids = np.arange(1000, dtype=np.int64) * 7919 + 13
    a = rng.uniform_array(SEED, ids, 7, P_A)
    perm = np.random.default_rng(0).permutation(len(ids))
    b = rng.uniform_array(SEED, ids[perm], 7, P_A)
    np.testing.assert_array_equal(a[perm], b)
    # and a single draw equals the array draw (no hidden state advanced)
    assert rng.uniform(SEED, int(ids[5]), 7, P_A) == a[5]
    assert rng.uniform(SEED, int(ids[5]), 7, P_A) == a[5]


def test_thread_count_independence():
    ids = np.arange(50_000, dtype=np.int64)
    before = numba.get_num_threads()
    outs = []
    try:
        for t in (1, min(2, numba.config.NUMBA_NUM_THREADS)):
            numba.set_num_threads(t)
            out = np.empty(ids.shape[0])
            _draws(SEED, ids, 3, P_A, out)
            outs.append(out)
    finally:
        numba.set_num_threads(before)
    np.testing.assert_array_equal(outs[0], outs[1])
    # and the parallel kernel agrees with the serial functions, draw by draw
    u = rng.uniform_array(SEED, ids[:200], 3, P_A)
    z = np.array([rng.normal(SEED, i, 3, P_A, 1) for i in range(200)])
    np.testing.assert_array_equal(outs[0][:200], u + z)


def test_chi_square_uniformity():
    # 100 000 draws into 100 bins: chi-square with 99 d.o.f.; the 99.9 % critical
    # value is 148.2. A generator that loses a bit (e.g. u in [0, 0.5)) or clusters
    # gives chi2 in the tens of thousands.
    u = rng.uniform_array(SEED, np.arange(100_000, dtype=np.int64), 0, P_A)
    counts = np.bincount((u * 100).astype(np.int64), minlength=100)
    chi2 = float(((counts - 1000.0) ** 2 / 1000.0).sum())
    assert chi2 < 148.2
    assert u.min() >= 0.0 and u.max() < 1.0
    # low bits too: the 2**-20 .. 2**-14 digit uniform over 64 bins (63 d.o.f., 99.9 %: 103.4)
    low = (u * 2**20).astype(np.int64) % 64
    c = np.bincount(low, minlength=64)
    e = 100_000 / 64
    assert float(((c - e) ** 2 / e).sum()) < 103.4


def test_serial_correlation_across_days_and_counters():
    ids = np.arange(20_000, dtype=np.int64)
    d0 = rng.uniform_array(SEED, ids, 0, P_A)
    d1 = rng.uniform_array(SEED, ids, 1, P_A)
    k1 = rng.uniform_array(SEED, ids, 0, P_A, 1)
    s1 = rng.uniform_array(SEED + 1, ids, 0, P_A)
    # correlation of independent uniforms: sd 1/sqrt(20000) = 0.007; 0.03 is > 4 sigma
    for other in (d1, k1, s1):
        assert abs(np.corrcoef(d0, other)[0, 1]) < 0.03
    # adjacent customers: no lag-1 correlation
    assert abs(np.corrcoef(d0[:-1], d0[1:])[0, 1]) < 0.03


def test_distinct_purposes_and_days_give_distinct_streams():
    ids = np.arange(10_000, dtype=np.int64)
    a = rng.uniform_array(SEED, ids, 0, P_A)
    b = rng.uniform_array(SEED, ids, 0, P_B)
    c = rng.uniform_array(SEED, ids, 1, P_A)
    # independent streams: correlation near 0 (sd 0.01, bound 0.05), no equal draws
    assert abs(np.corrcoef(a, b)[0, 1]) < 0.05 and abs(np.corrcoef(a, c)[0, 1]) < 0.05
    assert not np.any(a == b)
    assert not np.any(a == c)
    assert P_A != P_B


def test_poisson_and_bernoulli_rates():
    n = 100_000
    pois = _poisson_many(3.5, SEED, n, P_A)
    # mean 3.5, standard error sqrt(3.5/1e5) = 0.0059: 0.03 is 5 sigma; variance
    # 3.5 too (sd of the sample variance ~ sqrt((2 lam^2 + lam)/n) = 0.017).
    assert abs(pois.mean() - 3.5) < 0.03 and abs(pois.var() - 3.5) < 0.1
    # P(X = 0) = exp(-3.5) = 0.030197; sd sqrt(0.03 x 0.97 / 1e5) = 0.00054
    assert abs((pois == 0).mean() - math.exp(-3.5)) < 0.0027
    # large lambda (normal branch): mean 50, variance 50
    big = _poisson_many(50.0, SEED, n, P_B)
    assert abs(big.mean() - 50.0) < 0.15 and abs(big.var() - 50.0) < 2.0
    assert rng.poisson(0.0, SEED, 1, 0, P_A) == 0
    # 2 % of 100 000 = 2 000 successes, sd sqrt(1e5 x 0.02 x 0.98) = 44.3: +-200 is 4.5 sd
    hits = _bernoulli_many(0.02, SEED, n, P_B)
    assert 1_800 < hits < 2_200
    assert _bernoulli_many(0.0, SEED, 1000, P_B) == 0
    assert _bernoulli_many(1.0, SEED, 1000, P_B) == 1000


def test_normal_and_lognormal_moments():
    z = _normal_many(SEED, 100_000, P_A)
    # mean 0 (se 0.0032), variance 1 (se 0.0045), P(|Z| > 1.96) = 5 % (se 0.0007)
    assert abs(z.mean()) < 0.015 and abs(z.var() - 1.0) < 0.02
    assert abs((np.abs(z) > 1.96).mean() - 0.05) < 0.003
    f = np.array([rng.lognormal_factor(0.3, SEED, i, 0, P_B) for i in range(20_000)])
    # mean-one lognormal: E = 1 (sd of mean sqrt(exp(0.09) - 1)/sqrt(2e4) = 0.0022)
    assert abs(f.mean() - 1.0) < 0.01 and f.min() > 0


def test_purpose_tags_are_stable():
    # FNV-1a 32-bit of "a" is 0xE40C292C, of "" the offset basis 0x811C9DC5
    assert rng.purpose("a") == 0xE40C292C
    assert rng.purpose("") == 0x811C9DC5
