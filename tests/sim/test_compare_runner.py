"""Comparison engine: resume after an interruption and worker-count independence.

Sizes are tiny (300 customers x 120 days, 3 replications) so the module runs
in seconds; every run is a real simulation on a real Dask LocalCluster.
"""

import json

import pytest

from m2c.sim.compare import runner
from m2c.sim.compare.runner import Point
from m2c.sim.kpi_catalog import COMPARED

REPS, CUSTOMERS, DAYS, SEED = 3, 300, 120, 11
POINTS = [
    Point("smoke", "smoke"),
    Point("fast_cut", "smoke", {"dunning.disconnect_after_days": 15}),
]
OUTPUTS = ("comparison.parquet", "comparison.csv", "monthly.parquet")


def _run(out, workers):
    files = runner.run_points(POINTS, REPS, CUSTOMERS, DAYS, SEED, out, workers=workers)
    tidy, monthly = runner.collect(files, POINTS)
    runner.write_outputs(out, tidy, monthly)
    return files, tidy


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """An uninterrupted comparison on one worker."""
    out = tmp_path_factory.mktemp("full")
    return out, *_run(out, workers=1)


def _bytes(out):
    files = sorted((out / "results").glob("*.parquet"))
    return {f.name: f.read_bytes() for f in files} | {n: (out / n).read_bytes() for n in OUTPUTS}


def test_tidy_table_shape_and_seeds(reference):
    _, files, tidy = reference
    assert [f.name for f in files] == [
        f"{p.label}-r{r:03d}.parquet" for p in POINTS for r in range(REPS)
    ]
    assert tidy.num_rows == len(POINTS) * REPS * len(COMPARED)  # 2 x 3 x 11 = 66
    d = tidy.to_pydict()
    # common random numbers: replication r has seed SEED + r for every policy
    assert all(s == SEED + r for s, r in zip(d["seed"], d["replication"], strict=True))
    # the shorter disconnection delay changes the outcome on the same seeds
    cost = {
        (p, r): v
        for p, r, k, v in zip(d["policy"], d["replication"], d["kpi"], d["value"], strict=True)
        if k == "disconnections"
    }
    assert any(cost[("smoke", r)] != cost[("fast_cut", r)] for r in range(REPS))


def test_two_workers_and_resume_give_identical_bytes(reference, tmp_path):
    ref_out = reference[0]
    out = tmp_path / "cmp"
    progress = []
    runner.run_points(
        POINTS,
        REPS,
        CUSTOMERS,
        DAYS,
        SEED,
        out,
        workers=2,
        progress=lambda d, t: progress.append((d, t)),
    )
    assert progress[0] == (0, 6) and progress[-1] == (6, 6)
    # "kill": two results lost, a half-written temp file left behind by the atomic writer
    for victim in ("smoke-r001.parquet", "fast_cut-r002.parquet"):
        (out / "results" / victim).unlink()
    (out / "results" / ".smoke-r001.parquet.abc123.tmp").write_bytes(b"PAR1 half written")
    _run(out, workers=2)
    seen = []
    runner.run_points(
        POINTS,
        REPS,
        CUSTOMERS,
        DAYS,
        SEED,
        out,
        workers=2,
        progress=lambda d, t: seen.append((d, t)),
    )
    assert seen == [(6, 6)]  # all 6 present: nothing rerun, no cluster started
    assert _bytes(out) == _bytes(ref_out)  # 1 worker vs 2 workers + resume: byte for byte


def test_refuses_folder_made_with_other_arguments(reference):
    out = reference[0]
    with pytest.raises(ValueError, match=r"other arguments.*customers"):
        runner.run_points(POINTS, REPS, CUSTOMERS + 1, DAYS, SEED, out, workers=1)
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["customers"] == CUSTOMERS and manifest["kind"] == "compare"


def test_duplicate_labels_rejected(tmp_path):
    with pytest.raises(ValueError, match="distinct"):
        runner.run_points([POINTS[0], POINTS[0]], 1, 10, 10, 1, tmp_path)


WORKER_MAIN = """
import logging
import numba  # the client's __main__ imports Numba, as the m2c command does
from m2c.sim.compare import runner


def task():
    import numba
    import numpy as np

    runner.one_numba_thread()

    @numba.njit(parallel=True)
    def f(a):
        s = 0.0
        for i in numba.prange(a.size):
            s += a[i]
        return s

    f(np.ones(4))

    @numba.njit
    def g(x):  # compiled after the threads were launched
        return x + 1

    return g(1), numba.get_num_threads()


if __name__ == "__main__":
    from distributed import Client, LocalCluster

    with LocalCluster(n_workers=1, threads_per_worker=1, processes=True,
                      dashboard_address=":0", silence_logs=logging.ERROR,
                      env=runner.WORKER_ENV) as cl, Client(cl) as c:
        print("RESULT", c.submit(task, pure=False).result())
"""


def test_tasks_run_numba_on_one_thread_and_may_compile(tmp_path):
    # A worker spawned for a client whose __main__ imports Numba (the m2c command) had
    # NUMBA_NUM_THREADS=1 put in its environment after Numba read it: its kernels ran on
    # every core, and a compilation in the worker could fail ("Cannot set
    # NUMBA_NUM_THREADS to a different value once the threads have been launched"). Tasks
    # now limit Numba's threads at run time instead.
    import os
    import subprocess
    import sys

    assert "NUMBA_NUM_THREADS" not in runner.WORKER_ENV
    script = tmp_path / "client_main.py"
    script.write_text(WORKER_MAIN)
    env = {k: v for k, v in os.environ.items() if k != "NUMBA_NUM_THREADS"}
    res = subprocess.run(
        [sys.executable, str(script)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert "RESULT (2, 1)" in res.stdout, res.stdout + res.stderr[-2000:]
