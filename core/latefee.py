"""Late-payment penalty (违约金): daily accrual after the due date.

Rules (../shared/DOMAIN.md "Bill", the Chinese supply rules the counties apply):

* residential customers: 0.1 % of the overdue amount per day (1000 ppm/day);
* non-residential customers: 0.2 %/day (2000 ppm) on arrears of the current
  year, 0.3 %/day (3000 ppm) on arrears carried across the year end;
* the penalty accrues from the day *after* the due date (a bill paid on its
  due day pays none);
* a penalty below 1 CNY is charged as 1 CNY (100 fen).

Money stays exact: the daily accrual is kept in fen x ppm ("micro-fen",
int64) and rounded to fen once, when the penalty is booked, with
:func:`m2c.core.units.round_div`. 1e10 fen (100 M CNY) x 3000 ppm x 3650 days
is 1.1e17, well inside int64.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from m2c.core.units import HALF_UP, PPM, round_div

RESIDENTIAL_PPM_PER_DAY = 1000
NON_RESIDENTIAL_PPM_PER_DAY = 2000
ACROSS_YEAR_END_PPM_PER_DAY = 3000
MIN_LATE_FEE_FEN = 100


@njit(cache=True, nogil=True)
def daily_rate_ppm(residential: bool, across_year_end: bool) -> int:
    """Penalty rate in ppm of the overdue amount per day."""
    if residential:
        return RESIDENTIAL_PPM_PER_DAY
    if across_year_end:
        return ACROSS_YEAR_END_PPM_PER_DAY
    return NON_RESIDENTIAL_PPM_PER_DAY


@njit(cache=True, nogil=True)
def book_fee_fen(accrued_micro_fen: int, mode: int = HALF_UP) -> int:
    """Round an accrued penalty (fen x ppm) to fen, with the 1 CNY minimum.

    Nothing accrued -> 0; anything accrued -> at least ``MIN_LATE_FEE_FEN``.
    """
    if accrued_micro_fen <= 0:
        return 0
    fee = round_div(accrued_micro_fen, PPM, mode)
    return max(fee, MIN_LATE_FEE_FEN)


@njit(cache=True, nogil=True)
def fee_for_bill(
    amount_fen: int,
    due_day: int,
    paid_day: int,
    year_end_day: int,
    residential: bool,
    mode: int = HALF_UP,
) -> int:
    """Penalty (fen) on one bill of ``amount_fen`` due on ``due_day``, paid on ``paid_day``.

    Days are simulation day indices. ``year_end_day`` is the first day of the
    next calendar year after the bill's year: days overdue from then on are
    "carried across the year end" (non-residential 0.3 %/day). Overdue days
    are ``due_day + 1 .. paid_day`` inclusive.
    """
    if paid_day <= due_day or amount_fen <= 0:
        return 0
    first = due_day + 1
    days_before = max(0, min(paid_day + 1, year_end_day) - first)
    days_after = (paid_day + 1 - first) - days_before
    rate_days = days_before * daily_rate_ppm(residential, False)
    rate_days += days_after * daily_rate_ppm(residential, True)
    return book_fee_fen(np.int64(amount_fen) * rate_days, mode)


@njit(cache=True, parallel=True)
def accrue_day(overdue_current_fen, overdue_carried_fen, residential, accrued_micro_fen):
    """Add one day's penalty to every customer's accrual, in place.

    Parameters (shape (n,)): ``overdue_current_fen`` int64 overdue arrears
    billed in the current calendar year; ``overdue_carried_fen`` int64
    overdue arrears carried across a year end; ``residential`` bool;
    ``accrued_micro_fen`` int64 running accrual in fen x ppm (in/out).
    Call it once per day for the days *after* the due date.
    """
    for i in prange(accrued_micro_fen.shape[0]):
        cur = overdue_current_fen[i]
        old = overdue_carried_fen[i]
        if cur > 0:
            accrued_micro_fen[i] += cur * daily_rate_ppm(residential[i], False)
        if old > 0:
            accrued_micro_fen[i] += old * daily_rate_ppm(residential[i], True)


@njit(cache=True, parallel=True)
def _book_fees(acc, mode, out):
    for i in prange(acc.shape[0]):
        out[i] = book_fee_fen(acc[i], mode)


def book_fees(accrued_micro_fen: np.ndarray, mode: int = HALF_UP) -> np.ndarray:
    """Fees to book (fen, int64, shape (n,)) for accruals in fen x ppm, 1 CNY minimum."""
    acc = np.ascontiguousarray(accrued_micro_fen, dtype=np.int64)
    out = np.empty_like(acc)
    _book_fees(acc, mode, out)
    return out
