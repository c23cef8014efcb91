"""Figures of a comparison, a sweep or a single run (matplotlib Agg, PNG and SVG).

Each ``fig_*`` function returns a :class:`matplotlib.figure.Figure` (so tests
can read the plotted data back); :func:`plot_folder` finds what a folder holds
and saves every figure that applies under ``folder/figures/``. Money is shown
in CNY (fen / 100); rates in percent.

Monthly figures leave out months the run simulated only in part (the
``full_month`` mark of :mod:`m2c.sim.kpi_sanity`) and say so in their title;
station-months with an implausible station-level rate are drawn apart, with
their reason (:func:`fig_station_rates`). Intervals are the bootstrap
percentile intervals of :mod:`m2c.sim.compare.stats`.
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


def full_months(monthly: pa.Table) -> tuple[pa.Table, int]:
    """The rows of whole months only, and how many distinct partial months were left out."""
    if "full_month" not in monthly.column_names:
        return monthly, 0
    partial = monthly.filter(pc.invert(monthly["full_month"]))
    return monthly.filter(monthly["full_month"]), len(set(partial["month"].to_pylist()))


def _partial_note(n: int) -> str:
    return f" - {n} partial month{'s' if n > 1 else ''} left out" if n else ""


def county_means(monthly: pa.Table, column: str) -> tuple[list[str], dict[str, np.ndarray]]:
    """Months and, per policy, the county (``ALL``) value of ``column`` averaged over
    replications, shape ``(n_months,)`` float64 (whole months only)."""
    monthly, _ = full_months(monthly)
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
    ax.set_title(
        "Recovery rate: per customer vs station level (county, mean of replications)"
        + _partial_note(full_months(monthly)[1]),
        fontsize=10,
    )
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
    pts = [
        (
            100 * rows[("recovery_rate_customer", p)]["mean"],
            rows[("collection_cost_per_customer", p)]["mean"] / 100,
        )
        for p in _policies(summary)
    ]
    front = efficient(pts)
    if len(front) > 1:
        ax.plot(*zip(*front, strict=True), "-", color="grey", lw=1, label="efficient frontier")
    ax.set_xlabel("per-customer recovery rate (%, mean of months)")
    ax.set_ylabel("collection cost per customer (CNY per run)")
    ax.set_title("Cost of collection vs recovery (95 % bootstrap intervals)")
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def efficient(points: list[tuple[float, float]]) -> list[tuple[float, float]]:
    """The (recovery, cost) points no other point beats (higher-or-equal recovery at
    lower-or-equal cost), sorted by recovery."""
    return sorted(
        (x, y)
        for x, y in points
        if not any(x2 >= x and y2 <= y and (x2, y2) != (x, y) for x2, y2 in points)
    )


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


#: Colours of station-month flag reasons (the first reason named).
REASON_COLOURS = {
    "negotiation settlement": "C2",
    "back-bill paid": "C3",
    "back-bill billed": "C3",
    "opening arrears paid": "C1",
    "arrears paid": "C1",
    "arrears building": "C5",
    "prepayment": "C0",
    "prepaid stock drawn down": "C9",
    "partial month": "C7",
    "first reported month": "C8",
    "small receivable": "C4",
    "large receivable": "C4",
    "unexplained": "k",
}
#: Station-level rates are drawn clipped to this range (%); clipped points sit on the edge.
RATE_AXIS = (0.0, 300.0)


def fig_station_rates(monthly: pa.Table) -> Figure:
    """Station-month station-level recovery rates, one panel per policy.

    Rates inside 50-150 % are grey dots; flagged ones (``rate_flag``, see
    :mod:`m2c.sim.kpi_sanity`) are coloured by their first reason, and rates
    beyond the axis are drawn on its edge as triangles. The title gives the
    number of flagged station-months.
    """
    st = monthly.filter(pc.not_equal(monthly["station"], "ALL"))
    if "rate_flag" not in st.column_names:
        from m2c.sim.kpi_sanity import flag_station_months

        st = flag_station_months(st)
    months = sorted(set(st["month"].to_pylist()))
    policies = _policies(st) if "policy" in st.column_names else ["run"]
    fig, axes = plt.subplots(
        1, len(policies), figsize=(4.5 * len(policies) + 1, 4.2), sharey=True, squeeze=False
    )
    d = st.to_pydict()
    pol = d.get("policy", ["run"] * st.num_rows)
    lo, hi = RATE_AXIS
    flagged_total = 0
    for ax, p in zip(axes[0], policies, strict=True):
        sel = [i for i in range(st.num_rows) if pol[i] == p]
        x = np.array([months.index(d["month"][i]) for i in sel], dtype=float)
        y = 100 * np.array([d["recovery_rate_station"][i] for i in sel], dtype=float)
        flag = [d["rate_flag"][i] for i in sel]
        why = [d["rate_reason"][i].split("; ")[0] for i in sel]
        ok = np.array([f == "" for f in flag], dtype=bool)
        ax.plot(x[ok], np.clip(y[ok], lo, hi), ".", color="0.6", ms=3, gid=f"{p}|ok")
        for reason in dict.fromkeys(w for w, f in zip(why, flag, strict=True) if f):
            m = np.array([f != "" and w == reason for w, f in zip(why, flag, strict=True)])
            yc = np.clip(y[m], lo, hi)
            clipped = (y[m] > hi) | (y[m] < lo)
            col = REASON_COLOURS.get(reason, "k")
            ax.plot(
                x[m][~clipped],
                yc[~clipped],
                "o",
                color=col,
                ms=5,
                label=reason,
                gid=f"{p}|{reason}",
            )
            if clipped.any():
                ax.plot(
                    x[m][clipped],
                    yc[clipped],
                    "^" if hi in yc[clipped] else "v",
                    color=col,
                    ms=7,
                    gid=f"{p}|{reason}|clipped",
                )
            flagged_total += int(m.sum())
        for b in (50, 100, 150):
            ax.axhline(b, color="grey", lw=0.6, ls="-" if b == 100 else ":")
        ax.set_ylim(lo - 5, hi + 10)
        _month_axis(ax, months)
        n_flag = int((~ok).sum())
        ax.set_title(f"{p}: {n_flag} of {len(sel)} flagged", fontsize=9)
        if n_flag:
            ax.legend(fontsize=6, loc="upper right")
    axes[0][0].set_ylabel("station-level rate (%; clipped at 300, triangles)")
    fig.suptitle(
        f"Station-months outside 50-150 % and why ({flagged_total} flagged, all replications)"
    )
    fig.tight_layout()
    return fig


#: KPIs drawn as per-year bars, in panel order.
YEAR_KPIS = (
    "recovery_rate_customer",
    "recovery_rate_station",
    "old_arrears_ratio",
    "dso_days",
    "collection_cost_per_customer",
    "disconnections",
)


def fig_yearly(yearly: pa.Table) -> Figure:
    """Per-year KPI bars per policy with 95 % bootstrap intervals (``yearly_summary`` rows).

    Rates in %, money in CNY; a year with fewer than 12 full months is marked
    ``(n mo)`` under its bars.
    """
    rows = yearly.to_pylist()
    years = sorted({r["year"] for r in rows})
    policies = list(dict.fromkeys(r["policy"] for r in rows))
    months = {r["year"]: r["months"] for r in rows}
    kpis = [k for k in YEAR_KPIS if any(r["kpi"] == k for r in rows)]
    ncol = 3
    nrow = max(1, -(-len(kpis) // ncol))
    fig, axes = plt.subplots(nrow, ncol, figsize=(4.2 * ncol, 3.4 * nrow), squeeze=False)
    width = 0.8 / max(1, len(policies))
    by = {(r["kpi"], r["policy"], r["year"]): r for r in rows}
    for ax, kpi in zip(axes.ravel(), kpis, strict=False):
        unit = kpi_catalog.unit(kpi)
        scale = 100.0 if unit == "fraction" else (0.01 if unit == "fen" else 1.0)
        for j, p in enumerate(policies):
            xs, ys, lo, hi = [], [], [], []
            for k, y in enumerate(years):
                r = by.get((kpi, p, y))
                if r is None:
                    continue
                xs.append(k + (j - (len(policies) - 1) / 2) * width)
                ys.append(scale * r["mean"])
                low = r["mean_low"] if r["mean_low"] == r["mean_low"] else r["mean"]
                high = r["mean_high"] if r["mean_high"] == r["mean_high"] else r["mean"]
                lo.append(scale * (r["mean"] - low))
                hi.append(scale * (high - r["mean"]))
            ax.bar(xs, ys, width, color=f"C{j}", label=p, gid=f"{kpi}|{p}")
            ax.errorbar(xs, ys, yerr=[lo, hi], fmt="none", ecolor="k", capsize=3, lw=0.8)
        ax.set_xticks(range(len(years)))
        ax.set_xticklabels(
            [f"{y}" + ("" if months[y] == 12 else f" ({months[y]} mo)") for y in years],
            fontsize=8,
        )
        shown = {"fraction": "%", "fen": "CNY"}.get(unit, unit)
        ax.set_title(f"{kpi.replace('_', ' ')} ({shown})", fontsize=9)
    for ax in axes.ravel()[len(kpis) :]:
        ax.axis("off")
    axes[0][0].legend(fontsize=7)
    fig.suptitle("KPIs by year, mean of replications with 95 % bootstrap intervals")
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


#: Staff activities of :mod:`m2c.sim.staff_costs` (monthly ``fte_<activity>`` columns).
STAFF_ACTIVITIES = (
    "reading",
    "bill_review",
    "counter",
    "dunning",
    "disconnection",
    "inspection",
    "meter_replacement",
)


def staff_means(monthly: pa.Table) -> dict[str, np.ndarray]:
    """Per policy, county FTE by activity (:data:`STAFF_ACTIVITIES` order), mean over the
    whole months and replications: float64 (n_activities,)."""
    monthly, _ = full_months(monthly)
    county = monthly.filter(pc.equal(monthly["station"], "ALL"))
    out = {}
    for p in _policies(county):
        t = county.filter(pc.equal(county["policy"], p))
        out[p] = np.array(
            [
                float(np.mean(t[f"fte_{a}"].to_numpy())) if t.num_rows else 0.0
                for a in STAFF_ACTIVITIES
            ]
        )
    return out


def fig_staff(monthly: pa.Table) -> Figure:
    """Staff in full-time equivalents by activity, one stacked bar per policy (issue 16)."""
    means = staff_means(monthly)
    policies = list(means)
    fig, ax = plt.subplots(figsize=(9.5, 1.8 + 0.5 * len(policies)))
    left = np.zeros(len(policies))
    colours = plt.get_cmap("tab10")
    for k, a in enumerate(STAFF_ACTIVITIES):
        w = np.array([means[p][k] for p in policies])
        ax.barh(policies, w, left=left, label=a.replace("_", " "), color=colours(k))
        left += w
    for y, total in enumerate(left):
        ax.text(total, y, f" {total:.2f}", va="center", fontsize=8)
    ax.set_xlabel("staff (FTE, county, mean of months and replications)")
    ax.invert_yaxis()
    ax.legend(fontsize=7, loc="center left", bbox_to_anchor=(1.01, 0.5))
    ax.set_xlim(0, max(float(left.max()), 1e-9) * 1.12)  # room for the totals
    _, partial = full_months(monthly)
    ax.set_title(f"Meter-to-cash staff by activity{_partial_note(partial)}", fontsize=10)
    fig.tight_layout()
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
    front = efficient([(x, y) for _, x, y in pts])
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


def sanitised_monthly(monthly: pa.Table, manifest: dict, folder: Path) -> pa.Table:
    """``monthly`` with the :mod:`m2c.sim.kpi_sanity` marks (``full_month``, ``rate_flag``,
    ``rate_reason``), each policy's months marked from its scenario's start and
    warm-up and the folder's run length; tables already marked pass through."""
    from m2c.sim.kpi_sanity import flag_station_months, mark_months

    if "full_month" in monthly.column_names and "rate_flag" in monthly.column_names:
        return monthly
    if "full_month" not in monthly.column_names:
        starts: dict[str, tuple[str, int]] = {}
        if manifest.get("kind") == "run" and (folder / "scenario.toml").exists():
            import tomllib

            sc = tomllib.loads((folder / "scenario.toml").read_text(encoding="utf-8"))
            run = sc.get("run", {})
            days = int(run.get("days", 0))
            for p in _policies(monthly):
                starts[p] = (run.get("start", ""), int(run.get("warmup_days", 0)))
        else:
            from m2c.sim.compare.runner import Point, resolved_scenario

            days = int(manifest.get("days", 0))
            for pt in manifest.get("points", []):
                sc = resolved_scenario(Point(pt["label"], pt["spec"], pt.get("overrides") or {}))
                starts[pt["label"]] = (sc["run"]["start"], int(sc["run"].get("warmup_days", 0)))
        if days > 0 and starts:
            parts = []
            for p in _policies(monthly):
                t = monthly.filter(pc.equal(monthly["policy"], p))
                start, warm = starts.get(p, next(iter(starts.values())))
                parts.append(mark_months(t, start, days, warm))
            monthly = pa.concat_tables(parts)
    return flag_station_months(monthly)


def plot_folder(
    folder: str | Path, summary: pa.Table | None = None, yearly: pa.Table | None = None
) -> list[Path]:
    """Write every applicable figure of a comparison, sweep, reproduce or run folder.

    ``summary`` (:func:`~m2c.sim.compare.stats.summary_table`) and ``yearly``
    (:func:`~m2c.sim.compare.stats.yearly_summary`) are computed from the folder's
    tables when not given. Returns the PNG and SVG paths.
    """
    from m2c.sim.compare.stats import yearly_summary, yearly_tidy

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
    monthly = sanitised_monthly(monthly, manifest, folder)
    out = []
    for name, fn in (
        ("recovery", fig_recovery),
        ("aging", fig_aging),
        ("supply", fig_supply),
        ("penalty_heatmap", fig_penalty),
        ("station_rates", fig_station_rates),
    ):
        if manifest["kind"] == "sweep" and name != "recovery":
            continue  # per-month panels for every grid point would be unreadable
        out += save(fn(monthly), figs_dir, name)
    if manifest["kind"] != "sweep" and "fte_total" in monthly.column_names:
        out += save(fig_staff(monthly), figs_dir, "staff_fte")
    if tidy is not None:
        if summary is None:
            conc = folder / "concentration.parquet"
            summary = summary_table(
                tidy, concentration=pq.read_table(conc) if conc.exists() else None
            )
        out += save(fig_cost_recovery(summary), figs_dir, "cost_vs_recovery")
        if manifest["kind"] == "sweep":
            params = list(dict.fromkeys(k for p in manifest["points"] for k in p["params"]))
            out += save(fig_sweep(tidy, params), figs_dir, "sweep_kpis")
            out += save(fig_frontier(summary), figs_dir, "frontier")
        elif manifest.get("customers"):
            if yearly is None:
                yearly = yearly_summary(yearly_tidy(monthly, int(manifest["customers"])))
            if yearly.num_rows:
                out += save(fig_yearly(yearly), figs_dir, "kpi_by_year")
    return out
