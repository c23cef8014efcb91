"""``m2c reproduce``: run the bundled policies and judge the field reports' outcomes.

Parses arguments, calls :func:`m2c.sim.compare.reproduce.run_reproduce`, prints
one row per outcome (field-report figure, m2c's figure with its 95 % interval,
verdict) and where the tables and the report were written. Interrupted
(Ctrl-C, a crash), the same command resumes from the finished runs.
"""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from m2c.cli.compare import SCHEDULER, SEED, WORKERS
from m2c.cli.errors import reported

VERDICT_STYLE = {
    "reproduced": "green",
    "direction only": "yellow",
    "not reproduced": "red",
    "not measured yet": "dim",
}


def print_rows(console: Console, rows: pa.Table, title: str) -> None:
    """The reproduce table: outcome, kind, field report, m2c (interval), verdict."""
    t = Table(title=title, title_justify="left", show_lines=True)
    for col, width in (
        ("outcome", 44),
        ("kind", 10),
        ("field report", 22),
        ("m2c (95 % interval)", 26),
        ("verdict", 12),
    ):
        t.add_column(col, max_width=width, overflow="fold")
    for r in rows.to_pylist():
        t.add_row(
            r["outcome"],
            r["kind"],
            r["source_figure"],
            r["m2c_figure"],
            f"[{VERDICT_STYLE.get(r['verdict'], '')}]{r['verdict']}[/]",
        )
    console.print(t)


def reproduce(
    customers: int = typer.Option(3000, min=1, help="Customers per run."),
    replications: int = typer.Option(5, min=1, help="Replications per policy (seed + r)."),
    years: int = typer.Option(1, min=1, help="Reported years per run (after the warm-up)."),
    seed: int = SEED,
    workers: int | None = WORKERS,
    scheduler: str | None = SCHEDULER,
    out: Path = typer.Option(
        Path("runs/reproduce"),
        help="Output folder (overwritten). An interrupted reproduce rerun with the same "
        "arguments resumes: finished runs wait in .<name>.work beside it.",
    ),
) -> None:
    """Reproduce the field reports' outcomes with the bundled policies (common random numbers)."""
    from m2c.sim.compare.reproduce import POLICIES, run_reproduce

    console = Console()
    with (
        reported(),
        Progress(
            TextColumn("[bold]runs"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=console,
        ) as bar,
    ):
        task = bar.add_task("runs", total=len(POLICIES) * replications)
        rep = run_reproduce(
            out,
            customers=customers,
            replications=replications,
            years=years,
            seed=seed,
            workers=workers,
            scheduler=scheduler,
            progress=lambda done, total: bar.update(task, completed=done, total=total),
        )
    total = len(POLICIES) * replications
    if rep.computed < total and rep.files:
        console.print(
            f"resumed {total - rep.computed} of {total} runs from an interrupted reproduce"
        )
    print_rows(
        console,
        rep.rows,
        f"Field-report outcomes: {replications} replications x {customers:,} customers x "
        f"{years} year(s) per policy, common random numbers",
    )
    console.print(
        f"wrote {out / 'reproduce.parquet'}, .csv, figures/ and {out / 'report.html'}",
        soft_wrap=True,
    )
