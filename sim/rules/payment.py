"""Payment rules: a postpaid customer's daily decision to pay, and the channel it uses.

DOMAIN.md "Dunning": about 90 % of customers pay on their own; the rest pay
after a reminder, a notice, a disconnection or a lawsuit, by the daily
probabilities of their behaviour segment (``seg`` rows, columns
:class:`~m2c.sim.rules.layout.SegProb`). DOMAIN.md "Collect": every channel has
its own failure rate (bank link target <= 0.1 %) and cost per transaction.
"""

from __future__ import annotations

from numba import njit

from m2c.core import rng
from m2c.sim.rules.layout import (
    NEVER,
    NOTHING_DUE,
    REMINDER_DAYS,
    Cost,
    DayFact,
    Field,
    FleetInt,
    IntParam,
    Out,
    SegProb,
    Tally,
)
from m2c.sim.rules.slots import book_late_fee, days_overdue, settle

RULE = {"cache": True, "nogil": True, "inline": "always"}
P_PAY = rng.purpose("rules.pay")
P_PARTIAL = rng.purpose("rules.partial")
P_CHANNEL_FAIL = rng.purpose("rules.channel_fail")


@njit(**RULE)
def channel_fails(i, day, seed, c, ip, ch_fail, tally):
    """Does the customer's payment channel ``c`` fail today? Counts tries and failures."""
    bank = c == ip[IntParam.BANK_CH]
    if bank:
        tally[i, Tally.BANK_TRIES] += 1
    if rng.uniform(seed, i, day, P_CHANNEL_FAIL) < ch_fail[c]:
        tally[i, Tally.PAY_FAILED] += 1
        if bank:
            tally[i, Tally.BANK_FAILED] += 1
        return True
    return False


@njit(**RULE)
def pay_probability(seg_row, overdue, reminded, notice, off, legal):
    """Daily probability that a postpaid customer with an open bill pays."""
    if off:
        return seg_row[SegProb.DISCONNECTED]
    if legal:
        return seg_row[SegProb.LEGAL]
    p = seg_row[SegProb.BEFORE] if overdue <= 0 else seg_row[SegProb.AFTER]
    if reminded and seg_row[SegProb.REMINDED] > p:
        p = seg_row[SegProb.REMINDED]
    if notice and seg_row[SegProb.NOTICE] > p:
        p = seg_row[SegProb.NOTICE]
    return p


@njit(**RULE)
def pay_in(i, day, c, amount, ch_delay, ip, cs, tally):
    """Rule: money paid today through channel ``c`` reaches the utility's account later.

    DOMAIN.md "Collect": every channel has its own delay to cash; funds
    arriving within ``funds.on_time_days`` are on time. Money in transit is
    held per customer (a second payment in transit moves the arrival to the
    later day).
    """
    tally[i, Tally.CASH_FEN] += amount
    delay = ch_delay[c]
    if delay <= ip[IntParam.ON_TIME_DAYS]:
        tally[i, Tally.CASH_ON_TIME_FEN] += amount
    if delay == 0:
        tally[i, Tally.CASH_ARRIVED_FEN] += amount
    else:
        cs[i, Field.TRANSIT_FEN] += amount
        cs[i, Field.TRANSIT_DAY] = max(cs[i, Field.TRANSIT_DAY], day + delay)


@njit(**RULE)
def funds_arrive(i, day, cs, tally):
    """Rule: money in transit whose arrival day has come reaches the account."""
    if cs[i, Field.TRANSIT_FEN] > 0 and day >= cs[i, Field.TRANSIT_DAY]:
        tally[i, Tally.CASH_ARRIVED_FEN] += cs[i, Field.TRANSIT_FEN]
        cs[i, Field.TRANSIT_FEN] = 0
        cs[i, Field.TRANSIT_DAY] = NEVER


@njit(**RULE)
def postpaid_payment(
    i, dv, fi, ip, seg, ch_fail, ch_conv, ch_cost, ch_delay, cs, unpaid, recv, due, tally, cost, out
):
    """Rule: a postpaid customer with an open bill may pay today.

    A payment first books the accrued late fee (1 CNY minimum), then settles
    the whole balance, or a half (a third for large customers on
    instalments) for cash-gap customers, or a month ahead for prepayers.
    Writes ``out[i, PAY]``, ``FEE`` and ``CHANNEL``.
    """
    day = dv[DayFact.DAY]
    seed = ip[IntParam.SEED]
    # owed <= 0 means every slot is settled (credit only exists once they all are)
    if cs[i, Field.OWED] <= 0:
        return
    overdue = days_overdue(i, day, unpaid, due)
    if overdue <= NOTHING_DUE:
        return
    row = seg[fi[i, FleetInt.SEGMENT]]
    c = fi[i, FleetInt.CHANNEL]
    reminded = day - cs[i, Field.LAST_CONTACT] <= REMINDER_DAYS
    p = pay_probability(
        row,
        overdue,
        reminded,
        cs[i, Field.NOTICE] == 1,
        cs[i, Field.SUPPLY_OFF] == 1,
        cs[i, Field.LEGAL] == 1,
    )
    large = ip[IntParam.INSTAL_KVA] > 0 and fi[i, FleetInt.CAPACITY] >= ip[IntParam.INSTAL_KVA]
    if large and row[SegProb.PARTIAL] > 0.0:
        p = min(1.0, 2.0 * p)  # instalments: cash-gap customers pay more often
    if p <= 0.0 or rng.uniform(seed, i, day, P_PAY) >= min(0.95, p * ch_conv[c]):
        return
    if channel_fails(i, day, seed, c, ip, ch_fail, tally):
        return
    fee = book_late_fee(i, day, dv[DayFact.SLOT], ip[IntParam.DUE_DAYS], cs, unpaid, recv, due)
    out[i, Out.FEE] = fee
    amount = cs[i, Field.OWED]
    if row[SegProb.PARTIAL] > 0.0 and rng.uniform(seed, i, day, P_PARTIAL) < row[SegProb.PARTIAL]:
        amount = amount // 3 if large else amount // 2
    elif fi[i, FleetInt.PREPAYER]:
        amount += 30 * fi[i, FleetInt.TYPICAL_FEN]  # pays a month ahead
    if amount > 0:
        settle(i, amount, cs, unpaid)
        out[i, Out.PAY] = amount
        pay_in(i, day, c, amount, ch_delay, ip, cs, tally)
        out[i, Out.CHANNEL] = c
        tally[i, Tally.PAYMENTS] += 1
        cost[i, Cost.CHANNEL] += ch_cost[c]
