"""Issue 13: one-line refusals (file, key or argument, what was expected; exit 2), never tracebacks.

Each case was a traceback, or an error after the whole simulation, or a scenario
that ``validate`` accepted and ``run`` could not run.
"""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

import m2c.cli.bill as cli_bill
import m2c.cli.run as cli_run
from m2c.cli import app
from m2c.core import units as U
from m2c.core.tariffs import bundled_tariff, compile_tariffs
from m2c.sim.scenario import CONSUMPTION_FACTOR_MAX, load_scenario

cli = CliRunner()


def _one_line(r, *needles):
    """Exit 2, no traceback, and the message names every needle."""
    assert r.exit_code == 2, r.output
    assert "Traceback" not in r.output
    assert r.exception is None or isinstance(r.exception, SystemExit), r.exception
    for n in needles:
        assert n in r.output, (n, r.output)


@pytest.fixture
def no_simulation(monkeypatch):
    """Fail the test if a simulation starts (refusals must come before it)."""

    def boom(*a, **k):
        raise AssertionError("the simulation started before the refusal")

    monkeypatch.setattr(cli_run, "run_simulation", boom)


def _scenario(tmp_path, body, name="s.toml", extends="smoke"):
    p = tmp_path / name
    p.write_text(f'extends = "{extends}"\nname = "{p.stem}"\n{body}')
    return p


# --- --out is checked before the work -----------------------------------------------------


def test_run_out_naming_a_file_is_refused_before_the_simulation(tmp_path, no_simulation):
    f = tmp_path / "notes.txt"
    f.write_text("keep me")
    _one_line(cli.invoke(app, ["run", "smoke", "--out", str(f)]), "notes.txt", "existing file")
    assert f.read_text() == "keep me"


@pytest.mark.parametrize("where", ["under_a_file", "proc"])
def test_run_out_in_an_unwritable_place_is_refused_before_the_simulation(
    tmp_path, no_simulation, where
):
    (tmp_path / "f").write_text("")
    out = tmp_path / "f" / "run" if where == "under_a_file" else "/proc/m2c-issue13/run"
    _one_line(cli.invoke(app, ["run", "smoke", "--out", str(out)]), f"--out {out}")


def test_run_into_a_finished_run_folder_needs_force(tmp_path):
    out = tmp_path / "r3"
    args = ["run", "smoke", "--customers", "60", "--days", "31", "--out", str(out)]
    assert cli.invoke(app, [*args, "--seed", "9"]).exit_code == 0
    _one_line(cli.invoke(app, [*args, "--seed", "3"]), "not empty", "--force")
    assert '"seed": 9' in (out / "manifest.json").read_text()
    r = cli.invoke(app, [*args, "--seed", "3", "--force"])
    assert r.exit_code == 0, r.output
    assert '"seed": 3' in (out / "manifest.json").read_text()


def test_bill_out_suffix_is_checked_before_billing(tmp_path, monkeypatch):
    def boom(*a, **k):
        raise AssertionError("billed before checking --out")

    monkeypatch.setattr(cli_bill, "bill_load", boom)
    _one_line(
        cli.invoke(app, ["bill", "--out", str(tmp_path / "x.txt")]), "x.txt", ".parquet or .csv"
    )
    (tmp_path / "f").write_text("")
    _one_line(cli.invoke(app, ["bill", "--out", str(tmp_path / "f" / "x.csv")]), "is a file")


# --- scenario files -----------------------------------------------------------------------


def test_validate_on_a_binary_file(tmp_path):
    p = tmp_path / "photo.toml"
    p.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00")
    _one_line(cli.invoke(app, ["validate", str(p)]), "photo.toml", "byte 0x89 at offset 0")


def test_extends_cycle_across_two_files(tmp_path):
    _scenario(tmp_path, "", "a.toml", extends="b.toml")
    _scenario(tmp_path, "", "b.toml", extends="a.toml")
    r = cli.invoke(app, ["validate", str(tmp_path / "a.toml")])
    _one_line(r, "extends: cycle", "a.toml -> ", "b.toml -> ")


def test_relative_extends_is_resolved_against_the_scenario_folder(tmp_path, monkeypatch):
    sub = tmp_path / "county"
    sub.mkdir()
    _scenario(sub, "[run]\ndays = 77\n", "parent.toml")
    _scenario(sub, "", "child.toml", extends="parent.toml")
    # a decoy in the current directory must not be the one used
    _scenario(tmp_path, "[run]\ndays = 11\n", "parent.toml")
    monkeypatch.chdir(tmp_path)
    assert load_scenario(sub / "child.toml").run.days == 77
    monkeypatch.chdir(sub.parent.parent)
    assert load_scenario(sub / "child.toml").run.days == 77


def test_a_parents_error_is_reported_under_the_parents_name(tmp_path):
    _scenario(tmp_path, "[dunning]\ndisconect_after_days = 40\n", "parent.toml")
    child = _scenario(tmp_path, "[run]\ndays = 30\n", "child.toml", extends="parent.toml")
    r = cli.invoke(app, ["validate", str(child)])
    _one_line(r, f"{tmp_path / 'parent.toml'}: dunning.disconect_after_days")
    assert "child.toml:" not in r.output


@pytest.mark.parametrize(
    ("body", "needles"),
    [
        (
            '[classes.residential]\ntariff = "no_such_tariff"\n',
            ["classes.residential.tariff", "unknown tariff 'no_such_tariff'", "expected one of"],
        ),
        ('[run]\nstart = "2025-02-30"\n', ["run.start", "'2025-02-30'", "day is out of range"]),
        ("[dunning]\ndisconnect_cost_yuan = 1e300\n", ["dunning.disconnect_cost_yuan", "at most"]),
        ("[dunning]\ndisconnect_cost_yuan = 0.001\n", ["whole number of fen"]),
        ("[classes.residential]\nkwh_per_day = 1e300\n", ["classes.residential.kwh_per_day"]),
        ("[dunning]\nlegal_days = 1000000000000\n", ["dunning.legal_days", "2147483647"]),
        ("[classes.industrial]\ncapacity_kva = [10000000000]\n", ["capacity_kva", "kVA"]),
        ("[billing]\nerror_factor = 99999999999999999999999\n", ["billing.error_factor"]),
    ],
)
def test_validate_refuses_what_run_cannot_run(tmp_path, no_simulation, body, needles):
    p = _scenario(tmp_path, body)
    _one_line(cli.invoke(app, ["validate", str(p)]), str(p), *needles)
    out = tmp_path / "never"
    _one_line(cli.invoke(app, ["run", str(p), "--out", str(out)]), *needles)
    assert not out.exists()


def test_kwh_per_day_bound_comes_from_int64_headroom(tmp_path):
    sc = load_scenario("smoke")
    c = sc.classes["residential"]
    price = compile_tariffs([bundled_tariff(c.tariff)]).arrays.e_price.max() / U.NANO_PER_UNIT
    # a month's energy line may not exceed MAX_LINE_UNITS = 9 223 372 units (core/units.py):
    # 31 days x the largest season factor x the largest consumption factor x the price
    bound = 9_223_372 / (31 * max(c.season) * CONSUMPTION_FACTOR_MAX * price)
    # |Z| <= sqrt(2 x 53 ln 2) = 8.5716; exp((0.35 + 0.15) x 8.5716) = exp(4.2858) = 72.66
    assert abs(CONSUMPTION_FACTOR_MAX - 72.66) < 0.01
    assert 1_000 < bound < 100_000  # residential, ~0.5-0.8 CNY/kWh: a few thousand kWh/day
    ok = _scenario(tmp_path, f"[classes.residential]\nkwh_per_day = {bound * 0.999}\n", "ok.toml")
    assert load_scenario(ok).classes["residential"].kwh_per_day == pytest.approx(bound * 0.999)
    # the 1e11 kWh/day, which gave 135 bills instead of 200 and a "balanced" ledger
    bad = _scenario(tmp_path, "[classes.residential]\nkwh_per_day = 1e11\n", "bad.toml")
    r = cli.invoke(app, ["validate", str(bad)])
    _one_line(r, "classes.residential.kwh_per_day", f"expected at most {bound:.6g} kWh/day")


def test_a_trillion_customers_is_refused_with_the_memory_estimate(no_simulation):
    for cmd in ("validate", "run"):
        r = cli.invoke(app, [cmd, "smoke", "--customers", "1000000000000"])
        _one_line(r, "--customers 1,000,000,000,000", "PiB of memory", "this machine has")


def test_validate_reports_the_memory_it_needs():
    r = cli.invoke(app, ["validate", "smoke"])
    assert r.exit_code == 0 and "MiB of memory" in r.output


def test_compare_with_no_scheduler_fails_fast_in_one_line(tmp_path):
    r = cli.invoke(
        app,
        [
            "compare",
            "smoke",
            "prepaid_county",
            "--scheduler",
            "tcp://127.0.0.1:1",
            "--replications",
            "1",
            "--out",
            str(tmp_path / "c"),
        ],
    )
    _one_line(r, "--scheduler tcp://127.0.0.1:1", "no Dask scheduler answers there")
