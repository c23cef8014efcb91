"""``m2c hil`` against an emulator on a pty, ``--address`` parsing, ``m2c emulate --scenario``."""

from __future__ import annotations

import csv
import json

import pyarrow.compute as pc
import pytest
from typer.testing import CliRunner

from m2c.cli import app
from m2c.devices.dlt645.client import Dlt645Client
from m2c.devices.emulate import start_emulator
from m2c.devices.state import InMemoryState
from m2c.devices.transport import SerialSettings, open_transport
from m2c.sim.hil.feed import scenario_meters
from m2c.sim.model import Simulation
from m2c.sim.run import events_table, verify_run_folder
from m2c.sim.scenario import load_scenario

runner = CliRunner()
SECRET = "135792"


@pytest.fixture(scope="module")
def disconnected() -> int:
    """A smoke customer that the 120-day baseline run disconnects."""
    sc = load_scenario("smoke")
    ev = events_table(Simulation(sc, sc.run.customers, 120, sc.run.seed).run())
    cut = ev.filter(pc.equal(ev["event"], "disconnect"))
    return int(pc.min(cut["customer"]).as_py())


def _hil(port: str, customer: int, out, *extra: str, env=None):
    args = [
        "hil",
        "smoke",
        "--port",
        port,
        "--address",
        f"{customer}=000000000001",
        "--address",
        "000000000002",
        "--days",
        "120",
        "--out",
        str(out),
        *extra,
    ]
    return runner.invoke(app, args, env=env)


def _csv(path) -> list[dict]:
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def test_hil_logs_relay_actions_without_the_flag(tmp_path, disconnected):
    state = InMemoryState.synthetic(2, seed=5)
    with start_emulator("dlt645", "pty", state) as emu:
        res = _hil(emu.where, disconnected, tmp_path / "run", env={"M2C_METER_PASSWORD": SECRET})
    assert res.exit_code == 0, res.output
    assert "relay control not allowed" in res.output
    actions = _csv(tmp_path / "run" / "relay_actions.csv")
    assert actions and {a["outcome"] for a in actions} == {"would_send"}
    assert {a["customer"] for a in actions} == {str(disconnected)}
    assert state.relay.all()  # nothing was switched
    reads = _csv(tmp_path / "run" / "meter_reads.csv")
    # the synthetic registers do not move: each read is actual and bills no energy
    assert len(reads) == 8 and {r["outcome"] for r in reads} == {"actual"}
    assert {int(r["total_ckwh"]) for r in reads if r["address"] == "000000000001"} == {
        state.energy_ckwh(0)
    }
    hil = json.loads((tmp_path / "run" / "hil.json").read_text())
    assert hil["allow_relay_control"] is False and hil["summary"]["reads_actual"] == 8
    # the logs are part of the run folder: hashed by the manifest, which is written last
    manifest = json.loads((tmp_path / "run" / "manifest.json").read_text())
    assert {"meter_reads.csv", "relay_actions.csv", "hil.json"} <= set(manifest["files"])
    assert verify_run_folder(tmp_path / "run") == []
    # the password is never printed or written
    assert SECRET not in res.output
    for f in (tmp_path / "run").iterdir():
        assert SECRET.encode() not in f.read_bytes(), f.name


def test_hil_sends_trip_and_close_with_the_flag(tmp_path, disconnected):
    state = InMemoryState.synthetic(2, seed=5)
    with start_emulator("dlt645", "pty", state) as emu:
        res = _hil(
            emu.where,
            disconnected,
            tmp_path / "run",
            "--allow-relay-control",
            env={"M2C_METER_PASSWORD": "000000"},
        )
    assert res.exit_code == 0, res.output
    actions = _csv(tmp_path / "run" / "relay_actions.csv")
    assert actions and {a["outcome"] for a in actions} == {"sent"}
    assert state.relay_closed(0) == (actions[-1]["action"] == "close")


def test_hil_refuses_an_existing_out_before_opening_the_bus(tmp_path):
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "notes.txt").write_text("mine")
    # the port does not exist: had the bus been opened first, the error would name it
    args = ["hil", "smoke", "--port", str(tmp_path / "no-such-tty"), "--address", "1"]
    res = runner.invoke(app, [*args, "--out", str(tmp_path / "run")])
    assert res.exit_code == 2 and "--out" in res.output and "not empty" in res.output, res.output
    assert "no-such-tty" not in res.output.replace(str(tmp_path / "run"), "")
    assert (tmp_path / "run" / "notes.txt").read_text() == "mine"


def test_hil_refuses_relay_control_without_a_password(tmp_path):
    res = runner.invoke(
        app,
        ["hil", "smoke", "--port", "loop://", "--address", "1", "--allow-relay-control"],
        env={"M2C_METER_PASSWORD": ""},
    )
    assert res.exit_code == 2 and "M2C_METER_PASSWORD" in res.output


def test_hil_stops_when_a_meter_does_not_answer(tmp_path):
    with start_emulator("dlt645", "pty", InMemoryState.synthetic(1)) as emu:
        res = runner.invoke(
            app,
            [
                "hil",
                "smoke",
                "--port",
                emu.where,
                "--address",
                "000000000042",
                "--timeout",
                "0.05",
                "--retries",
                "0",
                "--out",
                str(tmp_path / "run"),
            ],
        )
    assert res.exit_code == 2 and "000000000042" in res.output
    assert not (tmp_path / "run").exists()


def test_emulate_a_scenario_in_another_process(emulator_process):
    with (
        emulator_process(
            "--scenario", "smoke", "--meters", "3", "--days", "10", "--duration", "60"
        ) as path,
        open_transport(path, SerialSettings(2400, "8E1", 1.0)) as t,
    ):
        client = Dlt645Client(t, timeout_s=2.0)
        read = [client.read_energy_block_ckwh(f"00000000000{k}") for k in (1, 2, 3)]
    sc = load_scenario("smoke")
    twin = scenario_meters(Simulation(sc, sc.run.customers, 11, sc.run.seed), 3, 10)
    assert [list(r) for r in read] == twin.registers().tolist()
    assert [r[0] for r in read] == [sum(r[1:]) for r in read]  # total = T1 + .. + T4


def test_an_interrupted_hil_run_keeps_its_reads(tmp_path, monkeypatch):
    from m2c.sim.hil import session

    def cut_short(sim, progress=None, setup_s=0.0):
        sim.start()
        sim.advance(40)  # two reading days, then Ctrl-C
        raise KeyboardInterrupt

    monkeypatch.setattr(session, "run_built", cut_short)
    with start_emulator("dlt645", "pty", InMemoryState.synthetic(1)) as emu:
        res = runner.invoke(
            app,
            [
                "hil",
                "smoke",
                "--port",
                emu.where,
                "--address",
                "000000000001",
                "--out",
                str(tmp_path / "run"),
            ],
        )
    assert res.exit_code == 130 and "interrupted on day 40" in res.output
    reads = _csv(tmp_path / "run" / "meter_reads.csv")
    assert len(reads) == 2 and {r["outcome"] for r in reads} == {"actual"}
    assert json.loads((tmp_path / "run" / "hil.json").read_text())["interrupted_at_day"] == 40
    # an interrupted run is no run: marked, so verify refuses it and --force may replace it
    assert verify_run_folder(tmp_path / "run") == [f"{tmp_path / 'run'}: marked INCOMPLETE"]


def test_run_through_driver_reads_every_meter_and_matches_the_fast_path(tmp_path):
    res = runner.invoke(
        app,
        ["run", "smoke", "--days", "62", "--through-driver", "all", "--out", str(tmp_path / "run")],
    )
    assert res.exit_code == 0, res.output
    assert "300 meters read through the driver" in res.output
    assert "identical to" in " ".join(res.output.split())
    res = runner.invoke(app, ["run", "smoke", "--through-driver", "0"])
    assert res.exit_code == 2 and "expected a number of customers" in res.output
