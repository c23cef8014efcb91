"""The per-agent reference model: one SimPy process per customer, plain Python.

It exists to prove the fast model (:mod:`m2c.sim.model`) on small fleets.
Each customer is its own SimPy process that, every day, reads and bills
itself on its station's reading day and then runs its day by calling the
*interpreted* rules (``rules.customer_day.py_func``: the same source, run by
CPython instead of Numba); it books its own ledger entries and asks its
station's crews for jobs. Crews, month-end processing and KPIs run as their
own processes. The RNG is keyed by (seed, customer, day, purpose), so the two
models see the same luck, and their ledgers must be identical entry by entry
(compared after sorting by day, customer, kind and amount).

It is ~1,000 times slower than the fast model: use a few hundred customers.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np

from m2c.core import ledger as L
from m2c.sim import rules as R
from m2c.sim.billing_run import billing_run
from m2c.sim.fleet import PREPAID
from m2c.sim.model import Simulation
from m2c.sim.scenario import Scenario

CUSTOMER_DAY = R.customer_day.py_func
MONTH_END = R.customer_month_end.py_func
APPLY_JOB = R.apply_job.py_func


class ReferenceSimulation(Simulation):
    """Same inputs and bookkeeping as :class:`Simulation`, one process per customer."""

    def run(self, progress: Callable[[int], None] | None = None) -> ReferenceSimulation:
        t0 = time.perf_counter()
        for i in range(self.fleet.n):
            self.env.process(self._customer(i))
        self.env.process(self._crews_and_month_end(progress))
        self.env.run()
        self.timings["simulate_s"] = time.perf_counter() - t0
        self.check_conservation()
        return self

    def _customer(self, i: int):
        """One customer's life: wake at the start of each day, bill, live the day."""
        env, s, f = self.env, self.state, self.fleet
        args = self.rule_args()
        station = int(f.station[i])
        one = np.array([i], dtype=np.int64)
        for d in range(self.cal.days):
            slot, calmonth, weekend, year, month_start = self.day_facts(d)
            if f.reading_day[station] == self.cal.dom[d] and s.cs[i, R.F_METER] != PREPAID:
                billed = billing_run(one, d, slot, calmonth, f, self.params, s)
                if billed[0]:
                    self.ledger.append(i, d, L.BILL, int(billed[0]))
            CUSTOMER_DAY(i, d, slot, calmonth, weekend, year, month_start, *args)
            self._book_own_day(i, d)
            if self.cal.month_end[d]:
                yield env.timeout(0.8)  # after the crews (d + 0.5)
                written = MONTH_END(
                    i,
                    d,
                    slot + 1,
                    self.params.write_off_after,
                    self.params.to_prepaid_below,
                    self.params.to_prepaid_min_kva,
                    f.capacity_kva,
                    f.klass,
                    s.cs,
                    s.unpaid,
                    s.due,
                    s.tally,
                )
                if written:
                    self.ledger.append(i, d, L.WRITE_OFF, int(written))
                yield env.timeout(0.2)
            else:
                yield env.timeout(1.0)

    def _book_own_day(self, i: int, d: int) -> None:
        out = self.state.out[i]
        for col, kind in (
            (R.O_FEE, L.LATE_FEE),
            (R.O_PAY, L.PAYMENT),
            (R.O_TOPUP, L.TOPUP),
            (R.O_DEBIT, L.PREPAID_DEBIT),
            (R.O_ADJ, L.ADJUSTMENT),
        ):
            if out[col]:
                self.ledger.append(i, d, kind, int(out[col]))
        if out[R.O_EVENTS]:
            self.events.add(d, i, out[R.O_EVENTS], out[R.O_OVERDUE], self.state.cs[i, R.F_NOTICE])
        if out[R.O_JOBS]:
            self.crews.request(d, self.fleet.station[[i]], np.array([i]), np.array([out[R.O_JOBS]]))

    def _crews_and_month_end(self, progress):
        env = self.env
        for d in range(self.cal.days):
            yield env.timeout(d + 0.5 - env.now)
            yield env.process(self.crews.work(d, self.do_job(d, APPLY_JOB)))
            if self.cal.month_end[d]:
                yield env.timeout(d + 0.9 - env.now)  # after every customer's month end
                self.record_kpis(d)
            if progress is not None:
                progress(d + 1)


def simulate_reference(sc: Scenario, customers: int, days: int, seed: int) -> ReferenceSimulation:
    """Build and run the reference model; the ledger is checked before returning."""
    return ReferenceSimulation(sc, customers, days, seed).run()
