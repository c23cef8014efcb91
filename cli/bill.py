"""``m2c bill``: bill a year of interval data with a tariff and show the monthly line items.

The work is :func:`m2c.sim.interval_billing.bill_load`; without ``--load`` it
bills a bundled synthetic sample. ``--tariff`` takes a bundled tariff name, a
TOML tariff file or a URDB JSON record.
"""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from m2c.cli.errors import reported
from m2c.sim.atomic import check_output_file, write_table
from m2c.sim.interval_billing import bill_load, bills_table, monthly_totals


def bill(
    tariff: str = typer.Option(
        "residential_annual_tiers",
        help="Bundled tariff name, .toml tariff file or URDB .json record.",
    ),
    load: Path | None = typer.Option(
        None, help="CSV with columns customer,timestamp,kwh (default: a bundled synthetic sample)."
    ),
    step_minutes: int = typer.Option(60, help="Interval length of --load, minutes (60 or 15)."),
    customers: int = typer.Option(1000, min=1, help="Sample fleet size (without --load)."),
    seed: int = typer.Option(2025, help="Seed of the sample fleet."),
    year: int = typer.Option(2025, help="Calendar year of the sample fleet."),
    out: Path | None = typer.Option(None, help="Write every bill line to this .parquet/.csv."),
    strict: bool = typer.Option(
        False,
        help="Refuse a tariff with a charge the data cannot bill (coincident demand, "
        "reactive demand without reactive data, ratchets) instead of noting it.",
    ),
    system_peak: list[str] = typer.Option(
        [],
        help="A system-peak hour (ISO, e.g. 2025-07-15T16:00; repeat the option): "
        "coincident demand charges bill the customers' demand in these hours.",
    ),
    register_resolution: bool = typer.Option(
        False,
        help="Round each step to 0.01 kWh before summing (data that are 0.01 kWh register "
        "deltas); default: each step to the Wh, summed exactly.",
    ),
) -> None:
    """Bill a year of interval data and print the monthly line items."""
    console = Console()
    with reported():
        if out is not None:
            check_output_file(out)  # before billing, not after
        billed = bill_load(
            tariff,
            load,
            step_minutes=step_minutes,
            customers=customers,
            seed=seed,
            year=year,
            strict=strict,
            step_resolution_wh=10 if register_resolution else 1,
            system_peak=system_peak,
        )
    labels, rows = monthly_totals(billed)
    n = len(billed.load.customers)
    t = Table(
        title=f"{billed.tariff.name}: {n} customers, monthly totals ({billed.tariff.currency})"
    )
    t.add_column("month")
    t.add_column("kWh", justify="right")
    for label in labels:
        t.add_column(label, justify="right")
    for month, values in rows:  # Wh and fen, shown as kWh and currency units
        t.add_row(
            month,
            f"{values[0] / 1000:,.3f}",
            *(f"{v / 100:,.2f}" for v in values[1:]),
            style="bold" if month == "year" else None,
        )
    console.print(t)
    for note in billed.tariff.notes + billed.bills.notes:
        console.print(f"note: {note}", highlight=False)
    console.print(
        f"billed {n} customer-years of {billed.load.kwh.shape[1]} "
        f"{billed.load.step_minutes}-minute steps in {billed.seconds:.2f} s"
    )
    if out is not None:
        write_table(bills_table(billed.load, billed.bills), out)
        console.print(f"wrote {out}")
