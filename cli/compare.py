"""``m2c compare``, ``m2c sweep`` and ``m2c plot``: replicated policy runs on Dask.

Each command parses arguments, calls :func:`m2c.sim.compare.study.run_study`
(or :func:`m2c.sim.compare.plots.plot_folder`) and prints one table per KPI.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pyarrow as pa
import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from m2c.cli.errors import reported
from m2c.sim.compare import runner
from m2c.sim.compare.study import run_study
from m2c.sim.compare.sweep import sweep_points
from m2c.sim.kpi_catalog import unit

REPS = typer.Option(10, min=1, help="Replications per policy (replication r uses seed + r).")
CUSTOMERS = typer.Option(2000, min=1, help="Customers per run.")
DAYS = typer.Option(365, min=1, help="Days per run.")
SEED = typer.Option(1, min=0, help="Seed of replication 0.")
WORKERS = typer.Option(None, min=1, help="Local Dask workers (default: all cores).")
SCHEDULER = typer.Option(None, help="Existing Dask scheduler address, e.g. tcp://host:8786.")


def _fmt(x: float) -> str:
    return "nan" if x != x else f"{x:.4g}"


def print_summary(console: Console, summary: pa.Table, title: str) -> None:
    """One rich table per KPI: mean per policy, paired diff vs first with its 95 %
    bootstrap interval, the relative change and the warnings of
    :func:`~m2c.sim.compare.stats.summary_table`."""
    rows = summary.to_pylist()
    for kpi in dict.fromkeys(r["kpi"] for r in rows):
        t = Table(title=f"{kpi} ({unit(kpi)}) — {title}", title_justify="left")
        for col in (
            "policy",
            "mean",
            "diff vs first",
            "95 % CI of diff",
            "relative",
            "significant",
            "warning",
        ):
            t.add_column(col, justify="left" if col in ("policy", "warning") else "right")
        for i, r in enumerate(x for x in rows if x["kpi"] == kpi):
            ci = "—" if i == 0 else f"[{_fmt(r['diff_low'])}, {_fmt(r['diff_high'])}]"
            rel = r.get("rel_diff", float("nan"))
            t.add_row(
                r["policy"],
                _fmt(r["mean"]),
                "—" if i == 0 else f"{r['diff']:+.4g}",
                ci,
                "—" if i == 0 or rel != rel else f"{100 * rel:+.1f} %",
                "yes" if r["significant"] else ("—" if i == 0 else "no"),
                r.get("warning", "") or "",
            )
        console.print(t)


def _study(
    points_fn: Callable[[], list[runner.Point]],
    kind: str,
    replications: int,
    customers: int,
    days: int,
    seed: int,
    workers: int | None,
    scheduler: str | None,
    out: Path,
) -> None:
    console = Console()
    with reported():
        points = points_fn()
        with Progress(
            TextColumn("[bold]replications"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=console,
        ) as bar:
            task = bar.add_task("runs", total=None)
            study = run_study(
                points,
                replications,
                customers,
                days,
                seed,
                out,
                kind=kind,
                workers=workers,
                scheduler=scheduler,
                progress=lambda done, total: bar.update(task, completed=done, total=total),
            )
    print_summary(
        console,
        study.summary,
        f"{replications} replications x {customers:,} "
        f"customers x {days} days, common random numbers",
    )
    console.print(
        f"wrote {out / 'comparison.parquet'}, .csv, figures/ and {out / 'report.html'}",
        soft_wrap=True,
    )


def compare(
    scenarios: list[str] = typer.Argument(..., help="Two or more scenarios (first = baseline)."),
    replications: int = REPS,
    customers: int = CUSTOMERS,
    days: int = DAYS,
    seed: int = SEED,
    workers: int | None = WORKERS,
    scheduler: str | None = SCHEDULER,
    out: Path = typer.Option(Path("runs/comparison"), help="Output folder (resumable)."),
) -> None:
    """Compare policies on common random numbers: paired differences with 95 % CIs."""
    if len(scenarios) < 2:
        raise typer.BadParameter("give at least two scenarios to compare", param_hint="SCENARIOS")
    _study(
        lambda: runner.compare_points(scenarios),
        "compare",
        replications,
        customers,
        days,
        seed,
        workers,
        scheduler,
        out,
    )


def sweep(
    scenario: str = typer.Argument(..., help="Scenario to sweep (bundled name or .toml)."),
    param: list[str] = typer.Option(..., help="KEY=V1,V2,... (repeat for a grid)."),
    replications: int = REPS,
    customers: int = CUSTOMERS,
    days: int = DAYS,
    seed: int = SEED,
    workers: int | None = WORKERS,
    scheduler: str | None = SCHEDULER,
    out: Path = typer.Option(Path("runs/sweep"), help="Output folder (resumable)."),
) -> None:
    """Sweep scenario parameters over a grid; every point replicated with CRN."""
    _study(
        lambda: sweep_points(scenario, param),
        "sweep",
        replications,
        customers,
        days,
        seed,
        workers,
        scheduler,
        out,
    )


def plot(folder: Path = typer.Argument(..., help="A comparison, sweep or run folder.")) -> None:
    """Regenerate the figures (PNG and SVG) of a comparison, sweep or run folder."""
    from m2c.sim.compare import plots  # matplotlib: loaded only by this command

    console = Console()
    with reported():
        figs = plots.plot_folder(folder)
    for f in figs:
        console.print(f"wrote {f}", soft_wrap=True)
