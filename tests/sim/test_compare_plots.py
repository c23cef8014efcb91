"""Figures, report and CLI of a tiny comparison; plotted data checked against the tables."""

import numpy as np
import pyarrow.compute as pc
import pytest

from m2c.sim.compare import plots, report, runner
from m2c.sim.compare.runner import Point
from m2c.sim.compare.stats import summary_table

POINTS = [
    Point("smoke", "smoke"),
    Point("slow_cut", "smoke", {"dunning.disconnect_after_days": 60}),
]


@pytest.fixture(scope="module")
def comparison(tmp_path_factory):
    out = tmp_path_factory.mktemp("cmp")
    files = runner.run_points(POINTS, 2, 300, 120, 5, out, workers=1)
    tidy, monthly = runner.collect(files, POINTS)
    runner.write_outputs(out, tidy, monthly)
    return out, tidy, monthly


def test_recovery_lines_are_the_county_means(comparison):
    _, _, monthly = comparison
    fig = plots.fig_recovery(monthly)
    lines = {ln.get_gid(): ln.get_ydata() for ln in fig.axes[0].get_lines() if ln.get_gid()}
    assert set(lines) == {
        "smoke|customer",
        "smoke|station",
        "slow_cut|customer",
        "slow_cut|station",
    }
    county = monthly.filter(pc.equal(monthly["station"], "ALL"))
    for policy in ("smoke", "slow_cut"):
        t = county.filter(pc.equal(county["policy"], policy))
        # by hand: per month, (value in replication 0 + value in replication 1) / 2, in %
        for col, tag in (
            ("recovery_rate_customer", "customer"),
            ("recovery_rate_station", "station"),
        ):
            months = sorted(set(t["month"].to_pylist()))
            expect = [
                100
                * np.mean(
                    [
                        v
                        for m2, v in zip(t["month"].to_pylist(), t[col].to_pylist(), strict=True)
                        if m2 == m
                    ]
                )
                for m in months
            ]
            np.testing.assert_allclose(lines[f"{policy}|{tag}"], expect, rtol=1e-12)
    assert len(months) == 4  # 120 days from 2025-01-01 span January..April


def test_cost_recovery_points_are_the_summary_means(comparison):
    _, tidy, _ = comparison
    summary = summary_table(tidy)
    fig = plots.fig_cost_recovery(summary)
    rows = {(r["kpi"], r["policy"]): r["mean"] for r in summary.to_pylist()}
    pts = {c.get_label(): c.lines[0].get_xydata()[0] for c in fig.axes[0].containers}
    for p in ("smoke", "slow_cut"):
        assert pts[p][0] == pytest.approx(100 * rows[("recovery_rate_customer", p)])
        assert pts[p][1] == pytest.approx(rows[("collection_cost_per_customer", p)] / 100)


def test_plot_folder_writes_png_svg_and_report(comparison):
    out, tidy, _ = comparison
    figs = plots.plot_folder(out)
    names = {f.name for f in figs}
    for stem in (
        "recovery",
        "aging",
        "supply",
        "penalty_heatmap",
        "cost_vs_recovery",
        "station_rates",
        "kpi_by_year",
        "staff_fte",
    ):
        assert {f"{stem}.png", f"{stem}.svg"} <= names
    assert all(f.stat().st_size > 1000 for f in figs)
    assert (out / "figures" / "recovery.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    html = report.write_report(out, POINTS, summary_table(tidy), figs).read_text()
    assert html.count("data:image/png;base64,") == 8 and "figures/aging.svg" in html
    assert "slow_cut" in html and "<td>60</td>" in html  # disconnect_after_days override


def test_plot_run_folder(tmp_path):
    from m2c.sim.run import run_simulation, write_run
    from m2c.sim.scenario import load_scenario

    run_dir = write_run(
        run_simulation(load_scenario("smoke"), customers=200, days=60, seed=1), tmp_path / "run"
    )
    figs = plots.plot_folder(run_dir)
    assert {f.name for f in figs} >= {"recovery.png", "penalty_heatmap.svg"}


def test_monthly_figures_leave_out_partial_months(comparison):
    _, _, monthly = comparison
    # mark April (the 4th month) as simulated in part: the lines lose it, the title says so
    if "full_month" in monthly.column_names:  # runs mark their months; set April's here
        monthly = monthly.drop_columns(["full_month"])
    marked = monthly.append_column("full_month", pc.not_equal(monthly["month"], "2025-04"))
    fig = plots.fig_recovery(marked)
    line = next(ln for ln in fig.axes[0].get_lines() if ln.get_gid() == "smoke|customer")
    assert len(line.get_ydata()) == 3
    assert "1 partial month left out" in fig.axes[0].get_title()


def test_yearly_bars_are_the_yearly_summary(comparison):
    _, _, monthly = comparison
    from m2c.sim.compare.stats import yearly_summary, yearly_tidy

    ys = yearly_summary(yearly_tidy(monthly, customers=300))
    fig = plots.fig_yearly(ys)
    rows = {(r["kpi"], r["policy"]): r for r in ys.to_pylist()}
    ax = fig.axes[0]  # recovery_rate_customer, in %
    bars = {c.get_label(): c for c in ax.containers if c.get_label() in ("smoke", "slow_cut")}
    assert set(bars) == {"smoke", "slow_cut"}
    for label, bar in bars.items():
        height = bar.patches[0].get_height()
        assert height == pytest.approx(100 * rows[("recovery_rate_customer", label)]["mean"])


def test_staff_figure_bars_are_the_county_fte_means(comparison):
    _, _, monthly = comparison
    fig = plots.fig_staff(monthly)
    full, _ = plots.full_months(monthly)
    county = full.filter(pc.equal(full["station"], "ALL"))
    bars = fig.axes[0].containers  # one container per activity, one bar per policy
    assert len(bars) == len(plots.STAFF_ACTIVITIES)
    for k, a in enumerate(plots.STAFF_ACTIVITIES):
        for j, p in enumerate(("smoke", "slow_cut")):
            t = county.filter(pc.equal(county["policy"], p))
            want = sum(t[f"fte_{a}"].to_pylist()) / t.num_rows  # mean over months and reps
            assert bars[k][j].get_width() == pytest.approx(want)
