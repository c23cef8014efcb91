"""Field crews per station: a daily SimPy process that works each station's priority queue of jobs.

Jobs (reconnect, disconnect, notice, visit, inspect: sim.rules.JOB_*) wait in
a station's queue ordered by (priority, day requested, customer), so a
reconnection owed within 1-2 working days goes before a visit. Each day every
crew works one shift and completes at most ``jobs_per_crew_day`` jobs (a
station's crews never wait for one another, so the shifts run in station and
crew order inside one process, and the shift's time passes once: no
:class:`simpy.Resource` per station is needed); what is left waits, and the queue length
and utilisation are reported (DOMAIN.md: visits are "limited by staff count").

Notice timeliness (DOMAIN.md: the fully automated county claims "reading and
notice timeliness and accuracy >= 99 %"): a notice-type job (a disconnection
notice or a dunning visit, :data:`NOTICE_JOBS`) is on time when a crew serves it
at most ``notice_allowance_days`` after the day it was requested (0 = the same
day); one still waiting in the queue at the end of its last allowed day is late,
counted that day (so a notice the crews never reach counts too, and one served
late later is not counted twice). :meth:`take_notice_stats` gives the month's
counts per station: notices due (decided on time or late) and on time.
"""

from __future__ import annotations

import heapq
from collections import Counter
from collections.abc import Callable

import numpy as np
import simpy

from m2c.sim import rules as R

SHIFT_DAYS = 0.3  # a shift, in simulation days (crews work between 0.5 and 0.8)
#: crew jobs that serve a notice on a customer (timed against the allowance)
NOTICE_JOBS = (R.Job.NOTICE, R.Job.VISIT)


class StationCrews:
    """The crews of every station and their job queues."""

    def __init__(
        self,
        env: simpy.Environment,
        crews: np.ndarray,
        jobs_per_crew_day: int,
        notice_allowance_days: int = 0,
    ):
        """``notice_allowance_days``: days a notice-type job may wait and still be on time."""
        if notice_allowance_days < 0:
            raise ValueError(
                f"notice_allowance_days: expected >= 0 days, got {notice_allowance_days}"
            )
        self.env = env
        self.notice_allowance_days = int(notice_allowance_days)
        self.crews = np.asarray(crews, dtype=np.int64)
        self.jobs_per_crew_day = jobs_per_crew_day
        self.queues: list[list[tuple[int, int, int, int]]] = [[] for _ in self.crews]
        self.done = np.zeros(len(self.crews), dtype=np.int64)
        #: shifts worked per crew since the last month_stats (every crew works every day)
        self.shift_days = 0
        self.queue_max = np.zeros(len(self.crews), dtype=np.int64)
        #: jobs done per station and kind (columns in R.JOB_KINDS order), see take_done_by_kind
        self.done_kind = np.zeros((len(self.crews), len(R.JOB_KINDS)), dtype=np.int64)
        #: notice-type jobs decided per station (served on time, or late), and of those on
        #: time (see take_notice_stats)
        self.notices_due = np.zeros(len(self.crews), dtype=np.int64)
        self.notices_on_time = np.zeros(len(self.crews), dtype=np.int64)
        #: notice-type jobs still queued per station, by the day they were asked for
        self.notices_waiting: list[Counter[int]] = [Counter() for _ in self.crews]

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
                    if kind in NOTICE_JOBS:
                        self.notices_waiting[st][day] += 1

    @property
    def capacity(self) -> np.ndarray:
        """Jobs the crews could have done since the last :meth:`month_stats`: int64
        (n_stations,), shifts worked x crews x ``jobs_per_crew_day``."""
        return self.shift_days * self.crews * self.jobs_per_crew_day

    def queue_lengths(self) -> np.ndarray:
        return np.array([len(q) for q in self.queues], dtype=np.int64)

    def work(self, day: int, do_job: Callable[[int, int], None]):
        """SimPy process: every crew of every station works one shift on ``day``.

        Every crew starts at once and none waits for another, so one SimPy process
        per crew-day would do the shifts station by station, crew by crew, each
        without yielding until its jobs are done: this does them in that order, then
        lets the shift's time pass once (a process per crew-day is 1.26 M processes a
        year at 1 M customers). The fast model calls :meth:`serve` and
        :meth:`end_shift` itself around its own timeout (no process per day).
        """
        self.serve(day, do_job)
        yield self.env.timeout(SHIFT_DAYS)
        self.end_shift(day)

    def serve(self, day: int, do_job: Callable[[int, int], None]) -> None:
        """The jobs of ``day``'s shifts, station by station, crew by crew (no SimPy time).

        Every crew works a shift (:attr:`capacity` counts them); a station's crews
        take the jobs of the one queue in turn, so they do
        ``min(queued, crews x jobs_per_crew_day)`` jobs in priority order, and a
        station with an empty queue has nothing to do (most stations, most days).
        """
        self.shift_days += 1
        if not any(self.queues):
            return
        for st, queue in enumerate(self.queues):
            if queue:
                self._shift(st, day, int(self.crews[st]) * self.jobs_per_crew_day, do_job)

    def end_shift(self, day: int) -> None:
        """After ``day``'s shifts: the longest queues, and the notices turning late."""
        if any(self.queues):  # empty queues leave the longest (>= 0) as it is
            np.maximum(self.queue_max, self.queue_lengths(), out=self.queue_max)
        # notices whose last allowed day ends with them still queued are late
        last = day - self.notice_allowance_days
        for st, waiting in enumerate(self.notices_waiting):
            if waiting:
                self.notices_due[st] += waiting.pop(last, 0)

    def _shift(self, st: int, day: int, jobs: int, do_job: Callable[[int, int], None]) -> None:
        """The shifts of station ``st`` on ``day``: up to ``jobs`` jobs, by priority."""
        queue = self.queues[st]
        for _ in range(jobs):
            if not queue:
                break
            _, asked, cust, kind = heapq.heappop(queue)
            do_job(cust, kind)
            if kind in NOTICE_JOBS and day - asked <= self.notice_allowance_days:
                self.notices_due[st] += 1  # on time (a late one was counted already)
                self.notices_on_time[st] += 1
                self.notices_waiting[st][asked] -= 1  # no longer waiting to turn late
            self.done[st] += 1
            self.done_kind[st, int(kind).bit_length() - 1] += 1

    def take_done_by_kind(self) -> np.ndarray:
        """Jobs done per station and kind since the last call: int64 (n_stations, n_kinds)."""
        out = self.done_kind.copy()
        self.done_kind[:] = 0
        return out

    def take_notice_stats(self) -> tuple[np.ndarray, np.ndarray]:
        """Notice-type jobs due per station since the last call (served within the
        allowance, or still queued when it ran out), and of those on time: int64
        (n_stations,) each; resets the counts."""
        out = (self.notices_due.copy(), self.notices_on_time.copy())
        self.notices_due[:] = 0
        self.notices_on_time[:] = 0
        return out

    def month_stats(self) -> tuple[np.ndarray, ...]:
        """(jobs done, job capacity, max queue, queue now, notice-type jobs due, of those
        on time) per station, int64 (n_stations,) each; resets the month."""
        out = (
            self.done.copy(),
            self.capacity.copy(),
            self.queue_max.copy(),
            self.queue_lengths(),
            *self.take_notice_stats(),
        )
        self.done[:] = 0
        self.shift_days = 0
        self.queue_max[:] = 0
        return out
