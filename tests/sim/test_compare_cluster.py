"""``m2c compare`` on a real Dask cluster: ``dask scheduler`` and ``dask worker`` processes.

Issue 13: each task wrote its result file into the client's ``--out``, which
exists only where the client's disk is shared with the workers. Now a task
returns its table through Dask and the client writes it. The workers here
run in their own working and temporary directories; the test asserts that
the results appear in ``--out`` written by the client only, that nothing
lands beside the workers, and that a worker with another m2c version is
refused with a message naming it. Small fleet: a few seconds.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from m2c.sim.compare import runner
from m2c.sim.compare.evidence import CONCENTRATED
from m2c.sim.compare.runner import Point
from m2c.sim.kpi_catalog import COMPARED

DASK = [sys.executable, "-m", "distributed.cli.dask_scheduler", "--host", "127.0.0.1"]
POINTS = [Point("smoke", "smoke"), Point("cut", "smoke", {"dunning.disconnect_after_days": 15})]


def _spawn(args, cwd: Path, log: Path, **env) -> subprocess.Popen:
    cwd.mkdir(parents=True, exist_ok=True)
    e = {**os.environ, "TMPDIR": str(cwd / "tmp"), "NUMBA_NUM_THREADS": "1", **env}
    (cwd / "tmp").mkdir(exist_ok=True)
    return subprocess.Popen(
        args,
        cwd=cwd,
        env=e,
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def _worker(address: str, home: Path, name: str, **env) -> subprocess.Popen:
    args = [sys.executable, "-m", "distributed.cli.dask_worker", address, "--nthreads", "1"]
    args += ["--nworkers", "1", "--no-dashboard", "--name", name, "--local-directory", str(home)]
    return _spawn(args, home, home.parent / f"{name}.log", **env)


def _wait(pred, what: str, timeout: float = 60.0):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        got = pred()
        if got:
            return got
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def _address(sched_file: Path) -> str | None:
    try:
        return json.loads(sched_file.read_text())["address"]
    except (OSError, ValueError, KeyError):
        return None  # not written yet, or half written


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    """A scheduler and one worker, each in its own directory (not the client's)."""
    root = tmp_path_factory.mktemp("cluster")
    sched_file = root / "scheduler" / "scheduler.json"
    procs = [
        _spawn(
            [*DASK, "--port", "0", "--no-dashboard", "--scheduler-file", str(sched_file)],
            root / "scheduler",
            root / "scheduler.log",
        )
    ]
    try:
        address = _wait(
            lambda: (
                sched_file.exists() and json.loads(sched_file.read_text() or "{}").get("address")
            ),
            "the scheduler",
        )
        procs.append(_worker(address, root / "worker-a", "worker-a"))
        yield address, root, procs
    finally:
        for p in procs:
            if p.poll() is None:
                os.killpg(p.pid, 15)
        for p in procs:
            try:
                p.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(p.pid, 9)


def _n_workers(address: str) -> int:
    from distributed import Client

    with Client(address, timeout=10) as c:
        return len(c.scheduler_info()["workers"])


def _tree(folder: Path) -> set[str]:
    return {str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file()}


def test_results_travel_back_through_dask(cluster, tmp_path, monkeypatch):
    address, root, _ = cluster
    _wait(lambda: _n_workers(address) == 1, "the worker")
    before = {w: _tree(root / w) for w in ("scheduler", "worker-a")}
    written = {}
    real = runner.write_table

    def recording(table, path):  # every result file must be written by the client
        out = real(table, path)
        written[Path(path).name] = Path(path).stat().st_ino
        return out

    monkeypatch.setattr(runner, "write_table", recording)
    client_dir = tmp_path / "client"
    client_dir.mkdir()
    monkeypatch.chdir(client_dir)
    files = runner.run_points(POINTS, 2, 120, 31, 7, "cmp", scheduler=address)
    out = client_dir / "cmp"
    assert [f.name for f in files] == [
        "smoke-r000.parquet",
        "smoke-r001.parquet",
        "cut-r000.parquet",
        "cut-r001.parquet",
    ]
    assert {f.name: f.stat().st_ino for f in (out / "results").iterdir()} == written
    tidy, _ = runner.collect([out / "results" / n for n in written], POINTS)
    assert tidy.num_rows == 4 * len(COMPARED)  # 2 policies x 2 replications x each KPI
    # the top-1 % concentration came back with them (issue 16): one row per run and KPI
    conc = runner.collect_concentration([out / "results" / n for n in written])
    assert conc.num_rows == 4 * len(CONCENTRATED)
    # the workers never saw --out: no result and no "cmp" folder beside them
    for w in ("scheduler", "worker-a"):
        new = _tree(root / w) - before[w]
        assert not [p for p in new if p.endswith(".parquet") or "cmp" in p], new
    # the same bytes as the same task run here (the worker is an ordinary m2c)
    table, version = runner.run_task(runner.resolved_scenario(POINTS[0]), "smoke", 0, 120, 31, 7)
    assert version == runner.m2c_version()
    real(table, tmp_path / "here.parquet")
    assert (tmp_path / "here.parquet").read_bytes() == (
        out / "results" / files[0].name
    ).read_bytes()


def test_a_worker_with_another_m2c_version_is_refused(cluster, tmp_path):
    address, root, procs = cluster
    preload = root / "old_m2c.py"
    preload.write_text("import m2c.sim\nm2c.sim.__version__ = '0.0.1-old'\n")
    home = root / "worker-old"
    home.mkdir()
    env = {"DASK_DISTRIBUTED__WORKER__PRELOAD": str(preload)}
    procs.append(_worker(address, home, "worker-old", **env))
    _wait(lambda: _n_workers(address) == 2, "the second worker")
    with pytest.raises(ValueError, match=r"worker-old.*has m2c 0\.0\.1-old.*install m2c"):
        runner.run_points(POINTS, 1, 60, 31, 7, tmp_path / "cmp", scheduler=address)
    assert not (tmp_path / "cmp" / "results").exists()
