"""Money slots: charges, settlements, days overdue and late fees of one customer.

Money owed is kept by *slot*: slot 0 holds arrears from before the run, slot
``k >= 1`` the charges of the k-th month of the run. A payment settles the
oldest slot first; money beyond what is owed is credit and settles later
charges when they arrive, so ``cs[i, OWED] == sum(unpaid[i]) - cs[i, CREDIT]``
always holds.

Arrays: ``unpaid``, ``recv`` (receivable booked) and ``due`` (due day of the
slot's first charge, ``NO_DUE`` if none) are int64 ``(n, n_slots)``, fen and
days; ``cs`` is the state layout of :mod:`m2c.sim.rules.layout`.
"""

from __future__ import annotations

from numba import njit

from m2c.core import latefee
from m2c.sim.rules.layout import NO_DUE, NOTHING_DUE, Field

RULE = {"cache": True, "nogil": True, "inline": "always"}


@njit(**RULE)
def add_charge(i, slot, amount, due_day, cs, unpaid, recv, due):
    """Book a charge (fen >= 0) into ``slot``; credit on account settles it first."""
    recv[i, slot] += amount
    cs[i, Field.OWED] += amount
    use = min(cs[i, Field.CREDIT], amount)
    cs[i, Field.CREDIT] -= use
    unpaid[i, slot] += amount - use
    if due[i, slot] == NO_DUE:
        due[i, slot] = due_day


@njit(**RULE)
def settle(i, amount, cs, unpaid):
    """Book money received or credited (fen >= 0): oldest slot first, the rest is credit."""
    cs[i, Field.OWED] -= amount
    left = amount
    for s in range(unpaid.shape[1]):
        if left == 0:
            break
        take = min(unpaid[i, s], left)
        unpaid[i, s] -= take
        left -= take
    cs[i, Field.CREDIT] += left


@njit(**RULE)
def days_overdue(i, day, unpaid, due):
    """Days the oldest unpaid charge is past its due date (<= 0: nothing overdue)."""
    worst = NOTHING_DUE
    for s in range(unpaid.shape[1]):
        if unpaid[i, s] > 0 and day - due[i, s] > worst:
            worst = day - due[i, s]
    return worst


@njit(**RULE)
def accrue_late_fee(i, day, year, residential, slot_year, cs, unpaid, due):
    """Add the day's penalty on every overdue slot (fen x ppm, core.latefee rates).

    DOMAIN.md "Bill": a higher daily rate for non-residential customers and for
    arrears carried across a year end (``slot_year[s] < year``).
    """
    for s in range(unpaid.shape[1]):
        if unpaid[i, s] > 0 and day > due[i, s]:
            carried = slot_year[s] < year
            cs[i, Field.ACCRUED] += unpaid[i, s] * latefee.daily_rate_ppm(residential, carried)


@njit(**RULE)
def book_late_fee(i, day, slot, due_days, cs, unpaid, recv, due):
    """Book the accrued penalty as a charge (rounded once, 1 CNY minimum); return fen."""
    fee = latefee.book_fee_fen(cs[i, Field.ACCRUED])
    cs[i, Field.ACCRUED] = 0
    if fee > 0:
        add_charge(i, slot, fee, day + due_days, cs, unpaid, recv, due)
    return fee
