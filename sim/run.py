"""One simulation run: scenario in, KPIs, ledger, events and a run folder out.

:func:`run_simulation` is what the CLI, the comparison engine and notebooks
call. :func:`write_run` writes ``runs/<scenario>-<timestamp>/``: the
scenario as run (TOML), ``kpi_monthly.parquet`` and ``.csv``,
``ledger.parquet``, ``events.parquet``, ``balances.parquet`` (per customer:
opening, charges, credits, closing, fen) and, last, ``manifest.json``.

A run folder appears whole or not at all (DESIGN.md "Outputs"):
:func:`reserve_run_folder` checks the destination and takes a lock *before*
the simulation; the files go into a temporary sibling ``.<name>.tmp-<pid>``
(holding an ``INCOMPLETE`` marker until the manifest is written), which is
renamed into place when complete. An existing non-empty folder is refused
unless ``force``, which swaps the new folder in atomically. A scenario name
is a label, never a path: :func:`folder_name` keeps it inside ``runs/``.
:func:`verify_run_folder` recomputes what the manifest claims from the files
alone (checksums, opening + charges - credits = closing).
"""

from __future__ import annotations

import contextlib
import ctypes
import datetime as dt
import errno
import fcntl
import hashlib
import json
import os
import platform
import re
import shutil
import subprocess
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import tomli_w

from m2c.core import ledger as L
from m2c.sim import rules as R
from m2c.sim.atomic import write_json, write_table, write_text
from m2c.sim.inputs import build_calendar
from m2c.sim.kpi_catalog import SUMMARISED
from m2c.sim.kpi_sanity import mark_months
from m2c.sim.model import Simulation
from m2c.sim.scenario import Scenario
from m2c.sim.staff_costs import crews_as_run

#: KPIs summarised over a run (county row), and how: mean of months, sum, last, max
#: (declared in :mod:`m2c.sim.kpi_catalog`).
SUMMARY_KPIS = SUMMARISED


@dataclass
class RunResult:
    """What a run produces. Money is in fen; ``summary`` holds the county figures.

    ``days`` are the reported days (``run.days``); ``warmup_days`` were simulated
    before them and left out of the KPIs (the ledger keeps them).
    """

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
    warmup_days: int = 0

    @property
    def simulated_days(self) -> int:
        """Days simulated: the warm-up plus the reported days."""
        return self.warmup_days + self.days


def summarise(kpi: pa.Table, customers: int) -> dict[str, float]:
    """County-level figures of a run (station ``ALL`` rows) for tables and comparisons.

    Means of monthly rates use whole months only when ``kpi`` has a ``full_month``
    column (:func:`m2c.sim.kpi_sanity.mark_months`) and at least one whole month.
    """
    county = kpi.filter(pc.equal(kpi["station"], "ALL"))
    # issue 16: a month simulated in part (e.g. the last month of a 60-day run) would
    # distort a mean of monthly rates; sums, last and max still cover every month
    full = (
        np.asarray(county["full_month"].to_numpy(zero_copy_only=False), dtype=bool)
        if "full_month" in county.column_names
        else np.ones(county.num_rows, dtype=bool)
    )
    out: dict[str, float] = {}
    for name, how in SUMMARY_KPIS.items():
        v = np.asarray(county[name].to_numpy(zero_copy_only=False), dtype=np.float64)
        if how == "mean" and full.any():
            v = v[full]
        out[name] = (
            float({"mean": np.mean, "sum": np.sum, "last": lambda x: x[-1], "max": np.max}[how](v))
            if v.size
            else float("nan")
        )
    out["collection_cost_per_customer"] = out["collection_cost"] / customers
    out["penalty_months"] = float(
        np.count_nonzero(kpi.filter(pc.not_equal(kpi["station"], "ALL"))["penalty_pct"].to_numpy())
    )
    # issue 16 item 2: both cost bases per customer per year (m2c.sim.staff_costs)
    days = float(np.sum(county["days"].to_numpy())) if "days" in county.column_names else 0.0
    years = days / 365.0 if days > 0 else float("nan")
    out["m2c_cost_per_customer_year"] = out["m2c_cost"] / customers / years
    out["collection_cost_per_customer_year"] = out["collection_cost"] / customers / years
    out["fte_per_1000_customers"] = out["fte_total"] / customers * 1000
    # issue 16: share of notices served on time over the run (1.0 when none was served)
    due = out["notices_due"]
    out["notice_timeliness"] = out["notices_on_time"] / due if due > 0 else 1.0
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


#: Memory of a run, measured (issue 13, 2-core machine, baseline_county): peak RSS grows by
#: about 1.9 kB per customer plus 5.7 B per customer and simulated day (warm-up included);
#: the estimate doubles the per-customer figure and adds the interpreter's ~300 MiB.
MEM_PER_CUSTOMER_B = 4096
MEM_PER_CUSTOMER_DAY_B = 12
MEM_BASE_B = 300 * 2**20
#: KPI rows are kept per station and month: about 2 kB each (measured: 5 000 stations x
#: 15 months took 158 MiB).
MEM_PER_STATION_MONTH_B = 2048


def _human_bytes(n: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB", "TiB", "PiB"):
        if n < 1024 or unit == "PiB":
            return f"{n:,.1f} {unit}"
        n /= 1024
    return f"{n:,.1f} PiB"


def days_to_simulate(scenario: Scenario, days: int | None = None) -> int:
    """Days a run simulates: the warm-up (from the 1st of a month) plus ``days`` reported.

    ``days`` defaults to the scenario's ``run.days``; a progress bar counts these.
    """
    d = days or scenario.run.days
    return build_calendar(scenario.run.start, d, scenario.run.warmup_days).days


def memory_estimate(customers: int, days: int, warmup_days: int = 365, stations: int = 0) -> int:
    """Bytes a run of ``customers`` x (``days`` + warm-up) needs, from measured figures."""
    simulated = days + warmup_days + 31  # the warm-up starts on the 1st of a month
    per_customer = MEM_PER_CUSTOMER_B + MEM_PER_CUSTOMER_DAY_B * simulated
    station_months = stations * (simulated // 30 + 1)
    return MEM_BASE_B + customers * per_customer + station_months * MEM_PER_STATION_MONTH_B


def physical_memory() -> int:
    """This machine's physical memory, bytes."""
    return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")


def check_runnable(
    scenario: Scenario,
    *,
    customers: int | None = None,
    days: int | None = None,
    source: str = "scenario",
) -> int:
    """Refuse a run this machine cannot hold in memory; return the estimate (bytes).

    ``customers``/``days`` are the command-line values (None: the scenario's).

    Raises
    ------
    ValueError
        Naming ``--customers`` (or ``run.customers`` of ``source``), the estimate
        and the machine's memory.
    """
    n = customers or scenario.run.customers
    d = days or scenario.run.days
    stations = scenario.stations.urban + scenario.stations.rural
    need = memory_estimate(n, d, scenario.run.warmup_days, stations)
    have = physical_memory()
    if need > have and memory_estimate(n, d, scenario.run.warmup_days) <= have:
        raise ValueError(
            f"{source}: stations: {stations:,} stations need about {_human_bytes(need)} of "
            f"memory ({MEM_PER_STATION_MONTH_B} B per station-month of KPIs), this machine "
            f"has {_human_bytes(have)}"
        )
    if need > have:
        what = "--customers" if customers else f"{source}: run.customers"
        raise ValueError(
            f"{what} {n:,}: a run of {d} days needs about {_human_bytes(need)} of memory "
            f"(estimate: {MEM_PER_CUSTOMER_B} B per customer + {MEM_PER_CUSTOMER_DAY_B} B per "
            f"customer-day, warm-up included), this machine has {_human_bytes(have)}; "
            "use fewer customers (or fewer days)"
        )
    return need


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
    kpi = mark_months(
        pa.table(sim.kpis.rows),
        sim.scenario.run.start,
        sim.cal.days - sim.warmup_days,
        sim.warmup_days,
    )
    timings = {"setup_s": setup_s, **sim.timings, "total_s": setup_s + time.perf_counter() - t0}
    n = sim.fleet.n
    return RunResult(
        sim.scenario,
        n,
        sim.cal.days - sim.warmup_days,
        sim.seed,
        kpi,
        sim.ledger,
        events_table(sim),
        summarise(kpi, n),
        timings,
        ledger_balanced=True,
        warmup_days=sim.warmup_days,
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
        # sign of each ledger.parquet kind in a balance: closing = opening + sum(sign x amount)
        "ledger_signs": {k: int(s) for k, s in zip(L.KIND_NAMES, L.KIND_SIGN, strict=True)},
    }


#: Files of a run folder, in the order written (the manifest comes last).
RUN_FILES = (
    "scenario.toml",
    "kpi_monthly.parquet",
    "kpi_monthly.csv",
    "ledger.parquet",
    "events.parquet",
    "balances.parquet",
)
MANIFEST = "manifest.json"
#: Marker file inside a folder that is still being written.
INCOMPLETE = "INCOMPLETE"


class RunFolderError(ValueError):
    """A run folder that cannot be written; the message names the path and what was expected."""


def folder_name(name: str) -> str:
    """A scenario name as one safe folder-name component (letters, digits, ``._=-``).

    A name is a label, never a path: ``"../../escaped"`` gives ``"escaped"``,
    ``"/etc/x"`` gives ``"etc_x"``; nothing is left that could climb out of ``runs/``.
    """
    label = re.sub(r"[^A-Za-z0-9._=-]+", "_", name).strip("._-")
    return label or "run"


def default_run_folder(name: str) -> Path:
    """``runs/<name>-<timestamp>`` for a scenario name (sanitised by :func:`folder_name`)."""
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    base = Path("runs") / f"{folder_name(name)}-{stamp}"
    path, k = base, 1
    while path.exists():  # two runs in the same second: runs/<name>-<time>-2, ...
        k += 1
        path = base.with_name(f"{base.name}-{k}")
    return path


def balances_table(ledger: L.Ledger) -> pa.Table:
    """Per-customer opening, charges, credits and closing balance (fen, int64).

    ``closing_fen = opening_fen + charges_fen - credits_fen`` for every row, and
    ``charges_fen``/``credits_fen`` are the sums of ``ledger.parquet`` by the
    signs in the manifest's ``ledger_signs``, so the identity can be checked from
    the files alone.
    """
    e = ledger.entries
    n = ledger.opening_fen.shape[0]
    sign = L.KIND_SIGN[e["kind"].astype(np.int64)]
    amount = e["amount_fen"].astype(np.int64)
    cust = e["customer"].astype(np.int64)
    charges = np.zeros(n, dtype=np.int64)
    credits = np.zeros(n, dtype=np.int64)
    np.add.at(charges, cust[sign > 0], amount[sign > 0])
    np.add.at(credits, cust[sign < 0], amount[sign < 0])
    return pa.table(
        {
            "customer": np.arange(n, dtype=np.int64),
            "opening_fen": ledger.opening_fen.astype(np.int64),
            "charges_fen": charges,
            "credits_fen": credits,
            "closing_fen": ledger.balances().astype(np.int64),
        }
    )


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _rename_exchange(a: Path, b: Path) -> bool:
    """Swap two paths atomically (Linux ``renameat2(RENAME_EXCHANGE)``); False if unsupported."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        fn = libc.renameat2
    except (OSError, AttributeError):
        return False
    at_fdcwd, rename_exchange = -100, 2
    rc = fn(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), rename_exchange)
    if rc == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP):
        return False
    raise OSError(err, os.strerror(err), str(b))


class RunFolder:
    """A run folder reserved by :func:`reserve_run_folder`: destination checked, lock held.

    ``path`` is where the run will appear, ``tmp`` the temporary sibling the
    files are written into; :meth:`commit` writes them and renames ``tmp`` into place.
    """

    def __init__(self, path: Path, tmp: Path, force: bool) -> None:
        self.path = path
        self.tmp = tmp
        self.force = force

    def commit(
        self, result: RunResult, extra: Callable[[Path], Iterable[str]] | None = None
    ) -> Path:
        """Write ``result`` into the temporary sibling (manifest last), rename it into place.

        ``extra(folder)`` may write more files into the folder before the manifest
        (e.g. ``m2c hil``'s logs); it returns their names, which the manifest hashes.
        """
        tmp = self.tmp
        # TOML has no null: a key left None is left out (None is each such key's default)
        scen = result.scenario.model_dump(exclude_none=True)
        scen["run"].update(customers=result.customers, days=result.days, seed=result.seed)
        # crews scale with the fleet (m2c.sim.staff_costs): write the crews this run had
        scen["stations"].update(crews_as_run(result.scenario, result.customers))
        write_text(tmp / "scenario.toml", tomli_w.dumps(scen))
        write_table(result.kpi_monthly, tmp / "kpi_monthly.parquet")
        write_table(result.kpi_monthly, tmp / "kpi_monthly.csv")
        write_table(ledger_table(result.ledger), tmp / "ledger.parquet")
        write_table(result.events, tmp / "events.parquet")
        write_table(balances_table(result.ledger), tmp / "balances.parquet")
        names = [*RUN_FILES, *(extra(tmp) if extra is not None else ())]
        m = manifest(result)
        m["files"] = {
            name: {"bytes": (tmp / name).stat().st_size, "sha256": _sha256(tmp / name)}
            for name in names
        }
        (tmp / INCOMPLETE).unlink()
        write_json(tmp / MANIFEST, m)
        out = self.path
        _check_destination(out, self.force)  # nothing may have appeared there meanwhile
        if out.exists() and any(out.iterdir()):
            # --force: swap the new folder in atomically, then drop the old one
            if not _rename_exchange(tmp, out):
                old = out.with_name(f".{out.name}.old-{os.getpid()}")
                os.rename(out, old)
                os.rename(tmp, out)
                tmp = old
            # the old run, now in the temporary sibling: mark it, then remove it
            (tmp / INCOMPLETE).write_text("replaced by --force; being removed\n", "utf-8")
            (tmp / MANIFEST).unlink(missing_ok=True)
            shutil.rmtree(tmp, ignore_errors=True)
        else:
            os.replace(tmp, out)  # onto a missing or empty folder: atomic
        return out


def _refuse(out: Path, why: str) -> RunFolderError:
    return RunFolderError(f"--out {out}: {why}")


def _lock(path: Path, out: Path) -> int:
    """Take an exclusive, non-blocking lock on ``path`` (released when the process dies)."""
    while True:
        try:
            fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:
            raise _refuse(out, f"cannot write in {path.parent} ({exc.strerror})") from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise _refuse(
                out,
                f"another m2c run is writing into this folder (lock {path}); "
                "wait for it to finish or choose another --out",
            ) from None
        try:
            same = os.fstat(fd).st_ino == os.stat(path).st_ino
        except FileNotFoundError:
            same = False
        if same:
            return fd
        os.close(fd)  # the holder removed the lock file as we took it: take the new one


def _looks_like_run(out: Path) -> bool:
    return (out / MANIFEST).is_file() or (out / INCOMPLETE).is_file()


def _check_destination(path: Path, force: bool) -> None:
    """Refuse a non-empty folder (without ``force``) or one that is not a run folder."""
    if path.exists() and not path.is_dir():
        raise _refuse(path, "is an existing file; expected a new or empty folder")
    if path.is_dir() and any(path.iterdir()):
        if not force:
            raise _refuse(
                path,
                "folder exists and is not empty; use --force to replace it, or another --out",
            )
        if not _looks_like_run(path):
            raise _refuse(
                path, f"is not a run folder (no {MANIFEST}); --force replaces only run folders"
            )


@contextlib.contextmanager
def reserve_run_folder(
    out: str | Path | None, name: str, *, force: bool = False
) -> Iterator[RunFolder]:
    """Check a run folder's destination and lock it, before any simulation starts.

    Parameters
    ----------
    out : the folder (``--out``); None gives ``runs/<name>-<timestamp>``.
    name : the scenario name (a label, sanitised by :func:`folder_name`).
    force : replace an existing run folder (atomically, at commit).

    Raises
    ------
    RunFolderError
        ``out`` is an existing file, a non-empty folder (without ``force``), a
        folder that is not a run folder (even with ``force``), a place that
        cannot be written, or locked by another run.
    """
    path = Path(out) if out is not None else default_run_folder(name)
    if path.exists() and not path.is_dir():
        raise _refuse(path, "is an existing file; expected a new or empty folder")
    parent = path.absolute().parent
    for up in (parent, *parent.parents):
        if up.exists() and not up.is_dir():
            raise _refuse(path, f"{up} is a file, not a folder")
    try:
        parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise _refuse(path, f"cannot create {parent} ({exc.strerror})") from None
    lock_path = parent / f".{path.name}.lock"
    fd = _lock(lock_path, path)
    try:
        _check_destination(path, force)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(lock_path)
        os.close(fd)
        raise
    tmp = parent / f".{path.name}.tmp-{os.getpid()}"
    try:
        # what a killed run left behind (we hold the lock, so nobody is writing it)
        for stale in [*parent.glob(f".{path.name}.tmp-*"), *parent.glob(f".{path.name}.old-*")]:
            shutil.rmtree(stale, ignore_errors=True)
        try:
            tmp.mkdir()
            (tmp / INCOMPLETE).write_text(
                "this run folder is being written (or its run was killed); do not use it\n",
                encoding="utf-8",
            )
        except OSError as exc:
            raise _refuse(path, f"cannot write in {parent} ({exc.strerror})") from None
        yield RunFolder(path, tmp, force)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
        with contextlib.suppress(OSError):
            os.unlink(lock_path)  # still holding the lock: nobody else is between the two
        os.close(fd)


def write_run(result: RunResult, out_dir: str | Path | None = None, *, force: bool = False) -> Path:
    """Write the run folder whole or not at all (see the module notes); return its path."""
    with reserve_run_folder(out_dir, result.scenario.name, force=force) as folder:
        return folder.commit(result)


def verify_run_folder(folder: str | Path) -> list[str]:
    """What is wrong with a run folder, from its files alone (an empty list: consistent).

    Checks that it is complete (manifest present, no ``INCOMPLETE`` marker),
    that every file the manifest lists has its size and SHA-256, that
    ``ledger.parquet`` has ``ledger_entries`` rows, and that for every customer
    ``opening + charges - credits = closing`` with charges and credits summed
    from ``ledger.parquet`` by the manifest's ``ledger_signs``.
    """
    folder = Path(folder)
    if (folder / INCOMPLETE).exists():
        return [f"{folder}: marked {INCOMPLETE}"]
    try:
        m = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        return [f"{folder / MANIFEST}: unreadable ({exc})"]
    problems = []
    for name, want in m.get("files", {}).items():
        f = folder / name
        if not f.is_file():
            problems.append(f"{f}: missing")
        elif f.stat().st_size != want["bytes"] or _sha256(f) != want["sha256"]:
            problems.append(f"{f}: differs from the manifest")
    if problems or "files" not in m:
        return problems or [f"{folder / MANIFEST}: lists no files"]
    led = pq.read_table(folder / "ledger.parquet")
    if led.num_rows != m["ledger_entries"]:
        problems.append(f"ledger.parquet: {led.num_rows} rows, manifest says {m['ledger_entries']}")
    bal = pq.read_table(folder / "balances.parquet")
    signs = m["ledger_signs"]
    sign = np.array([signs[k] for k in led["kind"].to_pylist()], dtype=np.int64)
    amount = led["amount_fen"].to_numpy().astype(np.int64)
    net = np.zeros(bal.num_rows, dtype=np.int64)
    np.add.at(net, led["customer"].to_numpy().astype(np.int64), sign * amount)
    opening = bal["opening_fen"].to_numpy()
    closing = bal["closing_fen"].to_numpy()
    bad = np.flatnonzero(opening + net != closing)
    if bad.size:
        c = int(bad[0])
        problems.append(
            f"balances.parquet: customer {c}: opening {opening[c]} + ledger {net[c]} "
            f"!= closing {closing[c]} fen ({bad.size} customers off)"
        )
    return problems
