"""Figures of a comparison, a sweep or a single run (matplotlib Agg, PNG and SVG).

Each ``fig_*`` function returns a :class:`matplotlib.figure.Figure` (so tests
can read the plotted data back); :func:`plot_folder` finds what a folder holds
and saves every figure that applies under ``folder/figures/``. Money is shown
in CNY (fen / 100); rates in percent.
"""

from __future__ import annotations

import json
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from matplotlib.figure import Figure

from m2c.sim import kpi_catalog
from m2c.sim.compare.stats import kpi_values, mean_ci, summary_table

AGING = ("arrears_0_30", "arrears_31_60", "arrears_61_90", "arrears_90_plus")


def _policies(table: pa.Table) -> list[str]:
    return list(dict.fromkeys(table["policy"].to_pylist()))


def county_means(monthly: pa.Table, column: str) -> tuple[list[str], dict[str, np.ndarray]]:
    """Months and, per policy, the county (``ALL``) value of ``column`` averaged over
    replications, shape ``(n_months,)`` float64."""
    county = monthly.filter(pc.equal(monthly["station"], "ALL"))
    months = sorted(set(county["month"].to_pylist()))
    index = {m: i for i, m in enumerate(months)}
    out = {}
    for p in _policies(county):
        t = county.filter(pc.equal(county["policy"], p))
        s, n = np.zeros(len(months)), np.zeros(len(months))
        for m, v in zip(t["month"].to_pylist(), t[column].to_pylist(), strict=True):
            s[index[m]] += float(v)
            n[index[m]] += 1
        out[p] = s / np.maximum(n, 1)
    return months, out


def _month_axis(ax, months: list[str]) -> None:
    step = max(1, len(months) // 12)
    ax.set_xticks(range(0, len(months), step))
    ax.set_xticklabels(months[::step], rotation=45, ha="right", fontsize=8)
    ax.set_xlabel("month")


def fig_recovery(monthly: pa.Table) -> Figure:
    """Monthly per-customer (solid) vs station-level (dashed) recovery rate per policy."""
    fig, ax = plt.subplots(figsize=(8, 4.5))
    months, cust = county_means(monthly, "recovery_rate_customer")
    _, stat = county_means(monthly, "recovery_rate_station")
    for i, p in enumerate(cust):
        c = f"C{i}"
        ax.plot(
            range(len(months)),
            100 * cust[p],
            "-o",
            color=c,
            ms=3,
            label=f"{p}: per customer",
            gid=f"{p}|customer",
        )
        ax.plot(
            range(len(months)),
            100 * stat[p],
            "--",
            color=c,
            label=f"{p}: station level",
            gid=f"{p}|station",
        )
    ax.axhline(100, color="grey", lw=0.8)
    _month_axis(ax, months)
    ax.set_ylabel("recovery rate (%)")
    ax.set_title("Recovery rate: per customer vs station level (county, mean of replications)")
    ax.legend(fontsize=7, ncol=2)
    fig.tight_layout()
    return fig


def fig_aging(monthly: pa.Table) -> Figure:
    """Arrears aging (0-30, 31-60, 61-90, 90+ days) stacked areas, one panel per policy."""
    data = {col: county_means(monthly, col) for col in AGING}
    months, first = data[AGING[0]]
    policies = list(first)
    fig, axes = plt.subplots(
        1, len(policies), figsize=(4 * len(policies) + 1, 4), sharey=True, squeeze=False
    )
    for ax, p in zip(axes[0], policies, strict=True):
        ys = [data[col][1][p] / 100.0 / 1e4 for col in AGING]
        ax.stackplot(
            range(len(months)), *ys, labels=[c.replace("arrears_", "") + " days" for c in AGING]
        )
        ax.set_title(p, fontsize=10)
        _month_axis(ax, months)
    axes[0][0].set_ylabel("arrears outstanding (10k CNY)")
    axes[0][-1].legend(title="age", fontsize=7, loc="upper left")
    fig.suptitle("Arrears aging over time (county, mean of replications)")
    fig.tight_layout()
    return fig


def fig_cost_recovery(summary: pa.Table) -> Figure:
    """Collection cost per customer vs per-customer recovery, one point per policy, 95 % CI."""
    rows = {(r["kpi"], r["policy"]): r for r in summary.to_pylist()}
    fig, ax = plt.subplots(figsize=(6.5, 4.5))
    for i, p in enumerate(_policies(summary)):
        x, y = rows[("recovery_rate_customer", p)], rows[("collection_cost_per_customer", p)]
        xerr = [[100 * (x["mean"] - x["mean_low"])], [100 * (x["mean_high"] - x["mean"])]]
        yerr = [[(y["mean"] - y["mean_low"]) / 100], [(y["mean_high"] - y["mean"]) / 100]]
        ax.errorbar(
            100 * x["mean"],
            y["mean"] / 100,
            xerr=xerr,
            yerr=yerr,
            fmt="o",
            color=f"C{i}",
            capsize=4,
            label=p,
            gid=p,
        )
    ax.set_xlabel("per-customer recovery rate (%, mean of months)")
    ax.set_ylabel("collection cost per customer (CNY per run)")
    ax.set_title("Cost of collection vs recovery (95 % CI whiskers)")
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def fig_supply(monthly: pa.Table) -> Figure:
    """Disconnections and customer-days without supply per month, per policy."""
    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    for ax, col, unit in (
        (axes[0], "disconnections", "disconnections per month"),
        (axes[1], "customer_days_without_supply", "customer-days without supply per month"),
    ):
        months, means = county_means(monthly, col)
        for i, (p, y) in enumerate(means.items()):
            ax.plot(range(len(months)), y, "-o", ms=3, color=f"C{i}", label=p, gid=p)
        _month_axis(ax, months)
        ax.set_ylabel(unit)
        ax.set_title(unit.replace(" per month", "").capitalize())
        ax.legend(fontsize=8)
    fig.suptitle("Supply interruptions (county, mean of replications)")
    fig.tight_layout()
    return fig


def fig_penalty(monthly: pa.Table) -> Figure:
    """Per-station penalty (% of performance pay lost), station x month, one panel per policy."""
    st = monthly.filter(pc.not_equal(monthly["station"], "ALL"))
    months = sorted(set(st["month"].to_pylist()))
    stations = sorted(set(st["station"].to_pylist()))
    policies = _policies(st)
    fig, axes = plt.subplots(
        1,
        len(policies),
        figsize=(4 * len(policies) + 1.5, 1.5 + 0.25 * len(stations)),
        squeeze=False,
    )
    im = None
    for ax, p in zip(axes[0], policies, strict=True):
        t = st.filter(pc.equal(st["policy"], p))
        s, n = np.zeros((len(stations), len(months))), np.zeros((len(stations), len(months)))
        for sta, m, v in zip(
            t["station"].to_pylist(),
            t["month"].to_pylist(),
            t["penalty_pct"].to_pylist(),
            strict=True,
        ):
            s[stations.index(sta), months.index(m)] += v
            n[stations.index(sta), months.index(m)] += 1
        grid = np.where(n > 0, s / np.maximum(n, 1), np.nan)  # NaN: station not in policy
        im = ax.imshow(grid, aspect="auto", cmap="Reds", vmin=0, vmax=100)
        ax.set_yticks(range(len(stations)))
        ax.set_yticklabels(stations, fontsize=7)
        _month_axis(ax, months)
        ax.set_title(p, fontsize=10)
    axes[0][0].set_ylabel("station")
    fig.colorbar(im, ax=axes[0].tolist(), label="penalty (% of pay, mean of replications)")
    fig.suptitle("Station assessment penalty (30/60/100 %) by station and month")
    return fig


SWEEP_KPIS = (
    "recovery_rate_customer",
    "old_arrears_ratio",
    "collection_cost_per_customer",
    "customer_days_without_supply",
)


def fig_sweep(tidy: pa.Table, params: list[str]) -> Figure:
    """KPI vs the first parameter with 95 % CI bands; one line per value of the others."""
    x_name, others = params[0], params[1:]
    d = tidy.to_pydict()
    point_params = {p: tuple(d[k][i] for k in params) for i, p in enumerate(d["policy"])}
    fig, axes = plt.subplots(2, 2, figsize=(10, 7))
    vals = kpi_values(tidy)
    for ax, kpi in zip(axes.ravel(), SWEEP_KPIS, strict=True):
        lines: dict[tuple, list[tuple[float, float, float, float]]] = {}
        for point, v in vals[kpi].items():
            ci = mean_ci(v)
            pv = point_params[point]
            lines.setdefault(pv[1:], []).append((pv[0], ci.mean, ci.low, ci.high))
        for i, (key, pts) in enumerate(lines.items()):
            x, m, lo, hi = (np.array(c) for c in zip(*sorted(pts), strict=True))
            label = ", ".join(f"{k}={v:g}" for k, v in zip(others, key, strict=True)) or kpi
            ax.plot(x, m, "-o", color=f"C{i}", label=label, gid=label)
            ax.fill_between(x, lo, hi, color=f"C{i}", alpha=0.2)
        ax.set_xlabel(x_name)
        ax.set_ylabel(kpi.replace("_", " ") + _unit(kpi))
        ax.set_title(kpi.replace("_", " "), fontsize=10)
        if others:
            ax.legend(fontsize=7)
    fig.suptitle(f"Sweep over {', '.join(params)}: mean with 95 % CI band")
    fig.tight_layout()
    return fig


def _unit(kpi: str) -> str:
    return f" ({kpi_catalog.unit(kpi)})"


def fig_frontier(summary: pa.Table) -> Figure:
    """Cost vs recovery across sweep points, with the efficient frontier joined."""
    rows = {(r["kpi"], r["policy"]): r for r in summary.to_pylist()}
    pts = [
        (
            p,
            100 * rows[("recovery_rate_customer", p)]["mean"],
            rows[("collection_cost_per_customer", p)]["mean"] / 100,
        )
        for p in _policies(summary)
    ]
    fig, ax = plt.subplots(figsize=(7, 5))
    ax.scatter([x for _, x, _ in pts], [y for *_, y in pts], color="C0")
    for p, x, y in pts:
        ax.annotate(p, (x, y), fontsize=7, xytext=(3, 3), textcoords="offset points")
    # efficient: no other point has higher-or-equal recovery at lower-or-equal cost
    front = sorted(
        (x, y)
        for p, x, y in pts
        if not any(x2 >= x and y2 <= y and (x2, y2) != (x, y) for _, x2, y2 in pts)
    )
    if front:
        ax.plot(*zip(*front, strict=True), "-", color="C3", label="efficient frontier")
        ax.legend(fontsize=8)
    ax.set_xlabel("per-customer recovery rate (%)")
    ax.set_ylabel("collection cost per customer (CNY per run)")
    ax.set_title("Cost vs recovery across sweep points")
    fig.tight_layout()
    return fig


def save(fig: Figure, folder: Path, name: str) -> list[Path]:
    """Save ``fig`` as ``folder/name.png`` and ``.svg``, close it, return both paths."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = [folder / f"{name}.png", folder / f"{name}.svg"]
    fig.savefig(paths[0], dpi=110)
    fig.savefig(paths[1], metadata={"Date": None})
    plt.close(fig)
    return paths


def plot_folder(folder: str | Path) -> list[Path]:
    """Write every applicable figure of a comparison, sweep or run folder; return PNG/SVG paths."""
    folder = Path(folder)
    figs_dir = folder / "figures"
    if (folder / "monthly.parquet").exists() and (folder / "comparison.parquet").exists():
        monthly = pq.read_table(folder / "monthly.parquet")
        tidy = pq.read_table(folder / "comparison.parquet")
        manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    elif (folder / "kpi_monthly.parquet").exists():
        kpi = pq.read_table(folder / "kpi_monthly.parquet")
        name = (
            json.loads((folder / "manifest.json").read_text(encoding="utf-8")).get(
                "scenario", folder.name
            )
            if (folder / "manifest.json").exists()
            else folder.name
        )
        monthly = kpi.add_column(0, "policy", pa.array([name] * kpi.num_rows))
        tidy, manifest = None, {"kind": "run"}
    else:
        raise FileNotFoundError(
            f"{folder}: no monthly.parquet/comparison.parquet "
            "(comparison or sweep) nor kpi_monthly.parquet (run)"
        )
    out = []
    for name, fn in (
        ("recovery", fig_recovery),
        ("aging", fig_aging),
        ("supply", fig_supply),
        ("penalty_heatmap", fig_penalty),
    ):
        if manifest["kind"] == "sweep" and name != "recovery":
            continue  # per-month panels for every grid point would be unreadable
        out += save(fn(monthly), figs_dir, name)
    if tidy is not None:
        summary = summary_table(tidy)
        out += save(fig_cost_recovery(summary), figs_dir, "cost_vs_recovery")
        if manifest["kind"] == "sweep":
            params = list(dict.fromkeys(k for p in manifest["points"] for k in p["params"]))
            out += save(fig_sweep(tidy, params), figs_dir, "sweep_kpis")
            out += save(fig_frontier(summary), figs_dir, "frontier")
    return out
