"""``m2c compare``: replicated policy runs with common random numbers on Dask."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from m2c.sim.comparison import run_comparison, summary_rows
from m2c.sim.scenario import ScenarioError


def compare(
    scenarios: list[str] = typer.Argument(..., help="Two or more scenarios (first = baseline)."),
    replications: int = typer.Option(10, min=2, help="Replications per policy (paired seeds)."),
    customers: int = typer.Option(5000, min=1, help="Customers per run."),
    days: int = typer.Option(365, min=1, help="Days per run."),
    seed: int = typer.Option(1, min=0, help="Seed of replication 0 (r uses seed + r)."),
    workers: int | None = typer.Option(None, min=1, help="Local Dask workers (default: cores)."),
    scheduler: str | None = typer.Option(None, help="Existing Dask scheduler, tcp://host:8786."),
    out: Path = typer.Option(Path("runs/comparison"), help="Output folder (resumable)."),
) -> None:
    """Compare policies: paired differences vs the first with 95 % confidence intervals."""
    console = Console()
    if len(scenarios) < 2:
        console.print("[red]error:[/red] give at least two scenarios to compare")
        raise typer.Exit(2)
    with Progress(TextColumn("replications"), BarColumn(), MofNCompleteColumn(),
                  TimeElapsedColumn(), console=console) as bar:
        task = bar.add_task("runs", total=None)
        try:
            tidy = run_comparison(
                scenarios, replications, customers, days, seed, out, workers, scheduler,
                progress=lambda done, total: bar.update(task, completed=done, total=total))
        except (ScenarioError, ValueError) as exc:
            console.print(f"[red]error:[/red] {exc}")
            raise typer.Exit(2) from None
    t = Table(title=f"{len(scenarios)} policies x {replications} replications "
                    f"({customers:,} customers x {days} days, common random numbers)")
    for col in ("KPI", "policy", "mean", "diff vs first", "95 % CI", "significant"):
        t.add_column(col, justify="right" if col not in ("KPI", "policy") else "left")
    for r in summary_rows(tidy):
        t.add_row(r["kpi"], r["policy"], f"{r['mean']:.4g}", f"{r['diff']:+.4g}",
                  f"[{r['ci_low']:.4g}, {r['ci_high']:.4g}]", "yes" if r["significant"] else "")
    console.print(t)
    console.print(f"wrote {out / 'comparison.parquet'} and {out / 'comparison.csv'}")


def register(app: typer.Typer) -> None:
    """Add ``m2c compare``."""
    app.command("compare")(compare)
