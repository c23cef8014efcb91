"""Paired differences between policies with intervals that respect each KPI's support.

Policies are run on the same seeds (common random numbers), so for each KPI
the difference ``d_r = x_policy,r - x_first,r`` is formed per replication.
Money, counts and rates are skewed and bounded (old arrears rest on a few
customers; a rate cannot leave [0, 1]), so a symmetric Student-t interval can
leave the KPI's range (issue 16 measured old arrears [-2.9e6, 6.9e6] fen). The
intervals here are **paired bootstrap percentile intervals**, expanded for
small samples (Hesterberg 2015, "What teachers should know about the
bootstrap", section 4.4: the percentile level is widened so that its normal
quantile equals ``sqrt(n / (n - 1)) * t_{1-alpha/2, n-1}``). A percentile of
resampled means lies between the smallest and largest observation, so:

* the interval of a mean never leaves the KPI's range (non-negative money
  stays >= 0, a rate in [0, 1] stays in [0, 1]);
* the interval of a paired difference stays within ``[min d, max d]``;
* the relative difference ``mean(other) / mean(first) - 1`` (the ratio scale
  managers quote: "cost -24 %") is resampled on the same replications and is
  never below -100 % for non-negative KPIs.

Resampling uses a fixed generator seed, so a table is reproducible to the bit.
:func:`reps_needed` says how many replications would make the interval half
as wide as the observed difference; :func:`summary_table` flags intervals
wider than the effect and KPIs held mostly by the top 1 % of customers.

:func:`yearly_tidy` turns the monthly county rows into one value per
(policy, replication, calendar year, KPI), full months only (warm-up months
are never in the monthly table: the model leaves them out).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from m2c.sim import kpi_catalog

#: Bootstrap resamples per interval; 4 000 puts the 2.5 % quantile's Monte-Carlo
#: error well below the replication-to-replication spread at 3-30 replications.
N_BOOT = 4000
#: Seed of the resampling generator: the same tables give the same intervals.
BOOT_SEED = 20261125
#: A KPI whose top 1 % of customers hold at least this share "rests on a handful".
CONCENTRATION_WARN = 0.5
#: Fewer replications than this: the interval is shown but flagged as unreliable.
MIN_RELIABLE_REPS = 5


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
    """Mean of a sample and its two-sided confidence interval."""

    n: int
    mean: float
    low: float
    high: float

    @property
    def significant(self) -> bool:
        """True when 0 lies outside the interval (a paired difference is significant)."""
        return self.n >= 2 and (self.low > 0.0 or self.high < 0.0)

    @property
    def width(self) -> float:
        """``high - low`` (NaN without an interval)."""
        return self.high - self.low


def mean_ci(x: np.ndarray, level: float = 0.95) -> Interval:
    """Mean of ``x`` with its Student-t interval (NaN bounds when ``len(x) < 2``).

    Symmetric, so it can leave a bounded KPI's range: use :func:`boot_mean_ci`
    for KPIs (kept for planning figures and the sweep bands of continuous inputs).
    """
    x = np.asarray(x, dtype=np.float64)
    n = int(x.size)
    mean = float(x.mean()) if n else float("nan")
    if n < 2:
        return Interval(n, mean, float("nan"), float("nan"))
    half = t_ppf(0.5 + level / 2.0, n - 1) * float(x.std(ddof=1)) / math.sqrt(n)
    return Interval(n, mean, mean - half, mean + half)


def paired_ci(base: np.ndarray, other: np.ndarray, level: float = 0.95) -> Interval:
    """Student-t interval of ``mean(other - base)`` over paired replications."""
    base, other = _paired(base, other)
    return mean_ci(other - base, level)


def _paired(base: np.ndarray, other: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    base, other = np.asarray(base, np.float64), np.asarray(other, np.float64)
    if base.shape != other.shape or base.ndim != 1:
        raise ValueError(f"other: expected shape {base.shape} (paired, 1-D), got {other.shape}")
    return base, other


def resample_indices(n: int, n_boot: int = N_BOOT, seed: int = BOOT_SEED) -> np.ndarray:
    """Bootstrap indices, int64 (n_boot, n): row b resamples replications 0..n-1."""
    if n < 1:
        raise ValueError(f"n: expected >= 1 replication, got {n}")
    return np.random.default_rng(seed).integers(0, n, size=(n_boot, n))


def expanded_level(n: int, level: float = 0.95) -> float:
    """Coverage level at which to read bootstrap percentiles for ``n`` replications.

    Hesterberg (2015): the percentile interval is too narrow for small ``n``;
    reading it at ``2 Phi(sqrt(n/(n-1)) t_{1-alpha/2,n-1}) - 1`` fixes most of
    that. E.g. n = 5, 95 %: t = 2.776, z = 2.776 * sqrt(5/4) = 3.104, level 0.9981.
    """
    from scipy.stats import norm

    if n < 2:
        return level
    z = math.sqrt(n / (n - 1)) * t_ppf(0.5 + level / 2.0, n - 1)
    return float(2.0 * norm.cdf(z) - 1.0)


def _percentiles(stat: np.ndarray, n: int, level: float) -> tuple[float, float]:
    stat = stat[np.isfinite(stat)]
    if n < 2 or stat.size == 0:
        return float("nan"), float("nan")
    lev = expanded_level(n, level)
    lo, hi = np.quantile(stat, [0.5 - lev / 2.0, 0.5 + lev / 2.0])
    return float(lo), float(hi)


def boot_mean_ci(x: np.ndarray, level: float = 0.95, idx: np.ndarray | None = None) -> Interval:
    """Mean of ``x`` (float64 (n,)) with its expanded bootstrap percentile interval.

    The bounds lie within ``[min x, max x]``, hence within the KPI's range.
    """
    x = np.asarray(x, dtype=np.float64)
    n = int(x.size)
    if n == 0:
        return Interval(0, float("nan"), float("nan"), float("nan"))
    idx = resample_indices(n) if idx is None else idx
    lo, hi = _percentiles(x[idx].mean(axis=1), n, level)
    return Interval(n, float(x.mean()), lo, hi)


def boot_paired_ci(
    base: np.ndarray, other: np.ndarray, level: float = 0.95, idx: np.ndarray | None = None
) -> tuple[Interval, Interval]:
    """Paired difference and relative difference with bootstrap percentile intervals.

    Returns
    -------
    diff : ``mean(other - base)``, interval within ``[min d, max d]``.
    rel : ``mean(other) / mean(base) - 1`` (a fraction; NaN when ``mean(base) == 0``),
        interval from the same resamples (resamples whose base mean is 0 are dropped).
    """
    base, other = _paired(base, other)
    n = int(base.size)
    if n == 0:
        nan = Interval(0, float("nan"), float("nan"), float("nan"))
        return nan, nan
    idx = resample_indices(n) if idx is None else idx
    d = other - base
    diff = Interval(n, float(d.mean()), *_percentiles(d[idx].mean(axis=1), n, level))
    mb = float(base.mean())
    if mb == 0.0:
        return diff, Interval(n, float("nan"), float("nan"), float("nan"))
    bm, om = base[idx].mean(axis=1), other[idx].mean(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(bm != 0, om / bm - 1.0, np.nan)
    rel = Interval(n, float(other.mean()) / mb - 1.0, *_percentiles(ratio, n, level))
    return diff, rel


def reps_needed(d: np.ndarray, level: float = 0.95, cap: int = 100_000) -> float:
    """Replications that would make the interval half as wide as the observed difference.

    The smallest ``m >= 2`` with ``2 t_{1-alpha/2, m-1} s / sqrt(m) <= |mean(d)| / 2``
    (``s`` the standard deviation of the paired differences ``d``, the usual
    planning formula). NaN without a difference to resolve (mean 0 or
    ``len(d) < 2``); ``len(d)`` when ``s == 0``; ``inf`` beyond ``cap``.

    Example: d = [1, 3, 0, 3] (mean 1.75, s = 1.5): m must satisfy
    t_{m-1} / sqrt(m) <= 0.875 / 3 = 0.2917, first true at m = 48
    (t_{47} = 2.0117, 2.0117 / sqrt(48) = 0.2904).
    """
    d = np.asarray(d, dtype=np.float64)
    n = int(d.size)
    if n < 2 or float(d.mean()) == 0.0:
        return float("nan")
    s = float(d.std(ddof=1))
    if s == 0.0:
        return float(n)
    target = abs(float(d.mean())) / 2.0

    # t / sqrt(m) falls with m: bisect on integers
    def ok(m: int) -> bool:
        return 2.0 * t_ppf(0.5 + level / 2.0, m - 1) * s / math.sqrt(m) <= target

    if not ok(cap):
        return math.inf
    lo, hi = 2, cap
    while lo < hi:
        mid = (lo + hi) // 2
        if ok(mid):
            hi = mid
        else:
            lo = mid + 1
    return float(lo)


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


def pooled_top_share(concentration: pa.Table | None) -> dict[tuple[str, str], float]:
    """``{(kpi, policy): share}``: the top-1 % customers' share of the KPI, pooled over
    replications (``sum_r share_r * total_r / sum_r total_r``; NaN when every total is 0).

    ``concentration`` has columns ``policy, replication, kpi, top1_share, total``
    (one row per run and KPI, e.g. from :func:`m2c.sim.compare.evidence.concentration`).
    """
    if concentration is None or concentration.num_rows == 0:
        return {}
    d = concentration.to_pydict()
    acc: dict[tuple[str, str], list[float]] = {}
    for p, k, s, t in zip(d["policy"], d["kpi"], d["top1_share"], d["total"], strict=True):
        a = acc.setdefault((k, p), [0.0, 0.0])
        if t and t > 0 and s == s:
            a[0] += s * t
            a[1] += t
    return {key: (a[0] / a[1] if a[1] > 0 else float("nan")) for key, a in acc.items()}


SUMMARY_COLUMNS = (
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
    "rel_diff",
    "rel_low",
    "rel_high",
    "reps_needed",
    "top1_share",
    "warning",
)


def warnings_for(
    is_base: bool, n: int, diff: Interval, top1: float, base_top1: float = float("nan")
) -> str:
    """The warning text of one summary row ("" when none applies).

    * ``interval wider than effect``: ``diff_high - diff_low > |diff|``;
    * ``rests on few customers``: the top 1 % of customers hold >= 50 % of the KPI
      (in this policy or in the first one);
    * ``n < 5``: too few replications for a reliable interval.
    """
    out = []
    if n < MIN_RELIABLE_REPS:
        out.append(f"n < {MIN_RELIABLE_REPS}: interval unreliable")
    if not is_base and n >= 2 and diff.width == diff.width and diff.width > abs(diff.mean):
        out.append("interval wider than effect")
    shares = [s for s in (top1, base_top1) if s == s]
    if shares and max(shares) >= CONCENTRATION_WARN:
        out.append(f"rests on few customers (top 1 % hold {100 * max(shares):.0f} %)")
    return "; ".join(out)


def summary_table(
    tidy: pa.Table, level: float = 0.95, concentration: pa.Table | None = None
) -> pa.Table:
    """Per KPI and policy: mean, paired difference and relative difference vs the first
    policy, each with a bootstrap percentile interval, plus planning and warnings.

    Columns: :data:`SUMMARY_COLUMNS`. ``diff`` and ``rel_diff`` of the first policy
    are 0 and never significant; ``reps_needed`` (:func:`reps_needed`) and
    ``top1_share`` (:func:`pooled_top_share`, NaN without ``concentration``) are
    floats; ``warning`` is :func:`warnings_for`'s text.
    """
    rows: dict[str, list] = {c: [] for c in SUMMARY_COLUMNS}
    top = pooled_top_share(concentration)
    for kpi, groups in kpi_values(tidy).items():
        names = list(groups)
        base = groups[names[0]]
        idx = resample_indices(base.size)
        for i, name in enumerate(names):
            x = groups[name]
            if x.shape != base.shape:
                raise ValueError(
                    f"{kpi}: policy {name!r} has {x.size} replications, "
                    f"{names[0]!r} has {base.size} (paired comparisons need the same)"
                )
            m = boot_mean_ci(x, level, idx)
            d, rel = boot_paired_ci(base, x, level, idx)
            t1 = top.get((kpi, name), float("nan"))
            vals = (
                kpi,
                name,
                m.n,
                m.mean,
                m.low,
                m.high,
                d.mean,
                d.low,
                d.high,
                d.significant and i > 0,
                rel.mean,
                rel.low,
                rel.high,
                float("nan") if i == 0 else reps_needed(x - base, level),
                t1,
                warnings_for(i == 0, m.n, d, t1, top.get((kpi, names[0]), float("nan"))),
            )
            for col, val in zip(SUMMARY_COLUMNS, vals, strict=True):
                rows[col].append(val)
    return pa.table(rows)


def yearly_tidy(monthly: pa.Table, customers: int) -> pa.Table:
    """One value per (policy, replication, year, KPI) from the county (``ALL``) rows.

    Only full months count: rows with ``full_month`` false (see
    :func:`m2c.sim.kpi_sanity.mark_months`) are dropped when the column exists.
    Rates are taken over the year's sums (per-customer recovery
    ``1 - sum(unpaid_month) / sum(receivable)``, station level
    ``sum(collected) / sum(receivable)``), the prepaid-stock ratio as mean stock
    over mean receivable (DOMAIN.md: "prepaid balances above 80 % of average
    monthly receivables"); other KPIs as :data:`m2c.sim.kpi_catalog.SUMMARISED`
    says (sum, mean, last, max over the year's months);
    ``collection_cost_per_customer`` is the year's cost over ``customers``;
    ``penalty_months`` counts penalised station-months.

    Returns
    -------
    pa.Table
        ``policy, replication, year, months, kpi, value`` (year int64, months =
        full months in the year, value float64), in :data:`COMPARED` order.
    """
    if "policy" not in monthly.column_names:
        monthly = monthly.append_column("policy", pa.array(["run"] * monthly.num_rows))
    if "replication" not in monthly.column_names:
        monthly = monthly.append_column("replication", pa.array([0] * monthly.num_rows))
    if "full_month" in monthly.column_names:
        monthly = monthly.filter(monthly["full_month"])
    county = monthly.filter(pc.equal(monthly["station"], "ALL"))
    stations = monthly.filter(pc.not_equal(monthly["station"], "ALL"))
    cols = {c: county[c].to_numpy(zero_copy_only=False) for c in county.column_names}
    years = np.array([int(m[:4]) for m in cols["month"]], dtype=np.int64)
    pen_key: dict[tuple, int] = {}
    if "penalty_pct" not in stations.column_names:
        stations = stations.append_column("penalty_pct", pa.array([0] * stations.num_rows))
    sd = stations.select(["policy", "replication", "month", "penalty_pct"]).to_pydict()
    for p, r, m, v in zip(
        sd["policy"], sd["replication"], sd["month"], sd["penalty_pct"], strict=True
    ):
        key = (p, r, int(m[:4]))
        pen_key[key] = pen_key.get(key, 0) + (v > 0)
    out: dict[str, list] = {k: [] for k in ("policy", "replication", "year", "months", "kpi")}
    out["value"] = []
    groups: dict[tuple, list[int]] = {}
    for i, (p, r, y) in enumerate(zip(cols["policy"], cols["replication"], years, strict=True)):
        groups.setdefault((p, int(r), int(y)), []).append(i)
    for (p, r, y), rows in groups.items():
        rows = sorted(rows, key=lambda i: cols["month"][i])

        def col(name: str, rows=rows) -> np.ndarray:
            return np.asarray(cols[name][rows], dtype=np.float64)

        recv = col("receivable").sum()
        vals: dict[str, float] = {}
        for name, how in kpi_catalog.SUMMARISED.items():
            if name not in cols:
                continue
            v = col(name)
            vals[name] = float(
                {"mean": np.mean, "sum": np.sum, "last": lambda a: a[-1], "max": np.max}[how](v)
            )
        if recv > 0:
            vals["recovery_rate_customer"] = 1.0 - col("unpaid_month").sum() / recv
            vals["recovery_rate_station"] = col("collected").sum() / recv
        if "collection_cost" in vals:
            vals["collection_cost_per_customer"] = vals["collection_cost"] / customers
        # issue 16 item 2 (m2c.sim.staff_costs): both cost bases per customer-year, staff
        days = col("days").sum() if "days" in cols else 0.0
        for cost in ("m2c_cost", "collection_cost"):
            if cost in vals and days > 0:
                vals[f"{cost}_per_customer_year"] = vals[cost] / customers * 365.0 / days
        if "fte_total" in vals:
            vals["fte_per_1000_customers"] = vals["fte_total"] / customers * 1000
        if "notices_due" in vals:
            due = vals["notices_due"]
            vals["notice_timeliness"] = vals["notices_on_time"] / due if due > 0 else 1.0
        vals["penalty_months"] = float(pen_key.get((p, r, y), 0))
        if "prepaid_stock" in cols and recv > 0:
            vals["prepaid_stock_ratio"] = col("prepaid_stock").mean() / col("receivable").mean()
        for name in (*kpi_catalog.COMPARED, "prepaid_stock_ratio"):
            if name in vals:
                out["policy"].append(p)
                out["replication"].append(r)
                out["year"].append(y)
                out["months"].append(len(rows))
                out["kpi"].append(name)
                out["value"].append(vals[name])
    return pa.table(
        {
            "policy": pa.array(out["policy"], pa.string()),
            "replication": pa.array(out["replication"], pa.int64()),
            "year": pa.array(out["year"], pa.int64()),
            "months": pa.array(out["months"], pa.int64()),
            "kpi": pa.array(out["kpi"], pa.string()),
            "value": pa.array(out["value"], pa.float64()),
        }
    )


def yearly_summary(yearly: pa.Table, level: float = 0.95) -> pa.Table:
    """:func:`summary_table` per calendar year of :func:`yearly_tidy`; a ``year`` column
    (int64) first and ``months`` (full months in that year) second."""
    parts = []
    for y in sorted(set(yearly["year"].to_pylist())):
        t = yearly.filter(pc.equal(yearly["year"], y))
        s = summary_table(t, level)
        months = int(pc.max(t["months"]).as_py())
        s = s.add_column(0, "months", pa.array([months] * s.num_rows, pa.int64()))
        parts.append(s.add_column(0, "year", pa.array([y] * s.num_rows, pa.int64())))
    if not parts:
        return summary_table(yearly, level).add_column(0, "year", pa.array([], pa.int64()))
    return pa.concat_tables(parts)
