"""Monthly KPIs per station and for the county (../shared/DOMAIN.md "Indicators").

All money columns are integer **fen**; rates are fractions (1.0 = 100 %).

* ``recovery_rate_customer`` (电费回收率, 核算到户): 1 - (sum over customers of
  that customer's unpaid receivable of the month) / (the month's receivables),
  at month end; prepayments of one customer do not cover another's debt.
* ``recovery_rate_station`` (the old way): cash collected in the month /
  the month's receivables; prepayments count, so it can exceed 100 % while
  customers still owe ("clear at the top, unclear below").
* ``old_arrears_ratio``: unpaid arrears from before the current year / the
  current year's receivables so far.
* ``dso_days``: receivables outstanding at month end / the month's
  receivables x days in the month.
* ``arrears_*``: overdue unpaid amounts by days past due (1-30, 31-60, 61-90,
  over 90).
* ``penalty_pct``: the station assessment (``assessment.per_customer``):
  per-customer, a station with any customer in arrears at month end loses
  30 % of its performance pay, two months in a row 60 %, three or more 100 %;
  the old way, the same streak counts months whose station-level rate is below
  100 %. County row: the number of stations penalised.
* ``settled_by_deadline`` / ``bonus`` (fen): per-customer assessment only, a
  station none of whose customers is overdue on its settle day (rural 21st,
  urban 26th) earns ``assessment.bonus_yuan``.
* ``cash_on_time_rate``: share of the money paid that reaches the utility's
  account within ``funds.on_time_days`` (channel delays); ``funds_in_transit``:
  paid but not yet arrived at month end (fen).
* ``prepaid_stock`` (预收, fen) and ``prepaid_stock_ratio``: credit held on
  prepaid meters at month end, and over the month's receivables (DOMAIN.md:
  > 80 % in the prepaid county).
* ``notices_due`` / ``notices_on_time`` / ``notice_timeliness``: notice-type
  dunning actions (disconnection notices, dunning visits) whose timeliness was
  decided in the month (served within ``dunning.notice_allowance_days`` of the
  request, or still queued when it ran out: crew queue, :mod:`m2c.sim.crews`;
  electronic ones are on time), those on time, and their ratio (1.0 in a month
  without notices; DOMAIN.md: ">= 99 %" claimed).
"""

from __future__ import annotations

import numpy as np
from numba import njit

from m2c.sim import rules as R

SUM_COLUMNS = (
    "receivable",
    "unpaid_month",
    "collected",
    "old_arrears",
    "year_receivable",
    "outstanding",
    "arrears_0_30",
    "arrears_31_60",
    "arrears_61_90",
    "arrears_90_plus",
    "customers_in_arrears",
    "prepaid_stock",
    "funds_in_transit",
)
TALLY_COLUMNS = {
    "payments": R.Tally.PAYMENTS,
    "payment_failures": R.Tally.PAY_FAILED,
    "bank_link_tries": R.Tally.BANK_TRIES,
    "bank_link_failures": R.Tally.BANK_FAILED,
    "disconnections": R.Tally.DISCONNECTIONS,
    "reconnections": R.Tally.RECONNECTIONS,
    "customer_days_without_supply": R.Tally.OUTAGE_DAYS,
    "reads": R.Tally.READS,
    "estimated_reads": R.Tally.ESTIMATED,
    "bills": R.Tally.BILLS,
    "billing_errors": R.Tally.BILL_ERRORS,
    "billing_errors_caught": R.Tally.BILL_ERRORS_CAUGHT,
    "prepaid_trips": R.Tally.TRIPS,
    "tamper_found": R.Tally.TAMPER_FOUND,
    "negotiations": R.Tally.NEGOTIATIONS,
    "topups": R.Tally.TOPUPS,
    "notices": R.Tally.NOTICES,
    "bad_debt": R.Tally.WRITE_OFF_FEN,
    "legal_actions": R.Tally.LEGAL,
    "effort_calls": R.Tally.EFFORT_CALLS,
    "cash_arrived": R.Tally.CASH_ARRIVED_FEN,
    "cash_on_time": R.Tally.CASH_ON_TIME_FEN,
    "pressure_blocks": R.Tally.PRESSURE_BLOCKS,
    "court_won": R.Tally.COURT_WON,
    "court_lost": R.Tally.COURT_LOST,
    "meter_changes": R.Tally.METER_CHANGES,
    "anomaly_inspections": R.Tally.ANOMALY_INSPECTIONS,
    "prepaid_settlement": R.Tally.SETTLEMENT_FEN,
    "negotiated": R.Tally.NEGOTIATED_FEN,
    "offsets": R.Tally.OFFSET_FEN,
}


@njit(cache=True)
def station_month(station, slot, day, old, cur, cs, unpaid, recv, due, tally, cost, sums, tal, cst):
    """One pass over customers: the SUM_COLUMNS, tallies and costs per station (int64, exact).

    ``old`` / ``cur`` (int64 (n_slots,), 0/1) mark the slots of earlier years and of
    this year up to ``slot``; outputs ``sums`` (n_stations, len(SUM_COLUMNS)), ``tal``
    (n_stations, len(Tally)), ``cst`` (n_stations, len(Cost)) are added to.
    """
    for i in range(cs.shape[0]):
        g = station[i]
        sums[g, 0] += recv[i, slot]
        sums[g, 1] += unpaid[i, slot]
        sums[g, 2] += tally[i, R.Tally.CASH_FEN]
        sums[g, 5] += max(cs[i, R.Field.OWED], 0)
        late = 0
        for s in range(unpaid.shape[1]):
            u = unpaid[i, s]
            if old[s]:
                sums[g, 3] += u
            if cur[s]:
                sums[g, 4] += recv[i, s]
            if u > 0:
                age = day - due[i, s]
                if age >= 1:
                    late = 1
                    if age <= 30:
                        sums[g, 6] += u
                    elif age <= 60:
                        sums[g, 7] += u
                    elif age <= 90:
                        sums[g, 8] += u
                    else:
                        sums[g, 9] += u
        sums[g, 10] += late
        if cs[i, R.Field.METER] == R.Meter.PREPAID and cs[i, R.Field.OWED] < 0:
            sums[g, 11] -= cs[i, R.Field.OWED]  # prepaid credit stock (预收)
        sums[g, 12] += cs[i, R.Field.TRANSIT_FEN]
        for k in range(tally.shape[1]):
            tal[g, k] += tally[i, k]
        for k in range(cost.shape[1]):
            cst[g, k] += cost[i, k]


def _ratio(a: np.ndarray, b: np.ndarray, empty: float = float("nan")) -> np.ndarray:
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    out = np.full(a.shape, empty)
    np.divide(a, b, out=out, where=b != 0)
    return out


class KpiCollector:
    """Collects one row per station and month, plus a county row (station ``ALL``)."""

    def __init__(
        self,
        n_stations: int,
        station_names: list[str],
        per_customer: bool = False,
        penalty_pct: tuple[int, int, int] = (30, 60, 100),
        bonus_fen: int = 0,
    ):
        """``per_customer`` picks the assessment (see the module docstring)."""
        self.n_stations = n_stations
        self.names = station_names
        self.per_customer = per_customer
        self.penalty_pct = np.array((0, *penalty_pct), dtype=np.int64)
        self.bonus_fen = bonus_fen
        #: months in a row each station has been penalised (last entry: unused county row)
        self.streak = np.zeros(n_stations + 1, dtype=np.int64)
        #: settled by the settle day this month (set by the model on that day)
        self.settled = np.zeros(n_stations + 1, dtype=bool)
        self.rows: dict[str, list] = {}

    def month(
        self,
        label: str,
        day: int,
        slot: int,
        days_in_month: int,
        year: int,
        slot_year: np.ndarray,
        station: np.ndarray,
        state,
        crew_stats,
        record: bool = True,
        extra: dict[str, np.ndarray] | None = None,
    ) -> None:
        """Add the rows of the month that ends on ``day`` (after month-end processing).

        ``record=False`` (a warm-up month) updates the penalty streaks only.
        ``extra``: more columns, (n_stations + 1,) each, the county row last
        (:mod:`m2c.sim.staff_costs`)."""
        unpaid = state.unpaid
        S = unpaid.shape[1]
        old = (slot_year[:S] < year).astype(np.int64)
        cur = ((slot_year[:S] == year) & (np.arange(S) <= slot)).astype(np.int64)
        sums = np.zeros((self.n_stations, len(SUM_COLUMNS)), dtype=np.int64)
        tal = np.zeros((self.n_stations, state.tally.shape[1]), dtype=np.int64)
        cost = np.zeros((self.n_stations, state.cost.shape[1]), dtype=np.int64)
        station_month(
            station,
            slot,
            day,
            old,
            cur,
            state.cs,
            unpaid,
            state.recv,
            state.due,
            state.tally,
            state.cost,
            sums,
            tal,
            cost,
        )
        done, cap, qmax, qnow = crew_stats[:4]
        # notice-type crew jobs due and of those on time (sim.crews), when given
        crew_notices = crew_stats[4:6] if len(crew_stats) >= 6 else (np.zeros_like(done),) * 2
        # county row = sum of stations
        sums = np.vstack([sums, sums.sum(axis=0)])
        tal = np.vstack([tal, tal.sum(axis=0)])
        cost = np.vstack([cost, cost.sum(axis=0)])
        done, cap, qmax, qnow = (np.append(x, x.sum()) for x in (done, cap, qmax, qnow))
        due, on_time = (np.append(x, x.sum()) for x in crew_notices)
        # electronic notices (no queue) are on time: the model has no channel failure for them
        due = due + tal[:, R.Tally.NOTICES_DIRECT]
        on_time = on_time + tal[:, R.Tally.NOTICES_DIRECT]
        c = dict(zip(SUM_COLUMNS, sums.T, strict=True))
        if self.per_customer:  # any customer in arrears at month end
            failed = c["customers_in_arrears"] > 0
        else:  # the old way: the station-level rate below 100 %
            failed = c["collected"] < c["receivable"]
        self.streak = np.where(failed, self.streak + 1, 0)
        penalty = self.penalty_pct[np.minimum(self.streak, 3)]
        penalty[-1] = int((penalty[:-1] > 0).sum())  # county row: stations penalised
        settled = self.settled.astype(np.int64) if self.per_customer else np.zeros_like(penalty)
        settled[-1] = settled[:-1].sum()  # county row: stations settled by their day
        self.settled[:] = False
        bonus = settled * self.bonus_fen
        bonus[-1] = bonus[:-1].sum()
        row = {
            "month": [label] * (self.n_stations + 1),
            "station": [*self.names, "ALL"],
            "recovery_rate_customer": 1.0 - _ratio(c["unpaid_month"], c["receivable"], 0.0),
            "recovery_rate_station": _ratio(c["collected"], c["receivable"], 1.0),
            "old_arrears_ratio": _ratio(c["old_arrears"], c["year_receivable"], 0.0),
            "dso_days": _ratio(c["outstanding"] * days_in_month, c["receivable"], 0.0),
            **{k: c[k] for k in SUM_COLUMNS},
            "collection_cost": cost.sum(axis=1),
            **{f"cost_{name}": cost[:, j] for j, name in enumerate(R.COST_NAMES)},
            **{name: tal[:, j] for name, j in TALLY_COLUMNS.items()},
            "reading_error_rate": _ratio(tal[:, R.Tally.ESTIMATED], tal[:, R.Tally.READS], 0.0),
            "actual_read_rate": 1.0 - _ratio(tal[:, R.Tally.ESTIMATED], tal[:, R.Tally.READS], 0.0),
            "billing_error_rate": _ratio(tal[:, R.Tally.BILL_ERRORS], tal[:, R.Tally.BILLS], 0.0),
            "bank_link_failure_rate": _ratio(
                tal[:, R.Tally.BANK_FAILED], tal[:, R.Tally.BANK_TRIES], 0.0
            ),
            "crew_jobs_done": done,
            "crew_utilisation": _ratio(done, cap, 0.0),
            "crew_queue_max": qmax,
            "crew_queue_end": qnow,
            "penalty_pct": penalty,
            "settled_by_deadline": settled,
            "bonus": bonus,
            "cash_on_time_rate": _ratio(
                tal[:, R.Tally.CASH_ON_TIME_FEN], tal[:, R.Tally.CASH_FEN], 1.0
            ),
            "prepaid_stock_ratio": _ratio(c["prepaid_stock"], c["receivable"], 0.0),
            "notices_due": due,
            "notices_on_time": on_time,
            "notice_timeliness": _ratio(on_time, due, 1.0),
        }
        for k, v in (extra or {}).items():
            row[k] = v
        if not record:
            return
        for k, v in row.items():
            self.rows.setdefault(k, []).extend(list(v))
