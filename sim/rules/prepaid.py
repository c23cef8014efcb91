"""Prepaid rules: top-up, daily debit, trip and reconnection, tampering, inspections.

DOMAIN.md "Prepaid meters": "pay first, use after". The balance of a prepaid
account is ``-cs[i, OWED]``; the day's debit is booked as a charge of the
month's slot (due ``prepaid_settle_days`` after the month end), the top-up
settles it. The meter's own logic is :func:`m2c.core.prepaid.prepaid_step`;
its event flags are :class:`~m2c.sim.rules.layout.PrepaidEv`.
"""

from __future__ import annotations

from numba import njit

from m2c.core import rng
from m2c.core.prepaid import prepaid_step
from m2c.sim.rules.layout import (
    Cost,
    DayFact,
    Event,
    Field,
    FleetInt,
    IntParam,
    Job,
    Klass,
    Out,
    PrepaidEv,
    SegProb,
    Tally,
)
from m2c.sim.rules.payment import channel_fails, pay_in
from m2c.sim.rules.slots import add_charge, book_late_fee, settle

RULE = {"cache": True, "nogil": True, "inline": "always"}
P_TOPUP = rng.purpose("rules.topup")
P_TAMPER = rng.purpose("rules.tamper")
P_INSPECT = rng.purpose("rules.inspect")


@njit(**RULE)
def topup_amount(owed, topup_days, typical_fen, basic_fen):
    """Top-up (fen): clear what is owed, buy ``topup_days`` of energy and the basic charge.

    The basic charge (two-part tariffs, fen a month) is covered for every started
    30 days of the top-up; the sum is rounded up to 10 CNY.
    """
    want = max(owed, 0) + topup_days * typical_fen + (topup_days + 29) // 30 * basic_fen
    return (want + 999) // 1000 * 1000


@njit(**RULE)
def alert_fen(ip, typical_fen):
    """Low-balance alert (fen): the larger of the flat alert and ``alert_days`` of use."""
    return max(ip[IntParam.ALERT], ip[IntParam.ALERT_DAYS] * typical_fen)


@njit(**RULE)
def tamper_anomaly(i, day, ip, cs, tally, out):
    """Rule: a prepaid customer who stopped buying but is not tripped is inspected.

    Issue 15: "a large customer that stops buying stands out". No top-up for
    ``prepaid_topup_days + tamper_anomaly_days`` days while the supply stays on
    requests an inspection, at most once per ``tamper_anomaly_days``.
    """
    wait = ip[IntParam.ANOMALY_DAYS]
    if wait <= 0 or cs[i, Field.TRIPPED] == 1:
        return
    if (
        day - cs[i, Field.LAST_TOPUP] > ip[IntParam.TOPUP_DAYS] + wait
        and day - cs[i, Field.ANOMALY_DAY] > wait
    ):
        cs[i, Field.ANOMALY_DAY] = day
        tally[i, Tally.ANOMALY_INSPECTIONS] += 1
        out[i, Out.JOBS] |= Job.INSPECT


@njit(**RULE)
def prepaid_day(
    i,
    dv,
    fi,
    ip,
    seg,
    ch_fail,
    ch_conv,
    ch_cost,
    ch_delay,
    slot_end_day,
    charge,
    cs,
    unpaid,
    recv,
    due,
    tally,
    cost,
    out,
):
    """Rule: one prepaid customer-day after consumption (``charge`` fen to debit).

    1. a top-up, decided from the morning's state (balance below the alert or
       relay tripped), through the customer's channel;
    2. the debit, the alert and the trip (:func:`m2c.core.prepaid.prepaid_step`);
       critical customers and bypassed devices cannot trip;
    3. a trip may be answered by tampering (the segment's ``tamper``
       probability) instead of a top-up;
    4. an inspection is requested with the scenario's daily rate, or by a
       consumption anomaly (:func:`tamper_anomaly`).
    """
    day = dv[DayFact.DAY]
    seed = ip[IntParam.SEED]
    row = seg[fi[i, FleetInt.SEGMENT]]
    c = fi[i, FleetInt.CHANNEL]
    balance = -cs[i, Field.OWED]
    p = 0.0
    if cs[i, Field.TRIPPED] == 1:
        p = row[SegProb.TOPUP_TRIPPED]
    elif balance < alert_fen(ip, fi[i, FleetInt.TYPICAL_FEN]):
        p = row[SegProb.TOPUP_ALERT]
    topup = 0
    if (
        p > 0.0
        and rng.uniform(seed, i, day, P_TOPUP) < p * ch_conv[c]
        and not channel_fails(i, day, seed, c, ip, ch_fail, tally)
    ):
        fee = book_late_fee(i, day, dv[DayFact.SLOT], ip[IntParam.DUE_DAYS], cs, unpaid, recv, due)
        out[i, Out.FEE] = fee
        topup = topup_amount(
            cs[i, Field.OWED],
            ip[IntParam.TOPUP_DAYS],
            fi[i, FleetInt.TYPICAL_FEN],
            fi[i, FleetInt.BASIC_FEN],
        )
        cs[i, Field.LAST_TOPUP] = day
        tally[i, Tally.TOPUPS] += 1
        cost[i, Cost.CHANNEL] += ch_cost[c]
        out[i, Out.CHANNEL] = c
    tampered = cs[i, Field.TAMPERED] == 1
    relay = cs[i, Field.TRIPPED] == 0 or tampered
    trippable = fi[i, FleetInt.KLASS] != Klass.CRITICAL and not tampered
    _, _, debited, ev = prepaid_step(
        -cs[i, Field.OWED],
        relay,
        charge,
        topup,
        alert_fen(ip, fi[i, FleetInt.TYPICAL_FEN]),
        ip[IntParam.LIMIT],
        trippable,
    )
    if topup > 0:
        settle(i, topup, cs, unpaid)
        out[i, Out.TOPUP] = topup
        pay_in(i, day, c, topup, ch_delay, ip, cs, tally)
    if debited > 0:
        slot = dv[DayFact.SLOT]
        add_charge(
            i, slot, debited, slot_end_day[slot] + ip[IntParam.SETTLE], cs, unpaid, recv, due
        )
        out[i, Out.DEBIT] = debited
        cs[i, Field.DEBITED] += debited
    if ev & PrepaidEv.RECONNECT:
        cs[i, Field.TRIPPED] = 0
        out[i, Out.EVENTS] |= Event.PREPAID_RECONNECT
        tally[i, Tally.RECONNECTIONS] += 1
    if ev & PrepaidEv.TRIP:
        tally[i, Tally.TRIPS] += 1
        out[i, Out.EVENTS] |= Event.TRIP
        if not tampered and rng.uniform(seed, i, day, P_TAMPER) < row[SegProb.TAMPER]:
            cs[i, Field.TAMPERED] = 1  # bypasses the trip device
        else:
            cs[i, Field.TRIPPED] = 1
    if rng.uniform(seed, i, day, P_INSPECT) < ip[IntParam.INSPECT_PPM] / 1e6:
        out[i, Out.JOBS] |= Job.INSPECT
    tamper_anomaly(i, day, ip, cs, tally, out)
