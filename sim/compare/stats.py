"""Paired differences between policies with Student-t confidence intervals.

Policies are run on the same seeds (common random numbers), so for each KPI
the difference ``d_r = x_policy,r - x_first,r`` is formed per replication and
the interval is ``mean(d) +/- t_{1-alpha/2, n-1} * sd(d) / sqrt(n)``, with the
t quantile from ``scipy.stats.t``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pyarrow as pa


def t_ppf(p: float, df: float) -> float:
    """Quantile of Student's t with ``df`` degrees of freedom (``scipy.stats.t.ppf``)."""
    if not 0.0 < p < 1.0:
        raise ValueError(f"p: expected 0 < p < 1, got {p}")
    if df <= 0:
        raise ValueError(f"df: expected > 0, got {df}")
    # imported here: scipy.stats takes ~0.7 s to import and every ``m2c`` command
    # loads this module, while only comparisons compute intervals
    from scipy.stats import t as student_t

    return float(student_t.ppf(p, df))


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
    return {
        k: {g: np.array([v for _, v in sorted(rv)]) for g, rv in gs.items()}
        for k, gs in acc.items()
    }


def summary_table(tidy: pa.Table, level: float = 0.95) -> pa.Table:
    """Per KPI and policy: mean with CI, paired difference vs the first policy with CI.

    Columns: ``kpi, policy, n, mean, mean_low, mean_high, diff, diff_low, diff_high,
    significant`` (the first policy's diff is 0 and never significant).
    """
    rows: dict[str, list] = {
        c: []
        for c in (
            "kpi",
            "policy",
            "n",
            "mean",
            "mean_low",
            "mean_high",
            "diff",
            "diff_low",
            "diff_high",
            "significant",
        )
    }
    for kpi, groups in kpi_values(tidy).items():
        names = list(groups)
        base = groups[names[0]]
        for name in names:
            m = mean_ci(groups[name], level)
            d = paired_ci(base, groups[name], level)
            for col, val in zip(
                rows,
                (
                    kpi,
                    name,
                    m.n,
                    m.mean,
                    m.low,
                    m.high,
                    d.mean,
                    d.low,
                    d.high,
                    d.significant and name != names[0],
                ),
                strict=True,
            ):
                rows[col].append(val)
    return pa.table(rows)
