"""Run (policy, replication) tasks on Dask distributed, resumably.

Replication ``r`` uses seed ``base_seed + r`` for every policy (common random
numbers: the counter-based RNG gives every policy the same customers,
consumption and luck), so differences between policies are paired.

Each task writes ``OUT/results/<label>-r<rep>.parquet`` atomically: the run's
monthly KPI rows (every station plus the county ``ALL`` rows) with the summary
KPIs (:data:`m2c.sim.kpi_catalog.COMPARED`) as JSON in the schema metadata. A
rerun with the same arguments skips the files that exist, and the final tables
are rebuilt from the files in a fixed order, so an interrupted comparison
resumes to byte-identical outputs.
"""

from __future__ import annotations

import json
import logging
import os
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from m2c.sim.atomic import write_json, write_table
from m2c.sim.kpi_catalog import COMPARED

MANIFEST = "manifest.json"

#: One Numba thread per worker process: the parallelism is across runs, and the
#: model's prange kernels would otherwise oversubscribe the cores (n workers x n threads).
WORKER_ENV = {"NUMBA_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"}


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


def run_task(
    spec: str,
    overrides: dict[str, Any],
    label: str,
    rep: int,
    customers: int,
    days: int,
    seed: int,
    out_file: str,
) -> str:
    """Run one simulation and write its result file atomically (executed on a worker).

    Returns
    -------
    str
        ``out_file``, once written.
    """
    from m2c.sim.run import run_simulation
    from m2c.sim.scenario import load_scenario

    res = run_simulation(
        load_scenario(spec, overrides=overrides or None), customers=customers, days=days, seed=seed
    )
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
    meta = {"summary": json.dumps({k: float(res.summary[k]) for k in COMPARED}, sort_keys=True)}
    write_table(table.replace_schema_metadata(meta), out_file)
    return out_file


def _check_manifest(out: Path, args: dict[str, Any]) -> None:
    mf = out / MANIFEST
    if mf.exists():
        old = json.loads(mf.read_text(encoding="utf-8"))
        if old != args:
            diff = sorted(k for k in set(old) | set(args) if old.get(k) != args.get(k))
            raise ValueError(
                f"{out} holds results made with other arguments (differing: "
                f"{', '.join(diff)}; see {mf}); use another --out folder or "
                "the same arguments to resume"
            )
    else:
        write_json(mf, args)


def _client(workers: int | None, scheduler: str | None):
    from distributed import Client, LocalCluster

    if scheduler:
        return Client(scheduler), None
    cluster = LocalCluster(
        n_workers=workers or os.cpu_count() or 1,
        threads_per_worker=1,
        processes=True,
        dashboard_address=":0",
        silence_logs=logging.ERROR,
        env=WORKER_ENV,
    )
    return Client(cluster), cluster


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
    from distributed import as_completed

    if replications < 1:
        raise ValueError(f"replications: expected >= 1, got {replications}")
    labels = [p.label for p in points]
    if len(set(labels)) != len(labels):
        raise ValueError(f"policies must have distinct names, got {labels}")
    out = Path(out)
    _check_manifest(
        out,
        {
            "kind": kind,
            "points": [p.as_json() for p in points],
            "replications": replications,
            "customers": customers,
            "days": days,
            "seed": seed,
        },
    )
    files, todo = [], []
    for p in points:
        for r in range(replications):
            f = out / "results" / f"{p.label}-r{r:03d}.parquet"
            files.append(f)
            if not f.exists():
                todo.append((p.spec, p.overrides, p.label, r, customers, days, seed + r, str(f)))
    done = len(files) - len(todo)
    if progress:
        progress(done, len(files))
    if todo:
        own = client is None
        if own:
            client, cluster = _client(workers, scheduler)
        try:
            futures = [client.submit(run_task, *t, pure=False) for t in todo]
            for fut in as_completed(futures):
                fut.result()
                done += 1
                if progress:
                    progress(done, len(files))
        finally:
            if own:
                client.close()
                if cluster is not None:
                    cluster.close()
    return files


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


def write_outputs(out: str | Path, tidy: pa.Table, monthly: pa.Table) -> list[Path]:
    """Write ``comparison.parquet``, ``comparison.csv`` and ``monthly.parquet`` atomically."""
    out = Path(out)
    return [
        write_table(tidy, out / "comparison.parquet"),
        write_table(tidy, out / "comparison.csv"),
        write_table(monthly, out / "monthly.parquet"),
    ]


def compare_points(specs: list[str]) -> list[Point]:
    """One :class:`Point` per scenario spec, labelled by the scenario's name."""
    from m2c.sim.scenario import load_scenario

    return [Point(safe_label(load_scenario(s).name), str(s)) for s in specs]
