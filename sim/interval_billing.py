"""Bill a year of interval data with one tariff: a load file or a synthetic sample (``m2c bill``).

:func:`bill_load` resolves the tariff (a bundled name, a TOML tariff file or
a URDB JSON record), reads the load (``customer,timestamp,kwh`` CSV) or,
without one, draws a sample fleet of hourly loads from the consumption model
(so a new user sees m2c work with no data of their own), and bills it with
:func:`m2c.core.bill_interval`. :func:`bills_table` gives every bill line per
customer and month, :func:`monthly_totals` the fleet's monthly sums. Money
in fen, energy in Wh (core/units.py).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa

from m2c.core import bill_interval
from m2c.core.billing import MonthlyBills
from m2c.core.tariffs import (
    Tariff,
    TariffFileError,
    bundled_tariff,
    bundled_tariff_names,
    load_tariff_toml,
)
from m2c.sim import consumption
from m2c.sim.loadfile import IntervalLoad, read_interval_csv

#: Mean daily use of a sample customer per class, kWh.
SAMPLE_KWH_PER_DAY = {
    "residential": 6.0,
    "commercial": 60.0,
    "industrial": 900.0,
    "agricultural": 30.0,
    "critical": 2000.0,
}
# Mild two-season profile for the sample (winter heating, summer cooling).
SAMPLE_SEASON = [1.2, 1.1, 0.95, 0.85, 0.9, 1.05, 1.25, 1.25, 1.0, 0.85, 0.95, 1.15]

#: Sample capacity (kVA) and reactive/active ratio (PF about 0.89) for classes
#: billed on two-part tariffs with PF adjustment.
SAMPLE_CAPACITY_KVA = {"industrial": 315, "critical": 1000}
SAMPLE_Q_OVER_P = 0.51

#: Bill lines (attribute of :class:`~m2c.core.billing.MonthlyBills`, fen) and their labels.
LINE_COLUMNS = (
    ("energy_fen", "energy"),
    ("block_fen", "of which blocks"),
    ("demand_fen", "demand"),
    ("basic_fen", "basic"),
    ("fixed_fen", "fixed"),
    ("pf_adjust_fen", "PF adj."),
    ("minimum_fen", "minimum"),
    ("annual_minimum_fen", "annual min."),
    ("total_fen", "total"),
)


def resolve_tariff(spec: str, *, strict: bool = False) -> Tariff:
    """A bundled tariff name, a ``.toml`` tariff file or a URDB ``.json`` record.

    ``strict`` refuses a URDB record with charges m2c does not bill
    (:func:`m2c.core.tariffs.urdb.load_urdb`).

    Raises
    ------
    TariffFileError
        When ``spec`` is none of these (or the file is invalid).
    """
    if spec in bundled_tariff_names():
        return bundled_tariff(spec)
    path = Path(spec)
    if path.suffix == ".toml" and path.is_file():
        return load_tariff_toml(path)
    if path.suffix == ".json" and path.is_file():
        from m2c.core.tariffs.urdb import load_urdb

        return load_urdb(path, strict=strict)
    raise TariffFileError(
        f"--tariff {spec!r} is neither a bundled tariff ({', '.join(bundled_tariff_names())}) "
        "nor an existing .toml / URDB .json file"
    )


def sample_load(tariff_class: str, customers: int, seed: int, year: int) -> IntervalLoad:
    """A synthetic year of hourly loads for ``customers`` customers of one class."""
    days = np.arange(f"{year}-01-01", f"{year + 1}-01-01", dtype="datetime64[D]")
    months = (days.astype("datetime64[M]").astype(np.int64) % 12).astype(np.int64)
    k = consumption.CLASS_NAMES.index(tariff_class)
    season = np.ones((len(consumption.CLASS_NAMES), 12))
    season[k] = SAMPLE_SEASON
    out = np.empty((customers, 24 * len(days)), dtype=np.float64)
    consumption.hourly_load_kwh(
        seed,
        0,
        months,
        np.full(customers, SAMPLE_KWH_PER_DAY[tariff_class]),
        np.full(customers, k, dtype=np.int64),
        season,
        consumption.shape_matrix(),
        0.35,
        0.15,
        out,
    )
    return IntervalLoad([f"C{i:06d}" for i in range(customers)], out, f"{year}-01-01", 60)


def guess_class(tariff: Tariff) -> str:
    """The customer class a tariff's name suggests (residential when it says none)."""
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


@dataclass(frozen=True)
class BilledLoad:
    """A load, the tariff it was billed with, its bills and the billing time (s)."""

    tariff: Tariff
    load: IntervalLoad
    bills: MonthlyBills
    seconds: float


def bill_load(
    tariff: str,
    load: Path | None = None,
    *,
    step_minutes: int = 60,
    customers: int = 1000,
    seed: int = 2025,
    year: int = 2025,
    strict: bool = False,
    step_resolution_wh: int = 1,
    system_peak: list[str] | None = None,
) -> BilledLoad:
    """Bill ``load`` (a CSV, or without one a sample fleet) with tariff spec ``tariff``.

    The sample has ``customers`` customers of the class the tariff's name
    suggests, hourly steps over calendar ``year``; two-part industrial and
    critical tariffs get a capacity (:data:`SAMPLE_CAPACITY_KVA`) and reactive
    energy (PF about 0.89) so every line item shows. ``strict`` refuses a
    tariff with a charge that cannot be billed from the data (the bill's notes
    list them otherwise); ``step_resolution_wh`` is 1 (each step to the Wh,
    exact for 0.001 kWh data) or 10 (0.01 kWh register resolution);
    ``system_peak`` lists the system-peak hours (ISO, e.g. ``2025-07-15T16:00``)
    on which a coincident demand charge is billed (:func:`system_peak_steps`).

    Raises
    ------
    TariffFileError, m2c.sim.loadfile.LoadFileError, ValueError
        For an unknown or invalid tariff, an invalid load file, or a load the
        tariff cannot bill; the message names the file, field and expectation.
    """
    t = resolve_tariff(tariff, strict=strict)
    klass = guess_class(t)
    data = (
        sample_load(klass, customers, seed, year)
        if load is None
        else read_interval_csv(load, step_minutes)
    )
    t0 = time.perf_counter()
    extra = {}
    if load is None and klass in SAMPLE_CAPACITY_KVA:
        n = len(data.customers)
        extra = {
            "capacity_kva": np.full(n, SAMPLE_CAPACITY_KVA[klass]),
            "reactive_kvarh": data.kwh * SAMPLE_Q_OVER_P,
        }
    bills = bill_interval(
        t,
        data.kwh,
        start=data.start,
        step_minutes=data.step_minutes,
        strict=strict,
        step_resolution_wh=step_resolution_wh,
        system_peak_steps=None if not system_peak else system_peak_steps(data, system_peak),
        **extra,
    )
    return BilledLoad(t, data, bills, time.perf_counter() - t0)


def system_peak_steps(load: IntervalLoad, hours: list[str]) -> np.ndarray:
    """Bool (n_steps,): the steps of ``load`` that fall in one of the system-peak ``hours``.

    Raises
    ------
    ValueError
        For an hour that is not an ISO date-time or that the load does not cover.
    """
    t0 = np.datetime64(load.start, "m")
    times = t0 + np.arange(load.kwh.shape[1]) * np.timedelta64(load.step_minutes, "m")
    step_hour = times.astype("datetime64[h]")
    mask = np.zeros(times.shape[0], dtype=bool)
    for h in hours:
        try:
            hour = np.datetime64(h, "h")
        except ValueError:
            raise ValueError(
                f"--system-peak {h!r}: expected an ISO hour like 2025-07-15T16:00"
            ) from None
        hit = step_hour == hour
        if not hit.any():
            raise ValueError(f"--system-peak {h!r}: the load does not cover that hour")
        mask |= hit
    return mask


def bills_table(load: IntervalLoad, bills: MonthlyBills) -> pa.Table:
    """One row per customer and billed month with every line item (fen) and the energy."""
    n = bills.total_fen.shape[0]
    m = months_covered(load)
    cols = {
        "customer": np.repeat(np.array(load.customers, dtype=object), m),
        "month": np.tile(np.array(bills.months[:m], dtype=object), n),
        "energy_wh": bills.energy_wh[:, :m].sum(axis=2).reshape(-1),
        "max_demand_w": bills.max_demand_w[:, :m].reshape(-1),
        "pf_hundredths": bills.pf_hundredths[:, :m].reshape(-1),
    }
    for attr, _ in LINE_COLUMNS:
        cols[attr] = getattr(bills, attr)[:, :m].reshape(-1)
    return pa.table(cols)


def monthly_totals(billed: BilledLoad) -> tuple[list[str], list[tuple[str, list[int]]]]:
    """Fleet totals per month and for the year.

    Returns
    -------
    labels : the bill lines shown (the total, and every line not zero all year).
    rows : ``(month, [energy_wh, line_fen...])`` per billed month, then ``("year", ...)``;
        integers, energy in Wh and lines in fen, in the order of ``labels``.
    """
    bills = billed.bills
    shown = [
        (a, label) for a, label in LINE_COLUMNS if a == "total_fen" or getattr(bills, a).any()
    ]  # all-zero lines add nothing
    rows = []
    for j in range(months_covered(billed.load)):
        rows.append(
            (
                bills.months[j],
                [int(bills.energy_wh[:, j].sum())]
                + [int(getattr(bills, a)[:, j].sum()) for a, _ in shown],
            )
        )
    rows.append(
        ("year", [int(bills.energy_wh.sum())] + [int(getattr(bills, a).sum()) for a, _ in shown])
    )
    return [label for _, label in shown], rows
