"""``m2c bench``: suite names, the pytest command line, and one real quick run."""

from __future__ import annotations

import json
import subprocess
import sys

from typer.testing import CliRunner

from m2c.cli import app
from m2c.cli.bench import bench_dir, pytest_args

runner = CliRunner()


def test_unknown_suite_is_an_error():
    res = runner.invoke(app, ["bench", "speed"])
    assert res.exit_code == 2 and "unknown suite 'speed'" in res.output


def test_command_line_enables_benchmarks_and_skips_gpu_unless_asked():
    folder = bench_dir()
    assert folder is not None and folder.name == "bench"
    args = pytest_args(folder, ["billing", "sim"], None)
    assert args[:2] == [str(folder / "test_bench_billing.py"), str(folder / "test_bench_sim.py")]
    assert "--benchmark-enable" in args and args[args.index("-m") + 1] == "not gpu"
    assert "-m" not in pytest_args(folder, ["cuda"], None)


def test_quick_devices_suite_writes_json(tmp_path):
    out = tmp_path / "bench.json"
    proc = subprocess.run(
        [
            sys.executable,
            "-c",
            "from m2c.cli import main; main()",
            "bench",
            "devices",
            "--quick",
            "--json",
            str(out),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    names = {b["name"] for b in json.loads(out.read_text())["benchmarks"]}
    assert {"test_bench_codec", "test_bench_reads_over_pty"} <= names
