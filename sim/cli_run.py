"""``m2c run`` and ``m2c validate``: one scenario, a progress bar, a KPI table, a run folder."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from m2c.core.ledger import LedgerImbalanceError
from m2c.devices.errors import DeviceError
from m2c.sim.driver_run import run_through_driver, same_ledger_as_fast_path
from m2c.sim.rules import fleet_day, fleet_month_end
from m2c.sim.run import run_simulation, write_run
from m2c.sim.scenario import Scenario, ScenarioError, load_scenario

SCENARIO_HELP = "Bundled scenario name (e.g. baseline_county) or a scenario .toml file."

#: County summary lines printed after a run: (summary key, label, format).
SUMMARY_LINES = (
    ("recovery_rate_customer", "recovery rate, per customer (mean of months)", "{:.2%}"),
    ("recovery_rate_station", "recovery rate, station level (mean of months)", "{:.2%}"),
    ("old_arrears_ratio", "old-arrears ratio (end)", "{:.3%}"),
    ("dso_days", "days sales outstanding (mean)", "{:.1f}"),
    ("collection_cost", "collection cost (CNY)", "fen"),
    ("bad_debt", "bad debt written off (CNY)", "fen"),
    ("disconnections", "disconnections", "{:,.0f}"),
    ("customer_days_without_supply", "customer-days without supply", "{:,.0f}"),
    ("penalty_months", "station penalty months", "{:,.0f}"),
    ("crew_queue_max", "longest crew queue (jobs)", "{:,.0f}"),
)


def _fmt(value: float, fmt: str) -> str:
    return f"{value / 100:,.2f}" if fmt == "fen" else fmt.format(value)


def day_progress(console: Console) -> Progress:
    """The progress bar of a simulation: simulated days done of the total, time elapsed."""
    return Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
                    TextColumn("days"), TimeElapsedColumn(), console=console)


def _load_or_exit(console: Console, scenario: str) -> Scenario:
    """The validated scenario, or the errors printed and exit status 2 (nothing runs)."""
    try:
        return load_scenario(scenario)
    except ScenarioError as exc:
        console.print(f"[red]invalid scenario[/red]\n{exc}")
        raise typer.Exit(2) from None


def run(
    scenario: str = typer.Argument("default", help=SCENARIO_HELP),
    customers: int | None = typer.Option(None, min=1, help="Fleet size (default: scenario)."),
    days: int | None = typer.Option(None, min=1, help="Days to simulate (default: scenario)."),
    seed: int | None = typer.Option(None, min=0, help="Seed (default: scenario)."),
    out: Path | None = typer.Option(None, help="Run folder (default runs/<scenario>-<time>)."),
    through_driver: str | None = typer.Option(
        None, help='Read the meters of the first N customers ("all": every one) through the '
                   "DL/T 645 driver from emulated meters on a pty, then check the ledger "
                   "against the fast path."),
) -> None:
    """Simulate a county's meter-to-cash year and write KPIs, ledger and manifest."""
    console = Console()
    sc = _load_or_exit(console, scenario)
    n_days = days or sc.run.days
    meters = _meter_count(console, through_driver)
    with day_progress(console) as bar:
        task = bar.add_task(f"{sc.name}", total=n_days)
        kwargs = {"customers": customers, "days": days, "seed": seed,
                  "progress": lambda d: bar.update(task, completed=d)}
        try:
            if through_driver is None:
                result = run_simulation(sc, **kwargs)
            else:
                result, link = run_through_driver(sc, meters, **kwargs)
        except LedgerImbalanceError as exc:
            console.print(f"[red]money is not conserved:[/red] {exc}")
            raise typer.Exit(1) from None
        except DeviceError as exc:
            console.print(f"[red]meter error:[/red] {exc}")
            raise typer.Exit(1) from None
    if through_driver is not None:
        same = same_ledger_as_fast_path(result)
        console.print(f"{link.summary()['meters']:,} meters read through the driver: "
                      f"{link.summary().get('reads_actual', 0):,} reads; ledger "
                      f"{'identical to' if same else '[red]DIFFERENT from[/red]'} the fast path")
        if not same:
            raise typer.Exit(1)
    folder = write_run(result, out)
    t = Table(title=f"{sc.name}: {result.customers:,} customers x {result.days} days, "
                    f"seed {result.seed}")
    t.add_column("KPI (county)")
    t.add_column("value", justify="right")
    for key, label, fmt in SUMMARY_LINES:
        t.add_row(label, _fmt(result.summary[key], fmt))
    console.print(t)
    rate = result.customers * result.days / result.timings["simulate_s"]
    compiled = " (this run compiled the Numba kernels; later runs reuse them)" if any(
        fn.stats.cache_misses for fn in (fleet_day, fleet_month_end)) else ""
    console.print(f"ledger balanced to the fen ({len(result.ledger):,} entries); "
                  f"{rate / 1e6:.2f} M customer-days/s{compiled}")
    console.print(f"wrote {folder}")


def _meter_count(console: Console, through_driver: str | None) -> int | None:
    """``--through-driver`` as a count (None = all), or exit 2 with the expectation."""
    if through_driver in (None, "all"):
        return None
    if not through_driver.isdigit() or int(through_driver) < 1:
        console.print(f"[red]error:[/red] --through-driver {through_driver!r}: expected a "
                      "number of customers >= 1 or \"all\"")
        raise typer.Exit(2)
    return int(through_driver)


def validate(scenario: str = typer.Argument(..., help=SCENARIO_HELP)) -> None:
    """Check a scenario: unknown keys, wrong types and out-of-range values are errors."""
    console = Console()
    sc = _load_or_exit(console, scenario)
    console.print(f"{scenario}: valid ({sc.name}: {sc.run.customers:,} customers, "
                  f"{sc.run.days} days, {sc.stations.urban + sc.stations.rural} stations)")


def register(app: typer.Typer) -> None:
    """Add ``m2c run`` and ``m2c validate``."""
    app.command("run")(run)
    app.command("validate")(validate)
