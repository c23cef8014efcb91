"""Staff (FTE by activity), the whole meter-to-cash cost, and crews sized from the fleet.

Issue 16, item 2 (:mod:`m2c.sim.staff_costs`): a tiny month's counts turned
into FTE and yuan by hand; crews that scale with ``--customers``; crews that,
when cut, delay disconnections (switch-off test).
"""

from __future__ import annotations

import functools

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest

from m2c.sim import rules as R
from m2c.sim.model import Simulation, simulate
from m2c.sim.run import summarise
from m2c.sim.scenario import ScenarioError, load_scenario
from m2c.sim.staff_costs import (
    ACTIVITIES,
    COLUMNS,
    annuity_factor,
    month_columns,
    station_crews,
    with_county,
)

JOB = {kind: k for k, kind in enumerate(R.JOB_KINDS)}


def _tiny_month():
    """4 customers at 2 stations, baseline_county's defaults ([staff] not set)."""
    sc = load_scenario("baseline_county")
    n = 4
    station = np.array([0, 0, 1, 1])
    # channels of baseline_county: counter 0, agent 1, bank_link 2, mobile_collection 3
    channel = np.array([0, 1, 3, 0])
    meter = np.array([R.Meter.MANUAL, R.Meter.AMI, R.Meter.MANUAL, R.Meter.PREPAID])
    tally = np.zeros((n, len(R.Tally)), dtype=np.int64)
    tally[[0, 1, 2], R.Tally.READS] = 1
    tally[1, R.Tally.ESTIMATED] = 1  # a remote read that failed every retry
    tally[[0, 1, 2], R.Tally.BILLS] = 1
    tally[2, R.Tally.BILL_ERRORS_CAUGHT] = 1
    tally[:, R.Tally.PAYMENTS] = [2, 1, 1, 0]
    tally[3, R.Tally.TOPUPS] = 3
    tally[0, R.Tally.EFFORT_CALLS] = 2
    tally[1, R.Tally.DISCONNECTIONS] = 1
    tally[1, R.Tally.RECONNECTIONS] = 1
    cost = np.zeros((n, len(R.Cost)), dtype=np.int64)
    cost[:, R.Cost.CHANNEL] = [400, 100, 500, 600]
    cost[0, R.Cost.CALL] = 100  # two effort calls at 0.5 CNY
    cost[0, R.Cost.VISIT] = 1500  # one crew visit at 15 CNY
    cost[2, R.Cost.LEGAL] = 80000
    cost[1, R.Cost.DISCONNECT] = 6000  # field work: its labour is in staff_cost instead
    done = np.zeros((2, len(R.JOB_KINDS)), dtype=np.int64)
    done[0, JOB[R.Job.VISIT]] = 1
    done[0, JOB[R.Job.DISCONNECT]] = 1
    done[0, JOB[R.Job.RECONNECT]] = 1
    done[1, JOB[R.Job.NOTICE]] = 1
    done[1, JOB[R.Job.INSPECT]] = 2
    done[1, JOB[R.Job.METER_CHANGE]] = 1
    crews = np.array([2, 1])
    return sc, month_columns(sc, station, channel, meter, tally, cost, done, crews, 30, 1500)


def test_tiny_month_fte_and_cost_by_hand():
    _, col = _tiny_month()
    assert set(col) == set(COLUMNS)
    fte_h = 1600 * 30 / 365  # hours of one FTE in a 30-day month
    rot = 2 * (30 / 365) / 10  # meters rotated per station: 2 meters, 10-year life
    # station 0: manual read 6 min + remote meter 0.5 + failed remote read 30
    #            bills 1.0 + 0.2; counter 2 payments x 4; effort calls 2 x 5,
    #            crew visit 45; disconnection 60 + reconnection 60; rotation x 90
    # station 1: manual read 6 + remote (prepaid) meter 0.5; bill 1.0 + error 30;
    #            mobile payment 15 + 3 counter top-ups x 4; notice 30; inspections 2 x 60;
    #            meter change 90 + rotation x 90
    minutes = {
        "reading": [6 + 0.5 + 30, 6 + 0.5],
        "bill_review": [1.0 + 0.2, 1.0 + 30],
        "counter": [2 * 4, 15 + 3 * 4],
        "dunning": [2 * 5 + 45, 30],
        "disconnection": [60 + 60, 0],
        "inspection": [0, 2 * 60],
        "meter_replacement": [rot * 90, 90 + rot * 90],
    }
    for a in ACTIVITIES:
        want = np.array(minutes[a]) / 60 / fte_h
        np.testing.assert_allclose(col[f"fte_{a}"], want, rtol=1e-12, err_msg=a)
    total = sum(np.array(m) for m in minutes.values()) / 60 / fte_h
    np.testing.assert_allclose(col["fte_total"], total, rtol=1e-12)
    rd = sum(np.array(minutes[a]) for a in ("reading", "dunning", "disconnection"))
    np.testing.assert_allclose(col["fte_reading_dunning"], rd / 60 / fte_h, rtol=1e-12)
    # wages: field 80 000 / 1 600 h = 50 CNY/h, office 70 000 / 1 600 h = 43.75 CNY/h
    field = [6 + 30 + 45 + 120 + rot * 90, 6 + 30 + 120 + 90 + rot * 90]
    office = [0.5 + 1.2 + 8 + 10, 0.5 + 31 + 27]
    staff = [round((f * 50 + o * 43.75) / 60 * 100) for f, o in zip(field, office, strict=True)]
    assert col["staff_cost"].tolist() == staff
    # meters: annuity 6 % over 10 years; station 0 manual + AMI + 1 terminal,
    # station 1 manual + prepaid + 1 terminal; 1 CNY/yr handheld, 6 CNY/yr comms
    a = 0.06 / (1 - 1.06**-10)
    assert annuity_factor(0.06, 10) == pytest.approx(a)
    yearly = [150 * a + 1 + 400 * a + 6 + 3000 * a, 150 * a + 1 + 1500 * a + 6 + 3000 * a]
    assert col["meter_cost"].tolist() == [round(y * 30 / 365 * 100) for y in yearly]
    # fees paid out: channels + calls + legal (the field disconnection's 60 CNY is not)
    assert col["external_cost"].tolist() == [400 + 100 + 100, 500 + 600 + 80000]
    assert col["m2c_cost"].tolist() == [
        s + m + e for s, m, e in zip(staff, col["meter_cost"].tolist(), [600, 81100], strict=True)
    ]
    assert col["crews"].tolist() == [2, 1]
    county = with_county(col)
    assert county["days"].tolist() == [30, 30, 30]
    assert county["m2c_cost"][-1] == col["m2c_cost"].sum()


def test_ladder_calls_are_counted_from_their_cost_and_robot_calls_take_no_staff():
    # fully_automated: a ladder call costs 0.5 CNY; 3 ladder calls + 2 effort calls booked
    sc = load_scenario("fully_automated")
    n = 1
    tally = np.zeros((n, len(R.Tally)), dtype=np.int64)
    tally[0, R.Tally.EFFORT_CALLS] = 2
    cost = np.zeros((n, len(R.Cost)), dtype=np.int64)
    cost[0, R.Cost.CALL] = 3 * 50 + 2 * 50
    done = np.zeros((1, len(R.JOB_KINDS)), dtype=np.int64)
    args = (np.array([0]), np.array([0]), np.array([R.Meter.AMI]), tally, cost, done)
    col = month_columns(sc, *args, np.array([1]), 30, 1500)
    fte_h = 1600 * 30 / 365
    staff_min = (3 * sc.staff.ladder_call_minutes + 2 * 5) / 60 / fte_h
    assert col["fte_dunning"][0] == pytest.approx(staff_min)
    robot = sc.model_copy(update={"staff": sc.staff.model_copy(update={"ladder_call_minutes": 5})})
    col5 = month_columns(robot, *args, np.array([1]), 30, 1500)
    assert col5["fte_dunning"][0] == pytest.approx((3 * 5 + 2 * 5) / 60 / fte_h)


def test_crews_scale_with_the_fleet_and_keep_a_floor_per_station():
    sc = load_scenario("baseline_county")  # 3 urban, 1 rural crews at 20 000 customers
    urban = np.array([True, False])
    assert station_crews(sc, urban, 20_000).tolist() == [3, 1]
    assert station_crews(sc, urban, 100_000).tolist() == [15, 5]
    assert station_crews(sc, urban, 50_000).tolist() == [8, 3]  # 7.5 -> 8, 2.5 -> 3
    assert station_crews(sc, urban, 2_000).tolist() == [1, 1]  # 0.3, 0.1 -> floor 1
    # the model builds its crews this way: --customers scales them
    small = load_scenario("baseline_county", {"run.customers": 400, "run.warmup_days": 0})
    a = Simulation(small, 400, 31, 1).crews.crews
    b = Simulation(small, 2000, 31, 1).crews.crews
    assert b.sum() == pytest.approx(5 * a.sum(), rel=0.05)
    assert (b[:2] == 15).all() and (b[2:] == 5).all()


@functools.cache
def _one_station(crews: int, jobs: int):
    """One station, 500 customers, baseline_county: crews as given, jobs per crew-day."""
    over = {
        "run.warmup_days": 60,
        "run.customers": 500,
        "stations.urban": 1,
        "stations.rural": 0,
        "stations.crews_urban": crews,
        "stations.jobs_per_crew_day": jobs,
    }
    sim = simulate(load_scenario("baseline_county", over), 500, 240, seed=5)
    t = pa.table(sim.kpis.rows)
    return sim, t.filter(pc.equal(t["station"], "ALL"))


def test_cutting_crews_delays_disconnections():
    full_sim, full = _one_station(4, 12)
    cut_sim, cut = _one_station(1, 1)
    # the crews bind: one job a day cannot keep up, the queue grows
    util = lambda t: float(np.mean(t["crew_utilisation"].to_numpy()))  # noqa: E731
    assert util(cut) > 0.9 > util(full)
    assert max(cut["crew_queue_max"].to_numpy()) > 5 * max(full["crew_queue_max"].to_numpy())

    def disconnect_overdue(sim):
        a = sim.events.arrays()
        sel = (a["flags"] & R.EV_DISCONNECT) != 0
        return a["overdue"][sel]

    d_full, d_cut = disconnect_overdue(full_sim), disconnect_overdue(cut_sim)
    assert d_full.size > 0
    # crews that keep up disconnect on the first day allowed: more than 30 days overdue
    # (day 31), + 2 approval days (station head, deputy manager), done on the next shift
    assert (d_full == 31 + 2).all()
    # cut crews: the jobs wait in the queue, so disconnections come later (and, the
    # visits being late too, more customers reach disconnection)
    assert d_cut.min() >= 33 and d_cut.mean() > 33 + 2 and d_cut.max() > 33 + 10
    sf, sc_ = summarise(full, 500), summarise(cut, 500)
    assert sf["crews"] == 4 and sc_["crews"] == 1
    # the staff accounting follows the jobs done: one crew-job a day at most, so the
    # cut station's field FTE (visits 45, notices 30, (dis)connections 60 min) is at
    # most 60 min a day, 60 x 365 / 60 / 1 600 h = 0.23 FTE, plus reading and rotation
    field = sc_["fte_dunning"] + sc_["fte_disconnection"] + sc_["fte_inspection"]
    assert field <= 60 * 365 / 60 / 1600 + 1e-9 < sf["fte_dunning"] + sf["fte_disconnection"]


def test_a_run_reports_staff_and_whole_cost_consistently(runs):
    res = runs("smoke", customers=300, days=120, seed=3)
    k = res.kpi_monthly
    county = k.filter(pc.equal(k["station"], "ALL"))
    st = k.filter(pc.not_equal(k["station"], "ALL"))
    for c in ("staff_cost", "meter_cost", "external_cost", "m2c_cost"):
        assert pc.sum(county[c]).as_py() == pc.sum(st[c]).as_py()
    parts = sum(np.asarray(county[c].to_numpy()) for c in ("staff_cost", "meter_cost"))
    parts = parts + np.asarray(county["external_cost"].to_numpy())
    assert (parts == county["m2c_cost"].to_numpy()).all()
    fte = sum(np.asarray(county[f"fte_{a}"].to_numpy()) for a in ACTIVITIES)
    np.testing.assert_allclose(fte, county["fte_total"].to_numpy())
    s = res.summary
    years = float(pc.sum(county["days"]).as_py()) / 365
    assert s["m2c_cost_per_customer_year"] == pytest.approx(s["m2c_cost"] / 300 / years)
    assert s["collection_cost_per_customer_year"] == pytest.approx(
        s["collection_cost"] / 300 / years
    )
    assert s["m2c_cost"] > 0 and s["fte_total"] > 0


def test_channel_minutes_must_name_the_scenarios_channels():
    with pytest.raises(ScenarioError, match=r"staff\.channel_minutes: countr not a channel"):
        load_scenario("baseline_county", {"staff.channel_minutes": {"countr": 4.0}})
    sc = load_scenario("baseline_county", {"staff.channel_minutes": {"counter": 3.0}})
    assert sc.staff.channel_minutes == {"counter": 3.0}


def test_yearly_figures_put_both_cost_bases_per_customer_year(runs):
    from m2c.sim.compare.stats import yearly_tidy

    res = runs("smoke", customers=300, days=120, seed=3)
    t = yearly_tidy(res.kpi_monthly, 300)
    county = res.kpi_monthly.filter(pc.equal(res.kpi_monthly["station"], "ALL"))
    for y in sorted(set(t["year"].to_pylist())):
        rows = county.filter(pc.starts_with(county["month"], str(y)))
        days = pc.sum(rows["days"]).as_py()
        got = {r["kpi"]: r["value"] for r in t.filter(pc.equal(t["year"], y)).to_pylist()}
        for cost in ("m2c_cost", "collection_cost"):
            want = pc.sum(rows[cost]).as_py() / 300 * 365 / days
            assert got[f"{cost}_per_customer_year"] == pytest.approx(want)
        fte = pc.mean(rows["fte_total"]).as_py()
        assert got["fte_per_1000_customers"] == pytest.approx(fte / 300 * 1000)


def test_the_scenario_written_with_a_run_gives_the_same_crews(tmp_path):
    from m2c.sim.run import run_simulation, write_run

    sc = load_scenario("baseline_county", {"run.warmup_days": 0, "run.days": 31})
    # 2 000 customers: 3 x 0.1 and 1 x 0.1 crews -> the floor, 1 and 1 per station
    folder = write_run(run_simulation(sc, customers=2000, days=31, seed=1), tmp_path / "r")
    again = load_scenario(folder / "scenario.toml")
    assert (again.stations.crews_urban, again.stations.crews_rural) == (1, 1)
    assert again.run.customers == 2000
    urban = np.array([True, False])
    assert station_crews(again, urban, 2000).tolist() == station_crews(sc, urban, 2000).tolist()
