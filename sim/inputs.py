"""What both models start from: parameter arrays, the calendar and the opening state.

Everything here is a pure function of (scenario, customers, days, seed), so
the fast model and the reference model start identical.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np

from m2c.core.calendar import is_weekend
from m2c.core.units import yuan_to_fen
from m2c.sim import rules as R
from m2c.sim.consumption import LEVEL_SIGMA
from m2c.sim.fleet import Fleet
from m2c.sim.scenario import ACTIONS, Scenario

DAY_SIGMA = 0.15  # day-to-day consumption spread (weather, presence)


@dataclass(frozen=True)
class Params:
    """Scenario parameters as the arrays the rules read (see sim.rules for the layout)."""

    ip: np.ndarray  # int64 (N_IP,)
    seg: np.ndarray  # float64 (n_segments, N_SEG)
    ch_fail: np.ndarray  # float64 (n_channels,)
    ch_conv: np.ndarray  # float64 (n_channels,) convenience multiplier
    ch_cost: np.ndarray  # int64 (n_channels,) fen per transaction
    lad_day: np.ndarray  # int64 (n_steps,) days overdue that trigger each step
    lad_action: np.ndarray  # int64 (n_steps,) index into ACTIONS
    lad_crew: np.ndarray  # bool (n_steps,)
    lad_cost: np.ndarray  # int64 (n_steps,) fen
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


def build_params(sc: Scenario, seed: int) -> Params:
    """Pack the scenario into :class:`Params`."""
    d, m = sc.dunning, sc.meters
    ip = np.zeros(R.N_IP, dtype=np.int64)
    ip[R.IP_SEED] = seed
    ip[R.IP_DUE_DAYS] = sc.billing.due_days
    ip[R.IP_DISC_AFTER] = d.disconnect_after_days
    ip[R.IP_APPROVAL] = d.approval_days
    ip[R.IP_RECON_RES] = d.reconnect_days_residential
    ip[R.IP_RECON_OTHER] = d.reconnect_days_other
    ip[R.IP_LEGAL_AFTER] = d.legal_after_days
    ip[R.IP_SETTLE] = m.prepaid_settle_days
    ip[R.IP_TOPUP_DAYS] = m.prepaid_topup_days
    ip[R.IP_ALERT] = yuan_to_fen(m.prepaid_alert_yuan)
    ip[R.IP_LIMIT] = yuan_to_fen(m.prepaid_credit_limit_yuan)
    ip[R.IP_REMOTE] = int(m.remote_disconnect)
    ip[R.IP_LEGAL_BELOW] = sc.credit.legal_below
    ip[R.IP_INSTAL_KVA] = sc.credit.instalments_min_kva
    names = list(sc.channels)
    ip[R.IP_BANK_CH] = names.index("bank_link") if "bank_link" in names else -1
    ip[R.IP_COST_DISC] = yuan_to_fen(d.disconnect_cost_yuan)
    ip[R.IP_COST_RECON] = yuan_to_fen(d.reconnect_cost_yuan)
    ip[R.IP_COST_REMOTE] = yuan_to_fen(d.remote_cost_yuan)
    ip[R.IP_COST_LEGAL] = yuan_to_fen(d.legal_cost_yuan)
    ip[R.IP_LEVEL_SIGMA_PPM] = round(LEVEL_SIGMA * 1e6)
    ip[R.IP_DAY_SIGMA_PPM] = round(DAY_SIGMA * 1e6)
    ip[R.IP_INSPECT_PPM] = round(d.inspect_rate * 1e6)
    ip[R.IP_COST_VISIT] = _first_cost(sc, "visit", 15.0)
    ip[R.IP_COST_NOTICE] = _first_cost(sc, "notice", 10.0)
    ip[R.IP_COST_INSPECT] = yuan_to_fen(d.inspect_cost_yuan)
    ip[R.IP_TAMPER_MULT] = d.tamper_penalty_multiple
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
        lad_day=np.array([s.day for s in d.ladder], dtype=np.int64),
        lad_action=np.array([ACTIONS.index(s.action) for s in d.ladder], dtype=np.int64),
        lad_crew=np.array([s.crew for s in d.ladder], dtype=np.bool_),
        lad_cost=np.array([yuan_to_fen(s.cost_yuan) for s in d.ladder], dtype=np.int64),
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

    @property
    def n_slots(self) -> int:
        return int(self.slot_end_day.shape[0])


def build_calendar(start: str, days: int) -> Calendar:
    """The calendar of ``days`` days from ISO date ``start``."""
    d0 = dt.date.fromisoformat(start)
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


def opening_state(fleet: Fleet, sc: Scenario, cal: Calendar) -> State:
    """The state on day 0: deliberate and cash-gap debtors owe last year's arrears."""
    n = fleet.n
    cs = np.zeros((n, R.N_FIELDS), dtype=np.int64)
    cs[:, R.F_LAST_CONTACT] = -1000
    cs[:, R.F_DISC_READY] = R.NEVER
    cs[:, R.F_RECON_READY] = R.NEVER
    cs[:, R.F_DISPUTE_DAY] = R.NEVER
    cs[:, R.F_SCORE] = fleet.score0
    cs[:, R.F_METER] = fleet.meter
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
    due[:, 0] = np.where(owed > 0, -b.opening_arrears_days, R.NO_DUE)
    cs[:, R.F_OWED] = owed
    # Meters that open the run disconnected or tripped: none; prepaid accounts in arrears
    # trip on their first day (sim.rules).
    cs[:, R.F_TRIPPED] = 0
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
        tally=np.zeros((n, R.N_TALLY), dtype=np.int64),
        cost=np.zeros((n, R.N_COST), dtype=np.int64),
        out=np.zeros((n, R.N_OUT), dtype=np.int64),
        opening_fen=owed.copy(),
    )
