"""The fast model: SimPy owns the calendar, Numba kernels do every customer at once.

Each simulated day ``d`` (SimPy time in days):

* ``d + 0.0`` the stations whose reading day it is run their billing run
  (:mod:`m2c.sim.billing_run`) for all their postpaid customers, then one
  kernel call (:func:`m2c.sim.rules.fleet_day`) runs every customer's day:
  consumption, prepaid debits and trips, payments and top-ups, late fees,
  dunning triggers;
* ``d + 0.5`` field crews (SimPy resources, :mod:`m2c.sim.crews`) work their
  queues: visits, notices, disconnections, reconnections, inspections;
* ``d + 0.9`` on the last day of a month: write-offs, credit ratings, the
  credit policy, and the month's KPIs (:mod:`m2c.sim.kpi`).

Every entry goes into the :class:`~m2c.core.ledger.Ledger`; at the end the
ledger must reproduce every customer's balance to the fen.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import simpy
import simpy.rt

from m2c.core import ledger as L
from m2c.sim import rules as R
from m2c.sim.billing_run import MeterReads, billing_run
from m2c.sim.crews import StationCrews
from m2c.sim.fleet import PREPAID, Fleet, build_fleet
from m2c.sim.inputs import Calendar, Params, State, build_calendar, build_params, opening_state
from m2c.sim.kpi import KpiCollector
from m2c.sim.scenario import Scenario

#: (output column, ledger kind) booked after each customer-day
DAY_BOOKINGS = (
    (R.O_FEE, L.LATE_FEE),
    (R.O_PAY, L.PAYMENT),
    (R.O_TOPUP, L.TOPUP),
    (R.O_DEBIT, L.PREPAID_DEBIT),
    (R.O_ADJ, L.ADJUSTMENT),
)


@dataclass
class EventLog:
    """Dunning and supply events: (day, customer, event flags, days overdue, notice served)."""

    day: list[np.ndarray] = field(default_factory=list)
    customer: list[np.ndarray] = field(default_factory=list)
    flags: list[np.ndarray] = field(default_factory=list)
    overdue: list[np.ndarray] = field(default_factory=list)
    notice: list[np.ndarray] = field(default_factory=list)

    def add(self, day: int, customer, flags, overdue, notice) -> None:
        customer = np.atleast_1d(np.asarray(customer, dtype=np.int64))
        self.day.append(np.full(customer.shape, day, dtype=np.int64))
        self.customer.append(customer)
        for name, v in (("flags", flags), ("overdue", overdue), ("notice", notice)):
            getattr(self, name).append(np.atleast_1d(np.asarray(v, dtype=np.int64)))

    def arrays(self) -> dict[str, np.ndarray]:
        cols = ("day", "customer", "flags", "overdue", "notice")
        return {
            c: (
                np.concatenate(getattr(self, c))
                if getattr(self, c)
                else np.zeros(0, dtype=np.int64)
            )
            for c in cols
        }


class Simulation:
    """State, calendar and bookkeeping shared by the fast and the reference model."""

    def __init__(
        self,
        sc: Scenario,
        customers: int,
        days: int,
        seed: int,
        seconds_per_day: float | None = None,
    ):
        """``seconds_per_day`` paces the run in wall-clock time (simpy.rt), e.g. for HIL."""
        self.scenario = sc
        self.seed = seed
        self.fleet: Fleet = build_fleet(sc, customers, seed)
        self.params: Params = build_params(sc, seed)
        self.cal: Calendar = build_calendar(sc.run.start, days)
        self.state: State = opening_state(self.fleet, sc, self.cal)
        self.ledger = L.Ledger(customers, self.state.opening_fen)
        self.env = (
            simpy.Environment()
            if seconds_per_day is None
            else simpy.rt.RealtimeEnvironment(factor=seconds_per_day, strict=False)
        )
        #: gateway mode: reads the customers it serves through the device driver
        self.meters: MeterReads | None = None
        #: called with the day after each day's work (relay actions, emulated registers)
        self.day_hooks: list[Callable[[int], None]] = []
        st = sc.stations
        crews = np.where(self.fleet.urban, st.crews_urban, st.crews_rural)
        self.crews = StationCrews(self.env, crews, st.jobs_per_crew_day)
        names = [
            f"U{s + 1:02d}" if self.fleet.urban[s] else f"R{s + 1:02d}"
            for s in range(self.fleet.n_stations)
        ]
        self.kpis = KpiCollector(self.fleet.n_stations, names)
        self.events = EventLog()
        self.timings: dict[str, float] = {}

    # -- shared pieces ------------------------------------------------------
    def day_facts(self, d: int) -> tuple:
        c = self.cal
        month_start = bool(c.dom[d] == 1)
        return (int(c.slot[d]), int(c.calmonth[d]), int(c.weekend[d]), int(c.year[d]), month_start)

    def rule_args(self) -> tuple:
        """The arrays :func:`rules.customer_day` reads, after its day arguments."""
        f, p, s = self.fleet, self.params, self.state
        return (
            self.cal.slot_end_day,
            f.station,
            f.klass,
            f.tariff_id,
            f.capacity_kva,
            f.segment,
            f.prepayer,
            f.channel,
            f.base_kwh,
            f.level,
            f.typical_daily_fen,
            f.prepaid_price_uy,
            f.basic_month_fen,
            f.shape_max,
            f.season,
            f.period_share,
            p.ip,
            p.seg,
            p.ch_fail,
            p.ch_conv,
            p.ch_cost,
            p.lad_day,
            p.lad_action,
            p.lad_crew,
            p.lad_cost,
            self.cal.slot_year,
            s.cs,
            s.unpaid,
            s.recv,
            s.due,
            s.acc,
            s.reg,
            s.tally,
            s.cost,
            s.out,
        )

    def reading_stations(self, d: int) -> np.ndarray:
        return np.flatnonzero(self.fleet.reading_day == self.cal.dom[d])

    def do_job(self, d: int, apply: Callable) -> Callable[[int, int], None]:
        """The crew's job handler for day ``d`` (``apply`` = rules.apply_job or its py_func)."""
        s = self.state
        slot = int(self.cal.slot[d])

        def handler(cust: int, kind: int) -> None:
            ev, adj = apply(
                cust,
                d,
                kind,
                self.fleet.klass,
                self.params.ip,
                s.cs,
                s.unpaid,
                s.recv,
                s.due,
                slot,
                s.tally,
                s.cost,
            )
            if adj:
                self.ledger.append(cust, d, L.ADJUSTMENT, int(adj))
            if ev:
                overdue = R.days_overdue(cust, d, s.unpaid, s.due)
                self.events.add(d, cust, ev, overdue, s.cs[cust, R.F_NOTICE])

        return handler

    def record_kpis(self, d: int) -> None:
        c = self.cal
        slot = int(c.slot[d])
        days_in_month = int((c.slot == slot).sum())
        self.kpis.month(
            c.slot_label[slot],
            d,
            slot,
            days_in_month,
            int(c.year[d]),
            c.slot_year,
            self.fleet.station,
            self.state,
            self.crews.month_stats(),
        )
        self.state.tally[:] = 0
        self.state.cost[:] = 0

    def book_day_outputs(self, d: int, ids: np.ndarray | None = None) -> None:
        """Ledger entries, events and crew jobs from ``state.out`` rows ``ids`` (all if None)."""
        out = self.state.out if ids is None else self.state.out[ids]
        base = np.arange(out.shape[0]) if ids is None else ids
        for col, kind in DAY_BOOKINGS:
            nz = np.flatnonzero(out[:, col])
            if nz.size:
                self.ledger.append_many(base[nz], d, kind, out[nz, col])
        nz = np.flatnonzero(out[:, R.O_EVENTS])
        if nz.size:
            self.events.add(
                d,
                base[nz],
                out[nz, R.O_EVENTS],
                out[nz, R.O_OVERDUE],
                self.state.cs[base[nz], R.F_NOTICE],
            )
        nz = np.flatnonzero(out[:, R.O_JOBS])
        if nz.size:
            self.crews.request(d, self.fleet.station[base[nz]], base[nz], out[nz, R.O_JOBS])

    def check_conservation(self) -> None:
        """The ledger must reproduce every balance, and the slots must agree (fen)."""
        s = self.state
        self.ledger.check_conservation(s.cs[:, R.F_OWED])
        slots = s.unpaid.sum(axis=1) - s.cs[:, R.F_CREDIT]
        bad = np.flatnonzero(slots != s.cs[:, R.F_OWED])
        if bad.size:
            i = int(bad[0])
            raise L.LedgerImbalanceError(
                f"customer {i}: unpaid slots - credit = {slots[i]} fen but the balance owed "
                f"is {s.cs[i, R.F_OWED]} fen"
            )

    # -- the fast model ----------------------------------------------------------
    def run(self, progress: Callable[[int], None] | None = None) -> Simulation:
        """Run the fast model over the calendar; ``progress(days_done)`` after each day."""
        t0 = time.perf_counter()
        self.start(progress)
        self.env.run()
        self.timings["simulate_s"] = time.perf_counter() - t0
        self.check_conservation()
        return self

    def start(self, progress: Callable[[int], None] | None = None) -> Simulation:
        """Schedule the fast model's days; then ``run()`` or step with :meth:`advance`."""
        self.env.process(self._days(progress))
        return self

    def advance(self, days: int = 1) -> bool:
        """Run ``days`` more days of a started model; False once the calendar is done."""
        end = min(int(self.env.now) + days, self.cal.days)
        if end <= self.env.now:
            return False
        self.env.run(until=end)
        return end < self.cal.days

    def _days(self, progress):
        env, s = self.env, self.state
        args = self.rule_args()
        written = np.zeros(self.fleet.n, dtype=np.int64)
        for d in range(self.cal.days):
            slot, calmonth, weekend, year, month_start = self.day_facts(d)
            stations = self.reading_stations(d)
            if stations.size:
                ids = np.flatnonzero(
                    np.isin(self.fleet.station, stations) & (s.cs[:, R.F_METER] != PREPAID)
                )
                billed = billing_run(
                    ids, d, slot, calmonth, self.fleet, self.params, s, self.meters
                )
                self.ledger.append_many(ids, d, L.BILL, billed)
            R.fleet_day(d, slot, calmonth, weekend, year, month_start, *args)
            self.book_day_outputs(d)
            yield env.timeout(0.5)
            yield env.process(self.crews.work(d, self.do_job(d, R.apply_job)))
            if self.cal.month_end[d]:
                yield env.timeout(0.9 - (env.now - d))
                R.fleet_month_end(
                    d,
                    slot + 1,
                    self.params.write_off_after,
                    self.params.to_prepaid_below,
                    self.params.to_prepaid_min_kva,
                    self.fleet.capacity_kva,
                    self.fleet.klass,
                    s.cs,
                    s.unpaid,
                    s.due,
                    s.tally,
                    written,
                )
                nz = np.flatnonzero(written)
                if nz.size:
                    self.ledger.append_many(nz, d, L.WRITE_OFF, written[nz])
                self.record_kpis(d)
            for hook in self.day_hooks:
                hook(d)
            if progress is not None:
                progress(d + 1)
            yield env.timeout(d + 1 - env.now)


def simulate(
    sc: Scenario,
    customers: int,
    days: int,
    seed: int,
    progress: Callable[[int], None] | None = None,
) -> Simulation:
    """Build and run the fast model; the ledger is checked before returning."""
    return Simulation(sc, customers, days, seed).run(progress)
