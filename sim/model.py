"""The fast model: SimPy owns the calendar, Numba kernels do every customer at once.

Each simulated day ``d`` (SimPy time in days):

* ``d + 0.0`` the stations whose reading day it is run their billing run
  (:mod:`m2c.sim.billing_run`) for all their postpaid customers, then one
  kernel call (:func:`m2c.sim.rules.fleet_day`) runs every customer's day:
  consumption, prepaid debits and trips, payments and top-ups, late fees,
  dunning triggers;
* ``d + 0.5`` field crews (:mod:`m2c.sim.crews`, until ``d + 0.8``) work their
  queues: visits, notices, disconnections, reconnections, inspections;
* ``d + 0.9`` on the last day of a month: write-offs, credit ratings, the
  credit policy, and the month's KPIs (:mod:`m2c.sim.kpi`).

Every entry goes into the :class:`~m2c.core.ledger.Ledger`; at the end the
ledger must reproduce every customer's balance to the fen.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import numba
import numpy as np
import simpy
import simpy.rt
from numba import njit

from m2c.core import ledger as L
from m2c.core.units import yuan_to_fen
from m2c.sim import rules as R
from m2c.sim.billing_run import MeterReads, billing_run, prepaid_settlement
from m2c.sim.crews import SHIFT_DAYS, StationCrews
from m2c.sim.fleet import PREPAID, Fleet, build_fleet
from m2c.sim.inputs import (
    Calendar,
    Params,
    State,
    build_calendar,
    build_params,
    fleet_rows,
    opening_state,
)
from m2c.sim.kpi import KpiCollector
from m2c.sim.scenario import Scenario
from m2c.sim.staff_costs import month_columns, station_crews, with_county

#: (output column, ledger kind) booked after each customer-day
DAY_BOOKINGS = (
    (R.Out.FEE, L.LATE_FEE),
    (R.Out.PAY, L.PAYMENT),
    (R.Out.TOPUP, L.TOPUP),
    (R.Out.DEBIT, L.PREPAID_DEBIT),
    (R.Out.ADJ, L.ADJUSTMENT),
)

BOOK_COLUMNS = np.array(
    [col for col, _ in DAY_BOOKINGS] + [R.Out.EVENTS, R.Out.JOBS], dtype=np.int64
)
EVENTS_ROW, JOBS_ROW = len(DAY_BOOKINGS), len(DAY_BOOKINGS) + 1
DAY_KINDS = np.array([kind for _, kind in DAY_BOOKINGS], dtype=np.int64)

#: Fewer customers per thread than this and a parallel kernel costs more to start than it
#: saves: 300 customers x 365 days took 0.10 s on 1 thread, 2-3 s on 2 threads of the
#: loaded 2-core machine (each launch waits for a busy core).
MIN_CUSTOMERS_PER_THREAD = 20_000


@contextmanager
def kernel_threads(customers: int) -> Iterator[int]:
    """Run the parallel kernels of a fleet of ``customers`` on as many threads as pay off.

    At most Numba's current thread count, one per ``MIN_CUSTOMERS_PER_THREAD``
    customers, at least one; restored on exit. Results do not depend on it (the
    rules are per customer, the RNG is counter-based).
    """
    prev = numba.get_num_threads()
    use = max(1, min(prev, customers // MIN_CUSTOMERS_PER_THREAD))
    if use == prev:  # already set (e.g. by Simulation.run around the days): nothing to undo
        yield use
        return
    numba.set_num_threads(use)
    try:
        yield use
    finally:
        numba.set_num_threads(prev)


@njit(cache=True)
def gather_day(out, cs, hit, columns, n_book, cust, val, extra, counts):
    """One pass over the rows of ``out`` flagged in ``hit`` (uint8 (n,), set by
    :func:`rules.fleet_day`): the nonzero entries of each of ``columns`` (int64 (k,)).

    ``cust`` and ``val`` are int64 (k * n,), one block of ``n`` per column: for
    column ``k`` the customers go to ``cust[k * n:][:counts[k]]``, the values to
    ``val[k * n:][:counts[k]]``; for the events column (``EVENTS_ROW``) also the
    days overdue (``extra[0]``) and the notice flag (``extra[1]``). The first
    ``n_book`` blocks (the ledger's ``DAY_BOOKINGS``) are then moved end to end to
    the front, the day's one ledger chunk in booking order; returns its length
    (at most ``n_book * n``: the later blocks stay where they are).
    """
    n = out.shape[0]
    counts[:] = 0
    for i in range(n):
        if hit[i] == 0:
            continue
        for k in range(columns.shape[0]):
            v = out[i, columns[k]]
            if v != 0:
                m = counts[k]
                cust[k * n + m] = i
                val[k * n + m] = v
                counts[k] = m + 1
                if k == EVENTS_ROW:
                    extra[0, m] = out[i, R.Out.OVERDUE]
                    extra[1, m] = cs[i, R.Field.NOTICE]
    t = 0
    for k in range(n_book):
        for m in range(counts[k]):  # t <= k * n + m: moving to the front never overwrites
            cust[t] = cust[k * n + m]
            val[t] = val[k * n + m]
            t += 1
    return t


@njit(cache=True)
def apply_jobs(day, custs, kinds, fi, ip, cs, unpaid, recv, due, slot, tally, cost, adj, ev):
    """The crews' jobs of ``day`` in the order they were done (:func:`rules.apply_job`).

    ``custs``, ``kinds`` int64 (m,): the jobs. Outputs, in job order: ``adj`` int64
    (2, m) the customer and the adjustment (fen) of each job that books one; ``ev``
    int64 (4, m) the customer, event flags, days overdue after the job and notice
    flag of each job with events. Returns (adjustments, events) written. One
    compiled pass instead of one Python-to-Numba call per job.
    """
    na = 0
    ne = 0
    for j in range(custs.shape[0]):
        i = custs[j]
        e, a = R.apply_job(i, day, kinds[j], fi, ip, cs, unpaid, recv, due, slot, tally, cost)
        if a != 0:
            adj[0, na] = i
            adj[1, na] = a
            na += 1
        if e:
            ev[0, ne] = i
            ev[1, ne] = e
            ev[2, ne] = R.days_overdue(i, day, unpaid, due)
            ev[3, ne] = cs[i, R.Field.NOTICE]
            ne += 1
    return na, ne


@dataclass
class EventLog:
    """Dunning and supply events: (day, customer, event flags, days overdue, notice served)."""

    day: list[np.ndarray] = field(default_factory=list)
    customer: list[np.ndarray] = field(default_factory=list)
    flags: list[np.ndarray] = field(default_factory=list)
    overdue: list[np.ndarray] = field(default_factory=list)
    notice: list[np.ndarray] = field(default_factory=list)
    first_day: int = 0  # events before this day (the warm-up) are not logged

    def add(self, day: int, customer, flags, overdue, notice) -> None:
        if day < self.first_day:
            return
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
        with kernel_threads(customers):  # the fleet's parallel draws (consumption.levels)
            self.fleet: Fleet = build_fleet(sc, customers, seed)
            self.params: Params = build_params(sc, seed)
            #: the fixed attributes as the rules read them (sim.rules.layout FleetInt, FleetFloat)
            self.fi, self.ff = fleet_rows(self.fleet)
            self.cal: Calendar = build_calendar(sc.run.start, days, sc.run.warmup_days)
            #: day index of run.start; KPIs and events leave out the warm-up before it
            self.warmup_days = self.cal.warmup
            self.state: State = opening_state(self.fleet, sc, self.cal, seed)
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
        crews = station_crews(sc, self.fleet.urban, customers)  # issue 16: scales
        self.crews = StationCrews(
            self.env, crews, st.jobs_per_crew_day, sc.dunning.notice_allowance_days
        )
        names = [
            f"U{s + 1:02d}" if self.fleet.urban[s] else f"R{s + 1:02d}"
            for s in range(self.fleet.n_stations)
        ]
        a = sc.assessment
        self.kpis = KpiCollector(
            self.fleet.n_stations,
            names,
            per_customer=a.per_customer,
            penalty_pct=tuple(a.penalty_pct),
            bonus_fen=yuan_to_fen(a.bonus_yuan),
        )
        #: each station's state of the day (sim.rules.layout.Station), see prepare_day
        self.st = np.zeros((self.fleet.n_stations, len(R.Station)), dtype=np.int64)
        self._prepared = -1
        #: the day of the month by which each station must have settled (assessment)
        self.settle_day = np.where(self.fleet.urban, a.settle_day_urban, a.settle_day_rural)
        #: prepaid debit prices by tariff: TOU periods and blocks (rules.day.prepaid_price_table)
        self.price_p = R.prepaid_price_table(self.fleet.table.arrays)
        self.events = EventLog(first_day=self.warmup_days)
        self.timings: dict[str, float] = {}
        self._gather: tuple | None = None  # gather_day buffers, allocated on first use
        #: uint8 (n,): 1 where the day's outputs hold something to book (rules.fleet_day)
        self.hit = np.zeros(self.fleet.n, dtype=np.uint8)

    # -- shared pieces ------------------------------------------------------
    def day_facts(self, d: int) -> np.ndarray:
        """The facts of day ``d`` as the rules read them: int64 (len(DayFact),)."""
        c = self.cal
        dv = np.empty(len(R.DayFact), dtype=np.int64)
        dv[R.DayFact.DAY] = d
        dv[R.DayFact.SLOT] = c.slot[d]
        dv[R.DayFact.CALMONTH] = c.calmonth[d]
        dv[R.DayFact.WEEKEND] = c.weekend[d]
        dv[R.DayFact.YEAR] = c.year[d]
        dv[R.DayFact.MONTH_START] = c.dom[d] == 1
        return dv

    def rule_args(self) -> tuple:
        """The arrays :func:`rules.customer_day` reads after ``(i, dv)``."""
        f, p, s = self.fleet, self.params, self.state
        return (
            self.fi,
            self.ff,
            p.ip,
            p.seg,
            p.ch_fail,
            p.ch_conv,
            p.ch_cost,
            p.ch_delay,
            p.lad,
            self.st,
            f.shape_max,
            f.season,
            f.period_share,
            self.price_p,
            self.cal.slot_end_day,
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

    def prepare_day(self, d: int) -> None:
        """Set the stations' state for day ``d`` (once, before any customer's day).

        Assessment (issue 15): a station makes extra dunning effort all month
        while it is penalised, and, under per-customer assessment, in the
        ``effort_days`` before its settle day.
        """
        if self._prepared == d:
            return
        self._prepared = d
        a = self.scenario.assessment
        if not a.station_effort:
            self.st[:, R.Station.EFFORT] = 0
            return
        effort = self.kpis.streak[:-1] > 0
        if a.per_customer and a.effort_days > 0:
            dom = int(self.cal.dom[d])
            effort |= (dom >= self.settle_day - a.effort_days) & (dom <= self.settle_day)
        self.st[:, R.Station.EFFORT] = effort

    def assess_deadline(self, d: int) -> None:
        """On a station's settle day: settled if none of its customers is overdue tonight."""
        today = self.settle_day == self.cal.dom[d]
        if not today.any():
            return
        late = np.bincount(
            self.fleet.station[self.state.out[:, R.Out.OVERDUE] > 0],
            minlength=self.fleet.n_stations,
        )
        self.kpis.settled[:-1][today] = late[today] == 0

    def bill_station_day(self, d: int, ids: np.ndarray, meters: MeterReads | None) -> None:
        """Reading day of customers ``ids``: postpaid bills, prepaid settlements (ledger)."""
        s = self.state
        slot, calmonth = int(self.cal.slot[d]), int(self.cal.calmonth[d])
        prepaid = s.cs[ids, R.Field.METER] == PREPAID
        post = ids[~prepaid]
        billed = billing_run(post, d, slot, calmonth, self.fleet, self.params, s, meters)
        self.ledger.append_many(post, d, L.BILL, billed)
        if self.scenario.meters.prepaid_settlement and prepaid.any():
            pre = ids[prepaid]
            adj = prepaid_settlement(pre, d, slot, calmonth, self.fleet, self.params, s)
            self.ledger.append_many(pre, d, L.ADJUSTMENT, adj)

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
                self.fi,
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
                self.events.add(d, cust, ev, overdue, s.cs[cust, R.Field.NOTICE])

        return handler

    def job_batch(self) -> tuple[Callable[[int, int], None], list[int], list[int]]:
        """A crew job handler that only records the jobs, with its (customers, kinds) lists.

        The fast model applies them after the shift with :meth:`apply_job_batch`:
        a job touches only its own customer's row, so doing the day's jobs in
        the order they were done, after the crews' SimPy process, gives the same
        state, ledger and events as doing each when it is done.
        """
        custs: list[int] = []
        kinds: list[int] = []

        def handler(cust: int, kind: int) -> None:
            custs.append(cust)
            kinds.append(kind)

        return handler, custs, kinds

    def apply_job_batch(self, d: int, custs: list[int], kinds: list[int]) -> None:
        """Apply the crews' jobs of day ``d`` in order (one :func:`apply_jobs` call)."""
        if not custs:
            return
        s = self.state
        adj = np.empty((2, len(custs)), dtype=np.int64)
        ev = np.empty((4, len(custs)), dtype=np.int64)
        na, ne = apply_jobs(
            d,
            np.array(custs, dtype=np.int64),
            np.array(kinds, dtype=np.int64),
            self.fi,
            self.params.ip,
            s.cs,
            s.unpaid,
            s.recv,
            s.due,
            int(self.cal.slot[d]),
            s.tally,
            s.cost,
            adj,
            ev,
        )
        if na:
            self.ledger.append_many(adj[0, :na], d, L.ADJUSTMENT, adj[1, :na])
        if ne:
            self.events.add(d, *ev[:, :ne])

    def staff_columns(self, days_in_month: int) -> dict[str, np.ndarray]:
        """The month's staff and whole-cost columns per station (:mod:`m2c.sim.staff_costs`)."""
        s = self.state
        cols = month_columns(
            self.scenario,
            self.fleet.station,
            self.fleet.channel,
            s.cs[:, R.Field.METER],
            s.tally,
            s.cost,
            self.crews.take_done_by_kind(),
            self.crews.crews,
            days_in_month,
            int(self.params.ip[R.IntParam.COST_VISIT]),
        )
        return with_county(cols)

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
            record=d >= self.warmup_days,
            extra=self.staff_columns(days_in_month),
        )
        self.state.tally[:] = 0
        self.state.cost[:] = 0

    def book_day_outputs(self, d: int) -> None:
        """Ledger entries, events and crew jobs from ``state.out`` (one pass: gather_day)."""
        n = self.fleet.n
        if self._gather is None:
            k = len(DAY_BOOKINGS) + 2
            self._gather = (
                np.empty(k * n, dtype=np.int64),
                np.empty(k * n, dtype=np.int64),
                np.empty((2, n), dtype=np.int64),
                np.zeros(k, dtype=np.int64),
            )
        cust, val, extra, counts = self._gather
        s = self.state
        nb = len(DAY_BOOKINGS)
        t = gather_day(s.out, s.cs, self.hit, BOOK_COLUMNS, nb, cust, val, extra, counts)
        if t:  # one ledger chunk a day, in DAY_BOOKINGS order (the order of one chunk per kind)
            kinds = np.repeat(DAY_KINDS, counts[:nb])
            self.ledger.append_many(cust[:t], d, kinds, val[:t])
        m = int(counts[EVENTS_ROW])
        if m:
            e = EVENTS_ROW * n
            self.events.add(
                d,
                cust[e : e + m].copy(),
                val[e : e + m].copy(),
                extra[0, :m].copy(),
                extra[1, :m].copy(),
            )
        m = int(counts[JOBS_ROW])
        if m:
            j = JOBS_ROW * n
            ids = cust[j : j + m]
            self.crews.request(d, self.fleet.station[ids], ids, val[j : j + m])

    def check_conservation(self) -> None:
        """The ledger must reproduce every balance, and the slots must agree (fen)."""
        s = self.state
        self.ledger.check_conservation(s.cs[:, R.Field.OWED])
        slots = s.unpaid.sum(axis=1) - s.cs[:, R.Field.CREDIT]
        bad = np.flatnonzero(slots != s.cs[:, R.Field.OWED])
        if bad.size:
            i = int(bad[0])
            raise L.LedgerImbalanceError(
                f"customer {i}: unpaid slots - credit = {slots[i]} fen but the balance owed "
                f"is {s.cs[i, R.Field.OWED]} fen"
            )

    # -- the fast model ----------------------------------------------------------
    def run(self, progress: Callable[[int], None] | None = None) -> Simulation:
        """Run the fast model over the calendar; ``progress(days_done)`` after each day."""
        t0 = time.perf_counter()
        self.start(progress)
        with kernel_threads(self.fleet.n):  # once for the run, not twice a day
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
        with kernel_threads(self.fleet.n):
            self.env.run(until=end)
        return end < self.cal.days

    def _days(self, progress):
        """The fast model's days (a SimPy process); its parallel kernels run on the
        threads :meth:`run` and :meth:`advance` set (:func:`kernel_threads`)."""
        env, s, cal = self.env, self.state, self.cal
        args = self.rule_args()
        written = np.zeros(self.fleet.n, dtype=np.int64)
        # fixed for the run (calendar, reading and settle days): looked up once, not daily
        facts = np.stack([self.day_facts(d) for d in range(cal.days)])
        reading = np.isin(cal.dom, self.fleet.reading_day)  # some station reads its meters
        settling = np.isin(cal.dom, self.settle_day)  # some station's settle day
        for d in range(cal.days):
            self.customers_day(d, facts[d], args, bool(reading[d]), bool(settling[d]))
            yield env.timeout(0.5)
            # the crews' shifts (sim.crews): jobs recorded, applied in order after the shift
            handler, custs, kinds = self.job_batch()
            self.crews.serve(d, handler)
            yield env.timeout(SHIFT_DAYS)
            self.crews.end_shift(d)
            self.apply_job_batch(d, custs, kinds)
            if cal.month_end[d]:
                yield env.timeout(0.9 - (env.now - d))
                R.fleet_month_end(
                    d,
                    int(cal.slot[d]) + 1,
                    self.params.write_off_after,
                    self.params.to_prepaid_below,
                    self.params.to_prepaid_min_kva,
                    self.fi,
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

    def customers_day(
        self, d: int, dv: np.ndarray, args: tuple, reading: bool, settling: bool
    ) -> None:
        """Day ``d`` at ``d + 0.0``: the reading day's billing (if some station
        ``reading``), every customer's day (:func:`rules.fleet_day`, facts ``dv``,
        ``args``: :meth:`rule_args`), the settle-day check (if some station is
        ``settling``), and the day's bookings."""
        if reading:
            stations = self.reading_stations(d)
            today = np.zeros(self.fleet.n_stations, dtype=bool)
            today[stations] = True
            self.bill_station_day(d, np.flatnonzero(today[self.fleet.station]), self.meters)
        self.prepare_day(d)
        R.fleet_day(dv, *args, self.hit)
        if settling:
            self.assess_deadline(d)
        self.book_day_outputs(d)


def simulate(
    sc: Scenario,
    customers: int,
    days: int,
    seed: int,
    progress: Callable[[int], None] | None = None,
) -> Simulation:
    """Build and run the fast model; the ledger is checked before returning."""
    return Simulation(sc, customers, days, seed).run(progress)
