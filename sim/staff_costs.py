"""Whole meter-to-cash cost and staff: crews sized from the fleet, FTE by activity, meter costs.

Issue 16, item 2. The collection cost the rules book (``cost_*`` columns of
:mod:`m2c.sim.kpi`) counts per-action unit costs only. This module adds, per
station and month, from the run's own counts and the ``[staff]`` scenario
section (:class:`m2c.sim.scenario.Staff`, every figure a documented default):

* **staff time by activity** (:data:`ACTIVITIES`), in full-time equivalents:
  ``fte = minutes / 60 / (hours_per_fte_year x days_in_month / 365)``. Counts:
  reads and bills by meter kind, payments and top-ups per staffed channel,
  ladder calls, SMS and e-mails (from the booked cost over the ladder's unit
  cost), station effort calls, crew jobs done by kind (visits, notices,
  field disconnections and reconnections, inspections, meter changes),
  remote switches, failed remote reads, meter rotation (meters / life);
* **whole cost** (fen): ``staff_cost`` (minutes x the office or field wage per
  hour), ``meter_cost`` (capital annuity of every meter and terminal over its
  life at ``discount_rate`` plus running and communication costs, by the
  month's share of a year), ``external_cost`` (money paid outside: channel
  fees, SMS, calls, e-mails, lawsuits, negotiations, as booked), and
  ``m2c_cost`` = their sum. The per-action costs of field work (visits,
  notices, disconnections, inspections, meter changes) are left out of
  ``m2c_cost``: their labour is in ``staff_cost``.

:func:`station_crews` sizes each station's crews from the fleet: the
scenario's ``stations.crews_urban`` / ``crews_rural`` are a station's crews
when the fleet has ``run.customers`` customers; another fleet size scales them
in proportion (the same crews per 1 000 customers), never below
``staff.min_crews_per_station``. The crews bind when the jobs requested exceed
``crews x jobs_per_crew_day`` (:mod:`m2c.sim.crews`): jobs wait in the queue.
"""

from __future__ import annotations

import numpy as np

from m2c.core.units import yuan_to_fen
from m2c.sim import rules as R
from m2c.sim.scenario import Scenario

#: Staff activities (DOMAIN.md "read, bill, collect" and "Dunning and disconnection").
ACTIVITIES = (
    "reading",
    "bill_review",
    "counter",
    "dunning",
    "disconnection",
    "inspection",
    "meter_replacement",
)
#: Activities counted as the field report's "reading and dunning staff" (抄表催费人员):
#: reading, dunning (visits, calls, notices) and disconnection / reconnection.
READING_DUNNING = ("reading", "dunning", "disconnection")

#: Monthly columns this module adds to the KPI table (per station; county = sum, but
#: ``days``, the days of the month simulated, which is the same in every row).
COLUMNS = (
    "days",
    "crews",
    *(f"fte_{a}" for a in ACTIVITIES),
    "fte_total",
    "fte_reading_dunning",
    "staff_cost",
    "meter_cost",
    "external_cost",
    "m2c_cost",
)
#: the cost columns (fen, int64); the others are float64 (``crews``: int64)
MONEY = ("staff_cost", "meter_cost", "external_cost", "m2c_cost")
#: booked per-action costs that are money paid outside the utility (R.Cost names)
EXTERNAL = ("channel", "sms", "call", "email", "legal", "negotiation")

_JOB = {kind: k for k, kind in enumerate(R.JOB_KINDS)}


def station_crews(sc: Scenario, urban: np.ndarray, customers: int) -> np.ndarray:
    """Crews per station for a fleet of ``customers``: int64 (n_stations,).

    ``crews_urban`` / ``crews_rural`` x ``customers / run.customers``, rounded half
    up, at least ``staff.min_crews_per_station``.

    Examples
    --------
    baseline_county (3 urban, 1 rural crews at 20 000 customers): 100 000 customers
    give 15 and 5; 2 000 give 0.3 and 0.1, so the floor, 1 and 1.
    """
    st = sc.stations
    base = np.where(np.asarray(urban, dtype=bool), st.crews_urban, st.crews_rural)
    scaled = np.floor(base * (customers / sc.run.customers) + 0.5).astype(np.int64)
    return np.maximum(scaled, sc.staff.min_crews_per_station)


def crews_as_run(sc: Scenario, customers: int) -> dict[str, int]:
    """``stations.crews_urban`` / ``crews_rural`` that give a run of ``customers`` its crews
    when ``run.customers`` is set to ``customers`` (the scenario written with a run)."""
    urban, rural = station_crews(sc, np.array([True, False]), customers).tolist()
    return {"crews_urban": int(urban), "crews_rural": int(rural)}


def annuity_factor(rate: float, years: float) -> float:
    """Yearly payment per yuan of capital repaid over ``years`` at ``rate`` (0: 1 / years)."""
    if rate == 0.0:
        return 1.0 / years
    return rate / (1.0 - (1.0 + rate) ** -years)


def _unit_fen(sc: Scenario, action: str) -> float:
    """The ladder's cost (fen) of a non-crew ``action`` step (mean if steps differ); 0 if none."""
    costs = [s.cost_yuan for s in sc.dunning.ladder if s.action == action and not s.crew]
    return float(np.mean([yuan_to_fen(c) for c in costs])) if costs else 0.0


def _per_station(values: np.ndarray, station: np.ndarray, n_st: int) -> np.ndarray:
    return np.bincount(station, weights=values, minlength=n_st).astype(np.float64)


def month_columns(
    sc: Scenario,
    station: np.ndarray,
    channel: np.ndarray,
    meter: np.ndarray,
    tally: np.ndarray,
    cost: np.ndarray,
    done_kind: np.ndarray,
    crews: np.ndarray,
    days_in_month: int,
    visit_fen: int,
) -> dict[str, np.ndarray]:
    """The :data:`COLUMNS` of one month, per station.

    Parameters
    ----------
    sc : the scenario (``staff``, ``dunning``, ``channels``, ``meters``, ``assessment``).
    station, channel, meter : int64 (n,): each customer's station, preferred payment
        channel (index into ``sc.channels``) and meter kind at month end (R.Meter).
    tally, cost : int64 (n, len(R.Tally)), (n, len(R.Cost)): the month's counters and
        booked costs (fen), before they are reset.
    done_kind : int64 (n_stations, len(R.JOB_KINDS)): crew jobs done this month.
    crews : int64 (n_stations,): crews per station.
    days_in_month : days of the month (1 .. 31; fewer for a partial month).
    visit_fen : fen a crew books per visit job (``ip[IntParam.COST_VISIT]``), to tell
        crew visits from non-crew ones in the booked visit cost.

    Returns
    -------
    dict
        Column name -> (n_stations,) array: FTE float64, money int64 fen.
    """
    stf = sc.staff
    n_st = crews.shape[0]
    if done_kind.shape != (n_st, len(R.JOB_KINDS)):
        raise ValueError(
            f"done_kind: expected shape ({n_st}, {len(R.JOB_KINDS)}), got {done_kind.shape}"
        )
    share_year = days_in_month / 365.0

    def tal(col: int, mask: np.ndarray | None = None) -> np.ndarray:
        v = tally[:, col].astype(np.float64)
        return _per_station(v if mask is None else v * mask, station, n_st)

    def cst(name: str) -> np.ndarray:
        return _per_station(cost[:, R.COST_NAMES.index(name)].astype(np.float64), station, n_st)

    manual = meter == R.Meter.MANUAL
    remote = ~manual
    n_manual = _per_station(manual.astype(np.float64), station, n_st)
    n_remote = _per_station(remote.astype(np.float64), station, n_st)
    jobs = done_kind.astype(np.float64)

    # counts of non-crew ladder actions: their booked cost over the step's unit cost
    def ladder_count(name: str, booked: np.ndarray) -> np.ndarray:
        unit = _unit_fen(sc, name)
        return np.maximum(booked, 0.0) / unit if unit > 0 else np.zeros(n_st)

    effort_calls = tal(R.Tally.EFFORT_CALLS)
    call_fen = yuan_to_fen(sc.assessment.call_cost_yuan)
    ladder_calls = ladder_count("call", cst("call") - effort_calls * call_fen)
    # visits booked outside the crews (non-crew ladder steps)
    crew_visits = jobs[:, _JOB[R.Job.VISIT]]
    lone_visits = ladder_count("visit", cst("visit") - crew_visits * visit_fen)

    channel_staff = np.zeros(len(sc.channels))
    for k, name in enumerate(sc.channels):
        channel_staff[k] = stf.channel_minutes.get(name, 0.0)
    tx = (tally[:, R.Tally.PAYMENTS] + tally[:, R.Tally.TOPUPS]).astype(np.float64)
    counter_minutes = _per_station(tx * channel_staff[channel], station, n_st)

    switches = tally[:, R.Tally.DISCONNECTIONS] + tally[:, R.Tally.RECONNECTIONS]
    ami = (meter == R.Meter.AMI).astype(np.float64)
    remote_switches = (
        _per_station(switches * ami, station, n_st) if sc.meters.remote_disconnect else 0.0
    )
    meters = n_manual + n_remote
    rotations = meters * share_year / stf.meter_life_years

    # (activity, field work?, minutes) per station
    field, office = True, False
    work = (
        ("reading", field, tal(R.Tally.READS, manual) * stf.read_manual_minutes),
        ("reading", office, n_remote * stf.remote_meter_minutes_month),
        ("reading", field, tal(R.Tally.ESTIMATED, remote) * stf.remote_fault_minutes),
        ("bill_review", office, tal(R.Tally.BILLS, manual) * stf.review_manual_bill_minutes),
        ("bill_review", office, tal(R.Tally.BILLS, remote) * stf.review_remote_bill_minutes),
        ("bill_review", office, tal(R.Tally.BILL_ERRORS_CAUGHT) * stf.review_error_minutes),
        ("counter", office, counter_minutes),
        ("dunning", office, ladder_calls * stf.ladder_call_minutes),
        ("dunning", office, effort_calls * stf.effort_call_minutes),
        ("dunning", field, (crew_visits + lone_visits) * stf.visit_minutes),
        ("dunning", field, jobs[:, _JOB[R.Job.NOTICE]] * stf.notice_minutes),
        ("disconnection", field, jobs[:, _JOB[R.Job.DISCONNECT]] * stf.disconnect_minutes),
        ("disconnection", field, jobs[:, _JOB[R.Job.RECONNECT]] * stf.reconnect_minutes),
        ("disconnection", office, remote_switches * stf.remote_switch_minutes),
        ("inspection", field, jobs[:, _JOB[R.Job.INSPECT]] * stf.inspect_minutes),
        ("meter_replacement", field, jobs[:, _JOB[R.Job.METER_CHANGE]] * stf.meter_replace_minutes),
        ("meter_replacement", field, rotations * stf.meter_replace_minutes),
    )
    fte_hours = stf.hours_per_fte_year * share_year
    wage_h = {
        field: stf.field_wage_yuan_per_year / stf.hours_per_fte_year,
        office: stf.office_wage_yuan_per_year / stf.hours_per_fte_year,
    }
    fte = {a: np.zeros(n_st) for a in ACTIVITIES}
    staff_yuan = np.zeros(n_st)
    for activity, is_field, minutes in work:
        hours = np.asarray(minutes, dtype=np.float64) / 60.0
        fte[activity] = fte[activity] + hours / fte_hours
        staff_yuan = staff_yuan + hours * wage_h[is_field]

    life, rate = stf.meter_life_years, stf.discount_rate
    ann = annuity_factor(rate, life)
    terminals = np.ceil(n_remote / stf.meters_per_terminal)
    meter_yuan_year = (
        n_manual * (stf.manual_meter_yuan * ann + stf.manual_running_yuan_per_year)
        + _per_station(ami, station, n_st) * stf.ami_meter_yuan * ann
        + _per_station((meter == R.Meter.PREPAID).astype(np.float64), station, n_st)
        * stf.prepaid_meter_yuan
        * ann
        + n_remote * stf.remote_comm_yuan_per_year
        + terminals * stf.terminal_yuan * ann
    )
    staff_fen = np.floor(staff_yuan * 100 + 0.5).astype(np.int64)
    meter_fen = np.floor(meter_yuan_year * share_year * 100 + 0.5).astype(np.int64)
    external = np.zeros(n_st, dtype=np.int64)
    for name in EXTERNAL:  # exact int64 sums per station
        np.add.at(external, station, cost[:, R.COST_NAMES.index(name)])
    total_fte = sum(fte.values())
    return {
        "days": np.full(n_st, days_in_month, dtype=np.int64),
        "crews": np.asarray(crews, dtype=np.int64),
        **{f"fte_{a}": fte[a] for a in ACTIVITIES},
        "fte_total": total_fte,
        "fte_reading_dunning": sum(fte[a] for a in READING_DUNNING),
        "staff_cost": staff_fen,
        "meter_cost": meter_fen,
        "external_cost": external,
        "m2c_cost": staff_fen + meter_fen + external,
    }


def with_county(columns: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """``columns`` with the county row appended: the sum of stations (``days``: the same)."""
    return {
        k: np.append(v, v[0] if k == "days" and v.size else v.sum()) for k, v in columns.items()
    }
