"""One customer-day, composed of the named rules, and the parallel day kernel.

A customer-day, in order (../shared/DOMAIN.md for every rule):

1. supply: a disconnected or tripped customer consumes nothing (a
   customer-day without supply);
2. consumption: the day's energy from the counter-based RNG; the meter
   registers it per TOU period; postpaid energy waits for the next read,
   prepaid energy is charged now (a tampered prepaid meter does not charge);
3. a released billing error is credited on its dispute day;
4. prepaid: :func:`m2c.sim.rules.prepaid.prepaid_day`; postpaid:
   :func:`m2c.sim.rules.payment.postpaid_payment`;
5. late fees accrue on overdue slots;
6. postpaid dunning: :func:`m2c.sim.rules.dunning.dunning_day`.

:func:`fleet_day` runs :func:`customer_day` for every customer inside one
``prange`` loop; every rule is ``inline="always"``, so the compiled loop body
is the rules pasted in, reading rows as ``arr[i, FIELD]`` (no per-customer
calls or views). The per-agent reference model (:mod:`m2c.sim.reference`)
calls ``customer_day.py_func`` instead: the same rules, run by CPython.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from m2c.core.tariffs.compiled import UNBOUNDED
from m2c.core.units import WH_PER_CKWH, energy_charge_fen, nu_to_uy
from m2c.sim.consumption import customer_day_ckwh
from m2c.sim.rules.dunning import court_ruling, dunning_day, negotiated_settlement
from m2c.sim.rules.layout import (
    NEVER,
    NOTHING_DUE,
    DayFact,
    Field,
    FleetFloat,
    FleetInt,
    IntParam,
    Job,
    Klass,
    Meter,
    Out,
    Tally,
)
from m2c.sim.rules.payment import funds_arrive, postpaid_payment
from m2c.sim.rules.prepaid import prepaid_day
from m2c.sim.rules.slots import accrue_late_fee, days_overdue, settle

RULE = {"cache": True, "nogil": True, "inline": "always"}


@njit(**RULE)
def supply_off(i, cs):
    """Customer ``i`` has no supply: disconnected, or tripped on a meter not bypassed."""
    return cs[i, Field.SUPPLY_OFF] == 1 or (
        cs[i, Field.TRIPPED] == 1 and cs[i, Field.TAMPERED] == 0
    )


@njit(**RULE)
def consume(i, dv, fi, ff, ip, shape_max, season, period_share, price_p, cs, acc, reg, tally):
    """Rules 1-2: the day's energy into the registers; returns the prepaid charge (fen).

    Periods 1.. take their truncated share of the day; period 0 (every tariff
    has one) takes the rest, so no centi-kWh lands in a column the customer's
    tariff does not bill. Energy waits in ``acc`` for the next read (prepaid
    meters too: their month is settled against the bill), except what passes a
    bypassed trip device. A prepaid meter charges each period at the
    customer's own tariff (``price_p``, :func:`prepaid_price_table`: the first
    tier of each TOU period, micro-yuan/kWh, plus the tariff's block adders for
    where the day's energy falls in its block year or month,
    :func:`block_adders_fen`) and the monthly basic charge on the 1st; the month's
    bill settles the difference (prepaid.settle).
    """
    prepaid = cs[i, Field.METER] == Meter.PREPAID
    metered = cs[i, Field.TAMPERED] == 0
    klass = fi[i, FleetInt.KLASS]
    calmonth = dv[DayFact.CALMONTH]
    energy = 0
    if supply_off(i, cs):
        tally[i, Tally.OUTAGE_DAYS] += 1
    else:
        energy = customer_day_ckwh(
            ip[IntParam.SEED],
            i,
            dv[DayFact.DAY],
            ff[i, FleetFloat.BASE_KWH],
            season[klass, calmonth],
            ff[i, FleetFloat.LEVEL],
            ip[IntParam.DAY_SIGMA_PPM] / 1e6,
        )
        peak_w = np.int64(energy * shape_max[klass] * 10.0)  # ckWh in the peak hour -> W
        if peak_w > cs[i, Field.DMAX_W]:
            cs[i, Field.DMAX_W] = peak_w
    tariff = fi[i, FleetInt.TARIFF]
    weekend = dv[DayFact.WEEKEND]
    P = acc.shape[1]
    basis = price_p[tariff, P]
    pos = 0  # centi-kWh already counted in the tariff's block period (before today)
    if prepaid and basis != 0:
        for p in range(P):
            pos += acc[i, p]  # read since the last bill
        if basis == BLOCK_ANNUAL:
            pos += cs[i, Field.YTD_CKWH]
    left = energy
    charge = 0
    for p in range(1, acc.shape[1]):
        part = np.int64(energy * period_share[tariff, weekend, calmonth, p])
        reg[i, p] += part
        if metered:
            acc[i, p] += part
        if prepaid:
            charge += energy_charge_fen(part, price_p[tariff, p])
        left -= part
    reg[i, 0] += left
    if metered:
        acc[i, 0] += left
    if not prepaid:
        return 0
    charge += energy_charge_fen(left, price_p[tariff, 0])
    if basis != 0:
        charge += block_adders_fen(tariff, pos, energy, price_p, P)
    if dv[DayFact.MONTH_START]:
        charge += fi[i, FleetInt.BASIC_FEN]  # two-part basic charge, debited on the 1st
    if not metered:
        cs[i, Field.UNBILLED] += charge
        charge = 0
    return charge


#: ``TariffArrays.block_basis`` codes (core/tariffs/compiled.py)
BLOCK_MONTHLY, BLOCK_ANNUAL = 1, 2


def prepaid_price_table(A) -> np.ndarray:
    """The prepaid debit's price table from a compiled tariff table: int64 (T, P + 1 +
    2 KB), per tariff the first-tier price of each TOU period (micro-yuan/kWh), the
    block basis (0 none, 1 monthly, 2 annual), the blocks' cumulative upper bounds
    (centi-kWh) and their adders (micro-yuan/kWh; 0 beyond the tariff's blocks)."""
    T, P = A.e_price.shape[:2]
    KB = A.b_max.shape[1]
    real = np.arange(KB)[None, :] < A.b_n[:, None]
    out = np.zeros((T, P + 1 + 2 * KB), dtype=np.int64)
    out[:, :P] = nu_to_uy(A.e_price[:, :, 0])
    out[:, P] = A.block_basis
    bounded = real & (A.b_max < UNBOUNDED)
    out[:, P + 1 : P + 1 + KB] = np.where(bounded, A.b_max // WH_PER_CKWH, UNBOUNDED)
    out[:, P + 1 + KB :] = np.where(real, nu_to_uy(A.b_adder), 0)
    return out


@njit(**RULE)
def block_adders_fen(tariff, pos, energy, price_p, P):
    """The block adders (fen) on ``energy`` centi-kWh consumed from position ``pos``
    (centi-kWh already in the tariff's block year or month): each block's adder on
    the part of [pos, pos + energy) inside the block, rounded per block."""
    KB = (price_p.shape[1] - P - 1) // 2
    fen = 0
    lo = 0
    for k in range(KB):
        hi = price_p[tariff, P + 1 + k]
        a = max(pos, lo)
        b = min(pos + energy, hi)
        adder = price_p[tariff, P + 1 + KB + k]
        if adder != 0 and b > a:
            fen += energy_charge_fen(b - a, adder)
        lo = hi
    return fen


@njit(**RULE)
def dispute_credit(i, day, cs, unpaid, recv, out):
    """Rule 3: a released billing error is credited when the dispute is settled."""
    if cs[i, Field.DISPUTE_DAY] != day:
        return
    amount = cs[i, Field.DISPUTE_FEN]
    s = cs[i, Field.DISPUTE_SLOT]
    recv[i, s] -= min(amount, recv[i, s])
    settle(i, amount, cs, unpaid)
    out[i, Out.ADJ] = -amount
    cs[i, Field.DISPUTE_DAY] = NEVER
    cs[i, Field.DISPUTE_FEN] = 0


@njit(**RULE)
def customer_day(
    i,
    dv,
    fi,
    ff,
    ip,
    seg,
    ch_fail,
    ch_conv,
    ch_cost,
    ch_delay,
    lad,
    st,
    shape_max,
    season,
    period_share,
    price_p,
    slot_end_day,
    slot_year,
    cs,
    unpaid,
    recv,
    due,
    acc,
    reg,
    tally,
    cost,
    out,
):
    """Run one customer-day (see the module docstring); the day's outputs go to out[i]."""
    for k in range(out.shape[1]):
        out[i, k] = 0
    day = dv[DayFact.DAY]
    if dv[DayFact.MONTH_START] and dv[DayFact.CALMONTH] == 0:
        cs[i, Field.YTD_CKWH] = 0  # annual blocks and minimum count per calendar year
        cs[i, Field.YTD_FEN] = 0
    prepaid = cs[i, Field.METER] == Meter.PREPAID
    funds_arrive(i, day, cs, tally)
    charge = consume(
        i, dv, fi, ff, ip, shape_max, season, period_share, price_p, cs, acc, reg, tally
    )
    dispute_credit(i, day, cs, unpaid, recv, out)
    if prepaid:
        prepaid_day(
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
        )
    else:
        postpaid_payment(
            i,
            dv,
            fi,
            ip,
            seg,
            ch_fail,
            ch_conv,
            ch_cost,
            ch_delay,
            cs,
            unpaid,
            recv,
            due,
            tally,
            cost,
            out,
        )
        negotiated_settlement(i, dv, ip, cs, unpaid, recv, due, tally, out)
        court_ruling(i, dv, ip, cs, unpaid, recv, due, tally, out)
        if cs[i, Field.CONVERT] == 1:  # the credit policy's meter change: a crew job
            cs[i, Field.CONVERT] = 2
            out[i, Out.JOBS] |= Job.METER_CHANGE
    overdue = NOTHING_DUE
    if cs[i, Field.OWED] > 0:  # late fees on what is still overdue tonight
        accrue_late_fee(
            i,
            day,
            dv[DayFact.YEAR],
            fi[i, FleetInt.KLASS] == Klass.RESIDENTIAL,
            slot_year,
            cs,
            unpaid,
            due,
        )
        overdue = days_overdue(i, day, unpaid, due)
    out[i, Out.OVERDUE] = overdue
    if overdue > 0:
        cs[i, Field.MONTH_OVERDUE] = 1
    if not prepaid:
        dunning_day(i, dv, fi, ip, lad, st, overdue, cs, tally, cost, out)


@njit(cache=True, parallel=True)
def fleet_day(
    dv,
    fi,
    ff,
    ip,
    seg,
    ch_fail,
    ch_conv,
    ch_cost,
    ch_delay,
    lad,
    st,
    shape_max,
    season,
    period_share,
    price_p,
    slot_end_day,
    slot_year,
    cs,
    unpaid,
    recv,
    due,
    acc,
    reg,
    tally,
    cost,
    out,
    hit,
):
    """:func:`customer_day` for every customer, in parallel (rows are independent).

    ``hit`` uint8 (n,): set to 1 where the day booked money, events or jobs
    (``out`` columns FEE, PAY, TOPUP, DEBIT, ADJ, EVENTS, JOBS not all zero), so
    the bookkeeping reads only those rows of ``out``.
    """
    for i in prange(cs.shape[0]):
        customer_day(
            i,
            dv,
            fi,
            ff,
            ip,
            seg,
            ch_fail,
            ch_conv,
            ch_cost,
            ch_delay,
            lad,
            st,
            shape_max,
            season,
            period_share,
            price_p,
            slot_end_day,
            slot_year,
            cs,
            unpaid,
            recv,
            due,
            acc,
            reg,
            tally,
            cost,
            out,
        )
        any_out = (
            out[i, Out.FEE]
            | out[i, Out.PAY]
            | out[i, Out.TOPUP]
            | out[i, Out.DEBIT]
            | out[i, Out.ADJ]
            | out[i, Out.EVENTS]
            | out[i, Out.JOBS]
        )
        hit[i] = any_out != 0
