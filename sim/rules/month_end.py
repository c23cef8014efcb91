"""Month-end rules: write-offs, the credit score, the credit policy's meter move.

DOMAIN.md "Credit files": customers are rated by payment history; risky
customers are moved to prepayment. The score (0-100) moves on what the
utility observed this month: -10 for a month with overdue arrears, +5 for a
clean one, -20 more for a disconnection.
"""

from __future__ import annotations

from numba import njit, prange

from m2c.sim.rules.layout import Field, FleetInt, Klass, Meter, Tally
from m2c.sim.rules.slots import settle

RULE = {"cache": True, "nogil": True, "inline": "always"}


@njit(**RULE)
def write_off(i, day, n_slots_used, write_off_after, cs, unpaid, due, tally):
    """Rule: write off slots more than ``write_off_after`` days overdue; return fen."""
    written = 0
    for s in range(n_slots_used):
        if unpaid[i, s] > 0 and day - due[i, s] > write_off_after:
            written += unpaid[i, s]
    if written > 0:
        # a write-off settles like a credit, oldest slots first (those are the old ones)
        settle(i, written, cs, unpaid)
        tally[i, Tally.WRITE_OFF_FEN] += written
    return written


@njit(**RULE)
def rate_month(i, fi, cs):
    """Rule: the month's credit-score move from what the utility observed.

    -10 for a month with overdue arrears (+5 for a clean one), -10 more when
    the balance owed exceeds 90 days of expected use (amounts), -20 for a
    disconnection, -30 for tampering found. The hidden segment is never read.
    """
    score = cs[i, Field.SCORE]
    if cs[i, Field.MONTH_OVERDUE] == 1:
        score -= 10
    else:
        score += 5
    if cs[i, Field.OWED] > 90 * fi[i, FleetInt.TYPICAL_FEN]:
        score -= 10
    if cs[i, Field.MONTH_DISC] == 1:
        score -= 20
    if cs[i, Field.MONTH_TAMPER] == 1:
        score -= 30
    cs[i, Field.SCORE] = min(100, max(0, score))
    cs[i, Field.MONTH_OVERDUE] = 0
    cs[i, Field.MONTH_DISC] = 0
    cs[i, Field.MONTH_TAMPER] = 0


@njit(**RULE)
def move_to_prepaid(i, to_prepaid_below, to_prepaid_min_kva, fi, cs):
    """Rule: the credit policy decides to fit a prepaid meter with trip (a crew job follows).

    The meter is changed by a crew (:func:`m2c.sim.rules.dunning.apply_job`,
    ``Job.METER_CHANGE``), at ``credit.meter_change_cost_yuan``.
    """
    if (
        cs[i, Field.CONVERT] == 0
        and to_prepaid_below > 0
        and cs[i, Field.METER] != Meter.PREPAID
        and fi[i, FleetInt.KLASS] != Klass.CRITICAL
        and cs[i, Field.SCORE] < to_prepaid_below
        and fi[i, FleetInt.CAPACITY] >= to_prepaid_min_kva
    ):
        cs[i, Field.CONVERT] = 1


@njit(**RULE)
def customer_month_end(
    i,
    day,
    n_slots_used,
    write_off_after,
    to_prepaid_below,
    to_prepaid_min_kva,
    fi,
    cs,
    unpaid,
    due,
    tally,
):
    """Month end for one customer (the three rules above); returns the fen written off."""
    written = write_off(i, day, n_slots_used, write_off_after, cs, unpaid, due, tally)
    rate_month(i, fi, cs)
    move_to_prepaid(i, to_prepaid_below, to_prepaid_min_kva, fi, cs)
    return written


@njit(cache=True, parallel=True)
def fleet_month_end(
    day,
    n_slots_used,
    write_off_after,
    to_prepaid_below,
    to_prepaid_min_kva,
    fi,
    cs,
    unpaid,
    due,
    tally,
    written,
):
    """:func:`customer_month_end` for every customer; fen written off into ``written``."""
    for i in prange(cs.shape[0]):
        written[i] = customer_month_end(
            i,
            day,
            n_slots_used,
            write_off_after,
            to_prepaid_below,
            to_prepaid_min_kva,
            fi,
            cs,
            unpaid,
            due,
            tally,
        )
