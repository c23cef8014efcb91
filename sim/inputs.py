"""What both models start from: parameter arrays, the calendar and the opening state.

Everything here is a pure function of (scenario, customers, days, seed), so
the fast model and the reference model start identical.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np

from m2c.core import rng
from m2c.core.calendar import is_weekend
from m2c.core.units import yuan_to_fen
from m2c.sim import rules as R
from m2c.sim.fleet import Fleet
from m2c.sim.scenario import ACTIONS, Scenario

P_ARREARS_AGE = rng.purpose("inputs.arrears_age")
DAY_SIGMA = 0.15  # day-to-day consumption spread (weather, presence)


@dataclass(frozen=True)
class Params:
    """Scenario parameters as the arrays the rules read (see sim.rules for the layout)."""

    ip: np.ndarray  # int64 (N_IP,)
    seg: np.ndarray  # float64 (n_segments, N_SEG)
    ch_fail: np.ndarray  # float64 (n_channels,)
    ch_conv: np.ndarray  # float64 (n_channels,) convenience multiplier
    ch_cost: np.ndarray  # int64 (n_channels,) fen per transaction
    ch_delay: np.ndarray  # int64 (n_channels,) days until the money is in the account
    lad: np.ndarray  # int64 (n_steps, len(Ladder)) day, action, crew, cost (fen)
    manual_estimate_rate: float
    ami_success: float
    ami_retries: int
    bill_error_rate: float
    review_catch: float
    error_factor: int
    dispute_days: int
    write_off_after: int
    to_prepaid_below: int
    to_prepaid_min_kva: int


def _first_cost(sc: Scenario, action: str, default: float) -> int:
    costs = [s.cost_yuan for s in sc.dunning.ladder if s.action == action]
    return yuan_to_fen(costs[0] if costs else default)


def ladder_array(sc: Scenario) -> np.ndarray:
    """The dunning ladder as int64 (n_steps, len(Ladder)): day, action code, crew, fen."""
    lad = np.zeros((len(sc.dunning.ladder), len(R.Ladder)), dtype=np.int64)
    for k, s in enumerate(sc.dunning.ladder):
        lad[k, R.Ladder.DAY] = s.day
        lad[k, R.Ladder.ACTION] = ACTIONS.index(s.action)
        lad[k, R.Ladder.CREW] = int(s.crew)
        lad[k, R.Ladder.COST] = yuan_to_fen(s.cost_yuan)
    return lad


def fleet_rows(fleet: Fleet) -> tuple[np.ndarray, np.ndarray]:
    """The fixed customer attributes the rules read: ``fi`` int64 (n, len(FleetInt)), ``ff``
    float64 (n, len(FleetFloat)), C-ordered so a customer's attributes share a cache line."""
    fi = np.empty((fleet.n, len(R.FleetInt)), dtype=np.int64)
    fi[:, R.FleetInt.STATION] = fleet.station
    fi[:, R.FleetInt.KLASS] = fleet.klass
    fi[:, R.FleetInt.TARIFF] = fleet.tariff_id
    fi[:, R.FleetInt.CAPACITY] = fleet.capacity_kva
    fi[:, R.FleetInt.SEGMENT] = fleet.segment
    fi[:, R.FleetInt.PREPAYER] = fleet.prepayer
    fi[:, R.FleetInt.CHANNEL] = fleet.channel
    fi[:, R.FleetInt.TYPICAL_FEN] = fleet.typical_daily_fen
    fi[:, R.FleetInt.PRICE_UY] = fleet.prepaid_price_uy
    fi[:, R.FleetInt.BASIC_FEN] = fleet.basic_month_fen
    ff = np.empty((fleet.n, len(R.FleetFloat)), dtype=np.float64)
    ff[:, R.FleetFloat.BASE_KWH] = fleet.base_kwh
    ff[:, R.FleetFloat.LEVEL] = fleet.level
    return fi, ff


def build_params(sc: Scenario, seed: int) -> Params:
    """Pack the scenario into :class:`Params`."""
    d, m = sc.dunning, sc.meters
    ip = np.zeros(len(R.IntParam), dtype=np.int64)
    ip[R.IntParam.SEED] = seed
    ip[R.IntParam.DUE_DAYS] = sc.billing.due_days
    ip[R.IntParam.DISC_AFTER] = d.disconnect_after_days
    ip[R.IntParam.APPROVAL] = d.approval_days
    ip[R.IntParam.RECON_RES] = d.reconnect_days_residential
    ip[R.IntParam.RECON_OTHER] = d.reconnect_days_other
    ip[R.IntParam.LEGAL_AFTER] = d.legal_after_days
    ip[R.IntParam.SETTLE] = m.prepaid_settle_days
    ip[R.IntParam.TOPUP_DAYS] = m.prepaid_topup_days
    ip[R.IntParam.ALERT] = yuan_to_fen(m.prepaid_alert_yuan)
    ip[R.IntParam.LIMIT] = yuan_to_fen(m.prepaid_credit_limit_yuan)
    ip[R.IntParam.REMOTE] = int(m.remote_disconnect)
    ip[R.IntParam.LEGAL_BELOW] = sc.credit.legal_below
    ip[R.IntParam.INSTAL_KVA] = sc.credit.instalments_min_kva
    names = list(sc.channels)
    ip[R.IntParam.BANK_CH] = names.index("bank_link") if "bank_link" in names else -1
    ip[R.IntParam.COST_DISC] = yuan_to_fen(d.disconnect_cost_yuan)
    ip[R.IntParam.COST_RECON] = yuan_to_fen(d.reconnect_cost_yuan)
    ip[R.IntParam.COST_REMOTE] = yuan_to_fen(d.remote_cost_yuan)
    ip[R.IntParam.COST_LEGAL] = yuan_to_fen(d.legal_cost_yuan)
    ip[R.IntParam.DAY_SIGMA_PPM] = round(DAY_SIGMA * 1e6)
    ip[R.IntParam.INSPECT_PPM] = round(d.inspect_rate * 1e6)
    ip[R.IntParam.COST_VISIT] = _first_cost(sc, "visit", 15.0)
    ip[R.IntParam.COST_NOTICE] = _first_cost(sc, "notice", 10.0)
    ip[R.IntParam.COST_INSPECT] = yuan_to_fen(d.inspect_cost_yuan)
    ip[R.IntParam.TAMPER_MULT] = d.tamper_penalty_multiple
    a, g = sc.assessment, sc.negotiation
    ip[R.IntParam.COST_CALL] = yuan_to_fen(a.call_cost_yuan)
    ip[R.IntParam.EFFORT_VISIT_MIN] = yuan_to_fen(a.effort_visit_min_yuan)
    ip[R.IntParam.ON_TIME_DAYS] = sc.funds.on_time_days
    ip[R.IntParam.PRESSURE_PPM] = round(d.pressure_prob * 1e6)
    ip[R.IntParam.PRESSURE_DELAY] = d.pressure_delay_days
    ip[R.IntParam.LEGAL_DAYS] = d.legal_days
    ip[R.IntParam.LEGAL_WIN_PPM] = round(d.legal_win * 1e6)
    ip[R.IntParam.NEG_DELAY] = g.delay_days
    ip[R.IntParam.NEG_OFFSET_PPM] = round(g.offset_share * 1e6)
    ip[R.IntParam.COST_NEG] = yuan_to_fen(g.cost_yuan)
    ip[R.IntParam.NEG_OPEN] = -1 if g.opens_after_days is None else g.opens_after_days
    ip[R.IntParam.LEGAL_MIN] = yuan_to_fen(sc.credit.legal_min_yuan)
    ip[R.IntParam.ALERT_DAYS] = m.prepaid_alert_days
    ip[R.IntParam.ANOMALY_DAYS] = m.tamper_anomaly_days
    ip[R.IntParam.COST_METER] = yuan_to_fen(sc.credit.meter_change_cost_yuan)
    seg = np.array(
        [
            [
                s.before_due,
                s.after_due,
                s.reminded,
                s.notice,
                s.disconnected,
                s.legal,
                s.partial,
                s.topup_alert,
                s.topup_tripped,
                s.tamper,
            ]
            for s in sc.behaviour.segments.values()
        ],
        dtype=np.float64,
    )
    ch = list(sc.channels.values())
    return Params(
        ip=ip,
        seg=seg,
        ch_fail=np.array([c.failure_rate for c in ch]),
        ch_conv=np.array([c.convenience for c in ch]),
        ch_cost=np.array([yuan_to_fen(c.cost_yuan) for c in ch], dtype=np.int64),
        ch_delay=np.array([c.delay_days for c in ch], dtype=np.int64),
        lad=ladder_array(sc),
        manual_estimate_rate=sc.reading.manual_estimate_rate,
        ami_success=sc.reading.ami_daily_success,
        ami_retries=sc.reading.ami_retries,
        bill_error_rate=sc.billing.error_rate,
        review_catch=sc.billing.review_catch,
        error_factor=sc.billing.error_factor,
        dispute_days=sc.billing.dispute_days,
        write_off_after=d.write_off_after_days,
        to_prepaid_below=sc.credit.to_prepaid_below,
        to_prepaid_min_kva=sc.credit.to_prepaid_min_kva,
    )


@dataclass(frozen=True)
class Calendar:
    """Day-by-day calendar facts of a run (arrays indexed by day, or by slot)."""

    start: dt.date
    days: int
    date: np.ndarray  # datetime64[D] (days,)
    slot: np.ndarray  # int64 (days,) money slot (1 = first month of the run)
    calmonth: np.ndarray  # int64 (days,) 0..11
    dom: np.ndarray  # int64 (days,) day of month 1..31
    weekend: np.ndarray  # int64 (days,) 1 on Saturday and Sunday
    year: np.ndarray  # int64 (days,)
    month_end: np.ndarray  # bool (days,) last day of a calendar month (or of the run)
    slot_end_day: np.ndarray  # int64 (n_slots,) last day of each slot's month
    slot_year: np.ndarray  # int64 (n_slots,) calendar year of each slot
    slot_label: list[str]  # 'YYYY-MM' per slot ('opening' for slot 0)
    warmup: int = 0  # day index of run.start: days 0..warmup-1 are the warm-up

    @property
    def n_slots(self) -> int:
        return int(self.slot_end_day.shape[0])


def build_calendar(start: str, days: int, warmup_days: int = 0) -> Calendar:
    """The calendar of ``days`` days from ISO date ``start``, after a warm-up.

    The warm-up starts on the 1st of the month at least ``warmup_days`` before
    ``start`` (whole months, so every KPI month is a calendar month); day 0 is
    the warm-up's first day and ``Calendar.warmup`` the day index of ``start``.
    """
    first = dt.date.fromisoformat(start)
    d0 = first
    if warmup_days > 0:
        d0 = (first - dt.timedelta(days=warmup_days)).replace(day=1)
    warmup = (first - d0).days
    days += warmup
    date = np.datetime64(d0, "D") + np.arange(days)
    months = date.astype("datetime64[M]").astype(np.int64)
    slot = months - months[0] + 1
    calmonth = months % 12
    year = 1970 + months // 12
    dom = (date - date.astype("datetime64[M]").astype("datetime64[D]")).astype(np.int64) + 1
    weekend = is_weekend(date).astype(np.int64)
    month_end = np.zeros(days, dtype=bool)
    month_end[:-1] = slot[1:] != slot[:-1]
    month_end[-1] = True
    n_slots = int(slot[-1]) + 1
    slot_end_day = np.full(n_slots, -1, dtype=np.int64)
    for s in range(1, n_slots):
        slot_end_day[s] = int(np.flatnonzero(slot == s)[-1])
    first_month = int(months[0])
    slot_year = np.array([1970 + (first_month + s - 1) // 12 for s in range(n_slots)])
    labels = ["opening"] + [
        f"{1970 + (first_month + s - 1) // 12}-{(first_month + s - 1) % 12 + 1:02d}"
        for s in range(1, n_slots)
    ]
    return Calendar(
        d0,
        days,
        date,
        slot.astype(np.int64),
        calmonth.astype(np.int64),
        dom,
        weekend,
        year.astype(np.int64),
        month_end,
        slot_end_day,
        slot_year.astype(np.int64),
        labels,
        warmup,
    )


@dataclass
class State:
    """Everything that changes during a run (see sim.rules for the columns)."""

    cs: np.ndarray  # int64 (n, N_FIELDS)
    unpaid: np.ndarray  # int64 (n, n_slots)
    recv: np.ndarray  # int64 (n, n_slots) receivable booked per slot
    due: np.ndarray  # int64 (n, n_slots) due day of each slot
    acc: np.ndarray  # int64 (n, n_periods) energy since the last read, centi-kWh
    reg: np.ndarray  # int64 (n, n_periods) energy the meter registered since day 0, ckWh
    last_billed: np.ndarray  # int64 (n, n_periods) last actual read's energy (estimates)
    tally: np.ndarray  # int64 (n, N_TALLY) this month's counters
    cost: np.ndarray  # int64 (n, N_COST) this month's collection cost, fen
    out: np.ndarray  # int64 (n, N_OUT) the day's outputs
    opening_fen: np.ndarray  # int64 (n,) balance owed at the start


def opening_state(fleet: Fleet, sc: Scenario, cal: Calendar, seed: int) -> State:
    """The state on day 0: deliberate and cash-gap debtors owe last year's arrears."""
    n = fleet.n
    cs = np.zeros((n, len(R.Field)), dtype=np.int64)
    cs[:, R.Field.LAST_CONTACT] = -1000
    cs[:, R.Field.DISC_READY] = R.NEVER
    cs[:, R.Field.RECON_READY] = R.NEVER
    cs[:, R.Field.DISPUTE_DAY] = R.NEVER
    cs[:, R.Field.NEG_DAY] = R.NEVER
    cs[:, R.Field.LEGAL_DAY] = R.NEVER
    cs[:, R.Field.TRANSIT_DAY] = R.NEVER
    cs[:, R.Field.ANOMALY_DAY] = -1000
    cs[:, R.Field.SCORE] = fleet.score0
    cs[:, R.Field.METER] = fleet.meter
    unpaid = np.zeros((n, cal.n_slots), dtype=np.int64)
    recv = np.zeros_like(unpaid)
    due = np.full_like(unpaid, R.NO_DUE)
    # Opening arrears (DOMAIN.md "old arrears"): strategic and malicious customers,
    # and half the cash-gap ones, start owing a few months of typical bills.
    b = sc.behaviour
    debtor = (fleet.segment >= 3) | ((fleet.segment == 2) & (np.arange(n) % 2 == 0))
    months = b.opening_arrears_months
    owed = np.where(debtor, np.round(fleet.typical_daily_fen * 30 * months), 0).astype(np.int64)
    unpaid[:, 0] = owed
    # Their ages are spread (default: uniform on [31, 2 x mean - 31] days, mean
    # behaviour.opening_arrears_days) so that dunning steps do not all fire on day 0.
    span = 2 * b.opening_arrears_days - 62
    u = rng.uniform_array(seed, np.arange(n), -1, P_ARREARS_AGE)
    age = 31 + np.floor(u * (span + 1)).astype(np.int64)
    due[:, 0] = np.where(owed > 0, -age, R.NO_DUE)
    cs[:, R.Field.OWED] = owed
    # Meters that open the run disconnected or tripped: none; prepaid accounts in arrears
    # trip on their first day (sim.rules).
    cs[:, R.Field.TRIPPED] = 0
    P = fleet.table.n_periods
    typical_month = np.round(fleet.base_kwh * 100 * 30).astype(np.int64)
    last_billed = np.zeros((n, P), dtype=np.int64)
    last_billed[:, 0] = typical_month  # an estimate before any actual read
    return State(
        cs=cs,
        unpaid=unpaid,
        recv=recv,
        due=due,
        acc=np.zeros((n, P), dtype=np.int64),
        reg=np.zeros((n, P), dtype=np.int64),
        last_billed=last_billed,
        tally=np.zeros((n, len(R.Tally)), dtype=np.int64),
        cost=np.zeros((n, len(R.Cost)), dtype=np.int64),
        out=np.zeros((n, len(R.Out)), dtype=np.int64),
        opening_fen=owed.copy(),
    )
