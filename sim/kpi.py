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
* ``penalty_pct``: the station assessment: a station with any customer in
  arrears at month end loses 30 % of its performance pay, two months in a
  row 60 %, three or more 100 %.
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
)
TALLY_COLUMNS = {
    "payments": R.T_PAYMENTS,
    "payment_failures": R.T_PAY_FAILED,
    "bank_link_tries": R.T_BANK_TRIES,
    "bank_link_failures": R.T_BANK_FAILED,
    "disconnections": R.T_DISCONNECTIONS,
    "reconnections": R.T_RECONNECTIONS,
    "customer_days_without_supply": R.T_OUTAGE_DAYS,
    "reads": R.T_READS,
    "estimated_reads": R.T_ESTIMATED,
    "bills": R.T_BILLS,
    "billing_errors": R.T_BILL_ERRORS,
    "billing_errors_caught": R.T_BILL_ERRORS_CAUGHT,
    "prepaid_trips": R.T_TRIPS,
    "tamper_found": R.T_TAMPER_FOUND,
    "negotiations": R.T_NEGOTIATIONS,
    "topups": R.T_TOPUPS,
    "notices": R.T_NOTICES,
    "bad_debt": R.T_WRITE_OFF_FEN,
    "legal_actions": R.T_LEGAL,
}
PENALTY_PCT = (0, 30, 60, 100)


@njit(cache=True)
def _group_sum(keys, values, n_groups, out):
    """out[g] = sum of values rows with key g (int64, exact)."""
    for i in range(values.shape[0]):
        g = keys[i]
        for k in range(values.shape[1]):
            out[g, k] += values[i, k]


def group_sum(keys: np.ndarray, values: np.ndarray, n_groups: int) -> np.ndarray:
    """Exact int64 sums of ``values`` (n, k) rows by ``keys`` (n,) into (n_groups, k)."""
    out = np.zeros((n_groups, values.shape[1]), dtype=np.int64)
    _group_sum(
        np.ascontiguousarray(keys, dtype=np.int64),
        np.ascontiguousarray(values, dtype=np.int64),
        n_groups,
        out,
    )
    return out


def _ratio(a: np.ndarray, b: np.ndarray, empty: float = float("nan")) -> np.ndarray:
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    out = np.full(a.shape, empty)
    np.divide(a, b, out=out, where=b != 0)
    return out


class KpiCollector:
    """Collects one row per station and month, plus a county row (station ``ALL``)."""

    def __init__(self, n_stations: int, station_names: list[str]):
        self.n_stations = n_stations
        self.names = station_names
        self.streak = np.zeros(n_stations + 1, dtype=np.int64)
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
    ) -> None:
        """Add the rows of the month that ends on ``day`` (after month-end processing)."""
        cs, unpaid, recv, due = state.cs, state.unpaid, state.recv, state.due
        n, S = unpaid.shape
        cols = np.zeros((n, len(SUM_COLUMNS)), dtype=np.int64)
        cols[:, 0] = recv[:, slot]
        cols[:, 1] = unpaid[:, slot]
        cols[:, 2] = state.tally[:, R.T_CASH_FEN]
        old = slot_year[:S] < year
        cols[:, 3] = unpaid[:, old].sum(axis=1)
        cur = (slot_year[:S] == year) & (np.arange(S) <= slot)
        cols[:, 4] = recv[:, cur].sum(axis=1)
        cols[:, 5] = np.maximum(cs[:, R.F_OWED], 0)
        age = day - due
        owing = unpaid > 0
        for k, (lo, hi) in enumerate(((1, 30), (31, 60), (61, 90), (91, 1 << 40))):
            sel = owing & (age >= lo) & (age <= hi)
            cols[:, 6 + k] = np.where(sel, unpaid, 0).sum(axis=1)
        cols[:, 10] = (owing & (age >= 1)).any(axis=1)
        sums = group_sum(station, cols, self.n_stations)
        tal = group_sum(station, state.tally, self.n_stations)
        cost = group_sum(station, state.cost, self.n_stations)
        done, cap, qmax, qnow = crew_stats
        # county row = sum of stations
        sums = np.vstack([sums, sums.sum(axis=0)])
        tal = np.vstack([tal, tal.sum(axis=0)])
        cost = np.vstack([cost, cost.sum(axis=0)])
        done, cap, qmax, qnow = (np.append(x, x.sum()) for x in (done, cap, qmax, qnow))
        in_arrears = sums[:, 10] > 0
        self.streak = np.where(in_arrears, self.streak + 1, 0)
        penalty = np.array(PENALTY_PCT)[np.minimum(self.streak, 3)]
        penalty[-1] = int((penalty[:-1] > 0).sum())  # county row: stations penalised
        c = dict(zip(SUM_COLUMNS, sums.T, strict=True))
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
            "reading_error_rate": _ratio(tal[:, R.T_ESTIMATED], tal[:, R.T_READS], 0.0),
            "actual_read_rate": 1.0 - _ratio(tal[:, R.T_ESTIMATED], tal[:, R.T_READS], 0.0),
            "billing_error_rate": _ratio(tal[:, R.T_BILL_ERRORS], tal[:, R.T_BILLS], 0.0),
            "bank_link_failure_rate": _ratio(tal[:, R.T_BANK_FAILED], tal[:, R.T_BANK_TRIES], 0.0),
            "crew_jobs_done": done,
            "crew_utilisation": _ratio(done, cap, 0.0),
            "crew_queue_max": qmax,
            "crew_queue_end": qnow,
            "penalty_pct": penalty,
        }
        for k, v in row.items():
            self.rows.setdefault(k, []).extend(list(v))
