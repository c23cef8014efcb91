"""A comparison resumes only on the same resolved scenarios and m2c version (issue 13).

Before: the manifest stored the scenario's path, so editing the file between a
kill and the rerun mixed replications of two different scenarios with exit 0.
"""

from __future__ import annotations

import json
import logging

import pytest
from typer.testing import CliRunner

from m2c.cli import app
from m2c.sim.compare import runner
from m2c.sim.compare.runner import Point

REPS, CUSTOMERS, DAYS, SEED = 2, 80, 31, 5


@pytest.fixture(scope="module")
def client():
    from distributed import Client, LocalCluster

    cluster = LocalCluster(
        n_workers=1, threads_per_worker=1, processes=False, dashboard_address=":0",
        silence_logs=logging.ERROR,
    )  # fmt: skip
    with Client(cluster) as c:
        yield c
    cluster.close()


def _files(tmp_path, days=30):
    (tmp_path / "parent.toml").write_text(f'extends = "smoke"\nname = "p"\n[run]\ndays = {days}\n')
    (tmp_path / "child.toml").write_text(
        'extends = "parent.toml"\nname = "slow"\n[dunning]\ndisconnect_after_days = 60\n'
    )
    return [Point("smoke", "smoke"), Point("slow", str(tmp_path / "child.toml"))]


def _run(points, out, client, reps=REPS):
    return runner.run_points(points, reps, CUSTOMERS, DAYS, SEED, out, client=client)


def test_resume_refuses_an_edited_scenario_file(tmp_path, client):
    points = _files(tmp_path)
    out = tmp_path / "cmp"
    _run(points, out, client, reps=1)
    m = json.loads((out / "manifest.json").read_text())
    assert set(m["scenario_sha256"]) == {"smoke", "slow"} and m["m2c_version"]
    # "kill", edit the scenario, rerun with more replications: refused, naming the policy
    (tmp_path / "child.toml").write_text(
        'extends = "parent.toml"\nname = "slow"\n[dunning]\ndisconnect_after_days = 45\n'
    )
    with pytest.raises(ValueError, match=r"scenario of 'slow' \(sha256 [0-9a-f]{12} -> "):
        _run(points, out, client, reps=1)
    assert sorted(p.name for p in (out / "results").iterdir()) == [
        "slow-r000.parquet",
        "smoke-r000.parquet",
    ]


def test_resume_refuses_an_edited_parent(tmp_path, client):
    points = _files(tmp_path)
    out = tmp_path / "cmp"
    _run(points, out, client, reps=1)
    _files(tmp_path, days=29)  # the child file is unchanged; its parent is not
    with pytest.raises(ValueError, match=r"differing: scenario of 'slow'") as info:
        _run(points, out, client, reps=1)
    assert "'smoke'" not in str(info.value)  # the bundled baseline did not change


def test_resume_refuses_another_m2c_version(tmp_path, client, monkeypatch):
    points = [Point("smoke", "smoke"), Point("cut", "smoke", {"dunning.approval_days": 0})]
    out = tmp_path / "cmp"
    _run(points, out, client, reps=1)
    before = runner.m2c_version()
    monkeypatch.setattr(runner, "m2c_version", lambda: "99.0")
    with pytest.raises(ValueError, match=rf"m2c version \({before} -> 99\.0\)"):
        _run(points, out, client, reps=1)


def test_same_everything_resumes(tmp_path, client):
    points = _files(tmp_path)
    out = tmp_path / "cmp"
    _run(points, out, client, reps=1)
    (out / "results" / "slow-r000.parquet").unlink()
    seen = []
    runner.run_points(
        points, 1, CUSTOMERS, DAYS, SEED, out, client=client, progress=lambda d, t: seen.append(d)
    )
    assert seen == [1, 2]


def test_a_corrupt_manifest_is_named(tmp_path, client):
    out = tmp_path / "cmp"
    out.mkdir()
    (out / "manifest.json").write_bytes(b'{"kind": "compare", "poi')
    with pytest.raises(ValueError, match=r"cmp/manifest\.json: corrupt comparison manifest"):
        _run([Point("smoke", "smoke")], out, client)
    r = CliRunner().invoke(
        app, ["compare", "smoke", "prepaid_county", "--replications", "1", "--out", str(out)]
    )
    assert r.exit_code == 2 and "manifest.json: corrupt comparison manifest" in r.output
    assert "Traceback" not in r.output


def test_a_second_comparison_into_the_same_folder_is_refused(tmp_path, client):
    import subprocess
    import sys

    out = tmp_path / "cmp"
    out.mkdir()
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import fcntl, os, sys, time\n"
            f"fd = os.open({str(out / '.lock')!r}, os.O_RDWR | os.O_CREAT)\n"
            "fcntl.flock(fd, fcntl.LOCK_EX)\nprint('held', flush=True)\ntime.sleep(60)\n",
        ],
        stdout=subprocess.PIPE,
    )
    try:
        assert holder.stdout.readline().strip() == b"held"
        with pytest.raises(ValueError, match="another m2c compare, sweep or reproduce is writing"):
            _run([Point("smoke", "smoke")], out, client, reps=1)
        assert not (out / "manifest.json").exists()
    finally:
        holder.kill()
        holder.wait()
    _run([Point("smoke", "smoke")], out, client, reps=1)  # the lock died with its holder
    assert (out / "results" / "smoke-r000.parquet").is_file()
