"""Field crews per station: SimPy resources that work a priority queue of jobs.

Jobs (reconnect, disconnect, notice, visit, inspect: sim.rules.JOB_*) wait in
a station's queue ordered by (priority, day requested, customer), so a
reconnection owed within 1-2 working days goes before a visit. Each day every
crew holds the station's :class:`simpy.Resource` for its shift and completes
at most ``jobs_per_crew_day`` jobs; what is left waits, and the queue length
and utilisation are reported (DOMAIN.md: visits are "limited by staff count").
"""

from __future__ import annotations

import heapq
from collections.abc import Callable

import numpy as np
import simpy

from m2c.sim import rules as R

SHIFT_DAYS = 0.3  # a shift, in simulation days (crews work between 0.5 and 0.8)


class StationCrews:
    """The crews of every station and their job queues."""

    def __init__(self, env: simpy.Environment, crews: np.ndarray, jobs_per_crew_day: int):
        self.env = env
        self.crews = np.asarray(crews, dtype=np.int64)
        self.jobs_per_crew_day = jobs_per_crew_day
        self.resources = [simpy.Resource(env, capacity=max(1, int(c))) for c in self.crews]
        self.queues: list[list[tuple[int, int, int, int]]] = [[] for _ in self.crews]
        self.done = np.zeros(len(self.crews), dtype=np.int64)
        self.capacity = np.zeros(len(self.crews), dtype=np.int64)
        self.queue_max = np.zeros(len(self.crews), dtype=np.int64)
        #: jobs done per station and kind (columns in R.JOB_KINDS order), see take_done_by_kind
        self.done_kind = np.zeros((len(self.crews), len(R.JOB_KINDS)), dtype=np.int64)

    def request(
        self, day: int, stations: np.ndarray, customers: np.ndarray, jobs: np.ndarray
    ) -> None:
        """Queue the jobs (bit masks) of ``customers`` at their ``stations``."""
        for st, cust, mask in zip(
            stations.tolist(), customers.tolist(), jobs.tolist(), strict=True
        ):
            for prio, kind in enumerate(R.JOB_KINDS):
                if mask & kind:
                    heapq.heappush(self.queues[st], (prio, day, cust, kind))

    def queue_lengths(self) -> np.ndarray:
        return np.array([len(q) for q in self.queues], dtype=np.int64)

    def work(self, day: int, do_job: Callable[[int, int], None]):
        """SimPy process: every crew of every station works one shift on ``day``."""
        shifts = [
            self.env.process(self._shift(st, day, do_job))
            for st in range(len(self.crews))
            for _ in range(int(self.crews[st]))
        ]
        yield self.env.all_of(shifts)
        self.queue_max = np.maximum(self.queue_max, self.queue_lengths())

    def _shift(self, st: int, day: int, do_job: Callable[[int, int], None]):
        with self.resources[st].request() as req:
            yield req
            self.capacity[st] += self.jobs_per_crew_day
            for _ in range(self.jobs_per_crew_day):
                if not self.queues[st]:
                    break
                _, _, cust, kind = heapq.heappop(self.queues[st])
                do_job(cust, kind)
                self.done[st] += 1
                self.done_kind[st, int(kind).bit_length() - 1] += 1
            yield self.env.timeout(SHIFT_DAYS)

    def take_done_by_kind(self) -> np.ndarray:
        """Jobs done per station and kind since the last call: int64 (n_stations, n_kinds)."""
        out = self.done_kind.copy()
        self.done_kind[:] = 0
        return out

    def month_stats(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """(jobs done, job capacity, max queue, queue now) per station; resets the month."""
        out = (self.done.copy(), self.capacity.copy(), self.queue_max.copy(), self.queue_lengths())
        self.done[:] = 0
        self.capacity[:] = 0
        self.queue_max[:] = 0
        return out
