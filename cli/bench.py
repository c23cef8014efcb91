"""``m2c bench``: run the benchmark suites of ``bench/`` (pytest-benchmark) by name.

The suites live in the source tree (``bench/test_bench_*.py``), each
reporting a ratio to a baseline measured in the same run; this command
finds them next to the installed package (an editable install or a source
checkout), sets their sizes and runs pytest-benchmark on them, so nobody
has to remember ``--benchmark-enable -o addopts=""``.
"""

from __future__ import annotations

import os
from pathlib import Path

import typer

#: suite name -> file in bench/
SUITES = {
    "billing": "test_bench_billing.py",
    "sim": "test_bench_sim.py",
    "devices": "test_bench_devices.py",
    "compare": "test_bench_compare.py",
    "cuda": "test_bench_cuda.py",
}

#: sizes for --quick (environment variables the suites read), a minute or two on 2 cores
QUICK_SIZES = {
    "M2C_BENCH_REGISTER": "1000000",
    "M2C_BENCH_INTERVAL": "10000",
    "M2C_BENCH_CUSTOMERS": "50000",
    "M2C_BENCH_REPS": "1",
    "M2C_BENCH_CUDA_N": "65536",
}


def bench_dir() -> Path | None:
    """The ``bench/`` folder of the source tree m2c runs from, or None if not installed so."""
    import m2c.sim

    here = Path(m2c.sim.__file__).resolve().parent.parent / "bench"
    return here if (here / SUITES["billing"]).is_file() else None


def pytest_args(folder: Path, suites: list[str], json_out: Path | None) -> list[str]:
    """The pytest command line for ``suites`` (GPU suites only when asked for by name)."""
    args = [str(folder / SUITES[s]) for s in suites]
    args += [
        "--benchmark-enable",
        "-o",
        "addopts=",
        "-p",
        "no:cacheprovider",
        "-s",
        "-q",
        "--rootdir",
        str(folder.parent),
    ]
    if "cuda" not in suites:
        args += ["-m", "not gpu"]
    if json_out is not None:
        args += [f"--benchmark-json={json_out}"]
    return args


def bench(
    suites: list[str] = typer.Argument(
        None, help=f"Suites to run: {', '.join(SUITES)} (default: all but cuda)."
    ),
    quick: bool = typer.Option(False, "--quick", help="Smaller sizes (about a minute each)."),
    json_out: Path | None = typer.Option(None, "--json", help="Also write the results as JSON."),
) -> None:
    """Run the benchmark suites (throughput and ratios to a same-run baseline)."""
    names = list(suites or [s for s in SUITES if s != "cuda"])
    unknown = [s for s in names if s not in SUITES]
    if unknown:
        typer.echo(f"error: unknown suite {unknown[0]!r}; expected one of {list(SUITES)}", err=True)
        raise typer.Exit(2)
    folder = bench_dir()
    if folder is None:
        typer.echo(
            "error: the bench/ suites ship with the source tree; run m2c bench from a "
            "checkout installed with pip install -e '.[test]'",
            err=True,
        )
        raise typer.Exit(2)
    try:
        import pytest
        import pytest_benchmark  # noqa: F401
    except ImportError:
        typer.echo("error: m2c bench needs the test extras: pip install -e '.[test]'", err=True)
        raise typer.Exit(2) from None
    if quick:
        for key, value in QUICK_SIZES.items():
            os.environ.setdefault(key, value)
    raise typer.Exit(int(pytest.main(pytest_args(folder, names, json_out))))
