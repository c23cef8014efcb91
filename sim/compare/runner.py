"""Run (policy, replication) tasks on Dask distributed, resumably.

Replication ``r`` uses seed ``base_seed + r`` for every policy (common random
numbers: the counter-based RNG gives every policy the same customers,
consumption and luck), so differences between policies are paired.

The client resolves every scenario (``extends`` and overrides applied) and
sends its content to the workers; a task returns its result table through
Dask and never touches a disk the client named, so workers on other machines,
in containers or on Kubernetes need no shared folder. The client writes
``OUT/results/<label>-r<rep>.parquet`` atomically: the run's monthly KPI rows
(every station plus the county ``ALL`` rows) with the summary KPIs
(:data:`m2c.sim.kpi_catalog.COMPARED`) and the per-customer concentration of
the money KPIs (:func:`m2c.sim.compare.evidence.concentration`: the share held
by the top 1 % of customers) as JSON in the schema metadata.

``OUT/manifest.json`` pins the arguments, a SHA-256 of each fully resolved
scenario and the m2c version; a rerun resumes (skips the result files that
exist) only when all of these are unchanged, and says what differs
otherwise. The final tables are rebuilt from the files in a fixed order, so an
interrupted comparison resumes to byte-identical outputs. ``OUT/INCOMPLETE``
marks a comparison whose final tables are not written yet.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import logging
import os
import re
import shutil
import socket
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from m2c.sim.atomic import write_json, write_table, write_text
from m2c.sim.kpi_catalog import COMPARED

MANIFEST = "manifest.json"
#: Marker of a comparison folder whose final tables are not written yet.
INCOMPLETE = "INCOMPLETE"
#: Seconds to wait for an existing Dask scheduler to answer.
CONNECT_TIMEOUT_S = 10

#: One thread per worker process for OpenMP: the parallelism is across runs. Numba's
#: threads are limited in each task instead (:func:`one_numba_thread`): a
#: ``NUMBA_NUM_THREADS`` set in a worker's environment after Numba was imported (a
#: spawned worker re-imports the client's ``__main__``, e.g. the ``m2c`` command, which
#: imports Numba) is read too late: the worker's kernels ran on every core, and a
#: compilation in that worker failed with "Cannot set NUMBA_NUM_THREADS to a different
#: value once the threads have been launched" (measured with ``m2c reproduce``).
WORKER_ENV = {"OMP_NUM_THREADS": "1"}


def one_numba_thread() -> None:
    """Run this process's Numba kernels on one thread (a task on a Dask worker: the
    parallelism is across runs; n workers x n threads would oversubscribe the cores)."""
    import numba

    numba.set_num_threads(1)


@dataclass(frozen=True)
class Point:
    """One policy (or sweep point): a scenario spec plus dotted overrides.

    ``label`` names the result files and the ``policy`` column; ``params``
    holds the swept values (empty for a plain comparison).
    """

    label: str
    spec: str
    overrides: dict[str, Any] = field(default_factory=dict)
    params: dict[str, Any] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        """Plain-JSON form for the manifest."""
        return {
            "label": self.label,
            "spec": self.spec,
            "overrides": self.overrides,
            "params": self.params,
        }


def safe_label(text: str) -> str:
    """A file-name-safe label (letters, digits, ``._-=``)."""
    return re.sub(r"[^A-Za-z0-9._=-]+", "_", text).strip("_") or "policy"


def m2c_version() -> str:
    """The installed m2c version (what a worker reports to the client)."""
    from m2c.sim import __version__

    return __version__


def resolved_scenario(point: Point) -> dict[str, Any]:
    """The fully resolved scenario of a point (``extends`` and overrides applied), as JSON data."""
    from m2c.sim.scenario import load_scenario

    return load_scenario(point.spec, overrides=point.overrides or None).model_dump(mode="json")


def scenario_sha256(scenario: dict[str, Any]) -> str:
    """SHA-256 of a resolved scenario's canonical JSON (sorted keys, no whitespace)."""
    text = json.dumps(scenario, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def run_task(
    scenario: dict[str, Any],
    label: str,
    rep: int,
    customers: int,
    days: int,
    seed: int,
) -> tuple[pa.Table, str]:
    """Run one simulation of a resolved scenario (executed on a worker).

    Writes nothing: the result travels back through Dask.

    Returns
    -------
    table : the run's monthly KPI rows with ``policy``, ``replication``, ``seed``
        columns; the schema metadata holds the summary KPIs (``summary``) and the
        concentration rows ``{kpi, top1_share, total, holders}`` (``concentration``),
        as JSON.
    version : the worker's m2c version (the client refuses a mismatch).
    """
    from m2c.sim.compare.evidence import concentration
    from m2c.sim.model import Simulation
    from m2c.sim.run import run_built
    from m2c.sim.scenario import parse_scenario

    one_numba_thread()
    sim = Simulation(parse_scenario(scenario, f"<{label}>"), customers, days, seed)
    res = run_built(sim)
    kpi = res.kpi_monthly
    n = kpi.num_rows
    table = pa.table(
        {
            "policy": [label] * n,
            "replication": [rep] * n,
            "seed": [seed] * n,
            **{c: kpi[c] for c in kpi.column_names},
        }
    )
    meta = {
        "summary": json.dumps({k: float(res.summary[k]) for k in COMPARED}, sort_keys=True),
        "concentration": json.dumps(concentration(sim, res), sort_keys=True),
    }
    return table.replace_schema_metadata(meta), m2c_version()


def read_manifest(out: str | Path) -> dict[str, Any] | None:
    """The manifest of a comparison folder (None when there is none).

    Raises
    ------
    ValueError
        Naming the file when it is not a JSON object (corrupt or truncated).
    """
    mf = Path(out) / MANIFEST
    if not mf.exists():
        return None
    try:
        old = json.loads(mf.read_bytes().decode("utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise ValueError(
            f"{mf}: corrupt comparison manifest ({exc}); remove it (results/ are then "
            "recomputed) or use another --out folder"
        ) from None
    if not isinstance(old, dict):
        raise ValueError(f"{mf}: corrupt comparison manifest (expected a JSON object)")
    return old


def _differences(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    """What differs between two manifests, in words."""
    out = []
    for k in sorted(set(old) | set(new)):
        a, b = old.get(k), new.get(k)
        if a == b:
            continue
        if k == "scenario_sha256" and isinstance(a, dict) and isinstance(b, dict):
            for label in sorted(set(a) | set(b)):
                if a.get(label) != b.get(label):
                    out.append(
                        f"scenario of {label!r} (sha256 {str(a.get(label))[:12]} -> "
                        f"{str(b.get(label))[:12]}: the scenario file or a parent changed)"
                    )
        elif k == "m2c_version":
            out.append(f"m2c version ({a} -> {b})")
        else:
            out.append(f"{k} ({json.dumps(a)[:60]} -> {json.dumps(b)[:60]})")
    return out


def _check_manifest(out: Path, args: dict[str, Any]) -> None:
    mf = out / MANIFEST
    old = read_manifest(out)
    if old is None:
        mark_incomplete(out)  # before the manifest: a kill between the two leaves a marked folder
        write_json(mf, args)
    elif old != args:
        raise ValueError(
            f"{out} holds results made with other arguments (differing: "
            f"{'; '.join(_differences(old, args))}; see {mf}); use another --out folder or "
            "the same arguments, scenarios and m2c version to resume"
        )


def _probe(scheduler: str) -> None:
    """Fail fast when nothing listens at a ``tcp://host:port`` scheduler address."""
    m = re.fullmatch(r"tcp://\[?([^\]]+?)\]?:(\d+)", scheduler)
    if m is None:
        return
    try:
        socket.create_connection((m.group(1), int(m.group(2))), timeout=CONNECT_TIMEOUT_S).close()
    except OSError as exc:
        raise ValueError(
            f"--scheduler {scheduler}: no Dask scheduler answers there ({exc.strerror or exc}); "
            "start one with `dask scheduler` (and workers with `dask worker ADDRESS`) or "
            "leave --scheduler out to run on local workers"
        ) from None


def _client(workers: int | None, scheduler: str | None):
    from distributed import Client, LocalCluster

    if scheduler:
        _probe(scheduler)
        try:
            return Client(scheduler, timeout=CONNECT_TIMEOUT_S), None
        except (OSError, TimeoutError) as exc:
            raise ValueError(
                f"--scheduler {scheduler}: could not connect to a Dask scheduler ({exc})"
            ) from None
    cluster = LocalCluster(
        n_workers=workers or os.cpu_count() or 1,
        threads_per_worker=1,
        processes=True,
        dashboard_address=":0",
        silence_logs=logging.ERROR,
        env=WORKER_ENV,
    )
    return Client(cluster), cluster


def check_worker_versions(client: Any) -> None:
    """Refuse workers whose m2c version differs from the client's.

    Raises
    ------
    ValueError
        Naming each mismatched worker and both versions.
    """
    mine = m2c_version()
    try:
        theirs = client.run(m2c_version)
    except Exception as exc:  # a worker without m2c cannot even unpickle the function
        raise ValueError(
            f"the Dask workers could not run m2c ({type(exc).__name__}: {exc}); "
            f"install m2c {mine} on every worker (pip install m2c=={mine})"
        ) from None
    bad = {w: v for w, v in theirs.items() if v != mine}
    if bad:
        info = client.scheduler_info().get("workers", {})
        names = {w: f"{info.get(w, {}).get('name', '?')} ({w})" for w in bad}
        listed = ", ".join(f"worker {names[w]} has m2c {v}" for w, v in sorted(bad.items()))
        raise ValueError(
            f"m2c version of the workers differs from the client's ({mine}): {listed}; "
            f"install m2c {mine} on every worker (pip install m2c=={mine})"
        )


_HELD: set[str] = set()


@contextlib.contextmanager
def locked(out: str | Path) -> Iterator[None]:
    """Hold ``OUT/.lock`` (one comparison or sweep per folder at a time; re-entrant).

    Raises
    ------
    ValueError
        When ``out`` is a file, or another process holds the lock.
    """
    out = Path(out)
    key = str(out.resolve())
    if key in _HELD:
        yield
        return
    if out.exists() and not out.is_dir():
        raise ValueError(f"--out {out}: is an existing file; expected a folder")
    if not out.exists():
        _create_marked(out)
    fd = os.open(out / ".lock", os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        raise ValueError(
            f"--out {out}: another m2c compare, sweep or reproduce is writing into this folder "
            f"(lock {out / '.lock'}); wait for it to finish or use another --out"
        ) from None
    _HELD.add(key)
    try:
        yield
    finally:
        _HELD.discard(key)
        os.close(fd)


def _create_marked(out: Path) -> None:
    """Create the folder ``out`` already holding the :data:`INCOMPLETE` marker: made
    under a temporary name and renamed, so a kill leaves no folder or a marked one
    (at worst a hidden ``.NAME.*`` folder beside it), never an unmarked empty one."""
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    try:
        mark_incomplete(tmp)
        os.rename(tmp, out)
    except OSError:
        shutil.rmtree(tmp, ignore_errors=True)
        if not out.is_dir():  # not made by a process racing this one: a real error
            raise


def run_points(
    points: list[Point],
    replications: int,
    customers: int,
    days: int,
    seed: int,
    out: str | Path,
    *,
    kind: str = "compare",
    workers: int | None = None,
    scheduler: str | None = None,
    progress: Callable[[int, int], None] | None = None,
    client: Any = None,
) -> list[Path]:
    """Run every point x replication (resuming), return the result files in fixed order.

    Parameters
    ----------
    points : policies or sweep points; labels must be distinct.
    replications : replications per point; replication ``r`` uses ``seed + r``.
    customers, days : size of every run.
    out : output folder; ``out/manifest.json`` pins the arguments.
    kind : ``"compare"`` or ``"sweep"`` (recorded in the manifest).
    workers : local Dask workers (default: all cores); ignored with ``scheduler``.
    scheduler : address of an existing Dask scheduler, e.g. ``tcp://host:8786``.
    progress : called as ``progress(done, total)`` with runs finished so far.
    client : an open ``distributed.Client`` to use (left open); overrides the two above.
    """
    from m2c.sim.run import check_runnable
    from m2c.sim.scenario import parse_scenario

    if replications < 1:
        raise ValueError(f"replications: expected >= 1, got {replications}")
    labels = [p.label for p in points]
    if len(set(labels)) != len(labels):
        raise ValueError(f"policies must have distinct names, got {labels}")
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise ValueError(f"--out {out}: is an existing file; expected a folder")
    scenarios = [resolved_scenario(p) for p in points]
    for p, sc in zip(points, scenarios, strict=True):  # each worker must hold one run
        check_runnable(parse_scenario(sc, p.label), customers=customers, days=days)
    with locked(out):
        return _run_locked(
            points,
            scenarios,
            replications,
            (customers, days, seed),
            out,
            kind,
            (workers, scheduler, client),
            progress,
        )


def _run_locked(
    points: list[Point],
    scenarios: list[dict[str, Any]],
    replications: int,
    size: tuple[int, int, int],
    out: Path,
    kind: str,
    where: tuple[int | None, str | None, Any],
    progress: Callable[[int, int], None] | None,
) -> list[Path]:
    """:func:`run_points` once the arguments are checked and the folder is locked."""
    from distributed import as_completed

    customers, days, seed = size
    workers, scheduler, client = where
    _check_manifest(
        out,
        {
            "kind": kind,
            "points": [p.as_json() for p in points],
            "replications": replications,
            "customers": customers,
            "days": days,
            "seed": seed,
            "scenario_sha256": {
                p.label: scenario_sha256(sc) for p, sc in zip(points, scenarios, strict=True)
            },
            "m2c_version": m2c_version(),
        },
    )
    files, todo = [], []
    for p, sc in zip(points, scenarios, strict=True):
        for r in range(replications):
            f = out / "results" / f"{p.label}-r{r:03d}.parquet"
            files.append(f)
            if not f.exists():
                todo.append(((sc, p.label, r, customers, days, seed + r), f))
    if todo or not (out / "comparison.parquet").exists():
        mark_incomplete(out)  # removed by run_study once every final table is written
    done = len(files) - len(todo)
    if progress:
        progress(done, len(files))
    if todo:
        own = client is None
        cluster = None
        if own:
            client, cluster = _client(workers, scheduler)
        try:
            check_worker_versions(client)
            futures = {client.submit(run_task, *t, pure=False): f for t, f in todo}
            mine = m2c_version()
            for fut in as_completed(futures):
                table, version = fut.result()
                if version != mine:
                    raise ValueError(
                        f"a worker ran m2c {version}, the client is m2c {mine}; "
                        f"install m2c {mine} on every worker"
                    )
                write_table(table, futures[fut])  # the client writes, atomically
                done += 1
                if progress:
                    progress(done, len(files))
        finally:
            if own:
                client.close()
                if cluster is not None:
                    cluster.close()
    return files


def mark_incomplete(out: str | Path) -> None:
    """Mark a comparison folder as being written (its final tables are not there yet)."""
    write_text(
        Path(out) / INCOMPLETE,
        "this comparison is being computed (or was killed); rerun the same command to resume\n",
    )


def mark_complete(out: str | Path) -> None:
    """Remove the :data:`INCOMPLETE` marker once every final table is written."""
    (Path(out) / INCOMPLETE).unlink(missing_ok=True)


def collect(files: list[Path], points: list[Point]) -> tuple[pa.Table, pa.Table]:
    """Build the tidy summary table and the monthly table from result files.

    Returns
    -------
    tidy : one row per (policy, replication, kpi): ``policy, replication, seed, kpi,
        value`` plus one column per swept parameter (float64).
    monthly : every result file's monthly rows concatenated (policy, replication,
        seed, month, station, KPI columns).
    """
    params = list(dict.fromkeys(k for p in points for k in p.params))
    by_label = {p.label: p for p in points}
    cols: dict[str, list] = {
        "policy": [],
        "replication": [],
        "seed": [],
        "kpi": [],
        "value": [],
        **{k: [] for k in params},
    }
    monthly = []
    for f in files:
        t = pq.read_table(f)
        summary = json.loads(t.schema.metadata[b"summary"])
        label, rep, sd = t["policy"][0].as_py(), t["replication"][0].as_py(), t["seed"][0].as_py()
        for k in COMPARED:
            cols["policy"].append(label)
            cols["replication"].append(rep)
            cols["seed"].append(sd)
            cols["kpi"].append(k)
            cols["value"].append(summary[k])
            for name in params:
                cols[name].append(float(by_label[label].params.get(name, float("nan"))))
        monthly.append(t.replace_schema_metadata(None))
    types = {
        "policy": pa.string(),
        "replication": pa.int64(),
        "seed": pa.int64(),
        "kpi": pa.string(),
        "value": pa.float64(),
        **{k: pa.float64() for k in params},
    }
    tidy = pa.table({k: pa.array(v, type=types[k]) for k, v in cols.items()})
    return tidy, pa.concat_tables(monthly)


#: Columns of :func:`collect_concentration`'s table (as ``m2c reproduce`` writes it).
CONCENTRATION_TYPES = {
    "policy": pa.string(),
    "replication": pa.int64(),
    "kpi": pa.string(),
    "top1_share": pa.float64(),
    "total": pa.float64(),
    "holders": pa.int64(),
}


def concentration_table(rows: dict[str, list]) -> pa.Table:
    """A concentration table from column lists (:data:`CONCENTRATION_TYPES`)."""
    return pa.table({k: pa.array(rows.get(k, []), t) for k, t in CONCENTRATION_TYPES.items()})


def collect_concentration(files: list[Path]) -> pa.Table:
    """The per-run concentration rows of result files, in file order.

    Returns
    -------
    pa.Table
        ``policy, replication, kpi, top1_share, total, holders`` (one row per run and
        KPI of :data:`m2c.sim.compare.evidence.CONCENTRATED`), the input of
        :func:`m2c.sim.compare.stats.summary_table`'s warning. Files written without
        concentration metadata contribute no rows.
    """
    cols: dict[str, list] = {k: [] for k in CONCENTRATION_TYPES}
    for f in files:
        meta = pq.read_schema(f).metadata or {}
        if b"concentration" not in meta:
            continue
        t = pq.read_table(f, columns=["policy", "replication"])
        label, rep = t["policy"][0].as_py(), t["replication"][0].as_py()
        for row in json.loads(meta[b"concentration"]):
            cols["policy"].append(label)
            cols["replication"].append(rep)
            for k in ("kpi", "top1_share", "total", "holders"):
                cols[k].append(row[k])
    return concentration_table(cols)


def write_outputs(out: str | Path, tidy: pa.Table, monthly: pa.Table) -> list[Path]:
    """Write ``comparison.parquet``, ``comparison.csv`` and ``monthly.parquet`` atomically."""
    out = Path(out)
    return [
        write_table(tidy, out / "comparison.parquet"),
        write_table(tidy, out / "comparison.csv"),
        write_table(monthly, out / "monthly.parquet"),
    ]


def verify_comparison_folder(out: str | Path) -> list[str]:
    """What is wrong with a finished comparison folder, from its files alone ([] = consistent).

    A folder marked :data:`INCOMPLETE` is reported as such. Otherwise every
    (policy, replication) the manifest pins has its result file with the
    right policy, replication and seed, and ``comparison.parquet`` is exactly
    what :func:`collect` rebuilds from those files.
    """
    out = Path(out)
    if (out / INCOMPLETE).exists():
        return [f"{out}: marked {INCOMPLETE}"]
    try:
        m = read_manifest(out)
    except ValueError as exc:
        return [str(exc)]
    if m is None:
        return [f"{out / MANIFEST}: missing"]
    points = [Point(p["label"], p["spec"], p["overrides"], p["params"]) for p in m["points"]]
    problems, files = [], []
    for p in points:
        for r in range(m["replications"]):
            f = out / "results" / f"{p.label}-r{r:03d}.parquet"
            files.append(f)
            if not f.is_file():
                problems.append(f"{f}: missing")
                continue
            t = pq.read_table(f, columns=["policy", "replication", "seed"])
            got = (t["policy"][0].as_py(), t["replication"][0].as_py(), t["seed"][0].as_py())
            if got != (p.label, r, m["seed"] + r):
                problems.append(f"{f}: holds {got}, expected {(p.label, r, m['seed'] + r)}")
    if problems:
        return problems
    tidy, _ = collect(files, points)
    try:
        written = pq.read_table(out / "comparison.parquet")
    except OSError as exc:
        return [f"{out / 'comparison.parquet'}: unreadable ({exc})"]
    if not written.equals(tidy):
        problems.append(f"{out / 'comparison.parquet'}: differs from the results/ files")
    return problems


def compare_points(specs: list[str]) -> list[Point]:
    """One :class:`Point` per scenario spec, labelled by the scenario's name."""
    from m2c.sim.scenario import load_scenario

    return [Point(safe_label(load_scenario(s).name), str(s)) for s in specs]
