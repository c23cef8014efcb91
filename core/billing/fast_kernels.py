"""View-free billing kernels: the register and interval bills at memory speed (issue 17).

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
* outputs: the total (fen) always; line items only when asked for.
"""

from __future__ import annotations

import numpy as np
from llvmlite import ir
from numba import njit, prange, types
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
    MAX_STEP_KWH,
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
    P = energy.shape[1]
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
            # the checks (a flagged customer goes through api.py's slow validation)
            ck = limits[t, 3]
            nep = A.n_eperiods[t]
            ok = refuse_t[t] == 0 and abs(ytd) <= ck and abs(q) <= ck
            esum = np.int64(0)
            for p in range(P):
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


# --- interval bills: day blocks ------------------------------------------------------------

#: Software prefetch distance of the interval kernel, bytes ahead of the day being read:
#: the day loop does enough work per cache line that the hardware keeps too few lines in
#: flight (measured: 15-minute float32 days 1.5 -> 0.8 ns per step out of cache).
PREFETCH_BYTES = 1024


@intrinsic
def _prefetch(typingctx, arr, i, j):
    """``llvm.prefetch`` of ``&arr[i, j]`` (read, all cache levels); never faults."""
    if not isinstance(arr, types.Array) or arr.ndim != 2:
        return None
    sig = types.void(arr, i, j)

    def codegen(context, builder, signature, args):
        aty = signature.args[0]
        ary = context.make_array(aty)(context, builder, args[0])
        ii = context.cast(builder, args[1], signature.args[1], types.intp)
        jj = context.cast(builder, args[2], signature.args[2], types.intp)
        strides = cgutils.unpack_tuple(builder, ary.strides, 2)
        off = builder.add(builder.mul(ii, strides[0]), builder.mul(jj, strides[1]))
        addr = builder.add(builder.ptrtoint(ary.data, cgutils.intp_t), off)
        i32 = ir.IntType(32)
        fnty = ir.FunctionType(ir.VoidType(), [cgutils.voidptr_t, i32, i32, i32])
        fn = cgutils.get_or_insert_function(builder.module, fnty, "llvm.prefetch.p0")
        ptr = builder.inttoptr(addr, cgutils.voidptr_t)
        builder.call(fn, [ptr, ir.Constant(i32, 0), ir.Constant(i32, 3), ir.Constant(i32, 1)])
        return context.get_dummy_value()

    return sig, codegen


@njit(cache=True, nogil=True, inline="always")
def _steps_exact(
    X,
    i,
    s0,
    s1,
    scale,
    res_wh,
    win_steps,
    w_per_wh,
    step_month,
    step_eperiod,
    step_dperiod,
    E,
    D,
    DM,
    bad,
):
    """The reference step loop (kernels.bill_interval_kernel) on steps s0..s1 of row i.

    Accumulates into E (rows, P), D (rows, PD), DM (n, 12) at rows i * 12 + m;
    a window starts at s0 (a day boundary). Returns the first bad step (or ``bad``).
    """
    win = 0
    wacc = np.int64(0)
    for s in range(s0, s1):
        x = X[i, s]
        if not (x >= 0.0 and x < MAX_STEP_KWH):
            if bad < 0:
                bad = s
            continue
        wh = np.int64(x * scale + 0.5) * res_wh
        m = step_month[s]
        E[i * 12 + m, step_eperiod[s]] += wh
        if win_steps > 1:
            wacc += wh
            win += 1
            if win < win_steps:
                continue
            wh = wacc
            win = 0
            wacc = 0
        w = wh * w_per_wh
        if w > DM[i, m]:
            DM[i, m] = w
        dp = step_dperiod[s]
        if dp >= 0 and w > D[i * 12 + m, dp]:
            D[i * 12 + m, dp] = w
    return bad


@njit(cache=True, parallel=True)
def interval_kernel(
    A,
    t,
    X,
    U,
    fast_max,
    spd,
    day_slot,
    day_first,
    slot_month,
    slot_pat,
    pat_e,
    pat_dw,
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
    """Interval bills by day blocks; bills equal :func:`kernels.bill_interval_kernel`'s.

    Same arguments and outputs as the reference, with ``out_energy`` (n x 12, P),
    ``out_dper`` (n x 12, PD), ``out_period`` (n x 12, P), ``out_block``
    (n x 12, KB), ``out_lines`` (n x 12, N_LINES) flattened to rows
    ``customer x 12 + bill index``, and the day structure of the calendar
    (computed once for all customers by the wrapper):

    * ``X`` (n, S) float32 or float64 kWh per step and ``U`` the same bytes
      as unsigned integers (uint32 / uint64): for x >= 0 the order of the
      bits is the order of the values, so the unsigned maximum over the year
      tells whether every value is in [0, ``fast_max``) (the bits of that
      bound are passed); NaN, negatives, -0.0, inf and larger values are above
      it and send the customer through the reference step loop (its day-block
      sums are dropped);
    * ``spd`` steps per day; the first ``D = day_slot.shape[0]`` whole days
      are billed by blocks, the steps after them by the reference loop;
    * ``day_slot`` (D,): the day's slot, a (bill index, day pattern) pair;
      ``day_first`` (D,) 1 on the first day of a slot; ``slot_month``,
      ``slot_pat`` (NS,) the slot's bill index and pattern;
    * ``pat_e`` (NP, spd) energy period of each step of a pattern; ``pat_dw``
      (NP, spd / win_steps) TOU demand period of each demand window (the
      period of its last step, as the reference attributes it).

    Per customer, each day adds its steps (converted exactly as the reference
    does: ``int(x * 1000 / res + 0.5) * res`` Wh, here through int32 since
    x < fast_max keeps it below 2^31) to the slot's per-step accumulators and
    takes the per-step maximum of the bits (one-step demand windows: the
    conversion is monotonic, so the largest value converts to the largest Wh,
    and the same maximum is the validity test) or of the window sums, all
    vectorised over the day, with a software prefetch ahead; the slots are
    folded into (month, period) energies and maxima at the end, then 12
    view-free bills.
    """
    n = X.shape[0]
    S = X.shape[1]
    ND = day_slot.shape[0]
    NS = slot_month.shape[0]
    NW = spd // win_steps
    have_q = reactive_kvarh.shape[0] == n and n > 0
    have_c = coinc_fen.shape[0] == n and n > 0
    scale = 1000.0 / res_wh
    line = max(1, 64 // X.itemsize)  # elements per cache line
    ahead = PREFETCH_BYTES // X.itemsize
    nch = (n + 31) // 32
    for c in prange(nch):
        acc = np.empty((max(NS, 1), spd), dtype=np.int64)
        mx = np.empty((max(NS, 1), NW), dtype=np.int64)
        # one-step windows: the slot's per-step maximum is kept as the bits of the largest
        # value (the conversion is monotonic, so it converts to the largest Wh), and the
        # same unsigned max is the validity test: one operation for both
        mxu = np.empty((max(NS, 1), spd), dtype=U.dtype)
        mxf = mxu.view(X.dtype)
        day = np.empty(spd, dtype=np.int64)
        um = np.empty(spd, dtype=U.dtype)
        for i in range(c * 32, min(n, (c + 1) * 32)):
            for j in range(spd):
                um[j] = 0
            for d in range(ND):
                b = d * spd
                sl = day_slot[d]
                for k in range(0, spd, line):
                    _prefetch(X, i, b + ahead + k)
                if win_steps == 1 and day_first[d]:
                    for j in range(spd):
                        acc[sl, j] = np.int64(np.int32(X[i, b + j] * scale + 0.5)) * res_wh
                        mxu[sl, j] = U[i, b + j]
                elif win_steps == 1:
                    for j in range(spd):
                        acc[sl, j] += np.int64(np.int32(X[i, b + j] * scale + 0.5)) * res_wh
                        mxu[sl, j] = max(mxu[sl, j], U[i, b + j])
                else:
                    for j in range(spd):
                        um[j] = max(um[j], U[i, b + j])
                        day[j] = np.int64(np.int32(X[i, b + j] * scale + 0.5)) * res_wh
                    first = day_first[d]
                    for j in range(spd):
                        acc[sl, j] = day[j] if first else acc[sl, j] + day[j]
                    for w in range(NW):
                        a = np.int64(0)
                        for k in range(win_steps):
                            a += day[w * win_steps + k]
                        mx[sl, w] = a if first else max(mx[sl, w], a)
            top = um[0]
            for j in range(spd):
                top = max(top, um[j])
            if win_steps == 1:
                for sl in range(NS):
                    for j in range(spd):
                        top = max(top, mxu[sl, j])
                    for j in range(spd):  # the largest value of each step -> Wh
                        mx[sl, j] = np.int64(np.int32(mxf[sl, j] * scale + 0.5)) * res_wh
            ok = top < fast_max
            bad = np.int64(-1)
            if ok:
                for sl in range(NS):
                    m = slot_month[sl]
                    k = slot_pat[sl]
                    r = i * 12 + m
                    for j in range(spd):
                        out_energy[r, pat_e[k, j]] += acc[sl, j]
                    for w in range(NW):
                        v = mx[sl, w] * w_per_wh
                        if v > out_dmax[i, m]:
                            out_dmax[i, m] = v
                        dp = pat_dw[k, w]
                        if dp >= 0 and v > out_dper[r, dp]:
                            out_dper[r, dp] = v
            first = ND * spd if ok else 0  # exact loop: the tail, or the whole year
            bad = _steps_exact(
                X,
                i,
                first,
                S,
                scale,
                res_wh,
                win_steps,
                w_per_wh,
                step_month,
                step_eperiod,
                step_dperiod,
                out_energy,
                out_dper,
                out_dmax,
                bad,
            )
            out_bad[i] = bad
            if have_q:
                for s in range(S):
                    y = abs(reactive_kvarh[i, s])
                    if not y < MAX_STEP_KWH:
                        if bad < 0:
                            bad = s
                        continue
                    varh = np.int64(y * scale + 0.5) * res_wh
                    m = step_month[s]
                    out_q[i, m] += varh
                    if varh * w_per_wh > out_qmax[i, m]:
                        out_qmax[i, m] = varh * w_per_wh
                out_bad[i] = bad
            else:
                for m in range(12):
                    out_q[i, m] = -1
                    out_qmax[i, m] = -1
            ytd = np.int64(0)
            billed = np.int64(0)
            for m in range(12):
                mo = month0[m]
                if m > 0 and mo < month0[m - 1]:
                    ytd = 0
                    billed = 0
                r = i * 12 + m
                total, total_e = bill_row(
                    A,
                    t,
                    mo,
                    month_days[m],
                    out_energy,
                    r,
                    np.int64(1),
                    ytd,
                    out_dmax[i, m],
                    out_dper,
                    r,
                    True,
                    cap_kva[i],
                    out_q[i, m],
                    out_qmax[i, m],
                    coinc_fen[i, m] if have_c else np.int64(0),
                    True,
                    out_lines,
                    out_period,
                    out_block,
                    r,
                )
                if year_end_month[m]:
                    my = A.min_year[t]
                    if my > 0 and billed + total < my:
                        top = my - billed - total
                        out_lines[r, L_ANNUAL_MIN] = top
                        out_lines[r, L_TOTAL] += top
                        total += top
                ytd += total_e
                billed += total
