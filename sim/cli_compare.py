"""``m2c compare``, ``m2c sweep`` and ``m2c plot``: replicated policy runs on Dask.

Each command parses arguments, calls :mod:`m2c.sim.compare` and prints; user
errors (a bad scenario, a folder made with other arguments) exit with status 2.
"""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from m2c.sim.compare import runner
from m2c.sim.compare.stats import summary_table
from m2c.sim.scenario import ScenarioError

REPS = typer.Option(10, min=1, help="Replications per policy (replication r uses seed + r).")
CUSTOMERS = typer.Option(2000, min=1, help="Customers per run.")
DAYS = typer.Option(365, min=1, help="Days per run.")
SEED = typer.Option(1, min=0, help="Seed of replication 0.")
WORKERS = typer.Option(None, min=1, help="Local Dask workers (default: all cores).")
SCHEDULER = typer.Option(None, help="Existing Dask scheduler address, e.g. tcp://host:8786.")


def _fmt(x: float) -> str:
    return "nan" if x != x else f"{x:.4g}"


def print_summary(console: Console, summary: pa.Table, title: str) -> None:
    """One rich table per KPI: mean per policy, paired diff vs first with 95 % CI."""
    rows = summary.to_pylist()
    for kpi in dict.fromkeys(r["kpi"] for r in rows):
        t = Table(title=f"{kpi} ({runner.UNITS.get(kpi, '')}) — {title}", title_justify="left")
        for col in ("policy", "mean", "diff vs first", "95 % CI of diff", "significant"):
            t.add_column(col, justify="left" if col == "policy" else "right")
        for i, r in enumerate(x for x in rows if x["kpi"] == kpi):
            ci = "—" if i == 0 else f"[{_fmt(r['diff_low'])}, {_fmt(r['diff_high'])}]"
            t.add_row(r["policy"], _fmt(r["mean"]), "—" if i == 0 else f"{r['diff']:+.4g}",
                      ci, "yes" if r["significant"] else ("—" if i == 0 else "no"))
        console.print(t)


def execute(points: list[runner.Point], kind: str, replications: int, customers: int,
            days: int, seed: int, workers: int | None, scheduler: str | None, out: Path,
            console: Console) -> tuple[pa.Table, pa.Table, pa.Table]:
    """Run with a progress bar, write tables, figures and report; return tidy, monthly, summary."""
    from m2c.sim.compare import plots, report

    with Progress(TextColumn("[bold]replications"), BarColumn(), MofNCompleteColumn(),
                  TimeElapsedColumn(), console=console) as bar:
        task = bar.add_task("runs", total=None)
        files = runner.run_points(
            points, replications, customers, days, seed, out, kind=kind, workers=workers,
            scheduler=scheduler,
            progress=lambda done, total: bar.update(task, completed=done, total=total))
    tidy, monthly = runner.collect(files, points)
    runner.write_outputs(out, tidy, monthly)
    summary = summary_table(tidy)
    figs = plots.plot_folder(out)
    report.write_report(out, points, summary, figs)
    return tidy, monthly, summary


def _run_cli(points_fn, kind: str, replications: int, customers: int, days: int, seed: int,
             workers: int | None, scheduler: str | None, out: Path) -> None:
    console = Console()
    try:
        points = points_fn()
        _, _, summary = execute(points, kind, replications, customers, days, seed, workers,
                                scheduler, out, console)
    except (ScenarioError, ValueError, FileNotFoundError) as exc:
        console.print(f"[red]error:[/red] {exc}", soft_wrap=True)
        raise typer.Exit(2) from None
    print_summary(console, summary, f"{replications} replications x {customers:,} customers x "
                  f"{days} days, common random numbers")
    console.print(f"wrote {out / 'comparison.parquet'}, .csv, figures/ and {out / 'report.html'}",
                  soft_wrap=True)


def compare(
    scenarios: list[str] = typer.Argument(..., help="Two or more scenarios (first = baseline)."),
    replications: int = REPS, customers: int = CUSTOMERS, days: int = DAYS, seed: int = SEED,
    workers: int | None = WORKERS, scheduler: str | None = SCHEDULER,
    out: Path = typer.Option(Path("runs/comparison"), help="Output folder (resumable)."),
) -> None:
    """Compare policies on common random numbers: paired differences with 95 % CIs."""
    if len(scenarios) < 2:
        Console().print("[red]error:[/red] give at least two scenarios to compare")
        raise typer.Exit(2)
    _run_cli(lambda: runner.compare_points(scenarios), "compare", replications, customers,
             days, seed, workers, scheduler, out)


def sweep(
    scenario: str = typer.Argument(..., help="Scenario to sweep (bundled name or .toml)."),
    param: list[str] = typer.Option(..., help="KEY=V1,V2,... (repeat for a grid)."),
    replications: int = REPS, customers: int = CUSTOMERS, days: int = DAYS, seed: int = SEED,
    workers: int | None = WORKERS, scheduler: str | None = SCHEDULER,
    out: Path = typer.Option(Path("runs/sweep"), help="Output folder (resumable)."),
) -> None:
    """Sweep scenario parameters over a grid; every point replicated with CRN."""
    from m2c.sim.compare.sweep import sweep_points

    _run_cli(lambda: sweep_points(scenario, param), "sweep", replications, customers, days,
             seed, workers, scheduler, out)


def plot(folder: Path = typer.Argument(..., help="A comparison, sweep or run folder.")) -> None:
    """Regenerate the figures (PNG and SVG) of a comparison, sweep or run folder."""
    from m2c.sim.compare import plots

    console = Console()
    try:
        figs = plots.plot_folder(folder)
    except (ValueError, FileNotFoundError) as exc:
        console.print(f"[red]error:[/red] {exc}", soft_wrap=True)
        raise typer.Exit(2) from None
    for f in figs:
        console.print(f"wrote {f}", soft_wrap=True)


def register(app: typer.Typer) -> None:
    """Add ``m2c compare``, ``m2c sweep`` and ``m2c plot``."""
    app.command("compare")(compare)
    app.command("sweep")(sweep)
    app.command("plot")(plot)
