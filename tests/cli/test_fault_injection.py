"""Fault injection: ``m2c run`` and ``m2c compare`` killed (SIGKILL) at random points.

Issue 13 asks that every folder a killed command leaves behind be absent,
marked incomplete, or fully consistent: its manifest matches its contents
and its ledger balances from the files alone. Each trial runs the real
``m2c`` command line in a fresh process (pre-started and warmed up, so the
random kill lands in the work rather than in the imports) and kills it after
a random delay in [0, 1.2 x the time of an uninterrupted run] (uniform for runs,
denser early for comparisons, whose results come in the first part).

``m2c run`` trials go into one folder, fresh or with ``--force`` over the
previous complete run, so kills also land in the atomic replacement.
``m2c compare`` trials use a real ``dask scheduler`` and ``dask worker``
(started once) and resume the same folder, so kills land in resumes too.
The default variant runs 10 + 5 trials; ``-m slow`` adds a 36 + 16 variant.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from m2c.sim.compare.runner import INCOMPLETE as CMP_INCOMPLETE
from m2c.sim.compare.runner import verify_comparison_folder
from m2c.sim.run import INCOMPLETE, verify_run_folder

# A process that imports m2c and warms its kernels, says "ready", waits for "go",
# then runs the m2c command line given in argv.
DRIVER = """
import os, sys
os.environ.setdefault("NUMBA_NUM_THREADS", "1")
from m2c.cli.app import app
from m2c.sim.run import run_simulation
from m2c.sim.scenario import load_scenario
if sys.argv[1] == "compare":
    import m2c.sim.compare.plots, m2c.sim.compare.report
run_simulation(load_scenario("smoke"), customers=5, days=1, seed=1)
print("ready", flush=True)
sys.stdin.readline()
try:
    app(sys.argv[1:], standalone_mode=False)
finally:
    sys.stdout.flush()
    os._exit(0)
"""


class Driver:
    """A warmed-up ``m2c`` process waiting for "go"."""

    def __init__(self, args: list[str], cwd: Path) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-c", DRIVER, *args],
            cwd=cwd,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            env={**os.environ, "NUMBA_NUM_THREADS": "1"},
            start_new_session=True,
        )

    def ready(self) -> None:
        assert self.proc.stdout.readline().strip() == b"ready"

    def go(self, kill_after: float | None) -> float:
        """Start the command; SIGKILL it after ``kill_after`` s (None: let it finish)."""
        t0 = time.monotonic()
        self.proc.stdin.write(b"go\n")
        self.proc.stdin.flush()
        try:
            self.proc.wait(timeout=kill_after if kill_after is not None else 300)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
        return time.monotonic() - t0


def _drivers(argss: list[list[str]], cwd: Path):
    """Yield warmed-up drivers in order, the next one starting while the current one runs."""
    nxt = Driver(argss[0], cwd) if argss else None
    for k in range(len(argss)):
        cur = nxt
        nxt = Driver(argss[k + 1], cwd) if k + 1 < len(argss) else None
        cur.ready()
        yield cur


def _check_run_parent(parent: Path, name: str, seeds: set[int], must_exist: bool) -> int | None:
    """Everything in ``parent`` is the run folder (consistent) or a marked temporary sibling."""
    seed = None
    for p in parent.iterdir():
        if p.name == name:
            assert verify_run_folder(p) == [], p
            seed = json.loads((p / "manifest.json").read_text())["seed"]
            assert seed in seeds, (seed, seeds)
        elif p.name.startswith((f".{name}.tmp-", f".{name}.old-")):
            # a temporary sibling, marked incomplete by its name; inside, the INCOMPLETE
            # file (or no manifest yet), or the whole old run just swapped out by --force.
            # The next run into the folder removes it.
            assert p.is_dir()
            marked = (p / INCOMPLETE).exists() or not (p / "manifest.json").exists()
            assert marked or verify_run_folder(p) == [], p
        elif p.name == f".{name}.lock":
            pass
        else:
            raise AssertionError(f"unexpected {p} left behind")
    if must_exist:
        assert seed is not None, "--force left no run folder: the replacement was not atomic"
    return seed


def _run_trials(tmp_path: Path, n: int, rng: random.Random) -> None:
    parent = tmp_path / "runs"
    parent.mkdir(parents=True)
    base = ["run", "smoke", "--customers", "60", "--days", "31", "--out", str(parent / "r")]
    first = Driver([*base, "--seed", "1000"], tmp_path)
    first.ready()
    full = first.go(None)
    assert _check_run_parent(parent, "r", {1000}, True) == 1000
    current = 1000
    kinds = []
    pending = _drivers([[*base, "--seed", str(i), "--force"] for i in range(n)], tmp_path)
    for i, d in enumerate(pending):
        d.go(rng.uniform(0, 1.2 * full))
        seed = _check_run_parent(parent, "r", {current, i}, True)
        kinds.append("new" if seed == i else "old")
        current = seed
    print(f"m2c run: uninterrupted {full:.2f} s; after each kill the folder held {kinds}")
    # the kills landed before, during and after the write: both outcomes were seen
    assert "old" in kinds, kinds
    # the next run into the folder cleans what the killed ones left
    last = Driver([*base, "--seed", "7", "--force"], tmp_path)
    last.ready()
    last.go(None)
    assert sorted(p.name for p in parent.iterdir()) == ["r"]
    assert verify_run_folder(parent / "r") == []


def _check_compare(out: Path) -> str:
    if not out.exists():
        return "absent"
    results = sorted((out / "results").glob("*.parquet")) if (out / "results").exists() else []
    for f in results:  # every result a resume would trust is whole and is what it says
        t = pq.read_table(f, columns=["policy", "replication"])
        assert f.name == f"{t['policy'][0].as_py()}-r{t['replication'][0].as_py():03d}.parquet"
    if (out / CMP_INCOMPLETE).exists():
        return f"incomplete ({len(results)} results)"
    assert verify_comparison_folder(out) == [], out
    return "complete"


@pytest.fixture(scope="module")
def scheduler(tmp_path_factory):
    """A real ``dask scheduler`` with one ``dask worker`` (started once for all trials)."""
    root = tmp_path_factory.mktemp("faultcluster")
    sf = root / "scheduler.json"
    sched = [sys.executable, "-m", "distributed.cli.dask_scheduler", "--host", "127.0.0.1"]
    worker = [sys.executable, "-m", "distributed.cli.dask_worker", "--nthreads", "1"]
    env = {**os.environ, "NUMBA_NUM_THREADS": "1"}
    kw = {"cwd": root, "env": env, "stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}
    procs = [
        subprocess.Popen(
            [*sched, "--port", "0", "--no-dashboard", "--scheduler-file", str(sf)],
            start_new_session=True,
            **kw,
        )
    ]
    try:
        end = time.monotonic() + 60
        address = None
        while address is None and time.monotonic() < end:
            try:
                address = json.loads(sf.read_text())["address"]
            except (OSError, ValueError, KeyError):
                time.sleep(0.1)
        assert address, "the scheduler did not start"
        procs.append(
            subprocess.Popen(
                [*worker, "--no-dashboard", "--local-directory", str(root), address],
                start_new_session=True,
                **kw,
            )
        )
        yield address
    finally:
        for p in procs:
            os.killpg(p.pid, signal.SIGTERM)
        for p in procs:
            try:
                p.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(p.pid, signal.SIGKILL)


def _compare_trials(tmp_path: Path, address: str, n: int, rng: random.Random) -> None:
    tmp_path.mkdir(parents=True)
    cut = tmp_path / "cut.toml"
    cut.write_text('extends = "smoke"\nname = "cut"\n[dunning]\ndisconnect_after_days = 15\n')
    args = ["compare", "smoke", str(cut), "--replications", "3", "--customers", "400"]
    args += ["--days", "31", "--scheduler", address]
    first = Driver([*args, "--out", str(tmp_path / "ref")], tmp_path)
    first.ready()
    full = first.go(None)
    assert _check_compare(tmp_path / "ref") == "complete"
    seen = []
    # trial k resumes the folder of trial k - 1 half of the time: kills land in resumes too
    folders = [tmp_path / "c0"]
    for k in range(1, n):
        folders.append(folders[-1] if rng.random() < 0.5 else tmp_path / f"c{k}")
    drivers = _drivers([[*args, "--out", str(f)] for f in folders], tmp_path)
    for d, folder in zip(drivers, folders, strict=True):
        # denser early (u^2): the results arrive in the first part of the run, the
        # figures and the report take the rest
        d.go(1.2 * full * rng.random() ** 2)
        seen.append(_check_compare(folder))
    assert len(seen) == n
    print(f"m2c compare: uninterrupted {full:.2f} s; after each kill: {seen}")
    # a killed comparison resumes to the same bytes as an uninterrupted one
    last = Driver([*args, "--out", str(folder)], tmp_path)
    last.ready()
    last.go(None)
    assert _check_compare(folder) == "complete"
    ref = pq.read_table(tmp_path / "ref" / "comparison.parquet")
    assert pq.read_table(folder / "comparison.parquet").equals(ref)


def test_killed_runs_and_comparisons_leave_no_lying_folder(tmp_path, scheduler):
    rng = random.Random(13)
    _run_trials(tmp_path / "run", 10, rng)
    _compare_trials(tmp_path / "cmp", scheduler, 5, rng)


@pytest.mark.slow
def test_killed_runs_and_comparisons_many_trials(tmp_path, scheduler):
    rng = random.Random(2026)
    _run_trials(tmp_path / "run", 36, rng)
    _compare_trials(tmp_path / "cmp", scheduler, 16, rng)
