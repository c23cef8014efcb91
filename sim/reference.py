"""The per-agent reference model: one SimPy process per customer, plain Python.

It exists to prove the fast model (:mod:`m2c.sim.model`) on small fleets.
Each customer is its own SimPy process that, every day, reads and bills
itself on its station's reading day and then runs its day by calling the
*interpreted* rules: :func:`interpreted` rebuilds ``rules.customer_day`` and
every rule it calls from their Python source (``py_func``), so every rule of
:mod:`m2c.sim` runs in CPython, not Numba; the core's kernels (RNG, late-fee
rates, the prepaid meter step, rounding) stay compiled, as they are tested
against their own references in tests/core. It books its own ledger entries
and asks its
station's crews for jobs. Crews, month-end processing and KPIs run as their
own processes. The RNG is keyed by (seed, customer, day, purpose), so the two
models see the same luck, and their ledgers must be identical entry by entry
(compared after sorting by day, customer, kind and amount).

It is ~100-1,000 times slower than the fast model: use a few hundred customers.
"""

from __future__ import annotations

import time
import types
from collections.abc import Callable
from typing import Any

import numpy as np
from numba.core.dispatcher import Dispatcher

from m2c.core import ledger as L
from m2c.sim import rules as R
from m2c.sim.model import DAY_BOOKINGS, Simulation
from m2c.sim.scenario import Scenario


class _PlainModule:
    """A module whose Numba functions are served as their interpreted versions."""

    def __init__(self, module: types.ModuleType, memo: dict[int, Any]):
        self._module = module
        self._memo = memo

    def __getattr__(self, name: str) -> Any:
        value = _plain(getattr(self._module, name), self._memo)
        setattr(self, name, value)
        return value


def _plain(obj: Any, memo: dict[int, Any]) -> Any:
    if isinstance(obj, Dispatcher) and obj.py_func.__module__.startswith(INTERPRETED):
        return interpreted(obj, memo)
    if isinstance(obj, types.ModuleType) and obj.__name__.startswith(INTERPRETED):
        return memo.setdefault(id(obj), _PlainModule(obj, memo))
    return obj


def interpreted(fn: Dispatcher, memo: dict[int, Any] | None = None) -> Callable:
    """Numba function ``fn`` as plain Python, calling the plain versions of the rules.

    The function's source (``py_func``) gets a copy of its module's globals in
    which every Numba function of a module under :data:`INTERPRETED` (and
    such modules themselves) are replaced, recursively, by their interpreted
    versions. Other compiled functions (the core's) are called as they are.
    """
    memo = {} if memo is None else memo
    if id(fn) in memo:
        return memo[id(fn)]
    py = fn.py_func
    g: dict[str, Any] = {}
    plain = types.FunctionType(py.__code__, g, py.__name__, py.__defaults__, py.__closure__)
    memo[id(fn)] = plain
    for name, value in py.__globals__.items():
        g[name] = _plain(value, memo) if name in py.__code__.co_names else value
    return plain


#: module prefix whose Numba functions the reference model runs in CPython
INTERPRETED = "m2c.sim"
_MEMO: dict[int, Any] = {}
CUSTOMER_DAY = interpreted(R.customer_day, _MEMO)
MONTH_END = interpreted(R.customer_month_end, _MEMO)
APPLY_JOB = interpreted(R.apply_job, _MEMO)


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
            dv = self.day_facts(d)
            slot = int(dv[R.DayFact.SLOT])
            if f.reading_day[station] == self.cal.dom[d]:
                self.bill_station_day(d, one, None)
            self.prepare_day(d)
            CUSTOMER_DAY(i, dv, *args)
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
                    self.fi,
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
        for col, kind in DAY_BOOKINGS:
            if out[col]:
                self.ledger.append(i, d, kind, int(out[col]))
        if out[R.Out.EVENTS]:
            self.events.add(
                d, i, out[R.Out.EVENTS], out[R.Out.OVERDUE], self.state.cs[i, R.Field.NOTICE]
            )
        if out[R.Out.JOBS]:
            self.crews.request(
                d, self.fleet.station[[i]], np.array([i]), np.array([out[R.Out.JOBS]])
            )

    def _crews_and_month_end(self, progress):
        env = self.env
        for d in range(self.cal.days):
            yield env.timeout(d + 0.5 - env.now)
            self.assess_deadline(d)  # every customer's day is done
            yield env.process(self.crews.work(d, self.do_job(d, APPLY_JOB)))
            if self.cal.month_end[d]:
                yield env.timeout(d + 0.9 - env.now)  # after every customer's month end
                self.record_kpis(d)
            if progress is not None:
                progress(d + 1)


def simulate_reference(sc: Scenario, customers: int, days: int, seed: int) -> ReferenceSimulation:
    """Build and run the reference model; the ledger is checked before returning."""
    return ReferenceSimulation(sc, customers, days, seed).run()
