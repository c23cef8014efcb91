"""The rules of one customer-day, as scalar Numba functions over the state arrays.

Both models run exactly these rules: the fast model calls them inside
``prange`` loops over all customers (:mod:`m2c.sim.model`); the per-agent
reference model (:mod:`m2c.sim.reference`) runs each customer as its own
SimPy process and calls the *interpreted* Python originals (``.py_func``).
Equal ledgers therefore prove the fast model's batching, parallel loops,
billing runs and crew scheduling, and that the compiled rules behave like
the Python ones (integer widths, float order, races).

A customer-day, in order (../shared/DOMAIN.md for every rule):

1. supply: a disconnected or tripped customer consumes nothing (a
   customer-day without supply);
2. consumption: the day's energy from the counter-based RNG; postpaid meters
   accumulate it per TOU period until the station's reading day, prepaid
   meters debit it now (a tampered prepaid meter does not);
3. a bill dispute (a released billing error) is credited on its day;
4. prepaid: a top-up when the balance is below the alert or the relay is
   tripped, then the daily debit, the alert and the trip (core.prepaid);
5. postpaid: a payment decision from the behaviour segment and the dunning
   state; a payment first books the accrued late fee (1 CNY minimum);
6. late fees accrue on overdue slots (core.latefee rates);
7. dunning: the ladder's next steps by days overdue (immediate actions now,
   field actions as crew jobs); disconnection only when more than
   ``disconnect_after`` days overdue *and* a notice was served, after the
   approval delay, never for critical customers; reconnection after the
   overdue arrears are paid, within 1 (residential) or 2 working days.

Money owed is kept by *slot*: slot 0 holds arrears from before the run
(last year), slot ``k >= 1`` the charges of the k-th month of the run. A
payment settles the oldest slot first; money beyond what is owed is credit
and settles later charges when they arrive. ``owed == sum(unpaid) - credit``
always holds.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from m2c.core import latefee, rng
from m2c.core.prepaid import prepaid_step
from m2c.core.units import energy_charge_fen
from m2c.sim.consumption import customer_day_ckwh

# -- per-customer integer state: columns of cs[n, N_FIELDS] ------------------
(
    F_OWED,
    F_CREDIT,
    F_ACCRUED,
    F_SUPPLY_OFF,
    F_TRIPPED,
    F_TAMPERED,
    F_UNBILLED,
    F_NOTICE,
    F_LADDER,
    F_LAST_CONTACT,
    F_DISC_READY,
    F_RECON_READY,
    F_LEGAL,
    F_SCORE,
    F_METER,
    F_NEGOTIATED,
    F_DMAX_W,
    F_DISPUTE_DAY,
    F_DISPUTE_FEN,
    F_DISPUTE_SLOT,
    F_YTD_CKWH,
    F_YTD_FEN,
    F_MONTH_OVERDUE,
    F_MONTH_DISC,
) = range(24)
N_FIELDS = 24
NEVER = -1
NO_DUE = 1 << 40  # due day of a slot without charges (far future)
NOTHING_DUE = -(1 << 30)  # days_overdue of a customer who owes nothing

# -- daily outputs: columns of out[n, N_OUT] ---------------------------------
O_DEBIT, O_TOPUP, O_PAY, O_FEE, O_ADJ, O_JOBS, O_EVENTS, O_OVERDUE, O_CHANNEL = range(9)
N_OUT = 9

# crew jobs (bit flags in O_JOBS), in priority order (lowest bit first)
JOB_RECONNECT, JOB_DISCONNECT, JOB_NOTICE, JOB_VISIT, JOB_INSPECT = 1, 2, 4, 8, 16
JOB_KINDS = (JOB_RECONNECT, JOB_DISCONNECT, JOB_NOTICE, JOB_VISIT, JOB_INSPECT)
JOB_NAMES = ("reconnect", "disconnect", "notice", "visit", "inspect")

# events (bit flags in O_EVENTS), for the event log
EV_NOTICE, EV_DISCONNECT, EV_RECONNECT, EV_TRIP, EV_PREPAID_RECONNECT, EV_LEGAL = (
    1,
    2,
    4,
    8,
    16,
    32,
)

# -- tallies per customer, summed per station each month: tally[n, N_TALLY] --
(
    T_PAYMENTS,
    T_PAY_FAILED,
    T_BANK_TRIES,
    T_BANK_FAILED,
    T_DISCONNECTIONS,
    T_RECONNECTIONS,
    T_OUTAGE_DAYS,
    T_READS,
    T_ESTIMATED,
    T_BILLS,
    T_BILL_ERRORS,
    T_BILL_ERRORS_CAUGHT,
    T_TRIPS,
    T_TAMPER_FOUND,
    T_NEGOTIATIONS,
    T_TOPUPS,
    T_NOTICES,
    T_WRITE_OFF_FEN,
    T_LEGAL,
    T_CASH_FEN,
    T_JOBS_DONE,
) = range(21)
N_TALLY = 21
# collection cost by activity (fen): cost[n, N_COST]
(
    C_SMS,
    C_CALL,
    C_EMAIL,
    C_VISIT,
    C_NOTICE,
    C_DISCONNECT,
    C_RECONNECT,
    C_CHANNEL,
    C_LEGAL,
    C_INSPECT,
) = range(10)
N_COST = 10
COST_NAMES = (
    "sms",
    "call",
    "email",
    "visit",
    "notice",
    "disconnect",
    "reconnect",
    "channel",
    "legal",
    "inspect",
)
ACTION_COST = (C_SMS, C_CALL, C_EMAIL, C_VISIT, C_NOTICE)  # by ladder action code

# -- integer parameters: ip[N_IP] ----------------------------------------------
(
    IP_SEED,
    IP_DUE_DAYS,
    IP_DISC_AFTER,
    IP_APPROVAL,
    IP_RECON_RES,
    IP_RECON_OTHER,
    IP_LEGAL_AFTER,
    IP_SETTLE,
    IP_TOPUP_DAYS,
    IP_ALERT,
    IP_LIMIT,
    IP_REMOTE,
    IP_LEGAL_BELOW,
    IP_INSTAL_KVA,
    IP_BANK_CH,
    IP_COST_DISC,
    IP_COST_RECON,
    IP_COST_REMOTE,
    IP_COST_LEGAL,
    IP_LEVEL_SIGMA_PPM,
    IP_DAY_SIGMA_PPM,
    IP_INSPECT_PPM,
    IP_COST_VISIT,
    IP_COST_NOTICE,
    IP_COST_INSPECT,
    IP_TAMPER_MULT,
) = range(26)
N_IP = 26
# segment probabilities: seg[n_segments, N_SEG]
(
    S_BEFORE,
    S_AFTER,
    S_REMINDED,
    S_NOTICE,
    S_DISCONNECTED,
    S_LEGAL,
    S_PARTIAL,
    S_TOPUP_ALERT,
    S_TOPUP_TRIPPED,
    S_TAMPER,
) = range(10)
N_SEG = 10

PREPAID, AMI = 2, 1  # meter kinds (sim.fleet)
RESIDENTIAL, CRITICAL = 0, 4  # classes (sim.scenario.CLASSES)
REMINDER_DAYS = 3  # a reminder or visit raises the payment probability for 3 days

P_PAY = rng.purpose("rules.pay")
P_PARTIAL = rng.purpose("rules.partial")
P_CHANNEL_FAIL = rng.purpose("rules.channel_fail")
P_TOPUP = rng.purpose("rules.topup")
P_TAMPER = rng.purpose("rules.tamper")
P_INSPECT = rng.purpose("rules.inspect")


@njit(cache=True, nogil=True)
def add_charge(i, slot, amount, due_day, cs, unpaid, recv, due):
    """Book a charge (fen >= 0) into ``slot``; credit on account settles it first."""
    recv[i, slot] += amount
    cs[i, F_OWED] += amount
    use = min(cs[i, F_CREDIT], amount)
    cs[i, F_CREDIT] -= use
    unpaid[i, slot] += amount - use
    if due[i, slot] == NO_DUE:
        due[i, slot] = due_day


@njit(cache=True, nogil=True)
def settle(i, amount, cs, unpaid):
    """Book money received or credited (fen >= 0): oldest slot first, the rest is credit."""
    cs[i, F_OWED] -= amount
    left = amount
    for s in range(unpaid.shape[1]):
        if left == 0:
            break
        take = min(unpaid[i, s], left)
        unpaid[i, s] -= take
        left -= take
    cs[i, F_CREDIT] += left


@njit(cache=True, nogil=True)
def days_overdue(i, day, unpaid, due):
    """Days the oldest unpaid charge is past its due date (<= 0: nothing overdue)."""
    worst = NOTHING_DUE
    for s in range(unpaid.shape[1]):
        if unpaid[i, s] > 0 and day - due[i, s] > worst:
            worst = day - due[i, s]
    return worst


@njit(cache=True, nogil=True)
def accrue_late_fee(i, day, year, residential, slot_year, cs, unpaid, due):
    """Add the day's penalty on every overdue slot (fen x ppm, core.latefee rates)."""
    for s in range(unpaid.shape[1]):
        if unpaid[i, s] > 0 and day > due[i, s]:
            carried = slot_year[s] < year
            cs[i, F_ACCRUED] += unpaid[i, s] * latefee.daily_rate_ppm(residential, carried)


@njit(cache=True, nogil=True)
def book_late_fee(i, day, slot, due_days, cs, unpaid, recv, due):
    """Book the accrued penalty as a charge (rounded once, 1 CNY minimum); return fen."""
    fee = latefee.book_fee_fen(cs[i, F_ACCRUED])
    cs[i, F_ACCRUED] = 0
    if fee > 0:
        add_charge(i, slot, fee, day + due_days, cs, unpaid, recv, due)
    return fee


@njit(cache=True, nogil=True)
def channel_fails(i, day, seed, c, ip, ch_fail, tally):
    """Does the customer's payment channel fail today? Counts tries and failures."""
    bank = c == ip[IP_BANK_CH]
    if bank:
        tally[i, T_BANK_TRIES] += 1
    if rng.uniform(seed, i, day, P_CHANNEL_FAIL) < ch_fail[c]:
        tally[i, T_PAY_FAILED] += 1
        if bank:
            tally[i, T_BANK_FAILED] += 1
        return True
    return False


@njit(cache=True, nogil=True)
def pay_probability(seg_row, overdue, reminded, notice, off, legal):
    """Daily probability that a postpaid customer with an open bill pays."""
    if off:
        return seg_row[S_DISCONNECTED]
    if legal:
        return seg_row[S_LEGAL]
    p = seg_row[S_BEFORE] if overdue <= 0 else seg_row[S_AFTER]
    if reminded and seg_row[S_REMINDED] > p:
        p = seg_row[S_REMINDED]
    if notice and seg_row[S_NOTICE] > p:
        p = seg_row[S_NOTICE]
    return p


@njit(cache=True, nogil=True)
def supply_off(i, cs):
    """Customer ``i`` has no supply: disconnected, or tripped on a meter not bypassed."""
    return cs[i, F_SUPPLY_OFF] == 1 or (cs[i, F_TRIPPED] == 1 and cs[i, F_TAMPERED] == 0)


@njit(cache=True, nogil=True)
def customer_day(
    i,
    day,
    slot,
    calmonth,
    weekend,
    year,
    month_start,
    slot_end_day,
    station,
    klass,
    tariff_id,
    capacity,
    segment,
    prepayer,
    channel,
    base_kwh,
    level,
    typical_fen,
    price_uy,
    basic_fen,
    shape_max,
    season,
    period_share,
    ip,
    seg,
    ch_fail,
    ch_conv,
    ch_cost,
    lad_day,
    lad_action,
    lad_crew,
    lad_cost,
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
    """Run one customer-day (see the module docstring); write the day's outputs to out[i]."""
    seed = ip[IP_SEED]
    for k in range(N_OUT):
        out[i, k] = 0
    prepaid = cs[i, F_METER] == PREPAID
    critical = klass[i] == CRITICAL
    residential = klass[i] == RESIDENTIAL
    due_days = ip[IP_DUE_DAYS]
    tariff = tariff_id[i]
    if month_start and calmonth == 0:  # annual blocks and minimum count per calendar year
        cs[i, F_YTD_CKWH] = 0
        cs[i, F_YTD_FEN] = 0

    # 1-2. supply and consumption
    off = supply_off(i, cs)
    energy = 0
    if off:
        tally[i, T_OUTAGE_DAYS] += 1
    else:
        energy = customer_day_ckwh(
            seed,
            i,
            day,
            base_kwh[i],
            season[klass[i], calmonth],
            level[i],
            ip[IP_DAY_SIGMA_PPM] / 1e6,
        )
        peak_w = np.int64(energy * shape_max[klass[i]] * 10.0)  # ckWh in the peak hour -> W
        if peak_w > cs[i, F_DMAX_W]:
            cs[i, F_DMAX_W] = peak_w
    # The meter registers every customer's energy by TOU period. Periods 1.. take their
    # truncated share; period 0 (every tariff has one) takes the rest, so no centi-kWh
    # lands in a column the customer's tariff does not bill. Postpaid energy also waits
    # in ``acc`` for the next read; prepaid energy is debited below.
    left = energy
    for p in range(1, acc.shape[1]):
        part = np.int64(energy * period_share[tariff, weekend, calmonth, p])
        reg[i, p] += part
        if not prepaid:
            acc[i, p] += part
        left -= part
    reg[i, 0] += left
    charge = 0
    if prepaid:
        charge = energy_charge_fen(energy, price_uy[i])
        if month_start:
            charge += basic_fen[i]  # two-part basic charge, debited on the 1st
        if cs[i, F_TAMPERED] == 1:
            cs[i, F_UNBILLED] += charge
            charge = 0
    else:
        acc[i, 0] += left

    # 3. a released billing error is credited when the dispute is settled
    if cs[i, F_DISPUTE_DAY] == day:
        amount = cs[i, F_DISPUTE_FEN]
        s = cs[i, F_DISPUTE_SLOT]
        fix = min(amount, recv[i, s])
        recv[i, s] -= fix
        settle(i, amount, cs, unpaid)
        out[i, O_ADJ] = -amount
        cs[i, F_DISPUTE_DAY] = NEVER
        cs[i, F_DISPUTE_FEN] = 0

    row = seg[segment[i]]
    c = channel[i]
    if prepaid:
        # 4. top-up decision from the morning's state, then the prepaid day
        balance = -cs[i, F_OWED]
        tripped = cs[i, F_TRIPPED] == 1
        p = 0.0
        if tripped:
            p = row[S_TOPUP_TRIPPED]
        elif balance < ip[IP_ALERT]:
            p = row[S_TOPUP_ALERT]
        topup = 0
        if p > 0.0 and rng.uniform(seed, i, day, P_TOPUP) < p * ch_conv[c]:  # noqa: SIM102 (decide, then try the channel)
            if not channel_fails(i, day, seed, c, ip, ch_fail, tally):
                fee = book_late_fee(i, day, slot, due_days, cs, unpaid, recv, due)
                out[i, O_FEE] = fee
                want = max(cs[i, F_OWED], 0) + ip[IP_TOPUP_DAYS] * typical_fen[i]
                topup = (want + 999) // 1000 * 1000  # round up to 10 CNY
                tally[i, T_TOPUPS] += 1
                cost[i, C_CHANNEL] += ch_cost[c]
                out[i, O_CHANNEL] = c
        relay = cs[i, F_TRIPPED] == 0 or cs[i, F_TAMPERED] == 1
        trippable = not critical and cs[i, F_TAMPERED] == 0  # a bypassed device cannot trip
        _, _, debited, ev = prepaid_step(
            -cs[i, F_OWED], relay, charge, topup, ip[IP_ALERT], ip[IP_LIMIT], trippable
        )
        if topup > 0:
            settle(i, topup, cs, unpaid)
            out[i, O_TOPUP] = topup
            tally[i, T_CASH_FEN] += topup
        if debited > 0:
            add_charge(i, slot, debited, slot_end_day[slot] + ip[IP_SETTLE], cs, unpaid, recv, due)
            out[i, O_DEBIT] = debited
        if ev & 16:  # core.prepaid.EV_RECONNECT
            cs[i, F_TRIPPED] = 0
            out[i, O_EVENTS] |= EV_PREPAID_RECONNECT
            tally[i, T_RECONNECTIONS] += 1
        if ev & 8:  # core.prepaid.EV_TRIP
            tally[i, T_TRIPS] += 1
            out[i, O_EVENTS] |= EV_TRIP
            if cs[i, F_TAMPERED] == 0 and rng.uniform(seed, i, day, P_TAMPER) < row[S_TAMPER]:
                cs[i, F_TAMPERED] = 1  # bypasses the trip device
            else:
                cs[i, F_TRIPPED] = 1
        if rng.uniform(seed, i, day, P_INSPECT) < ip[IP_INSPECT_PPM] / 1e6:
            out[i, O_JOBS] |= JOB_INSPECT
    else:
        # 5. postpaid payment
        # owed <= 0 means every slot is settled (credit only exists once they all are)
        overdue = days_overdue(i, day, unpaid, due) if cs[i, F_OWED] > 0 else NOTHING_DUE
        has_open = cs[i, F_OWED] > 0 and overdue > NOTHING_DUE
        if has_open:
            reminded = day - cs[i, F_LAST_CONTACT] <= REMINDER_DAYS
            p = pay_probability(
                row,
                overdue,
                reminded,
                cs[i, F_NOTICE] == 1,
                cs[i, F_SUPPLY_OFF] == 1,
                cs[i, F_LEGAL] == 1,
            )
            large = ip[IP_INSTAL_KVA] > 0 and capacity[i] >= ip[IP_INSTAL_KVA]
            if large and row[S_PARTIAL] > 0.0:
                p = min(1.0, 2.0 * p)  # instalments: cash-gap customers pay more often
            if p > 0.0 and rng.uniform(seed, i, day, P_PAY) < min(0.95, p * ch_conv[c]):  # noqa: SIM102
                if not channel_fails(i, day, seed, c, ip, ch_fail, tally):
                    fee = book_late_fee(i, day, slot, due_days, cs, unpaid, recv, due)
                    out[i, O_FEE] = fee
                    amount = cs[i, F_OWED]
                    if (
                        row[S_PARTIAL] > 0.0
                        and rng.uniform(seed, i, day, P_PARTIAL) < row[S_PARTIAL]
                    ):
                        amount = amount // 3 if large else amount // 2
                    elif prepayer[i]:
                        amount += 30 * typical_fen[i]  # pays a month ahead
                    if amount > 0:
                        settle(i, amount, cs, unpaid)
                        out[i, O_PAY] = amount
                        tally[i, T_CASH_FEN] += amount
                        out[i, O_CHANNEL] = c
                        tally[i, T_PAYMENTS] += 1
                        cost[i, C_CHANNEL] += ch_cost[c]

    # 6. late fees on what is still overdue tonight
    owes = cs[i, F_OWED] > 0
    if owes:
        accrue_late_fee(i, day, year, residential, slot_year, cs, unpaid, due)

    # 7. dunning, disconnection and reconnection (postpaid)
    overdue = days_overdue(i, day, unpaid, due) if owes else NOTHING_DUE
    out[i, O_OVERDUE] = overdue
    if overdue > 0:
        cs[i, F_MONTH_OVERDUE] = 1
    if prepaid:
        return
    if overdue <= 0:
        cs[i, F_LADDER] = 0
        cs[i, F_NOTICE] = 0
        cs[i, F_DISC_READY] = NEVER
        cs[i, F_NEGOTIATED] = 0
        if cs[i, F_SUPPLY_OFF] == 1:
            if cs[i, F_RECON_READY] == NEVER:
                wait = ip[IP_RECON_RES] if residential else ip[IP_RECON_OTHER]
                cs[i, F_RECON_READY] = day + wait
            if day >= cs[i, F_RECON_READY] >= 0:
                if ip[IP_REMOTE] == 1 and cs[i, F_METER] == AMI:
                    cs[i, F_SUPPLY_OFF] = 0
                    cs[i, F_RECON_READY] = NEVER
                    tally[i, T_RECONNECTIONS] += 1
                    cost[i, C_RECONNECT] += ip[IP_COST_REMOTE]
                    out[i, O_EVENTS] |= EV_RECONNECT
                else:
                    out[i, O_JOBS] |= JOB_RECONNECT
                    cs[i, F_RECON_READY] = -2  # queued
        return
    while cs[i, F_LADDER] < lad_day.shape[0] and overdue >= lad_day[cs[i, F_LADDER]]:
        k = cs[i, F_LADDER]
        cs[i, F_LADDER] += 1
        action = lad_action[k]
        if lad_crew[k]:
            out[i, O_JOBS] |= JOB_NOTICE if action == 4 else JOB_VISIT
        else:
            cost[i, ACTION_COST[action]] += lad_cost[k]
            cs[i, F_LAST_CONTACT] = day
            if action == 4:
                cs[i, F_NOTICE] = 1
                tally[i, T_NOTICES] += 1
                out[i, O_EVENTS] |= EV_NOTICE
    eligible = cs[i, F_NOTICE] == 1 and overdue > ip[IP_DISC_AFTER]
    if eligible and critical and cs[i, F_NEGOTIATED] == 0:
        cs[i, F_NEGOTIATED] = 1  # critical customers are negotiated with, never tripped
        tally[i, T_NEGOTIATIONS] += 1
    if eligible and not critical and cs[i, F_SUPPLY_OFF] == 0:
        if cs[i, F_DISC_READY] == NEVER:
            cs[i, F_DISC_READY] = day + ip[IP_APPROVAL]
        if day >= cs[i, F_DISC_READY] >= 0:
            if ip[IP_REMOTE] == 1 and cs[i, F_METER] == AMI:
                cs[i, F_SUPPLY_OFF] = 1
                cs[i, F_MONTH_DISC] = 1
                cs[i, F_DISC_READY] = NEVER
                tally[i, T_DISCONNECTIONS] += 1
                cost[i, C_DISCONNECT] += ip[IP_COST_REMOTE]
                out[i, O_EVENTS] |= EV_DISCONNECT
            else:
                out[i, O_JOBS] |= JOB_DISCONNECT
                cs[i, F_DISC_READY] = -2  # queued
    if cs[i, F_LEGAL] == 0 and not critical:
        by_age = overdue > ip[IP_LEGAL_AFTER]
        by_rating = (
            ip[IP_LEGAL_BELOW] > 0
            and cs[i, F_SCORE] < ip[IP_LEGAL_BELOW]
            and overdue > ip[IP_DISC_AFTER]
        )
        if by_age or by_rating:
            cs[i, F_LEGAL] = 1
            tally[i, T_LEGAL] += 1
            cost[i, C_LEGAL] += ip[IP_COST_LEGAL]
            out[i, O_EVENTS] |= EV_LEGAL


@njit(cache=True, parallel=True)
def fleet_day(
    day,
    slot,
    calmonth,
    weekend,
    year,
    month_start,
    slot_end_day,
    station,
    klass,
    tariff_id,
    capacity,
    segment,
    prepayer,
    channel,
    base_kwh,
    level,
    typical_fen,
    price_uy,
    basic_fen,
    shape_max,
    season,
    period_share,
    ip,
    seg,
    ch_fail,
    ch_conv,
    ch_cost,
    lad_day,
    lad_action,
    lad_crew,
    lad_cost,
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
    """:func:`customer_day` for every customer, in parallel (rows are independent)."""
    for i in prange(cs.shape[0]):
        customer_day(
            i,
            day,
            slot,
            calmonth,
            weekend,
            year,
            month_start,
            slot_end_day,
            station,
            klass,
            tariff_id,
            capacity,
            segment,
            prepayer,
            channel,
            base_kwh,
            level,
            typical_fen,
            price_uy,
            basic_fen,
            shape_max,
            season,
            period_share,
            ip,
            seg,
            ch_fail,
            ch_conv,
            ch_cost,
            lad_day,
            lad_action,
            lad_crew,
            lad_cost,
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


@njit(cache=True, nogil=True)
def apply_job(i, day, job, klass, ip, cs, unpaid, recv, due, slot, tally, cost):
    """A field crew does one job for customer ``i``; returns (event flags, adjustment fen)."""
    ev = 0
    adj = 0
    if job == JOB_VISIT:
        cost[i, C_VISIT] += ip[IP_COST_VISIT]
        cs[i, F_LAST_CONTACT] = day
    elif job == JOB_NOTICE:
        cost[i, C_NOTICE] += ip[IP_COST_NOTICE]
        cs[i, F_LAST_CONTACT] = day
        if cs[i, F_NOTICE] == 0:
            cs[i, F_NOTICE] = 1
            tally[i, T_NOTICES] += 1
            ev |= EV_NOTICE
    elif job == JOB_DISCONNECT:
        cs[i, F_DISC_READY] = NEVER
        overdue = days_overdue(i, day, unpaid, due)
        if (
            cs[i, F_SUPPLY_OFF] == 0
            and cs[i, F_NOTICE] == 1
            and overdue > ip[IP_DISC_AFTER]
            and klass[i] != CRITICAL
        ):
            cs[i, F_SUPPLY_OFF] = 1
            cs[i, F_MONTH_DISC] = 1
            tally[i, T_DISCONNECTIONS] += 1
            cost[i, C_DISCONNECT] += ip[IP_COST_DISC]
            ev |= EV_DISCONNECT
    elif job == JOB_RECONNECT:
        cs[i, F_RECON_READY] = NEVER
        if cs[i, F_SUPPLY_OFF] == 1:
            cs[i, F_SUPPLY_OFF] = 0
            tally[i, T_RECONNECTIONS] += 1
            cost[i, C_RECONNECT] += ip[IP_COST_RECON]
            ev |= EV_RECONNECT
    elif job == JOB_INSPECT:
        cost[i, C_INSPECT] += ip[IP_COST_INSPECT]
        if cs[i, F_TAMPERED] == 1:
            # back-bill the unmetered energy plus the penalty; cut off until paid
            adj = cs[i, F_UNBILLED] * (1 + ip[IP_TAMPER_MULT])
            cs[i, F_UNBILLED] = 0
            cs[i, F_TAMPERED] = 0
            cs[i, F_TRIPPED] = 1
            tally[i, T_TAMPER_FOUND] += 1
            if adj > 0:
                add_charge(i, slot, adj, day + ip[IP_DUE_DAYS], cs, unpaid, recv, due)
    return ev, adj


@njit(cache=True, nogil=True)
def customer_month_end(
    i,
    day,
    n_slots_used,
    write_off_after,
    to_prepaid_below,
    to_prepaid_min_kva,
    capacity,
    klass,
    cs,
    unpaid,
    due,
    tally,
):
    """Month end for one customer: write-offs, credit score, the credit policy's meter move.

    Returns the fen written off today.
    """
    written = 0
    for s in range(n_slots_used):
        if unpaid[i, s] > 0 and day - due[i, s] > write_off_after:
            written += unpaid[i, s]
    if written > 0:
        # a write-off settles like a credit, oldest slots first (those are the old ones)
        settle(i, written, cs, unpaid)
        tally[i, T_WRITE_OFF_FEN] += written
    score = cs[i, F_SCORE]
    if cs[i, F_MONTH_OVERDUE] == 1:
        score -= 10
    else:
        score += 5
    if cs[i, F_MONTH_DISC] == 1:
        score -= 20
    cs[i, F_SCORE] = min(100, max(0, score))
    cs[i, F_MONTH_OVERDUE] = 0
    cs[i, F_MONTH_DISC] = 0
    if (
        to_prepaid_below > 0
        and cs[i, F_METER] != PREPAID
        and klass[i] != CRITICAL
        and cs[i, F_SCORE] < to_prepaid_below
        and capacity[i] >= to_prepaid_min_kva
    ):
        cs[i, F_METER] = PREPAID  # a prepaid meter with trip replaces the old one
        cs[i, F_SUPPLY_OFF] = 0
        cs[i, F_DISC_READY] = NEVER
        cs[i, F_RECON_READY] = NEVER
    return written


@njit(cache=True, parallel=True)
def fleet_month_end(
    day,
    n_slots_used,
    write_off_after,
    to_prepaid_below,
    to_prepaid_min_kva,
    capacity,
    klass,
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
            capacity,
            klass,
            cs,
            unpaid,
            due,
            tally,
        )
