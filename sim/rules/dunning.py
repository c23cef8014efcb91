"""Dunning rules: the ladder, disconnection, reconnection, negotiation, legal action.

DOMAIN.md "Dunning and disconnection": reminders (SMS, calls, e-mail),
field visits and notices by days overdue; disconnection only after arrears
are more than ``disconnect_after`` days overdue **and** a notice was served,
after the approval delay, never for critical customers (they are negotiated
with); power is restored after the overdue arrears are paid, within 1
(residential) or 2 working days. Field work (visits, notices, manual
disconnections and reconnections, inspections) is requested as crew jobs
(:class:`~m2c.sim.rules.layout.Job`) and done by :func:`apply_job`.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from m2c.core import rng
from m2c.sim.rules.layout import (
    ACTION_COST,
    NEVER,
    QUEUED,
    REMINDER_DAYS,
    Action,
    Cost,
    DayFact,
    Event,
    Field,
    FleetInt,
    IntParam,
    Job,
    Klass,
    Ladder,
    Meter,
    Out,
    Station,
    Tally,
)
from m2c.sim.rules.slots import add_charge, book_late_fee, days_overdue, settle

RULE = {"cache": True, "nogil": True, "inline": "always"}
P_PRESSURE = rng.purpose("rules.pressure")
P_NEGOTIATION = rng.purpose("rules.negotiation")
P_COURT_DELAY = rng.purpose("rules.court_delay")
P_COURT = rng.purpose("rules.court")
LEGAL_PENDING, LEGAL_LOST = 1, 2  # Field.LEGAL: 0 = no suit


@njit(**RULE)
def clear_dunning(i, day, residential, ip, cs, tally, cost, out):
    """Rule: nothing is overdue: reset the ladder; schedule or do the reconnection."""
    cs[i, Field.LADDER] = 0
    cs[i, Field.NOTICE] = 0
    cs[i, Field.DISC_READY] = NEVER
    cs[i, Field.NEGOTIATED] = 0
    if cs[i, Field.SUPPLY_OFF] != 1:
        return
    if cs[i, Field.RECON_READY] == NEVER:
        wait = ip[IntParam.RECON_RES] if residential else ip[IntParam.RECON_OTHER]
        cs[i, Field.RECON_READY] = day + wait
    if day >= cs[i, Field.RECON_READY] >= 0:
        if ip[IntParam.REMOTE] == 1 and cs[i, Field.METER] == Meter.AMI:
            cs[i, Field.SUPPLY_OFF] = 0
            cs[i, Field.RECON_READY] = NEVER
            tally[i, Tally.RECONNECTIONS] += 1
            cost[i, Cost.RECONNECT] += ip[IntParam.COST_REMOTE]
            out[i, Out.EVENTS] |= Event.RECONNECT
        else:
            out[i, Out.JOBS] |= Job.RECONNECT
            cs[i, Field.RECON_READY] = QUEUED


@njit(**RULE)
def ladder_steps(i, day, overdue, lad, cs, tally, cost, out):
    """Rule: take every ladder step whose day overdue is reached (crew steps as jobs)."""
    while cs[i, Field.LADDER] < lad.shape[0] and overdue >= lad[cs[i, Field.LADDER], Ladder.DAY]:
        k = cs[i, Field.LADDER]
        cs[i, Field.LADDER] += 1
        action = lad[k, Ladder.ACTION]
        if lad[k, Ladder.CREW]:
            out[i, Out.JOBS] |= Job.NOTICE if action == Action.NOTICE else Job.VISIT
        else:
            cost[i, ACTION_COST[action]] += lad[k, Ladder.COST]
            cs[i, Field.LAST_CONTACT] = day
            if action == Action.NOTICE or action == Action.VISIT:
                # served the day it is due: no queue (notice timeliness, sim.crews)
                tally[i, Tally.NOTICES_DIRECT] += 1
            if action == Action.NOTICE:
                cs[i, Field.NOTICE] = 1
                tally[i, Tally.NOTICES] += 1
                out[i, Out.EVENTS] |= Event.NOTICE


@njit(**RULE)
def pressure_stops(i, day, residential, ip, cs, tally):
    """Rule: local-government pressure stops an enterprise's disconnection today?

    DOMAIN.md: cutting power "met great resistance in practice": the local
    government pressed the utility on behalf of indebted enterprises. With
    probability ``dunning.pressure_prob`` a non-residential disconnection is
    put off by ``dunning.pressure_delay_days``.
    """
    if residential:
        return False
    u = rng.uniform(ip[IntParam.SEED], i, day, P_PRESSURE)
    if u * 1e6 >= ip[IntParam.PRESSURE_PPM]:
        return False
    cs[i, Field.DISC_READY] = day + ip[IntParam.PRESSURE_DELAY]
    tally[i, Tally.PRESSURE_BLOCKS] += 1
    return True


@njit(**RULE)
def open_negotiation(i, day, ip, cs, tally, cost):
    """Rule: a critical customer past the disconnection rule (or ``negotiation.opens_after_days``
    overdue): open a negotiation.

    The agreement comes ``negotiation.delay_days`` x (0.5..1.5) later.
    """
    if cs[i, Field.NEGOTIATED] != 0:
        return
    cs[i, Field.NEGOTIATED] = 1
    u = rng.uniform(ip[IntParam.SEED], i, day, P_NEGOTIATION)
    cs[i, Field.NEG_DAY] = day + np.int64(ip[IntParam.NEG_DELAY] * (0.5 + u))
    tally[i, Tally.NEGOTIATIONS] += 1
    cost[i, Cost.NEGOTIATION] += ip[IntParam.COST_NEG]


@njit(**RULE)
def disconnection(i, day, overdue, klass, ip, cs, tally, cost, out):
    """Rule: > ``disconnect_after`` days overdue and a notice served: approve, then cut.

    Critical customers are negotiated with instead (DOMAIN.md: city
    government, airport, hospitals are never tripped); an enterprise's
    disconnection may be put off by local-government pressure.
    """
    if cs[i, Field.NOTICE] != 1 or overdue <= ip[IntParam.DISC_AFTER]:
        return
    if klass == Klass.CRITICAL:
        open_negotiation(i, day, ip, cs, tally, cost)
        return
    if cs[i, Field.SUPPLY_OFF] != 0:
        return
    if cs[i, Field.DISC_READY] == NEVER:
        cs[i, Field.DISC_READY] = day + ip[IntParam.APPROVAL]
    if day >= cs[i, Field.DISC_READY] >= 0:
        if pressure_stops(i, day, klass == Klass.RESIDENTIAL, ip, cs, tally):
            return
        if ip[IntParam.REMOTE] == 1 and cs[i, Field.METER] == Meter.AMI:
            cs[i, Field.SUPPLY_OFF] = 1
            cs[i, Field.MONTH_DISC] = 1
            cs[i, Field.DISC_READY] = NEVER
            tally[i, Tally.DISCONNECTIONS] += 1
            cost[i, Cost.DISCONNECT] += ip[IntParam.COST_REMOTE]
            out[i, Out.EVENTS] |= Event.DISCONNECT
        else:
            out[i, Out.JOBS] |= Job.DISCONNECT
            cs[i, Field.DISC_READY] = QUEUED


@njit(**RULE)
def legal_action(i, day, overdue, critical, ip, cs, tally, cost, out):
    """Rule: sue after ``legal_after`` days overdue, or on observed history.

    The rating rule (credit policy) sues a customer whose score (built from
    observed lateness, amounts, disconnections and tamper findings, never the
    hidden segment) is below ``credit.legal_below``, more than
    ``disconnect_after`` days overdue and owing at least ``credit.legal_min_yuan``.
    The court rules ``dunning.legal_days`` x (0.5..1.5) later (:func:`court_ruling`).
    """
    if cs[i, Field.LEGAL] != 0 or critical:
        return
    by_age = overdue > ip[IntParam.LEGAL_AFTER]
    by_rating = (
        ip[IntParam.LEGAL_BELOW] > 0
        and cs[i, Field.SCORE] < ip[IntParam.LEGAL_BELOW]
        and overdue > ip[IntParam.DISC_AFTER]
        and cs[i, Field.OWED] >= ip[IntParam.LEGAL_MIN]
    )
    if by_age or by_rating:
        cs[i, Field.LEGAL] = LEGAL_PENDING
        u = rng.uniform(ip[IntParam.SEED], i, day, P_COURT_DELAY)
        cs[i, Field.LEGAL_DAY] = day + np.int64(ip[IntParam.LEGAL_DAYS] * (0.5 + u))
        tally[i, Tally.LEGAL] += 1
        cost[i, Cost.LEGAL] += ip[IntParam.COST_LEGAL]
        out[i, Out.EVENTS] |= Event.LEGAL


@njit(**RULE)
def station_effort(i, day, st, fi, ip, cs, tally, cost, out):
    """Rule: a station making extra effort calls its overdue customer, visits large debts.

    Issue 15 / DOMAIN.md "What the prepaid county achieved": stations respond to
    their assessment as the settle deadline or a penalty streak approaches
    (``st[station, EFFORT]``, set by the model). A call every few days
    (``REMINDER_DAYS``) raises the customer's payment probability to its
    ``reminded`` level; a debt of at least ``effort_visit_min_yuan`` also asks the
    crews for a visit (they are limited by staff count).
    """
    if st[fi[i, FleetInt.STATION], Station.EFFORT] == 0:
        return
    if day - cs[i, Field.LAST_CONTACT] <= REMINDER_DAYS:
        return
    cs[i, Field.LAST_CONTACT] = day
    tally[i, Tally.EFFORT_CALLS] += 1
    cost[i, Cost.CALL] += ip[IntParam.COST_CALL]
    if cs[i, Field.OWED] >= ip[IntParam.EFFORT_VISIT_MIN]:
        out[i, Out.JOBS] |= Job.VISIT


@njit(**RULE)
def dunning_day(i, dv, fi, ip, lad, st, overdue, cs, tally, cost, out):
    """Rule: a postpaid customer's dunning for the day, ``overdue`` days past due tonight."""
    day = dv[DayFact.DAY]
    klass = fi[i, FleetInt.KLASS]
    if overdue <= 0:
        clear_dunning(i, day, klass == Klass.RESIDENTIAL, ip, cs, tally, cost, out)
        return
    critical = klass == Klass.CRITICAL
    ladder_steps(i, day, overdue, lad, cs, tally, cost, out)
    if critical and 0 <= ip[IntParam.NEG_OPEN] < overdue:
        open_negotiation(i, day, ip, cs, tally, cost)  # a monthly agreement, no notice needed
    station_effort(i, day, st, fi, ip, cs, tally, cost, out)
    disconnection(i, day, overdue, klass, ip, cs, tally, cost, out)
    legal_action(i, day, overdue, critical, ip, cs, tally, cost, out)


@njit(**RULE)
def settle_in_full(i, day, slot, ip, cs, unpaid, recv, due, out):
    """Book the accrued late fee and settle everything owed; returns the fen settled."""
    out[i, Out.FEE] += book_late_fee(i, day, slot, ip[IntParam.DUE_DAYS], cs, unpaid, recv, due)
    amount = cs[i, Field.OWED]
    if amount > 0:
        settle(i, amount, cs, unpaid)
        return amount
    return 0


@njit(**RULE)
def negotiated_settlement(i, dv, ip, cs, unpaid, recv, due, tally, out):
    """Rule: on the agreement day a critical customer settles everything it owes.

    DOMAIN.md: the city government and the airport were settled by
    negotiation: offsets against money the city owed (a share
    ``negotiation.offset_share``, booked as a negative adjustment) and the rest
    paid (a payment). The debt can be late but cannot grow without bound.
    """
    day = dv[DayFact.DAY]
    if cs[i, Field.NEGOTIATED] != 1 or day < cs[i, Field.NEG_DAY]:
        return
    cs[i, Field.NEGOTIATED] = 0
    cs[i, Field.NEG_DAY] = NEVER
    amount = settle_in_full(i, day, dv[DayFact.SLOT], ip, cs, unpaid, recv, due, out)
    offset = amount * ip[IntParam.NEG_OFFSET_PPM] // 1_000_000
    out[i, Out.ADJ] -= offset
    out[i, Out.PAY] += amount - offset
    tally[i, Tally.CASH_FEN] += amount - offset
    tally[i, Tally.CASH_ARRIVED_FEN] += amount - offset  # a budget transfer, same day
    tally[i, Tally.CASH_ON_TIME_FEN] += amount - offset
    tally[i, Tally.NEGOTIATED_FEN] += amount
    tally[i, Tally.OFFSET_FEN] += offset


@njit(**RULE)
def court_ruling(i, dv, ip, cs, unpaid, recv, due, tally, out):
    """Rule: the court rules on a pending lawsuit (outcomes are draws, not switches).

    With probability ``dunning.legal_win`` payment of everything owed is
    enforced (a payment); otherwise the suit is lost and the customer is not
    sued again (the debt ages towards write-off).
    """
    day = dv[DayFact.DAY]
    if cs[i, Field.LEGAL] != LEGAL_PENDING or day < cs[i, Field.LEGAL_DAY]:
        return
    cs[i, Field.LEGAL_DAY] = NEVER
    if rng.uniform(ip[IntParam.SEED], i, day, P_COURT) * 1e6 >= ip[IntParam.LEGAL_WIN_PPM]:
        cs[i, Field.LEGAL] = LEGAL_LOST
        tally[i, Tally.COURT_LOST] += 1
        return
    cs[i, Field.LEGAL] = 0
    tally[i, Tally.COURT_WON] += 1
    amount = settle_in_full(i, day, dv[DayFact.SLOT], ip, cs, unpaid, recv, due, out)
    out[i, Out.PAY] += amount
    tally[i, Tally.CASH_FEN] += amount
    tally[i, Tally.CASH_ARRIVED_FEN] += amount  # enforced by the court, same day
    tally[i, Tally.CASH_ON_TIME_FEN] += amount


@njit(cache=True, nogil=True)
def apply_job(i, day, job, fi, ip, cs, unpaid, recv, due, slot, tally, cost):
    """A field crew does one job for customer ``i``; returns (event flags, adjustment fen)."""
    ev = 0
    adj = 0
    if job == Job.VISIT:
        cost[i, Cost.VISIT] += ip[IntParam.COST_VISIT]
        cs[i, Field.LAST_CONTACT] = day
    elif job == Job.NOTICE:
        cost[i, Cost.NOTICE] += ip[IntParam.COST_NOTICE]
        cs[i, Field.LAST_CONTACT] = day
        if cs[i, Field.NOTICE] == 0:
            cs[i, Field.NOTICE] = 1
            tally[i, Tally.NOTICES] += 1
            ev |= Event.NOTICE
    elif job == Job.DISCONNECT:
        cs[i, Field.DISC_READY] = NEVER
        overdue = days_overdue(i, day, unpaid, due)
        if (
            cs[i, Field.SUPPLY_OFF] == 0
            and cs[i, Field.NOTICE] == 1
            and overdue > ip[IntParam.DISC_AFTER]
            and fi[i, FleetInt.KLASS] != Klass.CRITICAL
        ):
            cs[i, Field.SUPPLY_OFF] = 1
            cs[i, Field.MONTH_DISC] = 1
            tally[i, Tally.DISCONNECTIONS] += 1
            cost[i, Cost.DISCONNECT] += ip[IntParam.COST_DISC]
            ev |= Event.DISCONNECT
    elif job == Job.RECONNECT:
        cs[i, Field.RECON_READY] = NEVER
        if cs[i, Field.SUPPLY_OFF] == 1:
            cs[i, Field.SUPPLY_OFF] = 0
            tally[i, Tally.RECONNECTIONS] += 1
            cost[i, Cost.RECONNECT] += ip[IntParam.COST_RECON]
            ev |= Event.RECONNECT
    elif job == Job.INSPECT:
        cost[i, Cost.INSPECT] += ip[IntParam.COST_INSPECT]
        if cs[i, Field.TAMPERED] == 1:
            # back-bill the unmetered energy plus the penalty; cut off until paid
            adj = cs[i, Field.UNBILLED] * (1 + ip[IntParam.TAMPER_MULT])
            cs[i, Field.UNBILLED] = 0
            cs[i, Field.TAMPERED] = 0
            cs[i, Field.TRIPPED] = 1
            cs[i, Field.MONTH_TAMPER] = 1
            tally[i, Tally.TAMPER_FOUND] += 1
            if adj > 0:
                add_charge(i, slot, adj, day + ip[IntParam.DUE_DAYS], cs, unpaid, recv, due)
    elif job == Job.METER_CHANGE:
        # the credit policy's prepaid meter with trip replaces the old one (a crew job)
        cost[i, Cost.METER] += ip[IntParam.COST_METER]
        cs[i, Field.CONVERT] = 0
        if cs[i, Field.METER] != Meter.PREPAID:
            cs[i, Field.METER] = Meter.PREPAID
            cs[i, Field.SUPPLY_OFF] = 0
            cs[i, Field.DISC_READY] = NEVER
            cs[i, Field.RECON_READY] = NEVER
            cs[i, Field.LAST_TOPUP] = day
            tally[i, Tally.METER_CHANGES] += 1
    return ev, adj
