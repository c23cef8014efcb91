"""Run folders appear whole or not at all, never mix two runs, and balance from their files.

Issue 13: ``write_run`` overwrote an existing ``--out`` file by file (a kill
mid-write left the old manifest next to the new KPIs), two runs into one folder
both "succeeded", a scenario name could climb out of ``runs/``, and the ledger
alone could not prove conservation (no opening or closing balances).
"""

from __future__ import annotations

import json

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from m2c.sim import run as run_mod
from m2c.sim.run import (
    INCOMPLETE,
    RunFolderError,
    folder_name,
    reserve_run_folder,
    run_simulation,
    verify_run_folder,
    write_run,
)
from m2c.sim.scenario import load_scenario


@pytest.fixture(scope="module")
def two_runs():
    sc = load_scenario("smoke")
    return (
        run_simulation(sc, customers=120, days=40, seed=9),
        run_simulation(sc, customers=150, days=40, seed=3),
    )


def _seed(folder):
    return json.loads((folder / "manifest.json").read_text())["seed"]


def test_existing_run_folder_is_refused_and_force_replaces_it(tmp_path, two_runs):
    old, new = two_runs
    out = write_run(old, tmp_path / "r3")
    with pytest.raises(RunFolderError, match=r"r3: folder exists and is not empty.*--force"):
        write_run(new, out)
    assert _seed(out) == 9 and verify_run_folder(out) == []
    write_run(new, out, force=True)
    assert _seed(out) == 3 and verify_run_folder(out) == []
    assert pq.read_table(out / "balances.parquet").num_rows == 150
    # nothing left beside it: no temporary sibling, no old copy, no lock file
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r3"]


def test_force_never_replaces_a_folder_that_is_not_a_run(tmp_path, two_runs):
    (tmp_path / "home").mkdir()
    (tmp_path / "home" / "thesis.tex").write_text("years of work")
    with pytest.raises(RunFolderError, match="not a run folder"):
        write_run(two_runs[0], tmp_path / "home", force=True)
    assert (tmp_path / "home" / "thesis.tex").read_text() == "years of work"


def test_a_crash_while_writing_leaves_the_old_run_whole(tmp_path, two_runs, monkeypatch):
    old, new = two_runs
    out = write_run(old, tmp_path / "r3")
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    calls = []
    real = run_mod.write_table

    def dying(table, path):
        calls.append(path)
        if len(calls) == 3:  # killed after scenario.toml and two tables of the new run
            raise KeyboardInterrupt
        return real(table, path)

    monkeypatch.setattr(run_mod, "write_table", dying)
    with pytest.raises(KeyboardInterrupt):
        write_run(new, out, force=True)
    # before the fix: scenario.toml and kpi_monthly were the new run's, manifest the old one's
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
    assert _seed(out) == 9 and verify_run_folder(out) == []
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r3"]  # temporary sibling removed


def test_a_second_concurrent_run_into_the_same_folder_is_refused(tmp_path, two_runs):
    out = tmp_path / "r"
    with reserve_run_folder(out, "smoke") as first:
        assert (first.tmp / INCOMPLETE).is_file() and first.tmp.name.startswith(".r.tmp-")
        busy = "another m2c run is writing into this folder"
        with pytest.raises(RunFolderError, match=busy), reserve_run_folder(out, "smoke"):
            pass
        first.commit(two_runs[0])
    assert _seed(out) == 9
    # the lock is free again: now the folder itself is what is refused
    with pytest.raises(RunFolderError, match="not empty"), reserve_run_folder(out, "smoke"):
        pass


@pytest.mark.parametrize(
    ("name", "label"),
    [("../../escaped", "escaped"), ("/etc/cron.d/x", "etc_cron.d_x"), ("..", "run")],
)
def test_a_scenario_name_is_a_label_never_a_path(tmp_path, monkeypatch, two_runs, name, label):
    assert folder_name(name) == label
    monkeypatch.chdir(tmp_path)
    res = two_runs[0]
    scenario = res.scenario.model_copy(update={"name": name})
    folder = write_run(type(res)(**{**res.__dict__, "scenario": scenario}))
    assert folder.resolve().parent == (tmp_path / "runs").resolve()
    assert folder.name.startswith(f"{label}-")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["runs"]


def test_balances_recompute_from_the_files_alone(tmp_path, two_runs):
    res = two_runs[1]
    out = write_run(res, tmp_path / "r")
    led = pq.read_table(out / "ledger.parquet").to_pydict()
    bal = pq.read_table(out / "balances.parquet").to_pydict()
    signs = json.loads((out / "manifest.json").read_text())["ledger_signs"]
    # bills, debits, fees, adjustments add to what is owed; payments, top-ups, write-offs reduce it
    assert signs == {
        "bill": 1,
        "payment": -1,
        "topup": -1,
        "prepaid_debit": 1,
        "late_fee": 1,
        "adjustment": 1,
        "write_off": -1,
    }
    charges = [0] * 150
    credits = [0] * 150
    for c, k, a in zip(led["customer"], led["kind"], led["amount_fen"], strict=True):
        if signs[k] > 0:
            charges[c] += a
        else:
            credits[c] += a
    assert bal["charges_fen"] == charges and bal["credits_fen"] == credits
    for c in range(150):
        assert bal["opening_fen"][c] + charges[c] - credits[c] == bal["closing_fen"][c]
    assert bal["closing_fen"] == res.ledger.balances().tolist()
    assert sum(bal["opening_fen"]) != 0  # the opening arrears are really there
    assert verify_run_folder(out) == []


def test_verify_finds_a_tampered_ledger(tmp_path, two_runs):
    out = write_run(two_runs[0], tmp_path / "r")
    led = pq.read_table(out / "ledger.parquet")
    amounts = led["amount_fen"].to_numpy().copy()
    amounts[0] += 1  # one fen
    led = led.set_column(led.schema.get_field_index("amount_fen"), "amount_fen", pa.array(amounts))
    pq.write_table(led, out / "ledger.parquet")
    assert any("differs from the manifest" in p for p in verify_run_folder(out))
    # and with the manifest's checksum brought in line, the balance identity catches it
    m = json.loads((out / "manifest.json").read_text())
    f = out / "ledger.parquet"
    m["files"]["ledger.parquet"] = {"bytes": f.stat().st_size, "sha256": run_mod._sha256(f)}
    (out / "manifest.json").write_text(json.dumps(m))
    (problem,) = verify_run_folder(out)
    customer = int(pq.read_table(f)["customer"][0].as_py())
    assert f"customer {customer}:" in problem and "1 customers off" in problem


def test_memory_estimate_refuses_a_trillion_customers():
    sc = load_scenario("smoke")
    # 365 + 120 + 31 = 516 simulated days: 4096 + 12 x 516 = 10 288 B per customer
    assert run_mod.memory_estimate(1000, 120, 365) == 300 * 2**20 + 1000 * (4096 + 12 * 516)
    refusal = r"--customers 1,000,000,000,000: .* needs about [\d.]+ PiB of memory"
    with pytest.raises(ValueError, match=refusal):
        run_mod.check_runnable(sc, customers=10**12)
    w = sc.run.warmup_days
    assert run_mod.check_runnable(sc) == run_mod.memory_estimate(300, 120, w, 3)
    # 3 stations x (516 // 30 + 1 = 18 months) x 2048 B on top of the customers
    assert run_mod.memory_estimate(300, 120, 365, 3) - run_mod.memory_estimate(300, 120) == (
        3 * 18 * 2048
    )
    many = load_scenario("smoke", overrides={"stations.rural": 2**31 - 2})
    with pytest.raises(ValueError, match=r"stations: 2,147,483,647 stations need about"):
        run_mod.check_runnable(many)


def test_balances_table_matches_ledger_by_hand():
    from m2c.core import ledger as L

    led = L.Ledger(2, np.array([500, -20], dtype=np.int64))
    led.append(0, 1, L.KIND_NAMES.index("bill"), 300)
    led.append(0, 2, L.KIND_NAMES.index("payment"), 700)
    led.append(1, 2, L.KIND_NAMES.index("late_fee"), 5)
    t = run_mod.balances_table(led).to_pydict()
    # customer 0: 500 + 300 - 700 = 100; customer 1: -20 + 5 - 0 = -15
    assert t["closing_fen"] == [100, -15]
    assert t["charges_fen"] == [300, 5] and t["credits_fen"] == [700, 0]


def test_the_lock_holds_across_processes(tmp_path, two_runs):
    import subprocess
    import sys

    out = tmp_path / "r"
    code = (
        "import sys, time\nfrom m2c.sim.run import reserve_run_folder\n"
        f"with reserve_run_folder({str(out)!r}, 'smoke'):\n"
        "    print('held', flush=True)\n    time.sleep(60)\n"
    )
    holder = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE)
    try:
        assert holder.stdout.readline().strip() == b"held"
        with pytest.raises(RunFolderError, match="another m2c run is writing"):
            write_run(two_runs[0], out)
    finally:
        holder.kill()  # SIGKILL: the kernel releases the lock with the process
        holder.wait()
    assert _seed(write_run(two_runs[0], out)) == 9
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r"]  # the dead run's leftovers gone


def test_a_run_with_a_warm_up_reports_and_writes_its_own_days(tmp_path):
    """result.days is the reported period; the warm-up is recorded apart, so the
    scenario.toml written into the folder reruns the same run (not warm-up + days)."""
    import tomllib

    from m2c.sim.run import run_simulation, write_run
    from m2c.sim.scenario import load_scenario

    sc = load_scenario("smoke", {"run.warmup_days": 31})
    result = run_simulation(sc, customers=40, days=45, seed=3)
    # the warm-up starts on the 1st of a month at least 31 days before run.start
    assert result.days == 45 and 31 <= result.warmup_days <= 31 + 30
    assert result.simulated_days == 45 + result.warmup_days
    folder = write_run(result, tmp_path / "r")
    written = tomllib.loads((folder / "scenario.toml").read_text())
    assert written["run"]["days"] == 45 and written["run"]["warmup_days"] == 31


def test_the_progress_total_counts_the_warm_up():
    """The run's progress bar counts every simulated day, warm-up included."""
    from m2c.sim.run import days_to_simulate, run_simulation
    from m2c.sim.scenario import load_scenario

    sc = load_scenario("smoke", {"run.warmup_days": 31})
    seen = []
    result = run_simulation(sc, customers=20, days=45, seed=3, progress=seen.append)
    assert days_to_simulate(sc, 45) == result.simulated_days == seen[-1] == len(seen)


def test_the_run_summary_averages_whole_months_only():
    """A 45-day run from 1 January: February is simulated in part, so the mean of
    monthly rates is January's alone; sums still cover both months."""
    import pyarrow.compute as pc

    from m2c.sim.run import run_simulation
    from m2c.sim.scenario import load_scenario

    sc = load_scenario("smoke", {"run.warmup_days": 0, "run.start": "2025-01-01"})
    result = run_simulation(sc, customers=60, days=45, seed=3)
    county = result.kpi_monthly.filter(pc.equal(result.kpi_monthly["station"], "ALL"))
    assert county["month"].to_pylist() == ["2025-01", "2025-02"]
    assert county["full_month"].to_pylist() == [True, False]
    rates = county["dso_days"].to_pylist()
    assert result.summary["dso_days"] == rates[0] != (rates[0] + rates[1]) / 2
    assert result.summary["disconnections"] == sum(county["disconnections"].to_pylist())
