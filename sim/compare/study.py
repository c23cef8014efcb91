"""A whole comparison or sweep in one call: run, collect, summarise, plot, report.

:func:`run_study` is what ``m2c compare`` and ``m2c sweep`` do: run every
point x replication on Dask (:mod:`~m2c.sim.compare.runner`, resumable),
write the tidy and monthly tables, summarise paired differences
(:mod:`~m2c.sim.compare.stats`), draw the figures
(:mod:`~m2c.sim.compare.plots`) and write the HTML report
(:mod:`~m2c.sim.compare.report`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa

from m2c.sim.atomic import write_table
from m2c.sim.compare import runner
from m2c.sim.compare.stats import summary_table, yearly_summary, yearly_tidy


@dataclass(frozen=True)
class Study:
    """The tables of a finished comparison or sweep, and the figures written (PNG and SVG)."""

    tidy: pa.Table
    monthly: pa.Table
    summary: pa.Table
    figures: list[Path]


def run_study(
    points: list[runner.Point],
    replications: int,
    customers: int,
    days: int,
    seed: int,
    out: str | Path,
    *,
    kind: str = "compare",
    workers: int | None = None,
    scheduler: str | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> Study:
    """Run (or resume) ``points`` x ``replications``; write tables, figures and ``report.html``.

    Arguments as :func:`m2c.sim.compare.runner.run_points`; ``out`` receives
    ``comparison.parquet``/``.csv``, ``monthly.parquet``, ``concentration.parquet``
    (top 1 % shares per run), ``summary.parquet`` (the printed table: intervals,
    ``top1_share`` and ``warning``), ``yearly.parquet``, ``figures/`` and ``report.html``.
    """
    out = Path(out)
    with runner.locked(out):  # one study per folder at a time, from the results to the report
        return _study(
            points,
            replications,
            customers,
            days,
            seed,
            out,
            kind=kind,
            workers=workers,
            scheduler=scheduler,
            progress=progress,
        )


def _study(
    points: list[runner.Point],
    replications: int,
    customers: int,
    days: int,
    seed: int,
    out: Path,
    *,
    kind: str,
    workers: int | None,
    scheduler: str | None,
    progress: Callable[[int, int], None] | None,
) -> Study:
    from m2c.sim.compare import plots, report  # matplotlib: loaded only when a study runs

    files = runner.run_points(
        points,
        replications,
        customers,
        days,
        seed,
        out,
        kind=kind,
        workers=workers,
        scheduler=scheduler,
        progress=progress,
    )
    tidy, monthly = runner.collect(files, points)
    runner.write_outputs(out, tidy, monthly)
    # issue 16: the top 1 % of customers' share of each money KPI, so the table warns when
    # an outcome rests on a handful of customers (as m2c reproduce does)
    conc = runner.collect_concentration(files)
    write_table(conc, out / "concentration.parquet")
    summary = summary_table(tidy, concentration=conc)
    write_table(summary, out / "summary.parquet")
    # partial months and implausible station-months marked, counted in the report, and
    # KPIs by calendar year over whole months (issue 16)
    marked = plots.sanitised_monthly(monthly, runner.read_manifest(out) or {}, out)
    yearly = yearly_summary(yearly_tidy(marked, customers))
    write_table(yearly, out / "yearly.parquet")
    figs = plots.plot_folder(out, summary=summary, yearly=yearly)
    report.write_report(out, points, summary, figs, monthly=marked, yearly=yearly)
    runner.mark_complete(out)
    return Study(tidy, monthly, summary, figs)
