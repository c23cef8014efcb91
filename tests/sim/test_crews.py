"""Field crews: the job queue, and notice timeliness against the allowance (issue 16)."""

from __future__ import annotations

import numpy as np
import pytest
import simpy

from m2c.sim import rules as R
from m2c.sim.crews import StationCrews


def _run(crews, jobs_per_day, allowance, requests, days):
    """Run ``days`` days; ``requests`` maps day -> (stations, customers, job masks)."""
    env = simpy.Environment()
    sc = StationCrews(env, np.array(crews), jobs_per_day, allowance)
    served: list[tuple[int, int, int]] = []

    def proc():
        for d in range(days):
            if d in requests:
                st, cu, jb = (np.array(x, dtype=np.int64) for x in requests[d])
                sc.request(d, st, cu, jb)
            yield env.process(sc.work(d, lambda c, k, d=d: served.append((d, c, int(k)))))
            yield env.timeout(d + 1 - env.now)

    env.process(proc())
    env.run()
    return sc, served


def test_one_job_a_day_three_notices_on_day_0():
    # 1 crew x 1 job a day, 3 notices requested on day 0, allowance 0 days: served on
    # days 0, 1, 2 (customers in order); only the first is on time: 1 of 3 (the other two
    # are late at the end of day 0, still queued)
    n = int(R.Job.NOTICE)
    sc, served = _run([1], 1, 0, {0: ([0, 0, 0], [7, 5, 6], [n, n, n])}, 3)
    assert served == [(0, 5, n), (1, 6, n), (2, 7, n)]
    done, cap, qmax, qnow, notices, on_time = sc.month_stats()
    assert qmax.tolist() == [2]  # after day 0 two notices still wait
    assert notices.tolist() == [3] and on_time.tolist() == [1]
    assert done.tolist() == [3] and cap.tolist() == [3] and qnow.tolist() == [0]
    # the counts reset with the month
    assert sc.take_notice_stats()[0].tolist() == [0]


def test_allowance_of_one_day_makes_the_second_on_time():
    # same queue, allowance 1 day: days 0 and 1 are on time (waits 0, 1); the third is
    # still queued at the end of day 1, its last allowed day: late
    n = int(R.Job.NOTICE)
    sc, _ = _run([1], 1, 1, {0: ([0, 0, 0], [0, 1, 2], [n, n, n])}, 3)
    served, on_time = sc.take_notice_stats()
    assert (served.tolist(), on_time.tolist()) == ([3], [2])


def test_visits_count_reconnections_do_not_and_go_first():
    # 1 crew x 2 jobs a day, allowance 0. Day 0 asks a visit (c1) and a notice (c2), day 1
    # a reconnection (c3) and a visit (c4). Priority reconnect < notice < visit: day 0
    # serves c2 then c1 (waits 0), day 1 c3 then c4 (wait 0): notice-type 3, on time 3
    v, n, rc = int(R.Job.VISIT), int(R.Job.NOTICE), int(R.Job.RECONNECT)
    sc, order = _run([1], 2, 0, {0: ([0, 0], [1, 2], [v, n]), 1: ([0, 0], [3, 4], [rc, v])}, 2)
    assert [(d, c) for d, c, _ in order] == [(0, 2), (0, 1), (1, 3), (1, 4)]
    served, on_time = sc.take_notice_stats()
    assert (served.tolist(), on_time.tolist()) == ([3], [3])


def test_two_crews_one_job_each_three_visits():
    # 2 crews x 1 job a day, 3 visits on day 0, allowance 0: 2 served on day 0 (on time),
    # the third on day 1 (waited 1 day: late) -> 3 served, 2 on time
    v = int(R.Job.VISIT)
    sc, _ = _run([2], 1, 0, {0: ([0, 0, 0], [10, 11, 12], [v, v, v])}, 2)
    served, on_time = sc.take_notice_stats()
    assert (served.tolist(), on_time.tolist()) == ([3], [2])


def test_notices_no_crew_reaches_are_late():
    # a station without crews (0 shifts): 2 notices asked on day 0, allowance 1: nothing is
    # served; at the end of day 1 both are late (due 2, on time 0) and stay counted once
    n = int(R.Job.NOTICE)
    sc, served = _run([0], 5, 1, {0: ([0, 0], [1, 2], [n, n])}, 4)
    assert served == []
    due, on_time = sc.take_notice_stats()
    assert (due.tolist(), on_time.tolist()) == ([2], [0])


def test_a_late_notice_served_later_is_counted_once():
    # 1 crew x 1 job a day, allowance 0: day 0 asks notices c1, c2; c1 on time on day 0, c2
    # late at the end of day 0, served on day 1 (not counted again): due 2, on time 1
    n = int(R.Job.NOTICE)
    sc, served = _run([1], 1, 0, {0: ([0, 0], [1, 2], [n, n])}, 2)
    assert [(d, c) for d, c, _ in served] == [(0, 1), (1, 2)]
    due, on_time = sc.take_notice_stats()
    assert (due.tolist(), on_time.tolist()) == ([2], [1])


def test_negative_allowance_is_refused():
    with pytest.raises(ValueError, match="notice_allowance_days"):
        StationCrews(simpy.Environment(), np.array([1]), 1, -1)


def test_kpi_rows_add_electronic_notices_as_on_time():
    # station 0: crews served 3 notice-type jobs, 1 on time; station 1: 2 electronic notices
    # (tally NOTICES_DIRECT) and no crew job. Expected notices_due / on_time / rate:
    # station 0: 3 / 1 / 1/3; station 1: 2 / 2 / 1.0; county: 5 / 3 / 0.6
    from types import SimpleNamespace

    from m2c.sim.kpi import KpiCollector

    n, slots = 2, 1
    z = np.zeros((n, slots), dtype=np.int64)
    state = SimpleNamespace(
        cs=np.zeros((n, len(R.Field)), dtype=np.int64),
        unpaid=z,
        recv=z.copy(),
        due=z.copy(),
        tally=np.zeros((n, len(R.Tally)), dtype=np.int64),
        cost=np.zeros((n, len(R.Cost)), dtype=np.int64),
    )
    state.tally[1, R.Tally.NOTICES_DIRECT] = 2
    k = KpiCollector(2, ["U01", "R02"])
    i64 = np.array
    crew = (i64([3, 0]), i64([8, 8]), i64([2, 0]), i64([0, 0]), i64([3, 0]), i64([1, 0]))
    station = np.array([0, 1], dtype=np.int64)
    k.month("2025-01", 30, 0, 31, 2025, np.array([2025]), station, state, crew)
    assert k.rows["notices_due"] == [3, 2, 5]
    assert k.rows["notices_on_time"] == [1, 2, 3]
    assert k.rows["notice_timeliness"] == pytest.approx([1 / 3, 1.0, 0.6])
    # the old 4-tuple of crew statistics: only the electronic notices are counted
    k.month("2025-02", 58, 0, 28, 2025, np.array([2025]), station, state, crew[:4])
    assert k.rows["notices_due"][3:] == [0, 2, 2]


def test_allowance_in_a_model_run(runs):
    # baseline: visits on day 5, the notice on day 20 and visits on day 45 overdue queue at
    # the stations; peaks after the reading days make some wait. More allowance never makes
    # fewer notices on time, and an allowance longer than the run makes all on time.
    from m2c.sim.run import run_simulation
    from m2c.sim.scenario import load_scenario

    got = {}
    for allowance in (0, 1, 400):
        sc = load_scenario(
            "baseline_county", overrides={"dunning.notice_allowance_days": allowance}
        )
        s = run_simulation(sc, customers=1500, days=120, seed=4).summary
        got[allowance] = (s["notices_due"], s["notices_on_time"], s["notice_timeliness"])
    # a shorter allowance decides more notices (late ones sooner) and finds fewer on time
    assert got[0][0] >= got[1][0] >= got[400][0] > 0
    assert got[0][1] <= got[1][1] <= got[400][1] == got[400][0]
    assert got[0][2] < 1.0 and got[400][2] == 1.0
    auto = runs("fully_automated").summary  # electronic notices, visits rarely wait
    assert auto["notices_due"] > 0 and auto["notice_timeliness"] >= 0.99
