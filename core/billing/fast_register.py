"""View-free register-read billing kernel and the one bill arithmetic (issue 17).

The arithmetic is :func:`m2c.core.billing.kernels.bill_month`'s, line for
line, so the bills are identical to the fen (tests/core/test_billing_fast.py
compares them with the reference kernels on random tariffs and inputs). What
differs is only how the machine runs it:

* every helper is ``inline="always"`` (no call, no 276-argument frame: the
  tariff tuple would be passed field by field) and the rounding helpers of
  core/units.py are inlined copies of the same Python functions;
* every access is ``arr[row, col]`` on the caller's arrays: no per-bill array
  view or slice is created, so no reference count is touched inside the
  ``prange`` loop (an atomic increment on memory both threads share);
* the register kernel validates as it bills (one pass over the inputs): it
  records, per chunk of customers, the first customer whose inputs the slow
  validation in api.py must look at, so the wrapper adds no pass of its own;
* outputs: the total (fen) always; line items only when asked for;
* totals only (:func:`register_totals_kernel`, what a billing run books): tariffs
  whose bill needs no tiers are billed from a per-call plan table by vectorised
  passes, each sub-block of customers sorted by the shape of its tariff's plan so
  that a customer goes only through the passes of the elements its bill has (see
  the section "totals only" below); the others by :func:`bill_row`.
"""

from __future__ import annotations

import numpy as np
from llvmlite import ir
from numba import carray, njit, prange, types
from numba.core import cgutils
from numba.extending import intrinsic

from m2c.core.billing.kernels import (
    L_ANNUAL_MIN,
    L_BASIC,
    L_BLOCKS,
    L_DEMAND,
    L_DEMAND_COINCIDENT,
    L_DEMAND_FLAT,
    L_DEMAND_REACTIVE,
    L_DEMAND_TOU,
    L_ENERGY,
    L_FIXED,
    L_MINIMUM,
    L_PF,
    L_PF_HUNDREDTHS,
    L_TOTAL,
)
from m2c.core.tariffs.compiled import UNBOUNDED
from m2c.core.tariffs.powerfactor import pf_hundredths
from m2c.core.units import (
    INT64_MAX,
    MAX_SHARED_WH,
    NANO_PER_FEN,
    NANO_WH_TO_FEN,
    share_round_div,
)

_U1 = np.uint64(1)


@njit(cache=True, nogil=True, inline="always")
def _rdiv(numer, denom, mode):
    """:func:`m2c.core.units.round_div` in unsigned arithmetic, inlined.

    Same result for every ``|numer| < 2^63`` and ``denom > 0`` (the tests compare
    it with round_div): the quotient of magnitudes is an unsigned division, which
    a constant divisor turns into a multiplication, with no sign fix-ups.
    """
    neg = numer < 0
    a = np.uint64(-numer if neg else numer)
    d = np.uint64(denom)
    q = a // d
    r = a - q * d
    twice = r + r  # r < d < 2^63: no wrap
    if twice > d or (twice == d and (mode == 0 or (q & _U1) == _U1)):
        q += _U1
    v = np.int64(q)
    return -v if neg else v


# the share and PF helpers of core/units.py and powerfactor.py, inlined: same Python source
_share = njit(cache=True, nogil=True, inline="always")(share_round_div.py_func)
_pf = njit(cache=True, nogil=True, inline="always")(pf_hundredths.py_func)

_E_TO_FEN = NANO_WH_TO_FEN
#: Customers per validation chunk of the register kernel (one int64 flag per chunk).
CHUNK = 4096


@njit(cache=True, nogil=True, inline="always")
def _tier_hi(A, t, p, k, basis, days, dmax_w):
    """Energy tier bound k of period p in Wh (kernels._tier_bound on A.e_max[t, p, k])."""
    b = A.e_max[t, p, k]
    if basis == 0 or b >= UNBOUNDED:
        return b
    f = np.int64(days) if basis == 1 else dmax_w if basis == 2 else dmax_w * days
    if f <= 0:
        return np.int64(0)
    if b > UNBOUNDED // f:
        return UNBOUNDED
    return b * f if basis == 1 else (b * f) // 1000


@njit(cache=True, nogil=True, inline="always")
def _energy_nu(A, t, p, amount, basis, days, dmax_w):
    """Tiered charge (nano x Wh) of ``amount`` Wh in period p (kernels._tiered / _tiered_scaled)."""
    total = np.int64(0)
    lo = np.int64(0)
    nt = A.e_ntiers[t, p]
    if basis == 0:
        for k in range(nt):
            hi = A.e_max[t, p, k]
            a = min(max(amount, lo), hi) - min(lo, hi)
            if a > 0:
                total += a * A.e_price[t, p, k]
            lo = hi
            if lo >= amount:
                break
    else:
        for k in range(nt):
            hi = _tier_hi(A, t, p, k, basis, days, dmax_w) if k < nt - 1 else UNBOUNDED
            if hi < lo:
                hi = lo
            a = min(amount, hi) - lo
            if a > 0:
                total += a * A.e_price[t, p, k]
            lo = hi
            if lo >= amount:
                break
    return total


@njit(cache=True, nogil=True, inline="always")
def _demand_nu(maxa, pricea, t, p, nt, d):
    """Tiered demand charge (nano x W) of ``d`` W: kernels._tiered(0, d, ...) on [t, p, :]."""
    total = np.int64(0)
    lo = np.int64(0)
    for k in range(nt):
        hi = maxa[t, p, k]
        a = min(max(d, lo), hi) - min(lo, hi)
        if a > 0:
            total += a * pricea[t, p, k]
        lo = hi
        if lo >= d:
            break
    return total


@njit(cache=True, nogil=True, inline="always")
def bill_row(
    A,
    t,
    month0,
    days,
    E,
    er,
    e_scale,
    ytd_before,
    dmax_w,
    D,
    dr,
    have_d,
    cap_kva,
    reactive,
    qmax_var,
    coinc_fen,
    want,
    OL,
    OP,
    OB,
    orow,
):
    """One bill, view-free: :func:`m2c.core.billing.kernels.bill_month` on ``E[er, :]``.

    ``E`` (rows, P) energy per period in ``e_scale`` Wh, ``D`` (rows, PD) demand
    per TOU demand period (W; read only when ``have_d``). When ``want``, the
    line items go to ``OL[orow, :]``, ``OP[orow, :]``, ``OB[orow, :]``.
    Returns (total fen, total energy Wh).
    """
    mode = A.rounding[t]
    scope = A.e_scope[t]
    P = E.shape[1]
    nep = A.n_eperiods[t]
    month_e = np.int64(0)
    if scope == 1:
        for p in range(P):
            month_e += E[er, p] * e_scale
    total_e = np.int64(0)
    energy_fen = np.int64(0)
    for p in range(P):
        e = E[er, p] * e_scale
        total_e += e
        f = np.int64(0)
        if p < nep and e != 0:
            basis = A.e_basis[t, p]
            nu = _energy_nu(A, t, p, month_e if scope == 1 else e, basis, days, dmax_w)
            if scope == 1:
                f = _share(e, nu, month_e, _E_TO_FEN, mode)
            else:
                f = _rdiv(nu, _E_TO_FEN, mode)
        if want:
            OP[orow, p] = f
        energy_fen += f

    block_fen = np.int64(0)
    bbasis = A.block_basis[t]
    if bbasis != 0:
        start = ytd_before if bbasis == 2 else np.int64(0)
        end = start + total_e
        lo = np.int64(0)
        for k in range(A.b_n[t]):
            hi = A.b_max[t, k]
            a = min(max(end, lo), hi) - min(max(start, lo), hi)
            if a > 0:
                f = _rdiv(a * A.b_adder[t, k], _E_TO_FEN, mode)
                block_fen += f
                if want:
                    OB[orow, k] = f
            elif want:
                OB[orow, k] = 0
            lo = hi
        if want:
            for k in range(A.b_n[t], OB.shape[1]):
                OB[orow, k] = 0
    elif want:
        for k in range(OB.shape[1]):
            OB[orow, k] = 0
    energy_fen += block_fen

    flat_fen = np.int64(0)
    d_div = A.d_div[t]
    fd = A.fd_month[t, month0]
    if fd >= 0 and dmax_w > 0:
        flat_fen = _rdiv(
            _demand_nu(A.fd_max, A.fd_price, t, fd, A.fd_ntiers[t, fd], dmax_w), d_div, mode
        )
    tou_fen = np.int64(0)
    if have_d:
        for p in range(A.n_dperiods[t]):
            d = D[dr, p]
            if d > 0:
                tou_fen += _rdiv(
                    _demand_nu(A.d_max, A.d_price, t, p, A.d_ntiers[t, p], d), d_div, mode
                )
    q_fen = np.int64(0)
    qp = A.q_price[t]
    if qp != 0 and qmax_var > 0:
        q_fen = _rdiv(qmax_var * qp, _E_TO_FEN, mode)

    basic_fen = np.int64(0)
    if A.basic_kva[t] != 0:
        basic_fen += _rdiv(cap_kva * A.basic_kva[t], NANO_PER_FEN, mode)
    if A.basic_kw[t] != 0:
        basic_fen += _rdiv(dmax_w * A.basic_kw[t], _E_TO_FEN, mode)

    pf = np.int64(100)
    pf_fen = np.int64(0)
    row = A.pf_row[t]
    if reactive >= 0 and (want or row >= 0):  # the PF is a line item: skip it when unused
        pf = _pf(total_e, reactive)
        if row >= 0:
            pf_fen = _rdiv(A.pf_table[row, pf] * (basic_fen + energy_fen), 1_000_000, mode)

    fixed = A.fixed[t]
    if A.fixed_daily[t] != 0:
        fixed += _rdiv(A.fixed_daily[t] * days, NANO_PER_FEN, mode)
    subtotal = energy_fen + flat_fen + tou_fen + q_fen + coinc_fen + basic_fen + pf_fen + fixed
    min_month = A.min_month[t]
    if A.min_daily[t] != 0:
        min_month += _rdiv(A.min_daily[t] * days, NANO_PER_FEN, mode)
    minimum = np.int64(0)
    if min_month > 0 and subtotal < min_month:
        minimum = min_month - subtotal
    if want:
        OL[orow, L_ENERGY] = energy_fen
        OL[orow, L_DEMAND] = flat_fen + tou_fen + q_fen + coinc_fen
        OL[orow, L_BASIC] = basic_fen
        OL[orow, L_FIXED] = fixed
        OL[orow, L_PF] = pf_fen
        OL[orow, L_MINIMUM] = minimum
        OL[orow, L_ANNUAL_MIN] = 0
        OL[orow, L_TOTAL] = subtotal + minimum
        OL[orow, L_PF_HUNDREDTHS] = pf
        OL[orow, L_DEMAND_FLAT] = flat_fen
        OL[orow, L_DEMAND_TOU] = tou_fen
        OL[orow, L_BLOCKS] = block_fen
        OL[orow, L_DEMAND_REACTIVE] = q_fen
        OL[orow, L_DEMAND_COINCIDENT] = coinc_fen
    return subtotal + minimum, total_e


@njit(cache=True, nogil=True, inline="always")
def _inputs_ok(A, t, energy, i, e_scale, ytd, dmax, dper_w, have_d, cap, q, qm, limits):
    """The register kernels' exact input checks for customer ``i`` of tariff ``t``
    (a customer failing them goes through api.py's slow validation)."""
    ck = limits[t, 3]
    nep = A.n_eperiods[t]
    ok = abs(ytd) <= ck and abs(q) <= ck
    esum = np.int64(0)
    for p in range(energy.shape[1]):
        e = energy[i, p]
        ok = ok and e >= 0 and e <= ck and (p < nep or e == 0)
        esum += e
    ok = ok and esum <= limits[t, 0] // e_scale and abs(cap) <= limits[t, 2]
    dtop = max(abs(dmax), abs(qm))
    if have_d:
        for p in range(dper_w.shape[1]):
            dtop = max(dtop, abs(dper_w[i, p]))
    ok = ok and dtop <= limits[t, 1]
    if A.e_scope[t] == 1:
        ok = ok and esum <= MAX_SHARED_WH // e_scale
    return ok


@njit(cache=True, parallel=True)
def register_kernel(
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
    limits,
    refuse_t,
    out_total,
    out_lines,
    out_period,
    out_block,
    out_flag,
):
    """Register-read bills, view-free; validates as it bills.

    Arguments as :func:`m2c.core.billing.kernels.bill_register_kernel`, except:
    the optional per-customer inputs ``ytd_energy``, ``dmax_w``, ``dper_w``,
    ``cap_kva``, ``reactive``, ``qmax_var``, ``ytd_billed`` may have 0 rows
    (then 0, 0, 0, 0, -1 (unknown), -1 (unknown), 0 for every customer, with no
    array filled); ``limits`` (T, 4) int64 per tariff: largest energy (Wh),
    demand (W), capacity (kVA) whose product with the tariff's largest price
    fits int64, and the largest centi-kWh register value; ``refuse_t`` (T,)
    1 for a tariff the wrapper must refuse whatever the input.
    ``out_total`` (n,) receives the total (fen); ``out_lines`` (n, N_LINES),
    ``out_period`` (n, P), ``out_block`` (n, KB) the line items, or have 0
    rows (not written). ``out_flag`` (ceil(n / CHUNK),) receives, per chunk,
    the first customer whose inputs fail a check (-1: none): a tariff id out
    of range (not billed), negative or stray energy (a column beyond the
    tariff's periods), a value beyond ``limits``, or a refused tariff.
    """
    n = tariff_id.shape[0]
    T = refuse_t.shape[0]
    want = out_lines.shape[0] == n and n > 0
    have_ytd = ytd_energy.shape[0] == n
    have_dmax = dmax_w.shape[0] == n
    have_d = dper_w.shape[0] == n
    have_cap = cap_kva.shape[0] == n
    have_q = reactive.shape[0] == n
    have_qmax = qmax_var.shape[0] == n
    have_billed = ytd_billed.shape[0] == n
    nchunks = out_flag.shape[0]
    for c in prange(nchunks):
        first = np.int64(-1)
        hi_i = min(n, (c + 1) * CHUNK)
        for i in range(c * CHUNK, hi_i):
            t = tariff_id[i]
            if t < 0 or t >= T:
                if first < 0:
                    first = i
                out_total[i] = 0
                continue
            ytd = ytd_energy[i] if have_ytd else np.int64(0)
            dmax = dmax_w[i] if have_dmax else np.int64(0)
            cap = cap_kva[i] if have_cap else np.int64(0)
            q = reactive[i] if have_q else np.int64(-1)
            qm = qmax_var[i] if have_qmax else np.int64(-1)
            ok = _inputs_ok(A, t, energy, i, e_scale, ytd, dmax, dper_w, have_d, cap, q, qm, limits)
            ok = ok and refuse_t[t] == 0
            if not ok and first < 0:
                first = i
            total, _ = bill_row(
                A,
                t,
                month0,
                days,
                energy,
                i,
                e_scale,
                ytd * e_scale,
                dmax,
                dper_w,
                i,
                have_d,
                cap,
                q * e_scale if q >= 0 else q,
                qm,
                np.int64(0),
                want,
                out_lines,
                out_period,
                out_block,
                i,
            )
            if year_end:
                year = (ytd_billed[i] if have_billed else np.int64(0)) + total
                my = A.min_year[t]
                if my > 0 and year < my:
                    total += my - year
                    if want:
                        out_lines[i, L_ANNUAL_MIN] = my - year
                        out_lines[i, L_TOTAL] = total
            out_total[i] = total
        out_flag[c] = first


def register_limits(A) -> np.ndarray:
    """(T, 4) int64 bounds for :func:`register_kernel` (see there): energy Wh, demand W,
    capacity kVA, register centi-kWh (the wrapper's refusal bounds, per tariff)."""
    T = A.rounding.shape[0]

    def top(*arrays):
        return np.max([np.abs(a).reshape(T, -1).max(axis=1) for a in arrays], axis=0)

    out = np.empty((T, 4), dtype=np.int64)
    for j, p in enumerate(
        (
            top(A.e_price, A.b_adder),
            top(A.fd_price, A.d_price, A.basic_kw, A.q_price),
            top(A.basic_kva),
        )
    ):
        out[:, j] = np.where(p > 0, INT64_MAX // np.maximum(p, 1), INT64_MAX)
    out[:, 3] = INT64_MAX // (10 * 8)  # api.py's register centi-kWh cap
    return out


# --- totals only: per-tariff plans billed by vectorised passes ------------------------------
#
# bill_row spends most of its ~50-80 ns per bill on branches that depend on the tariff
# (tiers or not, blocks or not, PF row or not...), mispredicted about as often as the
# customers' tariffs alternate, and on scalar divisions by constants. Most tariffs need
# none of them: a tariff whose bill is one price per energy period (one tier, or none),
# blocks, one-tier flat demand in kW, reactive demand, basic per kVA and per kW, PF,
# fixed and minimum charges is billed by the same straight-line arithmetic whatever its
# shape (an absent element has price 0), its constants read from its row of a per-call
# plan table. The totals kernel runs that arithmetic as a few passes over sub-blocks of
# customers, each a loop the compiler vectorises (4 customers per instruction, the plan
# rows gathered by tariff; rounding divisions through float64 with an exact integer
# correction, :func:`_rdiv_f`). A sub-block is first sorted by the plans' shapes (which
# of those elements a bill has): most bills have few of them (a flat tariff: one energy
# line; with every element run for every bill, as before, the passes cost 3 times the
# arithmetic the bills need). Anything else (tiers, tier scope "month", TOU demand,
# demand in hp, a negative price or input, inputs near the int64 bounds) is billed
# again by bill_row after the exact checks.

#: plan columns (see :func:`register_plan`)
_F_SLOW, _F_MODE, _F_FIXED, _F_MIN, _F_MINY, _F_BKVA, _F_BKW, _F_FDP, _F_QP = range(9)
_F_PFROW, _F_BANN, _F_LIME, _F_LIMD, _F_LIMC = range(9, 14)
_F_SHAPE, _F_NE, _F_NB, _F_FEAT = range(14, 18)
_F_PERIOD = 18  # then P prices, P energy bounds, KB block lows, KB highs, KB adders
#: bits of the plan's ``_F_FEAT``: the shape has flat or reactive demand, basic charges, PF
_FEAT_DEMAND, _FEAT_BASIC, _FEAT_PF = 1, 2, 4
#: beyond this many shapes, plans are merged into coarser ones (see :func:`register_plan`)
_MAX_SHAPES = 16
#: energy periods a fast plan may have (the kernel keeps them in scratch rows)
_NE_J = 8


def register_plan(A, month0: int, days: int, e_scale: int, limits, refuse_t):
    """Per-tariff plan of :func:`register_totals_kernel` for one billing period.

    Parameters
    ----------
    A : TariffArrays of the table.
    month0 : calendar month 0..11 of the bill (flat demand months).
    days : days of the billing period (daily fixed and minimum charges).
    e_scale : Wh per unit of the energy inputs (10 for register centi-kWh).
    limits : (T, 4) int64, :func:`register_limits`.
    refuse_t : (T,) int64, 1 for a tariff the wrapper refuses.

    Returns
    -------
    plan : (T, 18 + 2 P + 3 KB) int64, one row per tariff: ``_F_SLOW`` 1 when the
        tariff's bills go through :func:`bill_row`; else the rounding mode, the fixed
        and monthly minimum charges of the period (fen, daily parts included), the
        annual minimum, prices (nano-units) of basic per kVA and per kW, flat demand
        (kW, one tier) and reactive demand, the row of the PF table (its last row is
        zeros: no PF adjustment), 1 for annual blocks, the largest energy sum
        (``e_scale`` units), demand (W) and capacity (kVA) the fast path bills (beyond
        them: bill_row and the exact checks); per energy period the price (per
        ``e_scale`` Wh) and the largest register value (0 beyond the tariff's periods:
        stray energy); per block of non-zero adder (first) its low and high bounds (Wh)
        and adder (0: no block). The shape (``_F_SHAPE``: 0..G - 1 for the fast plans,
        G for the others) is the triple energy periods (``_F_NE``), blocks of non-zero
        adder (``_F_NB``), elements (``_F_FEAT``: ``_FEAT_DEMAND``, ``_FEAT_BASIC``,
        ``_FEAT_PF``); beyond ``_MAX_SHAPES`` shapes, every fast plan bills every
        period and block (at most 8 shapes). A plan of more than ``_NE_J`` energy
        periods is slow.
    pf_table : (R + 1, 101) int64, the PF table with a row of zeros appended.
    kb : blocks the kernel walks (the most blocks of non-zero adder of any tariff).
    """
    T, P = A.e_ntiers.shape
    KB = A.b_max.shape[1]
    pl = np.zeros((T, _F_PERIOD + 2 * P + 3 * KB), dtype=np.int64)
    ck = int(limits[0, 3]) if T else 0
    e_div = NANO_PER_FEN
    ones = np.ones(T, dtype=bool)
    slow = refuse_t.astype(bool) | (A.e_scope != 0) | (A.n_dperiods > 0)
    slow |= A.n_eperiods > _NE_J  # the kernel keeps _NE_J periods in its scratch rows
    # energy: one price per period (a single tier, unbounded from 0), never negative
    for p in range(P):
        inside = p < A.n_eperiods
        nt = A.e_ntiers[:, p]
        one = nt == 1
        unbounded = (A.e_basis[:, p] != 0) | (A.e_max[:, p, 0] >= UNBOUNDED)
        slow |= inside & ((nt > 1) | (one & ~unbounded) | (A.e_price[:, p, 0] < 0))
        price = np.where(inside & one, A.e_price[:, p, 0], 0)
        # per e_scale Wh (a register unit): e x price is then the line's nano x Wh
        slow |= price > INT64_MAX // max(int(e_scale), 1)
        pl[:, _F_PERIOD + p] = price * int(e_scale)
        pl[:, _F_PERIOD + P + p] = np.where(inside, ck, 0)
    # blocks: bounds and adders as bill_row walks them (lo = the previous bound); a block
    # of adder 0 bills 0 fen: only the others are kept, first, so the kernel walks fewer
    has_b = (A.block_basis != 0)[:, None] & (np.arange(KB)[None, :] < A.b_n[:, None])
    slow |= (has_b & (A.b_adder < 0)).any(axis=1)
    b0 = _F_PERIOD + 2 * P
    kb = 0
    for t in range(T):
        lo = 0
        j = 0
        for k in range(int(A.b_n[t]) if A.block_basis[t] != 0 else 0):
            hi = int(A.b_max[t, k])
            if A.b_adder[t, k] != 0:
                pl[t, b0 + j] = lo
                pl[t, b0 + KB + j] = hi
                pl[t, b0 + 2 * KB + j] = A.b_adder[t, k]
                j += 1
            lo = hi
        kb = max(kb, j)
    pl[:, _F_BANN] = A.block_basis == 2
    # flat demand this month: one tier, unbounded, in kW (the divisor of the energy lines)
    fd = A.fd_month[:, month0] if T else np.zeros(0, np.int64)
    has_fd = fd >= 0
    fdc = np.maximum(fd, 0)
    rows = np.arange(T)
    fnt = A.fd_ntiers[rows, fdc]
    fprice = A.fd_price[rows, fdc, 0]
    slow |= has_fd & (
        (fnt > 1)
        | ((fnt == 1) & ((A.fd_max[rows, fdc, 0] < UNBOUNDED) | (fprice < 0)))
        | ((fnt == 1) & (fprice != 0) & (A.d_div != NANO_WH_TO_FEN))
    )
    pl[:, _F_FDP] = np.where(has_fd & (fnt == 1), fprice, 0)
    slow |= (A.q_price < 0) | (A.basic_kva < 0) | (A.basic_kw < 0)
    pl[:, _F_QP] = A.q_price
    pl[:, _F_BKVA] = A.basic_kva
    pl[:, _F_BKW] = A.basic_kw
    # the charges of the period, once per tariff (same rounding as bill_row)
    mode = A.rounding
    pl[:, _F_MODE] = mode
    for t in range(T):
        m = int(mode[t])
        fixed = int(A.fixed[t]) + _py_rdiv(int(A.fixed_daily[t]) * days, e_div, m)
        low = int(A.min_month[t]) + _py_rdiv(int(A.min_daily[t]) * days, e_div, m)
        if max(abs(fixed), abs(low)) > INT64_MAX // 4:
            slow[t] = True  # bill_row's int64 arithmetic decides such a tariff
        else:
            pl[t, _F_FIXED] = fixed
            pl[t, _F_MIN] = low
    pl[:, _F_MINY] = A.min_year
    R = A.pf_table.shape[0]
    pl[:, _F_PFROW] = np.where(A.pf_row >= 0, A.pf_row, R)
    pf_table = np.concatenate([A.pf_table, np.zeros((1, A.pf_table.shape[1]), np.int64)])
    # the fast path's bounds: within the exact checks, and below UNBOUNDED (one-tier lines)
    pl[:, _F_LIME] = limits[:, 0] // max(int(e_scale), 1)
    pl[:, _F_LIMD] = np.minimum(limits[:, 1], UNBOUNDED - 1)
    pl[:, _F_LIMC] = limits[:, 2]
    if T and ck * int(e_scale) >= UNBOUNDED:
        slow |= ones  # a register value could pass a one-tier bound: bill_row decides
    pl[:, _F_SLOW] = slow
    # the shape: the elements the bill has (energy periods, blocks of non-zero adder,
    # demand, basic, PF); the kernel runs only their passes on the customers of a shape
    n_e = A.n_eperiods.astype(np.int64)
    n_b = (pl[:, b0 + 2 * KB : b0 + 3 * KB] != 0).sum(axis=1)
    feat = np.where((pl[:, _F_FDP] != 0) | (pl[:, _F_QP] != 0), _FEAT_DEMAND, 0)
    feat |= np.where((pl[:, _F_BKVA] != 0) | (pl[:, _F_BKW] != 0), _FEAT_BASIC, 0)
    feat |= np.where(A.pf_row >= 0, _FEAT_PF, 0)
    fast = np.flatnonzero(~slow)
    keys = sorted({(int(n_e[t]), int(n_b[t]), int(feat[t])) for t in fast})
    if len(keys) > _MAX_SHAPES:  # fewer shapes (8 at most): every period and block
        n_e[:] = P
        n_b[:] = kb
        keys = sorted({(P, kb, int(feat[t])) for t in fast})
    ids = {k: i for i, k in enumerate(keys)}
    pl[:, _F_NE] = n_e
    pl[:, _F_NB] = n_b
    pl[:, _F_FEAT] = feat
    pl[:, _F_SHAPE] = len(keys)  # a slow plan's shape: after the fast ones
    for t in fast:
        pl[t, _F_SHAPE] = ids[(int(n_e[t]), int(n_b[t]), int(feat[t]))]
    return pl, pf_table, kb


def _py_rdiv(numer: int, denom: int, mode: int) -> int:
    """:func:`m2c.core.units.round_div` on Python ints (the plan's per-tariff charges):
    the quotient of magnitudes, rounded half-up (mode 0) or half-even."""
    q, r = divmod(abs(numer), denom)
    if 2 * r > denom or (2 * r == denom and (mode == 0 or q % 2 == 1)):
        q += 1
    return -q if numer < 0 else q


#: customers per sub-block of :func:`register_totals_kernel` (its scratch rows stay in L1)
_SUB = 256
#: each shape's run of a sorted sub-block starts at a multiple of _PAD customers, so that
#: its passes' vector loops (4 customers per instruction, 2 interleaved) need no scalar
#: remainder: a run is padded with copies of its first customer
_PAD = 8
#: scratch row strides (customer order j; shape order k, with the pads): not a multiple
#: of 4 KiB / rows, so that a store to one row and a load from another do not alias in
#: the store buffer (4K aliasing)
_ROWJ = _SUB + 8
_ROWK = _SUB + _PAD * _MAX_SHAPES + 8
#: rows in the customers' order j: ytd, max demand, capacity, reactive, max reactive
#: demand (the inputs), the offset of the tariff's plan row, energy sum, shape, place k in
#: the sorted sub-block, energy of periods 0.._NE_J - 1
_J_YTD, _J_DMAX, _J_CAP, _J_Q, _J_QM, _J_T, _J_TE, _J_SH, _J_RANK, _J_E = range(10)
_J_SCRATCH = (_J_E + _NE_J) * _ROWJ
#: rows in the shape order k: the customer's j, plan row offset, rounding mode, energy
#: fen, energy of the tariff's periods, demand fen, basic fen, PF fen, total, 1 when
#: bill_row must bill
_K_J, _K_T, _K_MODE, _K_EF, _K_ES, _K_DEM, _K_BAS, _K_PF, _K_TOT, _K_BAD = range(10)
_K_SCRATCH = 10 * _ROWK


@intrinsic
def _stack_i64(typingctx, n):
    """A stack buffer of ``n`` (a literal) int64 (a pointer; wrap it with ``carray``).

    The register passes keep their scratch rows there, not in an array of the heap:
    the compiler then knows that the rows alias none of the inputs (the plan rows are
    gathered by index, so it could not check at run time), and it vectorises the
    passes' loops; the rows' fixed offsets tell it that one row never overlaps another.
    """
    if not isinstance(n, types.IntegerLiteral):
        return None

    def codegen(context, builder, signature, args):
        ty = context.get_value_type(types.int64)
        return cgutils.alloca_once(builder, ty, size=n.literal_value)

    return types.CPointer(types.int64)(n), codegen


@intrinsic
def _prefetch(typingctx, arr, idx, write):
    """Hint the cache to fetch element ``idx`` (flat) of the C-contiguous ``arr``
    (``write``, a literal 0 or 1: for a store). A hint only: never faults."""
    if not (
        isinstance(arr, types.Array)
        and arr.layout == "C"
        and isinstance(idx, types.Integer)
        and isinstance(write, types.IntegerLiteral)
    ):
        return None
    rw = write.literal_value

    def codegen(context, builder, signature, args):
        ary = context.make_array(signature.args[0])(context, builder, args[0])
        ptr = builder.bitcast(builder.gep(ary.data, [args[1]]), ir.IntType(8).as_pointer())
        i32 = ir.IntType(32)
        fnty = ir.FunctionType(ir.VoidType(), [ptr.type, i32, i32, i32])
        fn = cgutils.get_or_insert_function(builder.module, fnty, "llvm.prefetch.p0")
        builder.call(fn, [ptr, i32(rw), i32(3), i32(1)])  # keep in all levels; data cache
        return context.get_dummy_value()

    return types.void(arr, idx, write), codegen


@njit(cache=True, nogil=True, inline="always")
def _prefetch_rows(arr, r0, r1, write):
    """Prefetch rows ``r0:r1`` of ``arr`` (a line of 64 B at a time; rows beyond the
    array, or an absent (0-row) input, are skipped)."""
    if arr.shape[0] == 0:
        return
    per_row = arr.size // arr.shape[0]
    hi = min(r1, arr.shape[0]) * per_row
    for k in range(r0 * per_row, hi, 8):
        _prefetch(arr, k, write)


@njit(cache=True, nogil=True, inline="always")
def _rdiv_f(x, d, inv_d, mode):
    """:func:`_rdiv` for ``0 <= x < 2^63`` without an integer division, so that a loop
    of it vectorises.

    ``d`` even, ``10^6 <= d < 2^40``, ``inv_d`` = :func:`_inv_below` of ``d``. Rounding
    half-up is the floor of ``y = x + d / 2`` over ``d`` (unsigned: no overflow);
    ``float(y) x inv_d`` is below ``y / d`` (``inv_d`` is 1 / d lowered by 2^-48
    relative, more than the three roundings of 2^-53 can add back) and within 2^-47
    relative of it, i.e. within 0.25 of a quotient below 2^45: its truncation is the
    floor or one less, which the exact remainder corrects. A remainder of 0 is an
    exact half: half-even then takes the even neighbour.
    """
    y = np.uint64(x) + np.uint64(d >> 1)
    ud = np.uint64(d)
    q = np.uint64(np.float64(y) * inv_d)
    r = y - q * ud
    big = r >= ud
    q = q + _U1 if big else q
    r = r - ud if big else r
    down = (r == 0) & (mode != 0) & ((q & _U1) == _U1)
    return np.int64(q - _U1 if down else q)


def _inv_below(d: int) -> float:
    """``1 / d`` lowered by 2^-48 relative (rounded down): see :func:`_rdiv_f`."""
    return float(np.nextafter((1.0 / d) * (1.0 - 2.0**-48), 0.0))


_INV_E = _inv_below(_E_TO_FEN)
_INV_N = _inv_below(NANO_PER_FEN)
_INV_PPM = _inv_below(1_000_000)


@njit(cache=True, nogil=True, inline="always")
def _j(row):
    """Offset of the customer-order scratch row ``row`` (unsigned, as :func:`_k`)."""
    return np.uint64(row * _ROWJ)


@njit(cache=True, nogil=True, inline="always")
def _k(row):
    """Offset of the shape-order scratch row ``row``, unsigned: an unsigned index needs no
    check for a negative value, so that the loops over a run (from a start known only at
    run time) vectorise."""
    return np.uint64(row * _ROWK)


# The passes of one sub-block. First, in the customers' order (j), passes check the
# inputs against the fast path's bounds (common to all plans; the energy sum against its
# plan's in the last pass), sum the energy and gives each customer its plan's shape (G,
# one past the last, when its tariff or inputs need bill_row); a counting sort then puts
# the customers of each shape together (order k), and each shape's run is billed by the
# passes of the elements that shape has only, each a loop over the run that the compiler
# vectorises (the tariff's constants gathered from its plan row, ``plan1`` = the plan
# flattened, at the row's offset); last, the totals go back in the customers' order.


@njit(cache=True, nogil=True, inline="always")
def _src(arr, have, b, dflt):
    """An input and the offset of the sub-block in it, or ``dflt`` (a sub-block of the
    default value) when the input is absent."""
    if have:
        return arr, np.uint64(b)
    return dflt, np.uint64(0)


@njit(cache=True, nogil=True, inline="always")
def _lin(SJ, tariff_id, b, m, ins, T, plan1, W, ck, lim_d, lim_c, G):
    """Tariff, shape (before the energy checks), the inputs into their rows."""
    ytd_a, ytd_o, dmax_a, dmax_o, cap_a, cap_o, q_a, q_o, qm_a, qm_o = ins
    ub = np.uint64(b)
    for j in range(np.uint64(m)):
        t = tariff_id[ub + j]
        ok = np.uint64(t) < np.uint64(T)
        to = np.uint64(t) * np.uint64(W) if ok else np.uint64(0)
        ytd = ytd_a[ytd_o + j]
        dmax = dmax_a[dmax_o + j]
        cap = cap_a[cap_o + j]
        q = q_a[q_o + j]
        qm = qm_a[qm_o + j]
        ok &= np.uint64(ytd + ck) <= np.uint64(2 * ck)
        ok &= np.uint64(q + ck) <= np.uint64(2 * ck)
        ok &= np.uint64(dmax) <= lim_d
        ok &= np.uint64(qm + 1) <= lim_d + _U1
        ok &= np.uint64(cap) <= lim_c
        SJ[_j(_J_YTD) + j] = ytd
        SJ[_j(_J_DMAX) + j] = dmax
        SJ[_j(_J_CAP) + j] = cap
        SJ[_j(_J_Q) + j] = q
        SJ[_j(_J_QM) + j] = qm
        SJ[_j(_J_T) + j] = np.int64(to)
        SJ[_j(_J_TE) + j] = 0
        SJ[_j(_J_SH) + j] = plan1[to + _F_SHAPE] if ok else G


@njit(cache=True, nogil=True, inline="always")
def _lin_energy(SJ, energy, p, two, keep, b, m, ck, G):
    """Energy column ``p`` (and ``p + 1`` when ``two``): checks, the energy sum, and the
    columns kept in their rows when ``keep`` (literals)."""
    ub = np.uint64(b)
    for j in range(np.uint64(m)):
        e = energy[ub + j, p]
        bad = np.uint64(e) > np.uint64(ck)
        if keep:
            SJ[_j(_J_E + p) + j] = e
        if two:
            e1 = energy[ub + j, p + 1]
            bad |= np.uint64(e1) > np.uint64(ck)
            e += e1
            if keep:
                SJ[_j(_J_E + p + 1) + j] = e1
        SJ[_j(_J_TE) + j] += e
        sh = SJ[_j(_J_SH) + j]
        SJ[_j(_J_SH) + j] = G if bad else sh


@njit(cache=True, nogil=True, inline="always")
def _lin_demand(SJ, dper_w, p, b, m, lim_d, G):
    """TOU demand column ``p``: within the fast path's demand bound."""
    for j in range(np.uint64(m)):
        d = dper_w[np.uint64(b) + j, p]
        if np.uint64(d if d >= 0 else -d) > lim_d:
            SJ[_j(_J_SH) + j] = G


@njit(cache=True, nogil=True, inline="always")
def _sort(SJ, SK, m, ends, G):
    """Counting sort of the sub-block by shape: ``SK[_K_J]`` the customers (j) in shape
    order, each shape's run from a multiple of ``_PAD`` (pads: its first customer),
    ``SJ[_J_RANK]`` each customer's place k; ``ends[s]`` = the end of shape s's run."""
    for s in range(G + 1):
        ends[s] = 0
    for j in range(np.uint64(m)):
        ends[SJ[_j(_J_SH) + j]] += 1
    acc = np.int64(0)
    for s in range(G + 1):
        c = ends[s]
        ends[s] = acc
        acc = (acc + c + _PAD - 1) & -_PAD
    for j in range(np.uint64(m)):
        s = SJ[_j(_J_SH) + j]
        k = ends[s]
        ends[s] = k + 1
        SK[_k(_K_J) + np.uint64(k)] = np.int64(j)
        SJ[_j(_J_RANK) + j] = k
    r0 = np.int64(0)
    for s in range(G):
        r1 = ends[s]
        for k in range(np.uint64(r1), np.uint64((r1 + _PAD - 1) & -_PAD)):
            SK[_k(_K_J) + k] = SK[_k(_K_J) + np.uint64(r0)]
        r0 = (r1 + _PAD - 1) & -_PAD


@njit(cache=True, nogil=True, inline="always")
def _k_energy(SJ, SK, p, two, init, r0, r1, plan1):
    """Run r0:r1: the fen and energy of period ``p`` (and ``p + 1`` when ``two``) added to
    the energy fen and energy; with ``init`` (``p`` = 0), the first pass: plan row, mode,
    the other lines 0. (``two`` and ``init`` are literals at every call.)"""
    for k in range(np.uint64(r0), np.uint64(r1)):
        j = np.uint64(SK[_k(_K_J) + k])
        if init:
            to = np.uint64(SJ[_j(_J_T) + j])
            mode = plan1[to + _F_MODE]
        else:
            to = np.uint64(SK[_k(_K_T) + k])
            mode = SK[_k(_K_MODE) + k]
        e = SJ[_j(_J_E + p) + j]
        f = _rdiv_f(e * plan1[to + _F_PERIOD + p], _E_TO_FEN, _INV_E, mode)
        if two:
            e1 = SJ[_j(_J_E + p + 1) + j]
            e += e1
            f += _rdiv_f(e1 * plan1[to + _F_PERIOD + p + 1], _E_TO_FEN, _INV_E, mode)
        if init:
            SK[_k(_K_T) + k] = np.int64(to)
            SK[_k(_K_MODE) + k] = mode
            SK[_k(_K_EF) + k] = f
            SK[_k(_K_ES) + k] = e
            SK[_k(_K_DEM) + k] = 0
            SK[_k(_K_BAS) + k] = 0
            SK[_k(_K_PF) + k] = 0
        else:
            SK[_k(_K_EF) + k] += f
            SK[_k(_K_ES) + k] += e


@njit(cache=True, nogil=True, inline="always")
def _k_energies(SJ, SK, ne, r0, r1, plan1):
    """Run r0:r1: energy periods 0..ne - 1 (from their rows)."""
    if ne >= 2:
        _k_energy(SJ, SK, 0, True, True, r0, r1, plan1)
    else:
        _k_energy(SJ, SK, 0, False, True, r0, r1, plan1)
    for p in range(2, ne - 1, 2):
        _k_energy(SJ, SK, p, True, False, r0, r1, plan1)
    if ne > 2 and ne % 2 == 1:
        _k_energy(SJ, SK, ne - 1, False, False, r0, r1, plan1)


@njit(cache=True, nogil=True, inline="always")
def _k_block(SJ, SK, k0, two, r0, r1, plan1, b0, KB, e_scale):
    """Run r0:r1: block ``k0`` (and ``k0 + 1`` when ``two``; bill_row's loop: lo = the
    previous bound, adder 0 = no block) added to the energy fen."""
    for k in range(np.uint64(r0), np.uint64(r1)):
        j = np.uint64(SK[_k(_K_J) + k])
        to = np.uint64(SK[_k(_K_T) + k])
        mode = SK[_k(_K_MODE) + k]
        start = SJ[_j(_J_YTD) + j] * e_scale * plan1[to + _F_BANN]
        end = start + SJ[_j(_J_TE) + j] * e_scale
        lo = plan1[to + b0 + k0]
        hi = plan1[to + b0 + KB + k0]
        a = max(min(max(end, lo), hi) - min(max(start, lo), hi), 0)
        f = _rdiv_f(a * plan1[to + b0 + 2 * KB + k0], _E_TO_FEN, _INV_E, mode)
        if two:
            lo = plan1[to + b0 + k0 + 1]
            hi = plan1[to + b0 + KB + k0 + 1]
            a = max(min(max(end, lo), hi) - min(max(start, lo), hi), 0)
            f += _rdiv_f(a * plan1[to + b0 + 2 * KB + k0 + 1], _E_TO_FEN, _INV_E, mode)
        SK[_k(_K_EF) + k] += f


@njit(cache=True, nogil=True, inline="always")
def _k_demand(SJ, SK, r0, r1, plan1):
    """Run r0:r1: flat demand (kW, one tier) and reactive demand."""
    for k in range(np.uint64(r0), np.uint64(r1)):
        j = np.uint64(SK[_k(_K_J) + k])
        to = np.uint64(SK[_k(_K_T) + k])
        mode = SK[_k(_K_MODE) + k]
        dmax = SJ[_j(_J_DMAX) + j]
        qm = max(SJ[_j(_J_QM) + j], 0)
        dem = _rdiv_f(dmax * plan1[to + _F_FDP], _E_TO_FEN, _INV_E, mode)
        dem += _rdiv_f(qm * plan1[to + _F_QP], _E_TO_FEN, _INV_E, mode)
        SK[_k(_K_DEM) + k] = dem


@njit(cache=True, nogil=True, inline="always")
def _k_basic(SJ, SK, r0, r1, plan1):
    """Run r0:r1: basic charges per kVA of capacity and per kW of demand."""
    for k in range(np.uint64(r0), np.uint64(r1)):
        j = np.uint64(SK[_k(_K_J) + k])
        to = np.uint64(SK[_k(_K_T) + k])
        mode = SK[_k(_K_MODE) + k]
        basic = _rdiv_f(SJ[_j(_J_CAP) + j] * plan1[to + _F_BKVA], NANO_PER_FEN, _INV_N, mode)
        basic += _rdiv_f(SJ[_j(_J_DMAX) + j] * plan1[to + _F_BKW], _E_TO_FEN, _INV_E, mode)
        SK[_k(_K_BAS) + k] = basic


@njit(cache=True, nogil=True, inline="always")
def _k_pf(SJ, SK, r0, r1, plan1, pf_table, e_scale):
    """Run r0:r1: the PF adjustment (unknown reactive energy: the table's row of zeros)."""
    R = np.uint64(pf_table.shape[0] - 1)
    for k in range(np.uint64(r0), np.uint64(r1)):
        j = np.uint64(SK[_k(_K_J) + k])
        to = np.uint64(SK[_k(_K_T) + k])
        mode = SK[_k(_K_MODE) + k]
        q = SJ[_j(_J_Q) + j]
        pf = _pf(SJ[_j(_J_TE) + j] * e_scale, max(q, 0) * e_scale)
        row = np.uint64(plan1[to + _F_PFROW]) if q >= 0 else R
        adj = pf_table[row, np.uint64(pf)] * (SK[_k(_K_BAS) + k] + SK[_k(_K_EF) + k])
        aa = np.int64(adj if adj >= 0 else -adj)
        pf_fen = _rdiv_f(aa, 1_000_000, _INV_PPM, mode)
        SK[_k(_K_PF) + k] = pf_fen if adj >= 0 else -pf_fen


@njit(cache=True, nogil=True, inline="always")
def _k_total(SJ, SK, r0, r1, end, plan1, ytd_billed, b, year_end, have_billed):
    """Run r0:r1 (``end``: without its pads): fixed and minimum charges, the total (fen);
    on the year's last bill (``year_end``, a literal) the annual minimum. Marks (and
    counts) the customers bill_row must bill: energy in a column beyond their tariff's
    periods, or an energy sum beyond their plan's bound."""
    bad = np.int64(0)
    for k in range(np.uint64(r0), np.uint64(r1)):
        j = np.uint64(SK[_k(_K_J) + k])
        to = np.uint64(SK[_k(_K_T) + k])
        subtotal = SK[_k(_K_EF) + k] + SK[_k(_K_DEM) + k] + SK[_k(_K_BAS) + k]
        subtotal += SK[_k(_K_PF) + k] + plan1[to + _F_FIXED]
        low = plan1[to + _F_MIN]
        short = low - subtotal
        total = subtotal + (short if (low > 0) & (short > 0) else 0)
        if year_end:
            year = (ytd_billed[np.uint64(b) + j] if have_billed else np.int64(0)) + total
            my = plan1[to + _F_MINY]
            total += my - year if (my > 0) & (year < my) else 0
        SK[_k(_K_TOT) + k] = total
        te = SJ[_j(_J_TE) + j]
        x = (SK[_k(_K_ES) + k] != te) | (te > plan1[to + _F_LIME])
        x = np.int64(x & (k < np.uint64(end)))
        SK[_k(_K_BAD) + k] = x
        bad += x
    return bad


@njit(cache=True, parallel=True)
def register_totals_kernel(
    A,
    plan,
    pf_table,
    kb,
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
    limits,
    refuse_t,
    out_total,
    out_flag,
):
    """Register-read bill totals (fen) only: :func:`register_kernel` with no line items.

    Arguments as :func:`register_kernel` plus ``plan``, ``pf_table`` and ``kb`` from
    :func:`register_plan`. Customers are billed in sub-blocks of ``_SUB``: a pass
    in the customers' order checks the inputs against the fast path's bounds and gives
    each customer its plan's shape; the sub-block is sorted by shape, and each shape's
    customers are billed by the passes of the elements that shape has, each a loop the
    compiler vectorises (the tariff's constants gathered from its plan row). A customer
    whose plan is not fast or whose inputs leave the bounds is billed through the exact
    checks and :func:`bill_row`.
    """
    n = tariff_id.shape[0]
    T = refuse_t.shape[0]
    P = energy.shape[1]
    have_ytd = ytd_energy.shape[0] == n
    have_dmax = dmax_w.shape[0] == n
    have_d = dper_w.shape[0] == n
    have_cap = cap_kva.shape[0] == n
    have_q = reactive.shape[0] == n
    have_qmax = qmax_var.shape[0] == n
    have_billed = ytd_billed.shape[0] == n
    PD = dper_w.shape[1] if have_d else 0
    ck = limits[0, 3] if T > 0 else np.int64(0)
    none = np.zeros((0, 0), dtype=np.int64)
    nchunks = out_flag.shape[0]
    b0 = _F_PERIOD + 2 * P
    W = plan.shape[1]
    KB = (W - b0) // 3
    plan1 = np.ascontiguousarray(plan).reshape(-1)
    # shapes of the fast plans: 0..G - 1 (G: bill_row); the demand and capacity bounds
    # of the fast path, common to all plans (beyond them, bill_row and the exact checks)
    G = np.int64(0)
    lim_d = np.uint64(INT64_MAX)
    lim_c = np.uint64(INT64_MAX)
    for t in range(T):
        if plan[t, _F_SLOW] == 0:
            G = max(G, plan[t, _F_SHAPE] + 1)
            lim_d = min(lim_d, np.uint64(plan[t, _F_LIMD]))
            lim_c = min(lim_c, np.uint64(plan[t, _F_LIMC]))
        else:
            G = max(G, plan[t, _F_SHAPE])
    if G > _MAX_SHAPES:
        raise ValueError("register_totals_kernel: more shapes than its scratch rows hold")
    for c in prange(nchunks):
        SJ = carray(_stack_i64(_J_SCRATCH), (_J_SCRATCH,))
        SK = carray(_stack_i64(_K_SCRATCH), (_K_SCRATCH,))
        ends = np.empty(G + 1, dtype=np.int64)
        zeros = np.zeros(_SUB, dtype=np.int64)  # an absent input's sub-block
        unknown = np.full(_SUB, -1, dtype=np.int64)
        first = np.int64(-1)
        hi_i = min(n, (c + 1) * CHUNK)
        for b in range(c * CHUNK, hi_i, _SUB):
            m = min(_SUB, hi_i - b)
            # the next sub-block's inputs: the passes below are compute-bound loops whose
            # cache misses would stall them, where a prefetch lets the memory work meanwhile
            nb, ne = b + _SUB, min(b + 2 * _SUB, hi_i)
            _prefetch_rows(tariff_id, nb, ne, 0)
            _prefetch_rows(energy, nb, ne, 0)
            _prefetch_rows(ytd_energy, nb, ne, 0)
            _prefetch_rows(dmax_w, nb, ne, 0)
            _prefetch_rows(cap_kva, nb, ne, 0)
            _prefetch_rows(reactive, nb, ne, 0)
            _prefetch_rows(qmax_var, nb, ne, 0)
            _prefetch_rows(dper_w, nb, ne, 0)
            _prefetch_rows(out_total, nb, ne, 1)
            ytd_a, ytd_o = _src(ytd_energy, have_ytd, b, zeros)
            dmax_a, dmax_o = _src(dmax_w, have_dmax, b, zeros)
            cap_a, cap_o = _src(cap_kva, have_cap, b, zeros)
            q_a, q_o = _src(reactive, have_q, b, unknown)
            qm_a, qm_o = _src(qmax_var, have_qmax, b, unknown)
            ins = (ytd_a, ytd_o, dmax_a, dmax_o, cap_a, cap_o, q_a, q_o, qm_a, qm_o)
            _lin(SJ, tariff_id, b, m, ins, T, plan1, W, ck, lim_d, lim_c, G)
            # energy columns, two a pass; the first _NE_J kept in rows for the runs
            nk = min(P, _NE_J)
            for p in range(0, nk - 1, 2):
                _lin_energy(SJ, energy, p, True, True, b, m, ck, G)
            if nk % 2 == 1:
                _lin_energy(SJ, energy, nk - 1, False, True, b, m, ck, G)
            for p in range(nk, P):
                _lin_energy(SJ, energy, p, False, False, b, m, ck, G)
            for p in range(PD):
                _lin_demand(SJ, dper_w, p, b, m, lim_d, G)
            _sort(SJ, SK, m, ends, G)
            r0 = np.int64(0)
            bad = np.int64(0)
            for s in range(G):
                end = ends[s]
                r1 = (end + _PAD - 1) & -_PAD
                if end > r0:
                    # the shape's elements, from the plan row of its first customer
                    t0 = SJ[_j(_J_T) + np.uint64(SK[_k(_K_J) + np.uint64(r0)])]
                    ne_ = plan1[t0 + _F_NE]
                    nb_ = plan1[t0 + _F_NB]
                    feat = plan1[t0 + _F_FEAT]
                    _k_energies(SJ, SK, ne_, r0, r1, plan1)
                    for k in range(0, nb_ - 1, 2):
                        _k_block(SJ, SK, k, True, r0, r1, plan1, b0, KB, e_scale)
                    if nb_ % 2 == 1:
                        _k_block(SJ, SK, nb_ - 1, False, r0, r1, plan1, b0, KB, e_scale)
                    if feat & _FEAT_DEMAND:
                        _k_demand(SJ, SK, r0, r1, plan1)
                    if feat & _FEAT_BASIC:
                        _k_basic(SJ, SK, r0, r1, plan1)
                    if feat & _FEAT_PF:
                        _k_pf(SJ, SK, r0, r1, plan1, pf_table, e_scale)
                    if year_end:
                        bad += _k_total(
                            SJ, SK, r0, r1, end, plan1, ytd_billed, b, True, have_billed
                        )
                    else:
                        bad += _k_total(
                            SJ, SK, r0, r1, end, plan1, ytd_billed, b, False, have_billed
                        )
                r0 = r1
            ub = np.uint64(b)
            for j in range(np.uint64(m)):
                out_total[ub + j] = SK[_k(_K_TOT) + np.uint64(SJ[_j(_J_RANK) + j])]
            # the customers the fast passes could not bill: shape G's, and any marked
            for k in range(r0 if bad == 0 else 0, ends[G]):
                if k < r0 and SK[_k(_K_BAD) + np.uint64(k)] == 0:
                    continue
                j = SK[_k(_K_J) + np.uint64(k)]
                i = b + j
                t = tariff_id[i]
                total = _FLAG
                if 0 <= t < T:
                    ytd = ytd_energy[i] if have_ytd else np.int64(0)
                    dmax = dmax_w[i] if have_dmax else np.int64(0)
                    cap = cap_kva[i] if have_cap else np.int64(0)
                    q = reactive[i] if have_q else np.int64(-1)
                    qm = qmax_var[i] if have_qmax else np.int64(-1)
                    total = _slow_total(
                        A, t, energy, i, e_scale, month0, days, ytd, dmax, dper_w, have_d, cap,
                        q, qm, limits, refuse_t, none,
                    )  # fmt: skip
                if total == _FLAG:
                    if first < 0 or i < first:
                        first = i
                    out_total[i] = 0
                    continue
                if year_end:
                    year = (ytd_billed[i] if have_billed else np.int64(0)) + total
                    my = A.min_year[t]
                    total += my - year if (my > 0) & (year < my) else 0
                out_total[i] = total
        out_flag[c] = first


#: :func:`_slow_total`'s answer for a customer whose inputs fail the exact checks
_FLAG = np.int64(-(2**63))


@njit(cache=True, nogil=True, inline="always")
def _slow_total(
    A, t, energy, i, e_scale, month0, days, ytd, dmax, dper_w, have_d, cap, q, qm, limits,
    refuse_t, none,
):  # fmt: skip
    """Total of customer ``i`` by the exact checks and :func:`bill_row` (annual minimum
    not applied), or ``_FLAG`` when its inputs fail the checks."""
    if not (
        refuse_t[t] == 0
        and _inputs_ok(A, t, energy, i, e_scale, ytd, dmax, dper_w, have_d, cap, q, qm, limits)
    ):
        return _FLAG
    total, _ = bill_row(
        A, t, month0, days, energy, i, e_scale, ytd * e_scale, dmax, dper_w, i, have_d, cap,
        q * e_scale if q >= 0 else q, qm, np.int64(0), False, none, none, none, i,
    )  # fmt: skip
    return total
