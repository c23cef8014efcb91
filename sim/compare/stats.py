"""Paired differences between policies with Student-t confidence intervals.

Policies are run on the same seeds (common random numbers), so for each KPI
the difference ``d_r = x_policy,r - x_first,r`` is formed per replication and
the interval is ``mean(d) +/- t_{1-alpha/2, n-1} * sd(d) / sqrt(n)``. The t
quantile comes from inverting the t CDF, written with the regularised
incomplete beta function (Numerical Recipes 6.4 continued fraction), because
scipy is not a dependency.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pyarrow as pa


def _betacf(a: float, b: float, x: float) -> float:
    """Continued fraction of the incomplete beta function (modified Lentz)."""
    tiny = 1e-300
    qab, qap, qam = a + b, a + 1.0, a - 1.0
    c, d = 1.0, 1.0 - qab * x / qap
    d = 1.0 / (d if abs(d) > tiny else tiny)
    h = d
    for m in range(1, 300):
        m2 = 2 * m
        aa = m * (b - m) * x / ((qam + m2) * (a + m2))
        d = 1.0 + aa * d
        d = 1.0 / (d if abs(d) > tiny else tiny)
        c = 1.0 + aa / c if abs(1.0 + aa / c) > tiny else tiny
        h *= d * c
        aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2))
        d = 1.0 + aa * d
        d = 1.0 / (d if abs(d) > tiny else tiny)
        c = 1.0 + aa / c if abs(1.0 + aa / c) > tiny else tiny
        delta = d * c
        h *= delta
        if abs(delta - 1.0) < 1e-15:
            break
    return h


def betainc(a: float, b: float, x: float) -> float:
    """Regularised incomplete beta function ``I_x(a, b)`` for ``0 <= x <= 1``."""
    if x <= 0.0:
        return 0.0
    if x >= 1.0:
        return 1.0
    lbeta = math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b)
    front = math.exp(lbeta + a * math.log(x) + b * math.log1p(-x))
    if x < (a + 1.0) / (a + b + 2.0):
        return front * _betacf(a, b, x) / a
    return 1.0 - front * _betacf(b, a, 1.0 - x) / b


def t_cdf(t: float, df: float) -> float:
    """CDF of Student's t with ``df`` degrees of freedom."""
    tail = 0.5 * betainc(df / 2.0, 0.5, df / (df + t * t))
    return 1.0 - tail if t >= 0 else tail


def t_ppf(p: float, df: float) -> float:
    """Quantile of Student's t (bisection on :func:`t_cdf`, |error| < 1e-10)."""
    if not 0.0 < p < 1.0:
        raise ValueError(f"p: expected 0 < p < 1, got {p}")
    if df <= 0:
        raise ValueError(f"df: expected > 0, got {df}")
    if p < 0.5:
        return -t_ppf(1.0 - p, df)
    lo, hi = 0.0, 1.0
    while t_cdf(hi, df) < p:
        hi *= 2.0
    while hi - lo > 1e-11:
        mid = 0.5 * (lo + hi)
        if t_cdf(mid, df) < p:
            lo = mid
        else:
            hi = mid
    return 0.5 * (lo + hi)


@dataclass(frozen=True)
class Interval:
    """Mean of a sample and its two-sided t confidence interval."""

    n: int
    mean: float
    low: float
    high: float

    @property
    def significant(self) -> bool:
        """True when 0 lies outside the interval (a paired difference is significant)."""
        return self.n >= 2 and (self.low > 0.0 or self.high < 0.0)


def mean_ci(x: np.ndarray, level: float = 0.95) -> Interval:
    """Mean of ``x`` with its t interval (NaN bounds when ``len(x) < 2``)."""
    x = np.asarray(x, dtype=np.float64)
    n = int(x.size)
    mean = float(x.mean()) if n else float("nan")
    if n < 2:
        return Interval(n, mean, float("nan"), float("nan"))
    half = t_ppf(0.5 + level / 2.0, n - 1) * float(x.std(ddof=1)) / math.sqrt(n)
    return Interval(n, mean, mean - half, mean + half)


def paired_ci(base: np.ndarray, other: np.ndarray, level: float = 0.95) -> Interval:
    """Interval of ``mean(other - base)`` over paired replications."""
    base, other = np.asarray(base, np.float64), np.asarray(other, np.float64)
    if base.shape != other.shape:
        raise ValueError(f"other: expected shape {base.shape} (paired), got {other.shape}")
    return mean_ci(other - base, level)


def kpi_values(tidy: pa.Table, group: str = "policy") -> dict[str, dict[str, np.ndarray]]:
    """``{kpi: {group value: values ordered by replication}}`` from a tidy table."""
    d = tidy.select([group, "replication", "kpi", "value"]).to_pydict()
    acc: dict[str, dict[str, list[tuple[int, float]]]] = {}
    for g, r, k, v in zip(d[group], d["replication"], d["kpi"], d["value"], strict=True):
        acc.setdefault(k, {}).setdefault(g, []).append((r, v))
    return {k: {g: np.array([v for _, v in sorted(rv)]) for g, rv in gs.items()}
            for k, gs in acc.items()}


def summary_table(tidy: pa.Table, level: float = 0.95) -> pa.Table:
    """Per KPI and policy: mean with CI, paired difference vs the first policy with CI.

    Columns: ``kpi, policy, n, mean, mean_low, mean_high, diff, diff_low, diff_high,
    significant`` (the first policy's diff is 0 and never significant).
    """
    rows: dict[str, list] = {c: [] for c in ("kpi", "policy", "n", "mean", "mean_low",
                                             "mean_high", "diff", "diff_low", "diff_high",
                                             "significant")}
    for kpi, groups in kpi_values(tidy).items():
        names = list(groups)
        base = groups[names[0]]
        for name in names:
            m = mean_ci(groups[name], level)
            d = paired_ci(base, groups[name], level)
            for col, val in zip(rows, (kpi, name, m.n, m.mean, m.low, m.high, d.mean, d.low,
                                       d.high, d.significant and name != names[0]),
                                strict=True):
                rows[col].append(val)
    return pa.table(rows)
