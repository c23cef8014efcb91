"""Replicated policy comparisons with common random numbers, on Dask distributed.

Every policy runs on the same seeds (``seed + r`` for replication ``r``), so
policy B sees the same customers, consumption and luck as policy A and the
differences are paired. Each (policy, replication) result is one Parquet file
written atomically under ``OUT/results/``; rerunning the same comparison
skips the files that exist (resume after a kill) and gives identical tables.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from m2c.sim.atomic import write_json, write_table

#: two-sided 95 % Student t quantiles t_{0.975, df} (df 1..30), then the normal limit
_T975 = (12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179,
         2.160, 2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086, 2.080, 2.074, 2.069, 2.064,
         2.060, 2.056, 2.052, 2.048, 2.045, 2.042)

KPIS = ("recovery_rate_customer", "recovery_rate_station", "old_arrears_ratio", "old_arrears",
        "dso_days", "bad_debt", "collection_cost", "collection_cost_per_customer",
        "disconnections", "customer_days_without_supply", "penalty_months")


def t975(df: int) -> float:
    """The 97.5 % quantile of Student's t with ``df`` degrees of freedom (table, then 1.96)."""
    if df < 1:
        return float("nan")
    return _T975[df - 1] if df <= len(_T975) else 1.96 + 2.4 / df  # within 0.002 for df > 30


def paired_ci(a: np.ndarray, b: np.ndarray) -> tuple[float, float, float, bool]:
    """Mean of b - a, its 95 % paired t-interval, and whether 0 lies outside it."""
    d = np.asarray(b, dtype=np.float64) - np.asarray(a, dtype=np.float64)
    n = d.size
    mean = float(d.mean())
    if n < 2:
        return mean, float("nan"), float("nan"), False
    half = t975(n - 1) * float(d.std(ddof=1)) / math.sqrt(n)
    return mean, mean - half, mean + half, bool(abs(mean) > half)


def _task(spec: str, policy: str, rep: int, customers: int, days: int, seed: int,
          out_file: str) -> str:
    from m2c.sim.run import run_simulation
    from m2c.sim.scenario import load_scenario

    res = run_simulation(load_scenario(spec), customers=customers, days=days, seed=seed)
    row = {"policy": [policy], "replication": [rep], "seed": [seed]}
    row.update({k: [float(res.summary[k])] for k in KPIS})
    write_table(pa.table(row), out_file)
    return out_file


def run_comparison(specs: list[str], replications: int, customers: int, days: int, seed: int,
                   out: Path, workers: int | None = None, scheduler: str | None = None,
                   progress: Callable[[int, int], None] | None = None) -> pa.Table:
    """Run every policy x replication on Dask; return the tidy comparison table."""
    from distributed import Client, LocalCluster, as_completed

    from m2c.sim.scenario import load_scenario

    names = [load_scenario(s).name for s in specs]
    if len(set(names)) != len(names):
        raise ValueError(f"policies must have distinct scenario names, got {names}")
    out = Path(out)
    args = {"specs": specs, "replications": replications, "customers": customers,
            "days": days, "seed": seed}
    mf = out / "comparison.json"
    if mf.exists() and json.loads(mf.read_text()) != args:
        raise ValueError(f"{out} holds a comparison made with other arguments "
                         f"({mf}); use another --out folder")
    write_json(mf, args)
    todo, files = [], []
    for spec, name in zip(specs, names, strict=True):
        for r in range(replications):
            f = out / "results" / f"{name}-r{r:03d}.parquet"
            files.append(f)
            if not f.exists():
                todo.append((spec, name, r, customers, days, seed + r, str(f)))
    done = len(files) - len(todo)
    if progress:
        progress(done, len(files))
    if todo:
        if scheduler:
            client, cluster = Client(scheduler), None
        else:
            cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                                   dashboard_address=None)
            client = Client(cluster)
        try:
            futures = [client.submit(_task, *t, pure=False) for t in todo]
            for fut in as_completed(futures):
                fut.result()
                done += 1
                if progress:
                    progress(done, len(files))
        finally:
            client.close()
            if cluster is not None:
                cluster.close()
    table = pa.concat_tables([pq.read_table(f) for f in files])
    tidy = {"policy": [], "replication": [], "kpi": [], "value": []}
    for k in KPIS:
        tidy["policy"] += table["policy"].to_pylist()
        tidy["replication"] += table["replication"].to_pylist()
        tidy["kpi"] += [k] * table.num_rows
        tidy["value"] += table[k].to_pylist()
    result = pa.table(tidy)
    write_table(result, out / "comparison.parquet")
    write_table(result, out / "comparison.csv")
    return result


def summary_rows(tidy: pa.Table) -> list[dict]:
    """Per KPI and policy: mean, paired difference vs the first policy, 95 % CI, significance."""
    d = tidy.to_pydict()
    policies = list(dict.fromkeys(d["policy"]))
    rows = []
    for k in KPIS:
        vals = {p: np.array([v for v, kk, pp, _ in sorted(
            zip(d["value"], d["kpi"], d["policy"], d["replication"], strict=True),
            key=lambda x: x[3]) if kk == k and pp == p]) for p in policies}
        base = vals[policies[0]]
        for p in policies:
            mean, lo, hi, sig = paired_ci(base, vals[p])
            rows.append({"kpi": k, "policy": p, "mean": float(vals[p].mean()), "diff": mean,
                         "ci_low": lo, "ci_high": hi,
                         "significant": sig if p != policies[0] else False})
    return rows
