"""Numba billing kernels over compiled tariff arrays (no I/O, no Python objects).

One month's bill for one customer is :func:`bill_month`, shared by the
register-read kernel (one bill per customer from register deltas per TOU
period) and the interval kernel (a year of hourly or 15-minute energy per
customer, 12 monthly bills). Both run ``prange`` over customers and write
into caller-allocated output arrays; nothing is allocated per customer.

Every line is computed exactly in integers and rounded once to fen:

* energy per period: sum over tiers of centi-kWh x micro/kWh, / 1e6;
* block adders on total (monthly or annual cumulative) consumption, per block;
* demand (flat and TOU) and basic per kW: W x micro/kW, / 1e7;
* basic per kVA: kVA x micro/kVA, / 1e4;
* PF adjustment: table ppm x (basic + energy) fen, / 1e6;
* minimum: the shortfall of the month's subtotal against the monthly minimum.

Line columns of the ``lines`` output are the ``L_*`` constants below.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from m2c.core.tariffs.powerfactor import pf_hundredths
from m2c.core.units import round_div

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
N_LINES = 12

_E_TO_FEN = 1_000_000  # centi-kWh x micro/kWh -> fen
_W_TO_FEN = 10_000_000  # W x micro/kW -> fen
_KVA_TO_FEN = 10_000  # kVA x micro/kVA -> fen


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
    energy,
    ytd_before,
    dmax_w,
    dper_w,
    cap_kva,
    reactive,
    out_period,
    out_block,
    out_lines,
):
    """Bill one customer-month in place.

    ``A`` is a TariffArrays tuple, ``t`` the tariff id, ``month0`` the calendar
    month 0..11, ``energy`` the month's centi-kWh per energy period (P,),
    ``ytd_before`` the year's energy before this month (annual blocks),
    ``dmax_w`` the month's maximum demand (W), ``dper_w`` the maximum demand
    per TOU demand period (PD,), ``cap_kva`` the capacity (kVA), ``reactive``
    the month's reactive energy (centi-kvarh, < 0 = unknown: no PF adjustment).
    Writes ``out_period`` (P,), ``out_block`` (KB,), ``out_lines`` (N_LINES,).
    Returns the month's total energy in centi-kWh.
    """
    mode = A.rounding[t]
    total_e = np.int64(0)
    energy_fen = np.int64(0)
    for p in range(out_period.shape[0]):
        e = energy[p]
        total_e += e
        if p < A.n_eperiods[t] and e != 0:
            uy = _tiered(np.int64(0), e, A.e_max[t, p], A.e_price[t, p], A.e_ntiers[t, p])
            f = round_div(uy, _E_TO_FEN, mode)
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
    fd = A.fd_month[t, month0]
    if fd >= 0 and dmax_w > 0:
        flat_fen = round_div(
            _tiered(np.int64(0), dmax_w, A.fd_max[t, fd], A.fd_price[t, fd], A.fd_ntiers[t, fd]),
            _W_TO_FEN,
            mode,
        )
    tou_fen = np.int64(0)
    for p in range(A.n_dperiods[t]):
        d = dper_w[p]
        if d > 0:
            tou_fen += round_div(
                _tiered(np.int64(0), d, A.d_max[t, p], A.d_price[t, p], A.d_ntiers[t, p]),
                _W_TO_FEN,
                mode,
            )

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
    subtotal = energy_fen + flat_fen + tou_fen + basic_fen + pf_fen + fixed
    minimum = np.int64(0)
    if subtotal < A.min_month[t]:
        minimum = A.min_month[t] - subtotal

    out_lines[L_ENERGY] = energy_fen
    out_lines[L_DEMAND] = flat_fen + tou_fen
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
    return total_e


@njit(cache=True, nogil=True, inline="always")
def apply_annual_minimum(A, t, billed_before_fen, out_lines):
    """Top the last bill of the year up to the annual minimum (fen), in place."""
    year = billed_before_fen + out_lines[L_TOTAL]
    if year < A.min_year[t]:
        top = A.min_year[t] - year
        out_lines[L_ANNUAL_MIN] = top
        out_lines[L_TOTAL] += top


@njit(cache=True, parallel=True)
def bill_register_kernel(
    A,
    tariff_id,
    energy,
    month0,
    ytd_energy,
    dmax_w,
    dper_w,
    cap_kva,
    reactive,
    ytd_billed,
    year_end,
    out_period,
    out_block,
    out_lines,
):
    """Register-read bills for n customers in one billing period (see bill_month)."""
    for i in prange(tariff_id.shape[0]):
        t = tariff_id[i]
        bill_month(
            A,
            t,
            month0,
            energy[i],
            ytd_energy[i],
            dmax_w[i],
            dper_w[i],
            cap_kva[i],
            reactive[i],
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
    w_per_ckwh,
    reactive_kvarh,
    cap_kva,
    year_end_month,
    out_energy,
    out_dmax,
    out_dper,
    out_q,
    out_period,
    out_block,
    out_lines,
    out_bad,
):
    """Interval bills: n customers x S steps -> 12 monthly bills per customer.

    ``load_kwh`` (n, S) float kWh per step (float32 or float64, any order);
    ``step_month`` (S,) bill index 0..11 of each step; ``step_eperiod`` /
    ``step_dperiod`` (S,) energy / TOU-demand period of each step (-1 none);
    ``month0`` (12,) calendar month of each bill index; ``w_per_ckwh``
    converts a step's centi-kWh to watts of average demand; ``reactive_kvarh``
    (n, S) or (0, 0) when unknown (``out_q`` (n, 12) receives the monthly
    reactive centi-kvarh, -1 when unknown); ``year_end_month`` (12,) 1 where the
    annual minimum is settled. Each step's energy is rounded once to
    centi-kWh (half-up, the register resolution). ``out_bad[i]`` is set to
    the first step with a negative or non-finite load.
    """
    n = load_kwh.shape[0]
    S = load_kwh.shape[1]
    have_q = reactive_kvarh.shape[0] == n and n > 0
    for i in prange(n):
        e_acc = out_energy[i]
        dmax = out_dmax[i]
        dper = out_dper[i]
        bad = np.int64(-1)
        for s in range(S):
            x = load_kwh[i, s]
            if not (x >= 0.0 and x < 1e15):
                if bad < 0:
                    bad = s
                continue
            ck = np.int64(x * 100.0 + 0.5)
            m = step_month[s]
            e_acc[m, step_eperiod[s]] += ck
            w = ck * w_per_ckwh
            if w > dmax[m]:
                dmax[m] = w
            dp = step_dperiod[s]
            if dp >= 0 and w > dper[m, dp]:
                dper[m, dp] = w
        out_bad[i] = bad
        q = out_q[i]
        if have_q:
            for s in range(S):
                q[step_month[s]] += np.int64(abs(reactive_kvarh[i, s]) * 100.0 + 0.5)
        else:
            for m in range(12):
                q[m] = -1
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
                e_acc[m],
                ytd,
                dmax[m],
                dper[m],
                cap_kva[i],
                q[m],
                out_period[i, m],
                out_block[i, m],
                out_lines[i, m],
            )
            if year_end_month[m]:
                apply_annual_minimum(A, t, billed, out_lines[i, m])
            ytd += total_e
            billed += out_lines[i, m, L_TOTAL]
