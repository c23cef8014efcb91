"""One simulation run: scenario in, KPIs, ledger, events and a run folder out.

:func:`run_simulation` is what the CLI, the comparison engine and notebooks
call. :func:`write_run` writes ``runs/<scenario>-<timestamp>/`` atomically:
the scenario as run (TOML), ``manifest.json``, ``kpi_monthly.parquet`` and
``.csv``, ``ledger.parquet`` and ``events.parquet``.
"""

from __future__ import annotations

import datetime as dt
import platform
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import tomli_w

from m2c.core import ledger as L
from m2c.sim import rules as R
from m2c.sim.atomic import write_json, write_table, write_text
from m2c.sim.kpi_catalog import SUMMARISED
from m2c.sim.model import Simulation
from m2c.sim.scenario import Scenario

#: KPIs summarised over a run (county row), and how: mean of months, sum, last, max
#: (declared in :mod:`m2c.sim.kpi_catalog`).
SUMMARY_KPIS = SUMMARISED


@dataclass
class RunResult:
    """What a run produces. Money is in fen; ``summary`` holds the county figures."""

    scenario: Scenario
    customers: int
    days: int
    seed: int
    kpi_monthly: pa.Table
    ledger: L.Ledger
    events: pa.Table
    summary: dict[str, float]
    timings: dict[str, float] = field(default_factory=dict)
    ledger_balanced: bool = True


def summarise(kpi: pa.Table, customers: int) -> dict[str, float]:
    """County-level figures of a run (station ``ALL`` rows) for tables and comparisons."""
    county = kpi.filter(pc.equal(kpi["station"], "ALL"))
    out: dict[str, float] = {}
    for name, how in SUMMARY_KPIS.items():
        v = np.asarray(county[name].to_numpy(zero_copy_only=False), dtype=np.float64)
        out[name] = (
            float({"mean": np.mean, "sum": np.sum, "last": lambda x: x[-1], "max": np.max}[how](v))
            if v.size
            else float("nan")
        )
    out["collection_cost_per_customer"] = out["collection_cost"] / customers
    out["penalty_months"] = float(
        np.count_nonzero(kpi.filter(pc.not_equal(kpi["station"], "ALL"))["penalty_pct"].to_numpy())
    )
    return out


def events_table(sim: Simulation) -> pa.Table:
    """The event log as a table (one row per customer event)."""
    a = sim.events.arrays()
    names = {
        R.EV_NOTICE: "notice",
        R.EV_DISCONNECT: "disconnect",
        R.EV_RECONNECT: "reconnect",
        R.EV_TRIP: "prepaid_trip",
        R.EV_PREPAID_RECONNECT: "prepaid_reconnect",
        R.EV_LEGAL: "legal",
    }
    rows: dict[str, list] = {
        "day": [],
        "customer": [],
        "event": [],
        "days_overdue": [],
        "notice_served": [],
        "critical": [],
    }
    crit = sim.fleet.klass == 4
    for bit, name in names.items():
        sel = (a["flags"] & bit) != 0
        rows["day"].extend(a["day"][sel].tolist())
        rows["customer"].extend(a["customer"][sel].tolist())
        rows["event"].extend([name] * int(sel.sum()))
        rows["days_overdue"].extend(a["overdue"][sel].tolist())
        rows["notice_served"].extend((a["notice"][sel] == 1).tolist())
        rows["critical"].extend(crit[a["customer"][sel]].tolist())
    t = pa.table(rows)
    return t.sort_by([("day", "ascending"), ("customer", "ascending"), ("event", "ascending")])


def run_simulation(
    scenario: Scenario,
    *,
    customers: int | None = None,
    days: int | None = None,
    seed: int | None = None,
    progress: Callable[[int], None] | None = None,
) -> RunResult:
    """Run the fast model; defaults come from the scenario's ``[run]`` table.

    Raises :class:`m2c.core.ledger.LedgerImbalanceError` if money is not conserved.
    """
    n = customers or scenario.run.customers
    d = days or scenario.run.days
    s = scenario.run.seed if seed is None else seed
    t0 = time.perf_counter()
    sim = Simulation(scenario, n, d, s)
    return run_built(sim, progress, setup_s=time.perf_counter() - t0)


def kernels_compiled() -> bool:
    """True when this process compiled the day and month-end kernels (no cached machine code).

    The first run after installing m2c compiles them, so its customer-days/s
    figure includes compile time; later runs load them from Numba's cache.
    """
    return any(fn.stats.cache_misses for fn in (R.fleet_day, R.fleet_month_end))


def run_built(
    sim: Simulation, progress: Callable[[int], None] | None = None, setup_s: float = 0.0
) -> RunResult:
    """Run an already built simulation (e.g. one in gateway mode) and collect its results."""
    t0 = time.perf_counter()
    sim.run(progress)
    kpi = pa.table(sim.kpis.rows)
    timings = {"setup_s": setup_s, **sim.timings, "total_s": setup_s + time.perf_counter() - t0}
    n = sim.fleet.n
    return RunResult(
        sim.scenario,
        n,
        sim.cal.days,
        sim.seed,
        kpi,
        sim.ledger,
        events_table(sim),
        summarise(kpi, n),
        timings,
        ledger_balanced=True,
    )


def ledger_table(ledger: L.Ledger) -> pa.Table:
    """Ledger entries with kind names (amounts in fen)."""
    e = ledger.entries
    kinds = np.array(L.KIND_NAMES, dtype=object)[e["kind"].astype(np.int64)]
    return pa.table(
        {
            "day": e["day"],
            "customer": e["customer"],
            "kind": kinds.tolist(),
            "amount_fen": e["amount_fen"],
        }
    )


def _git_revision() -> str:
    try:
        return (
            subprocess.run(
                ["git", "rev-parse", "HEAD"],
                capture_output=True,
                text=True,
                cwd=Path(__file__).parent,
                timeout=5,
            ).stdout.strip()
            or "unknown"
        )
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def _versions() -> dict[str, str]:
    import numba
    import simpy

    from m2c.sim import __version__

    return {
        "m2c": __version__,
        "python": platform.python_version(),
        "numpy": np.__version__,
        "numba": numba.__version__,
        "simpy": simpy.__version__,
        "pyarrow": pa.__version__,
    }


def manifest(result: RunResult) -> dict[str, Any]:
    """The run's manifest: seed, sizes, versions, git revision, timings, ledger check."""
    return {
        "scenario": result.scenario.name,
        "seed": result.seed,
        "customers": result.customers,
        "days": result.days,
        "versions": _versions(),
        "git_revision": _git_revision(),
        "timings_s": result.timings,
        "ledger_balanced": result.ledger_balanced,
        "ledger_entries": len(result.ledger),
        "summary": result.summary,
        "units": {"money": "fen (0.01 CNY), int64", "rates": "fractions (1.0 = 100 %)"},
    }


def write_run(result: RunResult, out_dir: str | Path | None = None) -> Path:
    """Write the run folder (atomically, file by file); return its path."""
    if out_dir is None:
        stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
        out_dir = Path("runs") / f"{result.scenario.name}-{stamp}"
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    scen = result.scenario.model_dump()
    scen["run"].update(customers=result.customers, days=result.days, seed=result.seed)
    write_text(out / "scenario.toml", tomli_w.dumps(scen))
    write_table(result.kpi_monthly, out / "kpi_monthly.parquet")
    write_table(result.kpi_monthly, out / "kpi_monthly.csv")
    write_table(ledger_table(result.ledger), out / "ledger.parquet")
    write_table(result.events, out / "events.parquet")
    write_json(out / "manifest.json", manifest(result))
    return out
