"""``m2c bill``: bill a year of interval data with a tariff and show the line items.

Without ``--load`` it bills a bundled sample: a synthetic fleet of hourly
loads drawn from the consumption model (so a new user sees m2c work with
no data of their own). ``--tariff`` takes a bundled tariff name, a TOML
tariff file or a URDB JSON record.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import typer
from rich.console import Console
from rich.table import Table

from m2c.core import bill_interval
from m2c.core.billing import MonthlyBills
from m2c.core.tariff import Tariff
from m2c.core.tariffs import TariffFileError, bundled_tariff, bundled_tariff_names, load_tariff_toml
from m2c.sim import consumption
from m2c.sim.atomic import write_table
from m2c.sim.loadfile import IntervalLoad, LoadFileError, read_interval_csv

SAMPLE_KWH_PER_DAY = {"residential": 6.0, "commercial": 60.0, "industrial": 900.0,
                      "agricultural": 30.0, "critical": 2000.0}
# Mild two-season profile for the sample (winter heating, summer cooling).
SAMPLE_SEASON = [1.2, 1.1, 0.95, 0.85, 0.9, 1.05, 1.25, 1.25, 1.0, 0.85, 0.95, 1.15]

LINE_COLUMNS = (
    ("energy_fen", "energy"), ("block_fen", "of which blocks"), ("demand_fen", "demand"),
    ("basic_fen", "basic"), ("fixed_fen", "fixed"), ("pf_adjust_fen", "PF adj."),
    ("minimum_fen", "minimum"), ("annual_minimum_fen", "annual min."), ("total_fen", "total"),
)


def resolve_tariff(spec: str) -> Tariff:
    """A bundled tariff name, a ``.toml`` tariff file or a URDB ``.json`` record."""
    if spec in bundled_tariff_names():
        return bundled_tariff(spec)
    path = Path(spec)
    if path.suffix == ".toml" and path.is_file():
        return load_tariff_toml(path)
    if path.suffix == ".json" and path.is_file():
        from m2c.core.urdb import load_urdb

        return load_urdb(path)
    raise typer.BadParameter(
        f"{spec!r} is neither a bundled tariff ({', '.join(bundled_tariff_names())}) "
        "nor an existing .toml / URDB .json file", param_hint="--tariff")


def sample_load(tariff_class: str, customers: int, seed: int, year: int) -> IntervalLoad:
    """A synthetic year of hourly loads for ``customers`` customers of one class."""
    days = np.arange(f"{year}-01-01", f"{year + 1}-01-01", dtype="datetime64[D]")
    months = (days.astype("datetime64[M]").astype(np.int64) % 12).astype(np.int64)
    k = consumption.CLASS_NAMES.index(tariff_class)
    season = np.ones((len(consumption.CLASS_NAMES), 12))
    season[k] = SAMPLE_SEASON
    out = np.empty((customers, 24 * len(days)), dtype=np.float64)
    consumption.hourly_load_kwh(
        seed, 0, months, np.full(customers, SAMPLE_KWH_PER_DAY[tariff_class]),
        np.full(customers, k, dtype=np.int64), season, consumption.shape_matrix(), 0.35, 0.15,
        out)
    return IntervalLoad([f"C{i:06d}" for i in range(customers)], out, f"{year}-01-01", 60)


#: Sample capacity (kVA) and reactive/active ratio (PF about 0.89) for classes
#: billed on two-part tariffs with PF adjustment.
SAMPLE_CAPACITY_KVA = {"industrial": 315, "critical": 1000}
SAMPLE_Q_OVER_P = 0.51


def _guess_class(tariff: Tariff) -> str:
    name = tariff.name.lower()
    for c in consumption.CLASS_NAMES:
        if c[:5] in name:
            return c
    return "commercial" if "comm" in name else "residential"


def months_covered(load: IntervalLoad) -> int:
    """Number of calendar months (from the first) that the load's steps touch."""
    t0 = np.datetime64(load.start, "m")
    last = t0 + (load.kwh.shape[1] - 1) * np.timedelta64(load.step_minutes, "m")
    first_m, last_m = (x.astype("datetime64[M]").astype(np.int64) for x in (t0, last))
    return int(last_m - first_m) + 1


def bills_table(load: IntervalLoad, bills: MonthlyBills) -> pa.Table:
    """One row per customer and billed month with every line item (fen) and the energy."""
    n = bills.total_fen.shape[0]
    m = months_covered(load)
    cols = {
        "customer": np.repeat(np.array(load.customers, dtype=object), m),
        "month": np.tile(np.array(bills.months[:m], dtype=object), n),
        "energy_ckwh": bills.energy_ckwh[:, :m].sum(axis=2).reshape(-1),
        "max_demand_w": bills.max_demand_w[:, :m].reshape(-1),
        "pf_hundredths": bills.pf_hundredths[:, :m].reshape(-1),
    }
    for attr, _ in LINE_COLUMNS:
        cols[attr] = getattr(bills, attr)[:, :m].reshape(-1)
    return pa.table(cols)


def _print_summary(console: Console, tariff: Tariff, load: IntervalLoad, bills: MonthlyBills,
                   seconds: float) -> None:
    cur = tariff.currency
    t = Table(title=f"{tariff.name}: {len(load.customers)} customers, monthly totals ({cur})")
    t.add_column("month")
    t.add_column("kWh", justify="right")
    shown = [(a, label) for a, label in LINE_COLUMNS
             if a == "total_fen" or getattr(bills, a).any()]  # all-zero lines add nothing
    for _, label in shown:
        t.add_column(label, justify="right")
    for j in range(months_covered(load)):
        row = [bills.months[j], f"{bills.energy_ckwh[:, j].sum() / 100:,.2f}"]
        row += [f"{getattr(bills, a)[:, j].sum() / 100:,.2f}" for a, _ in shown]
        t.add_row(*row)
    year = [f"{bills.energy_ckwh.sum() / 100:,.2f}"]
    year += [f"{getattr(bills, a).sum() / 100:,.2f}" for a, _ in shown]
    t.add_row("year", *year, style="bold")
    console.print(t)
    n_steps = load.kwh.shape[1]
    console.print(f"billed {len(load.customers)} customer-years of {n_steps} "
                  f"{load.step_minutes}-minute steps in {seconds:.2f} s")


def bill(
    tariff: str = typer.Option("residential_annual_tiers", help="Bundled tariff name, .toml "
                               "tariff file or URDB .json record."),
    load: Path | None = typer.Option(None, help="CSV with columns customer,timestamp,kwh "
                                     "(default: a bundled synthetic sample)."),
    step_minutes: int = typer.Option(60, help="Interval length of --load, minutes (60 or 15)."),
    customers: int = typer.Option(1000, min=1, help="Sample fleet size (without --load)."),
    seed: int = typer.Option(2025, help="Seed of the sample fleet."),
    year: int = typer.Option(2025, help="Calendar year of the sample fleet."),
    out: Path | None = typer.Option(None, help="Write every bill line to this .parquet/.csv."),
) -> None:
    """Bill a year of interval data and print the monthly line items."""
    console = Console()
    try:
        t = resolve_tariff(tariff)
        if load is None:
            data = sample_load(_guess_class(t), customers, seed, year)
        else:
            data = read_interval_csv(load, step_minutes)
    except (LoadFileError, TariffFileError, ValueError) as exc:
        console.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(2) from None
    t0 = time.perf_counter()
    try:
        extra = {}
        if load is None and _guess_class(t) in SAMPLE_CAPACITY_KVA:
            n = len(data.customers)
            extra = {"capacity_kva": np.full(n, SAMPLE_CAPACITY_KVA[_guess_class(t)]),
                     "reactive_kvarh": data.kwh * SAMPLE_Q_OVER_P}
        bills = bill_interval(t, data.kwh, start=data.start, step_minutes=data.step_minutes,
                              **extra)
    except ValueError as exc:
        console.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(2) from None
    _print_summary(console, t, data, bills, time.perf_counter() - t0)
    if out is not None:
        write_table(bills_table(data, bills), out)
        console.print(f"wrote {out}")


def register(app: typer.Typer) -> None:
    """Add ``m2c bill`` to the CLI."""
    app.command("bill")(bill)
