"""Counter-based random numbers keyed by (seed, entity, day, purpose).

Every random draw in m2c is a pure function of the scenario seed, the entity
(customer, meter, crew...), the simulation day, a purpose tag and a small
counter ``k`` for several draws of one purpose on one day. There is no state
to advance, so results do not depend on the order customers are processed,
on the number of threads or workers, or on which policy runs: two policies on
one seed see the same consumption and the same payment luck (common random
numbers). See ../shared/DESIGN.md "Randomness".

The generator is a SplitMix64 finaliser chain (Steele, Lea & Flood 2014)
applied to the key fields in turn; it passes the statistical tests in
``tests/core/test_rng.py`` (chi-square uniformity, stream independence).

All draw functions are ``@njit`` and may be called from kernels or Python::

    >>> from m2c.core import rng
    >>> u = rng.uniform(42, 7, 3, rng.purpose("payment"))
    >>> 0.0 <= u < 1.0
    True
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_S30 = np.uint64(30)
_S27 = np.uint64(27)
_S31 = np.uint64(31)
_S11 = np.uint64(11)
_INV53 = 1.0 / 9007199254740992.0  # 2**-53


@njit(cache=True, nogil=True)
def _mix(z):
    """SplitMix64 finaliser: a bijection on uint64 with full avalanche."""
    z = (z ^ (z >> _S30)) * _M1
    z = (z ^ (z >> _S27)) * _M2
    return z ^ (z >> _S31)


@njit(cache=True, nogil=True)
def bits(seed: int, entity: int, day: int, purpose: int, k: int = 0) -> np.uint64:
    """64 random bits, a pure function of the five key fields."""
    h = _mix(np.uint64(seed) + _GOLDEN)
    h = _mix(h ^ (np.uint64(entity) + _GOLDEN))
    h = _mix(h ^ (np.uint64(day) + _GOLDEN))
    h = _mix(h ^ (np.uint64(purpose) + _GOLDEN))
    return _mix(h ^ (np.uint64(k) + _GOLDEN))


@njit(cache=True, nogil=True)
def uniform(seed: int, entity: int, day: int, purpose: int, k: int = 0) -> float:
    """Uniform float64 in [0, 1) with 53 random bits."""
    return float(bits(seed, entity, day, purpose, k) >> _S11) * _INV53


@njit(cache=True, nogil=True)
def bernoulli(p: float, seed: int, entity: int, day: int, purpose: int, k: int = 0) -> bool:
    """True with probability ``p``."""
    return uniform(seed, entity, day, purpose, k) < p


@njit(cache=True, nogil=True)
def normal(seed: int, entity: int, day: int, purpose: int, k: int = 0) -> float:
    """Standard normal by Box-Muller from the draws ``2k`` and ``2k+1``."""
    u1 = uniform(seed, entity, day, purpose, 2 * k)
    u2 = uniform(seed, entity, day, purpose, 2 * k + 1)
    return math.sqrt(-2.0 * math.log(1.0 - u1)) * math.cos(2.0 * math.pi * u2)


@njit(cache=True, nogil=True)
def lognormal_factor(sigma: float, seed: int, entity: int, day: int, purpose: int) -> float:
    """Mean-one lognormal multiplier ``exp(sigma*Z - sigma**2/2)``."""
    return math.exp(sigma * normal(seed, entity, day, purpose, 0) - 0.5 * sigma * sigma)


@njit(cache=True, nogil=True)
def poisson(lam: float, seed: int, entity: int, day: int, purpose: int) -> int:
    """Poisson(``lam``) by inversion of one uniform (exact for lam <= 30),
    normal approximation with continuity correction above."""
    if lam <= 0.0:
        return 0
    if lam > 30.0:
        x = lam + math.sqrt(lam) * normal(seed, entity, day, purpose, 0) + 0.5
        return max(0, int(math.floor(x)))
    u = uniform(seed, entity, day, purpose, 0)
    p = math.exp(-lam)
    cdf = p
    n = 0
    while u > cdf and n < 1000:
        n += 1
        p *= lam / n
        cdf += p
    return n


def purpose(name: str) -> int:
    """Stable integer tag for a purpose name (FNV-1a 32-bit of the UTF-8 name).

    Stable across processes and Python versions (unlike ``hash``), so a
    purpose tag can be computed once in Python and passed into kernels.
    """
    h = 0x811C9DC5
    for byte in name.encode("utf-8"):
        h = ((h ^ byte) * 0x01000193) & 0xFFFFFFFF
    return h


@njit(cache=True, nogil=True)
def uniform_array(
    seed: int, entities: np.ndarray, day: int, purpose: int, k: int = 0
) -> np.ndarray:
    """Uniform draws for many entities on one day (order-independent by construction)."""
    out = np.empty(entities.shape[0], dtype=np.float64)
    for i in range(entities.shape[0]):
        out[i] = uniform(seed, entities[i], day, purpose, k)
    return out
