"""Month-end rules: write-offs, the credit score, the credit policy's meter move.

DOMAIN.md "Credit files": customers are rated by payment history; risky
customers are moved to prepayment. The score (0-100) is a moving average of
monthly grades from what the utility observed (lateness, payments, amounts,
disconnections, tamper findings): :func:`rate_month`.
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
def rate_month(i, fi, cs, tally):
    """Rule: the month's credit rating from what the utility observed.

    Each month gets a grade (DOMAIN.md "Dunning": unintentional debtors pay
    late or in part, deliberate ones ignore the bill until forced; "policy
    should tell them apart"): 100 for a month without overdue arrears, 50 for
    one with overdue arrears in which the customer paid something, 0 for one
    with overdue arrears and no payment at all; 25 off when the balance owed
    exceeds 90 days of expected use (amounts), 50 off for a disconnection this
    month or a supply still cut at month end (not paying even then); at least 0.
    The score is the moving average ``(3 x score + grade) // 4`` (the last few
    months count most), less 30 for tampering found. The hidden segment is
    never read. A customer who pays late or in part every month settles at 50;
    each month with no payment at all goes a quarter of the way to 0 (from the
    neutral 60: 45, 33, 24), so a customer who ignores the bill drops below
    ``credit.legal_below`` = 30 (credit_driven) in three months, while a mix of
    late, part and missed payments (cash gaps) hovers around 40 (risky).
    """
    if cs[i, Field.MONTH_OVERDUE] == 0:
        grade = 100
    elif tally[i, Tally.PAYMENTS] > 0:
        grade = 50
    else:
        grade = 0
    if cs[i, Field.OWED] > 90 * fi[i, FleetInt.TYPICAL_FEN]:
        grade -= 25
    if cs[i, Field.MONTH_DISC] == 1 or cs[i, Field.SUPPLY_OFF] == 1:
        grade -= 50
    score = (3 * cs[i, Field.SCORE] + max(0, grade)) // 4
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
    rate_month(i, fi, cs, tally)
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
