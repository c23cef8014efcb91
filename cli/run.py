"""``m2c run`` and ``m2c validate``: one scenario, a progress bar, a KPI table, a run folder."""

from __future__ import annotations

import contextlib
from pathlib import Path

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from m2c.cli.errors import reported
from m2c.sim.hil.through_driver import run_through_driver, same_ledger_as_fast_path
from m2c.sim.kpi_catalog import BY_NAME, RUN_SUMMARY
from m2c.sim.run import (
    check_runnable,
    days_to_simulate,
    kernels_compiled,
    reserve_run_folder,
    run_simulation,
)
from m2c.sim.scenario import load_scenario

SCENARIO_HELP = "Bundled scenario name (e.g. baseline_county) or a scenario .toml file."


def day_progress(console: Console) -> Progress:
    """The progress bar of a simulation: simulated days done of the total, time elapsed."""
    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("days"),
        TimeElapsedColumn(),
        console=console,
    )


def meter_count(through_driver: str | None) -> int | None:
    """``--through-driver`` as a count (None = all).

    Raises
    ------
    ValueError
        For anything but a number >= 1 or ``"all"``.
    """
    if through_driver in (None, "all"):
        return None
    if not through_driver.isdigit() or int(through_driver) < 1:
        raise ValueError(
            f'--through-driver {through_driver!r}: expected a number of customers >= 1 or "all"'
        )
    return int(through_driver)


def run(
    scenario: str = typer.Argument("default", help=SCENARIO_HELP),
    customers: int | None = typer.Option(None, min=1, help="Fleet size (default: scenario)."),
    days: int | None = typer.Option(None, min=1, help="Days to simulate (default: scenario)."),
    seed: int | None = typer.Option(None, min=0, help="Seed (default: scenario)."),
    out: Path | None = typer.Option(None, help="Run folder (default runs/<scenario>-<time>)."),
    force: bool = typer.Option(
        False, "--force", help="Replace an existing run folder --out (atomically)."
    ),
    through_driver: str | None = typer.Option(
        None,
        help='Read the meters of the first N customers ("all": every one) through the '
        "DL/T 645 driver from emulated meters on a pty, then check the ledger "
        "against the fast path.",
    ),
) -> None:
    """Simulate a county's meter-to-cash year and write KPIs, ledger and manifest."""
    console = Console()
    with contextlib.ExitStack() as stack:
        with reported():
            sc = load_scenario(scenario)
            check_runnable(sc, customers=customers, days=days, source=scenario)
            meters = meter_count(through_driver)
            # the folder is checked and locked before the simulation, not after it
            folder = stack.enter_context(reserve_run_folder(out, sc.name, force=force))
            with day_progress(console) as bar:
                task = bar.add_task(f"{sc.name}", total=days_to_simulate(sc, days))
                kwargs = {
                    "customers": customers,
                    "days": days,
                    "seed": seed,
                    "progress": lambda d: bar.update(task, completed=d),
                }
                if through_driver is None:
                    result = run_simulation(sc, **kwargs)
                else:
                    result, link = run_through_driver(sc, meters, **kwargs)
        if through_driver is not None:
            same = same_ledger_as_fast_path(result)
            console.print(
                f"{link.summary()['meters']:,} meters read through the driver: "
                f"{link.summary().get('reads_actual', 0):,} reads; ledger "
                f"{'identical to' if same else '[red]DIFFERENT from[/red]'} the fast path"
            )
            if not same:
                raise typer.Exit(1)
        with reported():
            written = folder.commit(result)
    t = Table(
        title=f"{sc.name}: {result.customers:,} customers x {result.days} days, seed {result.seed}"
    )
    t.add_column("KPI (county)")
    t.add_column("value", justify="right")
    for name in RUN_SUMMARY:
        kpi = BY_NAME[name]
        t.add_row(kpi.label, kpi.format(result.summary[name]))
    console.print(t)
    rate = result.customers * result.simulated_days / result.timings["simulate_s"]
    compiled = (
        " (this run compiled the Numba kernels; later runs reuse them)"
        if kernels_compiled()
        else ""
    )
    console.print(
        f"ledger balanced to the fen ({len(result.ledger):,} entries); "
        f"{rate / 1e6:.2f} M customer-days/s{compiled}"
    )
    console.print(f"wrote {written}")


def validate(
    scenario: str = typer.Argument(..., help=SCENARIO_HELP),
    customers: int | None = typer.Option(None, min=1, help="Fleet size to check (as in run)."),
    days: int | None = typer.Option(None, min=1, help="Days to check (as in run)."),
) -> None:
    """Check a scenario: everything ``m2c run`` needs (keys, types, ranges, tariffs, dates,
    int64 headroom, memory for the fleet)."""
    with reported():
        sc = load_scenario(scenario)
        need = check_runnable(sc, customers=customers, days=days, source=scenario)
    Console().print(
        f"{scenario}: valid ({sc.name}: {customers or sc.run.customers:,} customers, "
        f"{days or sc.run.days} days, {sc.stations.urban + sc.stations.rural} stations, "
        f"about {need / 2**20:,.0f} MiB of memory)",
        soft_wrap=True,
    )
