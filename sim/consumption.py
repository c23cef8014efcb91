"""Consumption: per-class seasonal and daily profiles with customer-level variation.

Every draw comes from the counter-based RNG keyed by (seed, customer, day,
purpose), so a customer's consumption does not depend on the policy, the
order customers are processed in, or the number of threads: two policies on
one seed see the same kWh (common random numbers).

The model, per customer ``i`` and day ``d`` (energy in centi-kWh)::

    E[i, d] = base_kwh_per_day[i] x season[class, month(d)] x level[i] x noise[i, d]

``level`` is a lognormal customer factor (sigma 0.35: household sizes and
appliance stocks differ), ``noise`` a lognormal day factor (sigma 0.15:
weather, presence). Hourly loads spread a day's energy over a 24-hour shape
per class. Defaults are documented in the scenario files.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from m2c.core import rng

LEVEL_SIGMA = 0.35  # spread of customer levels (household sizes, appliance stocks)
P_LEVEL = rng.purpose("consumption.level")
P_DAY = rng.purpose("consumption.day")
P_HOUR = rng.purpose("consumption.hour")

#: 24-hour shapes (relative weights) per class: residential evening peak,
#: commercial office hours, industrial two shifts, agricultural irrigation
#: mornings, critical (hospital / airport / government) nearly flat.
HOURLY_SHAPES = {
    "residential": [3, 2, 2, 2, 2, 3, 5, 7, 6, 4, 4, 4, 5, 4, 4, 4, 5, 7, 10, 11, 10, 8, 6, 4],
    "commercial": [2, 2, 2, 2, 2, 2, 3, 5, 8, 9, 10, 10, 10, 10, 10, 10, 9, 8, 6, 5, 4, 3, 2, 2],
    "industrial": [5, 5, 5, 5, 5, 5, 6, 8, 9, 9, 9, 9, 8, 9, 9, 9, 9, 8, 7, 6, 6, 5, 5, 5],
    "agricultural": [1, 1, 1, 1, 2, 6, 10, 10, 9, 8, 6, 4, 3, 3, 4, 6, 8, 8, 5, 3, 2, 1, 1, 1],
    "critical": [7, 7, 7, 7, 7, 7, 8, 9, 10, 10, 10, 10, 10, 10, 10, 10, 10, 10, 9, 9, 8, 8, 7, 7],
}
CLASS_NAMES = tuple(HOURLY_SHAPES)


def shape_matrix() -> np.ndarray:
    """Hourly shapes normalised to sum 1 per class, float64 (n_classes, 24)."""
    m = np.array([HOURLY_SHAPES[c] for c in CLASS_NAMES], dtype=np.float64)
    return m / m.sum(axis=1, keepdims=True)


@njit(cache=True, nogil=True)
def customer_level(seed, customer, sigma):
    """Lognormal level factor of a customer (mean 1), the same every day."""
    return rng.lognormal_factor(sigma, seed, customer, 0, P_LEVEL)


@njit(cache=True, parallel=True)
def _levels(seed, sigma, out):
    for i in prange(out.shape[0]):
        out[i] = customer_level(seed, i, sigma)


def levels(seed: int, n: int, sigma: float) -> np.ndarray:
    """:func:`customer_level` of customers 0..n-1, float64 (n,)."""
    out = np.empty(n, dtype=np.float64)
    _levels(seed, sigma, out)
    return out


@njit(cache=True, nogil=True)
def customer_day_ckwh(seed, customer, day, base_kwh, season_factor, level, day_sigma):
    """Energy of one customer-day, centi-kWh (the scalar both models call).

    ``level`` is the customer's :func:`customer_level` (computed once per run).
    """
    f = season_factor * level
    f *= rng.lognormal_factor(day_sigma, seed, customer, day, P_DAY)
    return np.int64(base_kwh * f * 100.0 + 0.5)


@njit(cache=True, parallel=True)
def hourly_load_kwh(
    seed, first_day, months, base_kwh_per_day, klass, season, shapes, level_sigma, day_sigma, out
):
    """Hourly energy (kWh, float64 (n, 24 x n_days)) for days from ``first_day``.

    ``months`` int64 (n_days,) calendar month 0..11 of each day. Each day's
    energy follows :func:`customer_day_ckwh`'s model and is spread over the
    class's 24-hour shape with a small hourly jitter (sigma 0.1).
    """
    n_days = months.shape[0]
    for i in prange(out.shape[0]):
        lvl = customer_level(seed, i, level_sigma)
        for d in range(n_days):
            day = first_day + d
            e = base_kwh_per_day[i] * season[klass[i], months[d]] * lvl
            e *= rng.lognormal_factor(day_sigma, seed, i, day, P_DAY)
            for h in range(24):
                j = rng.lognormal_factor(0.1, seed, i, day * 24 + h, P_HOUR)
                out[i, d * 24 + h] = e * shapes[klass[i], h] * j
