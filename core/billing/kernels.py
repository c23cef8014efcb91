"""Numba billing kernels over compiled tariff arrays (no I/O, no Python objects).

One month's bill for one customer is :func:`bill_month`, shared by the
register-read kernel (one bill per customer from register deltas per TOU
period) and the interval kernel (a year of hourly or 15-minute energy per
customer, 12 monthly bills). Both run ``prange`` over customers and write
into caller-allocated output arrays; nothing is allocated per customer.

Every line is computed exactly in integers and rounded once to fen
(units: core/units.py; energy in Wh, prices in nano-units):

* energy per period: sum over tiers of Wh x nano/kWh, / 1e10; tier bounds
  per month, per day of the month, per kW of the month's peak demand or per
  kW per day (URDB ``kWh``, ``kWh daily``, ``kWh/kW``, ``kWh/kW daily``),
  applied to the period's energy or (tier scope "month", URDB and SAM) to the
  month's total, each period billing its share (``units.share_round_div``);
* block adders on total (monthly or annual cumulative) consumption, per block;
* demand (flat and TOU): W x nano/unit, / (W per unit x 1e7) (kW, hp);
  basic per kW: W x nano/kW, / 1e10; reactive demand: var x nano/kvar, / 1e10;
* basic per kVA: kVA x nano/kVA, / 1e7;
* fixed charge: fen per month + nano-units per day x days, / 1e7;
* PF adjustment: table ppm x (basic + energy) fen, / 1e6;
* minimum: the shortfall of the month's subtotal against the monthly minimum
  (fen + nano-units per day x days), only when the tariff has one.

A line's products stay within int64 when the quantity is within
:func:`m2c.core.units.max_quantity` of the prices, which the Python
wrappers check (the kernels do not).

Line columns of the ``lines`` output are the ``L_*`` constants below.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from m2c.core.tariffs.compiled import UNBOUNDED
from m2c.core.tariffs.powerfactor import pf_hundredths
from m2c.core.units import (
    MAX_STEP_KWH,
    NANO_PER_FEN,
    NANO_WH_TO_FEN,
    round_div,
    share_round_div,
)

L_ENERGY = 0  # energy charge, fen (periods + blocks)
L_DEMAND = 1  # demand charges, fen (flat + TOU)
L_BASIC = 2  # two-part basic charge, fen
L_FIXED = 3  # fixed monthly charge, fen
L_PF = 4  # power-factor adjustment, fen (negative = discount)
L_MINIMUM = 5  # monthly-minimum top-up, fen
L_ANNUAL_MIN = 6  # annual-minimum top-up, fen (last bill of the year only)
L_TOTAL = 7  # total, fen
L_PF_HUNDREDTHS = 8  # the month's power factor in hundredths (100 when unknown)
L_DEMAND_FLAT = 9  # flat demand part of L_DEMAND
L_DEMAND_TOU = 10  # TOU demand part of L_DEMAND
L_BLOCKS = 11  # block-adder part of L_ENERGY
L_DEMAND_REACTIVE = 12  # reactive-demand part of L_DEMAND
L_DEMAND_COINCIDENT = 13  # coincident (system-peak) demand part of L_DEMAND
N_LINES = 14

_E_TO_FEN = NANO_WH_TO_FEN  # Wh x nano/kWh -> fen
_W_TO_FEN = NANO_WH_TO_FEN  # W x nano/kW -> fen
_KVA_TO_FEN = NANO_PER_FEN  # kVA x nano/kVA -> fen


@njit(cache=True, nogil=True, inline="always")
def _tier_bound(b, basis, days, dmax_w):
    """A tier bound in Wh from its stored value (Wh, Wh/day, Wh/kW, Wh/kW/day); floor."""
    if basis == 0 or b >= UNBOUNDED:
        return b
    f = np.int64(days) if basis == 1 else dmax_w if basis == 2 else dmax_w * days
    if f <= 0:
        return np.int64(0)
    if b > UNBOUNDED // f:
        return UNBOUNDED
    return b * f if basis == 1 else (b * f) // 1000


@njit(cache=True, nogil=True)
def _tiered_scaled(amount, bounds, prices, ntiers, basis, days, dmax_w):
    """Like :func:`_tiered` from 0, with bounds per day / per kW of peak (see _tier_bound)."""
    total = np.int64(0)
    lo = np.int64(0)
    for k in range(ntiers):
        hi = _tier_bound(bounds[k], basis, days, dmax_w) if k < ntiers - 1 else UNBOUNDED
        if hi < lo:
            hi = lo
        a = min(amount, hi) - lo
        if a > 0:
            total += a * prices[k]
        lo = hi
        if lo >= amount:
            break
    return total


@njit(cache=True, nogil=True, inline="always")
def _tiered(start, amount, bounds, prices, ntiers):
    """Exact sum over tiers of (part of [start, start+amount) in tier k) x price_k."""
    total = np.int64(0)
    lo = np.int64(0)
    end = start + amount
    for k in range(ntiers):
        hi = bounds[k]
        a = min(max(end, lo), hi) - min(max(start, lo), hi)
        if a > 0:
            total += a * prices[k]
        lo = hi
        if lo >= end:
            break
    return total


@njit(cache=True, nogil=True)
def bill_month(
    A,
    t,
    month0,
    days,
    energy,
    e_scale,
    ytd_before,
    dmax_w,
    dper_w,
    cap_kva,
    reactive,
    qmax_var,
    coinc_fen,
    out_period,
    out_block,
    out_lines,
):
    """Bill one customer-month in place.

    ``A`` is a TariffArrays tuple, ``t`` the tariff id, ``month0`` the calendar
    month 0..11, ``days`` the days of the billing period (daily charges and
    tier bounds), ``energy`` the month's energy per energy period (P,) in units
    of ``e_scale`` Wh (1 for interval data, 10 for register centi-kWh),
    ``ytd_before`` the year's energy before this month (Wh, annual blocks),
    ``dmax_w`` the month's maximum demand (W), ``dper_w`` the maximum demand
    per TOU demand period (PD,), ``cap_kva`` the capacity (kVA), ``reactive``
    the month's reactive energy (varh, < 0 = unknown: no PF adjustment),
    ``qmax_var`` the month's maximum reactive demand (var, < 0 = unknown: no
    reactive demand charge), ``coinc_fen`` the month's coincident (system-peak)
    demand charge, fen, computed by the wrapper (0 when none). Writes
    ``out_period`` (P,), ``out_block`` (KB,),
    ``out_lines`` (N_LINES,). Returns the month's total energy in Wh.
    """
    mode = A.rounding[t]
    scope = A.e_scope[t]
    month_e = np.int64(0)
    if scope == 1:
        for p in range(out_period.shape[0]):
            month_e += energy[p] * e_scale
    total_e = np.int64(0)
    energy_fen = np.int64(0)
    for p in range(out_period.shape[0]):
        e = energy[p] * e_scale
        total_e += e
        if p < A.n_eperiods[t] and e != 0:
            basis = A.e_basis[t, p]
            tiered_e = month_e if scope == 1 else e  # what the tier bounds apply to
            if basis == 0:
                nu = _tiered(
                    np.int64(0), tiered_e, A.e_max[t, p], A.e_price[t, p], A.e_ntiers[t, p]
                )
            else:
                nu = _tiered_scaled(
                    tiered_e, A.e_max[t, p], A.e_price[t, p], A.e_ntiers[t, p], basis, days, dmax_w
                )
            if scope == 1:
                # the period's share e / month_e of the month's tiers, rounded once
                f = share_round_div(e, nu, month_e, _E_TO_FEN, mode)
            else:
                f = round_div(nu, _E_TO_FEN, mode)
        else:
            f = np.int64(0)
        out_period[p] = f
        energy_fen += f

    block_fen = np.int64(0)
    basis = A.block_basis[t]
    start = ytd_before if basis == 2 else np.int64(0)
    lo = np.int64(0)
    for k in range(out_block.shape[0]):
        f = np.int64(0)
        if basis != 0 and k < A.b_n[t]:
            hi = A.b_max[t, k]
            end = start + total_e
            a = min(max(end, lo), hi) - min(max(start, lo), hi)
            if a > 0:
                f = round_div(a * A.b_adder[t, k], _E_TO_FEN, mode)
            lo = hi
        out_block[k] = f
        block_fen += f
    energy_fen += block_fen

    flat_fen = np.int64(0)
    d_div = A.d_div[t]
    fd = A.fd_month[t, month0]
    if fd >= 0 and dmax_w > 0:
        flat_fen = round_div(
            _tiered(np.int64(0), dmax_w, A.fd_max[t, fd], A.fd_price[t, fd], A.fd_ntiers[t, fd]),
            d_div,
            mode,
        )
    tou_fen = np.int64(0)
    for p in range(A.n_dperiods[t]):
        d = dper_w[p]
        if d > 0:
            tou_fen += round_div(
                _tiered(np.int64(0), d, A.d_max[t, p], A.d_price[t, p], A.d_ntiers[t, p]),
                d_div,
                mode,
            )
    q_fen = np.int64(0)
    if A.q_price[t] != 0 and qmax_var > 0:
        q_fen = round_div(qmax_var * A.q_price[t], _W_TO_FEN, mode)

    basic_fen = np.int64(0)
    if A.basic_kva[t] != 0:
        basic_fen += round_div(cap_kva * A.basic_kva[t], _KVA_TO_FEN, mode)
    if A.basic_kw[t] != 0:
        basic_fen += round_div(dmax_w * A.basic_kw[t], _W_TO_FEN, mode)

    pf = np.int64(100)
    pf_fen = np.int64(0)
    if reactive >= 0:
        pf = pf_hundredths(total_e, reactive)
        row = A.pf_row[t]
        if row >= 0:
            pf_fen = round_div(A.pf_table[row, pf] * (basic_fen + energy_fen), 1_000_000, mode)

    fixed = A.fixed[t]
    if A.fixed_daily[t] != 0:
        fixed += round_div(A.fixed_daily[t] * days, NANO_PER_FEN, mode)
    subtotal = energy_fen + flat_fen + tou_fen + q_fen + coinc_fen + basic_fen + pf_fen + fixed
    min_month = A.min_month[t]
    if A.min_daily[t] != 0:
        min_month += round_div(A.min_daily[t] * days, NANO_PER_FEN, mode)
    minimum = np.int64(0)
    if min_month > 0 and subtotal < min_month:  # never a "minimum" without one
        minimum = min_month - subtotal

    out_lines[L_ENERGY] = energy_fen
    out_lines[L_DEMAND] = flat_fen + tou_fen + q_fen + coinc_fen
    out_lines[L_BASIC] = basic_fen
    out_lines[L_FIXED] = fixed
    out_lines[L_PF] = pf_fen
    out_lines[L_MINIMUM] = minimum
    out_lines[L_ANNUAL_MIN] = 0
    out_lines[L_TOTAL] = subtotal + minimum
    out_lines[L_PF_HUNDREDTHS] = pf
    out_lines[L_DEMAND_FLAT] = flat_fen
    out_lines[L_DEMAND_TOU] = tou_fen
    out_lines[L_BLOCKS] = block_fen
    out_lines[L_DEMAND_REACTIVE] = q_fen
    out_lines[L_DEMAND_COINCIDENT] = coinc_fen
    return total_e


@njit(cache=True, nogil=True, inline="always")
def apply_annual_minimum(A, t, billed_before_fen, out_lines):
    """Top the last bill of the year up to the annual minimum (fen), in place."""
    year = billed_before_fen + out_lines[L_TOTAL]
    if A.min_year[t] > 0 and year < A.min_year[t]:
        top = A.min_year[t] - year
        out_lines[L_ANNUAL_MIN] = top
        out_lines[L_TOTAL] += top


@njit(cache=True, parallel=True)
def bill_register_kernel(
    A,
    tariff_id,
    energy,
    e_scale,
    month0,
    days,
    ytd_energy,
    dmax_w,
    dper_w,
    cap_kva,
    reactive,
    qmax_var,
    ytd_billed,
    year_end,
    out_period,
    out_block,
    out_lines,
):
    """Register-read bills for n customers in one billing period (see bill_month).

    ``energy``, ``ytd_energy`` and ``reactive`` (< 0 = unknown) are in units of
    ``e_scale`` Wh (varh): 10 for register centi-kWh, converted here without a copy.
    """
    for i in prange(tariff_id.shape[0]):
        t = tariff_id[i]
        q = reactive[i]
        bill_month(
            A,
            t,
            month0,
            days,
            energy[i],
            e_scale,
            ytd_energy[i] * e_scale,
            dmax_w[i],
            dper_w[i],
            cap_kva[i],
            q * e_scale if q >= 0 else q,
            qmax_var[i],
            0,
            out_period[i],
            out_block[i],
            out_lines[i],
        )
        if year_end:
            apply_annual_minimum(A, t, ytd_billed[i], out_lines[i])


@njit(cache=True, parallel=True)
def bill_interval_kernel(
    A,
    t,
    load_kwh,
    step_month,
    step_eperiod,
    step_dperiod,
    month0,
    month_days,
    res_wh,
    win_steps,
    w_per_wh,
    reactive_kvarh,
    coinc_fen,
    cap_kva,
    year_end_month,
    out_energy,
    out_dmax,
    out_dper,
    out_q,
    out_qmax,
    out_period,
    out_block,
    out_lines,
    out_bad,
):
    """Interval bills: n customers x S steps -> 12 monthly bills per customer.

    This scalar kernel is the reference of the billing rules on interval data.

    ``load_kwh`` (n, S) float kWh per step (float32 or float64, any order);
    ``step_month`` (S,) bill index 0..11 of each step; ``step_eperiod`` /
    ``step_dperiod`` (S,) energy / TOU-demand period of each step (-1 none);
    ``month0`` (12,) calendar month of each bill index; ``month_days`` (12,)
    days of each billed month; each step is converted once to an integer
    number of ``res_wh`` Wh (half-up: ``int64(x * (1000 / res_wh) + 0.5) *
    res_wh``; 1 = exact for 0.001 kWh data, 10 = the 0.01 kWh register
    resolution) and summed exactly; demand is the average power over
    ``win_steps`` consecutive steps (the tariff's demand window, aligned on the
    first step): ``w_per_wh`` converts the window's Wh to watts (60 / window
    minutes); ``reactive_kvarh`` (n, S) or (0, 0)
    when unknown (``out_q`` (n, 12) receives the monthly reactive varh and
    ``out_qmax`` the maximum reactive demand in var, -1 when unknown);
    ``coinc_fen`` (n, 12) the coincident demand charges (fen) or (0, 0) when none;
    ``year_end_month`` (12,) 1 where the annual minimum is settled.
    ``out_bad[i]`` is set to the first step with a negative, non-finite or
    too large (>= MAX_STEP_KWH) load.
    """
    n = load_kwh.shape[0]
    S = load_kwh.shape[1]
    have_q = reactive_kvarh.shape[0] == n and n > 0
    have_c = coinc_fen.shape[0] == n and n > 0
    scale = 1000.0 / res_wh
    for i in prange(n):
        e_acc = out_energy[i]
        dmax = out_dmax[i]
        dper = out_dper[i]
        bad = np.int64(-1)
        win = 0
        wacc = np.int64(0)
        for s in range(S):
            x = load_kwh[i, s]
            if not (x >= 0.0 and x < MAX_STEP_KWH):
                if bad < 0:
                    bad = s
                continue
            wh = np.int64(x * scale + 0.5) * res_wh
            m = step_month[s]
            e_acc[m, step_eperiod[s]] += wh
            if win_steps > 1:
                wacc += wh
                win += 1
                if win < win_steps:
                    continue
                wh = wacc
                win = 0
                wacc = 0
            w = wh * w_per_wh
            if w > dmax[m]:
                dmax[m] = w
            dp = step_dperiod[s]
            if dp >= 0 and w > dper[m, dp]:
                dper[m, dp] = w
        out_bad[i] = bad
        q = out_q[i]
        qmax = out_qmax[i]
        if have_q:
            for s in range(S):
                y = abs(reactive_kvarh[i, s])
                if not y < MAX_STEP_KWH:
                    if bad < 0:
                        bad = s
                    continue
                varh = np.int64(y * scale + 0.5) * res_wh
                m = step_month[s]
                q[m] += varh
                if varh * w_per_wh > qmax[m]:
                    qmax[m] = varh * w_per_wh
            out_bad[i] = bad
        else:
            for m in range(12):
                q[m] = -1
                qmax[m] = -1
        ytd = np.int64(0)
        billed = np.int64(0)
        for m in range(12):
            mo = month0[m]
            if m > 0 and mo < month0[m - 1]:
                ytd = 0  # a new calendar year: annual blocks start again
                billed = 0
            total_e = bill_month(
                A,
                t,
                mo,
                month_days[m],
                e_acc[m],
                1,
                ytd,
                dmax[m],
                dper[m],
                cap_kva[i],
                q[m],
                qmax[m],
                coinc_fen[i, m] if have_c else 0,
                out_period[i, m],
                out_block[i, m],
                out_lines[i, m],
            )
            if year_end_month[m]:
                apply_annual_minimum(A, t, billed, out_lines[i, m])
            ytd += total_e
            billed += out_lines[i, m, L_TOTAL]
