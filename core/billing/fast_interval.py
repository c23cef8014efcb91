"""Interval bills in day blocks, view-free (issue 17): the reference step loop at memory speed.

Bills are identical to :func:`m2c.core.billing.kernels.bill_interval_kernel`'s
(tests/core/test_billing_fast.py); each of the 12 bills per customer-year is
:func:`m2c.core.billing.fast_register.bill_row`.

How the machine runs it (measured on the 2-core bench machine, issue 17):

* a customer-year is cut into days; each day belongs to a *slot* (its bill and
  its day pattern: the energy and demand period of every step), and its steps
  are added to the slot's per-step accumulators. The day's work is written as
  LLVM vector IR (:func:`_day_steps`): 8 steps per vector, the whole day in
  straight-line code when the day has 24 or 96 steps (no loop, no aliasing
  check, no per-day branch), with the conversion the reference uses
  (``int(x * 1000 / res + 0.5)``, float64 multiply then add; one fused
  multiply-add for float32 input, where the product is exact) and the
  unsigned maximum of the value's bits (for x >= 0 the order of the bits is
  the order of the values: one maximum gives both the peak and the validity
  test);
* accumulators are 32-bit (a slot has at most 31 days; the wrapper sends any
  customer with a step of ``fast_max`` or more through the reference loop);
* the slots are folded into (month, period) energies and maxima with masked
  vector reductions (:func:`_masked_sum`, :func:`_masked_max`), skipping
  the periods a day pattern does not have: no scatter;
* the memory keeps streaming while bills are computed: a customer's days are
  read in 12 parts with the previous customer's 12 bills between them, and
  software prefetch brings the current row 2 KB ahead into L1 and the next
  customer's row, at the same pace, into L2.
"""

from __future__ import annotations

import numpy as np
from llvmlite import ir
from numba import njit, prange, types
from numba.core import cgutils
from numba.core.errors import TypingError
from numba.extending import intrinsic

from m2c.core.billing.fast_register import bill_row
from m2c.core.billing.kernels import L_ANNUAL_MIN, L_TOTAL
from m2c.core.units import MAX_STEP_KWH

# --- interval bills: day blocks ------------------------------------------------------------

#: Software prefetch distance of the interval kernel, bytes ahead of the day being read
#: (measured, float32 hourly, one thread: 0 B 4.2, 1 KB 3.0, 2 KB 2.8 us per customer-year).
PREFETCH_BYTES = 2048
#: Steps per vector of the day loop (8 x float64 = one 512-bit register).
LANES = 8
#: Customers per ``prange`` chunk (work units of the threads: 100 k customers = 3 125 chunks).
CHUNK = 32

_I32 = ir.IntType(32)
_I64 = ir.IntType(64)


def _vec_ptr(context, builder, aty, arr, inds, ityps, vty):
    """Pointer to ``arr[inds]`` as a pointer to vector type ``vty``."""
    ary = context.make_array(aty)(context, builder, arr)
    idx = [context.cast(builder, v, t, types.intp) for v, t in zip(inds, ityps, strict=True)]
    p = cgutils.get_item_pointer(context, builder, aty, ary, idx)
    return builder.bitcast(p, vty.as_pointer())


def _prefetch_ir(builder, addr, locality):
    """``llvm.prefetch`` (read) of the integer address ``addr``; never faults."""
    fnty = ir.FunctionType(ir.VoidType(), [cgutils.voidptr_t, _I32, _I32, _I32])
    fn = cgutils.get_or_insert_function(builder.module, fnty, "llvm.prefetch.p0")
    ptr = builder.inttoptr(addr, cgutils.voidptr_t)
    builder.call(fn, [ptr, ir.Constant(_I32, 0), ir.Constant(_I32, locality), ir.Constant(_I32, 1)])


@intrinsic
def _day_steps(typingctx, X, i, s, acc, mx, sl, j, scale, nb, ahead, nxt):
    """``nb`` (a literal) vectors of 8 steps from ``X[i, s]``: the slot's accumulators.

    ``acc[sl, j + k] += int32(X[i, s + k] * scale + 0.5)`` (uint32) and
    ``mx[sl, j + k] = max(mx[sl, j + k], bits of X[i, s + k])`` (unsigned, the width of
    X's floats) for k < 8 nb, as straight-line vector code; prefetches
    ``X[i, s:s + 8 nb]`` + ``ahead`` bytes into L1 and + ``nxt`` bytes (the
    next row) into L2. The conversion is the reference's: float64 multiply,
    then add, truncation (fused for float32 input, where the product is exact:
    ``scale`` is 1000 or 100, api.py's step resolutions); values at or above the wrapper's fast
    bound convert to garbage, and the caller then bills the customer through
    the reference loop instead.
    """
    if not isinstance(nb, types.IntegerLiteral) or not isinstance(X, types.Array):
        return None
    if X.layout != "C" or acc.layout != "C" or mx.layout != "C":
        raise TypingError("_day_steps reads rows as vectors: C-contiguous arrays only")
    sig = types.void(X, i, s, acc, mx, sl, j, scale, nb, ahead, nxt)
    NB = nb.literal_value

    def codegen(context, builder, signature, args):
        xty, ity, sty, aty, mty, slty, jty = signature.args[:7]
        bw = xty.dtype.bitwidth
        vx = ir.VectorType(context.get_value_type(xty.dtype), LANES)
        vd = ir.VectorType(ir.DoubleType(), LANES)
        vi = ir.VectorType(_I32, LANES)
        vb = ir.VectorType(ir.IntType(bw), LANES)
        px = _vec_ptr(context, builder, xty, args[0], args[1:3], (ity, sty), vx)
        pa = _vec_ptr(context, builder, aty, args[3], args[5:7], (slty, jty), vi)
        pm = _vec_ptr(context, builder, mty, args[4], args[5:7], (slty, jty), vb)
        here = builder.ptrtoint(px, _I64)
        l1 = builder.add(here, context.cast(builder, args[9], signature.args[9], types.intp))
        l2 = builder.add(here, context.cast(builder, args[10], signature.args[10], types.intp))
        for off in range(0, NB * LANES * bw // 8, 64):
            _prefetch_ir(builder, builder.add(l1, ir.Constant(_I64, off)), 3)
            _prefetch_ir(builder, builder.add(l2, ir.Constant(_I64, off)), 2)
        sc = builder.insert_element(ir.Constant(vd, ir.Undefined), args[7], ir.Constant(_I32, 0))
        sc = builder.shuffle_vector(sc, ir.Constant(vd, ir.Undefined), ir.Constant(vi, [0] * LANES))
        half = ir.Constant(vd, [0.5] * LANES)
        k_ = [ir.Constant(_I64, k) for k in range(NB)]
        vs = [builder.load(builder.gep(px, [k_[k]]), align=bw // 8) for k in range(NB)]
        fma = cgutils.get_or_insert_function(
            builder.module, ir.FunctionType(vd, [vd, vd, vd]), f"llvm.fma.v{LANES}f64"
        )
        for k in range(NB):
            if bw == 32:
                # a float32 times 1000 or 100 is exact in float64 (24 + 7 significant bits),
                # so one fused multiply-add rounds exactly as the reference's multiply, add
                y = builder.call(fma, [builder.fpext(vs[k], vd), sc, half])
            else:
                y = builder.fadd(builder.fmul(vs[k], sc), half)
            u = builder.fptosi(y, vi)
            q = builder.gep(pa, [k_[k]])
            builder.store(builder.add(builder.load(q, align=4), u), q, align=4)
            b = builder.bitcast(vs[k], vb)
            q = builder.gep(pm, [k_[k]])
            old = builder.load(q, align=bw // 8)
            builder.store(
                builder.select(builder.icmp_unsigned(">", b, old), b, old), q, align=bw // 8
            )
        return context.get_dummy_value()

    return sig, codegen


def _masked_reduce(kind, a, r, j, mk, k, p, nb):
    """Typing and codegen of ``reduce(a[r, j:j+8nb] & mk[k, p, j:j+8nb])`` (add -> uint64, max).

    The ``nb`` (a literal) vectors are combined first, then reduced once.
    """
    if not (isinstance(a, types.Array) and isinstance(mk, types.Array)):
        return None
    if not isinstance(nb, types.IntegerLiteral):
        return None
    if a.layout != "C" or mk.layout != "C":
        raise TypingError("masked reductions read rows as vectors: C-contiguous arrays only")
    sig = (types.uint64 if kind == "add" else a.dtype)(a, r, j, mk, k, p, nb)
    NB = nb.literal_value

    def codegen(context, builder, signature, args):
        aty, rt, jt, mkty, kt, pt = signature.args[:6]
        bw = aty.dtype.bitwidth
        vb = ir.VectorType(ir.IntType(bw), LANES)
        v64 = ir.VectorType(_I64, LANES)
        pa = _vec_ptr(context, builder, aty, args[0], args[1:3], (rt, jt), vb)
        pm = _vec_ptr(
            context, builder, mkty, args[3], (args[4], args[5], args[2]), (kt, pt, jt), vb
        )
        tot = None
        for q in range(NB):
            qq = [ir.Constant(_I64, q)]
            x = builder.load(builder.gep(pa, qq), align=bw // 8)
            x = builder.and_(x, builder.load(builder.gep(pm, qq), align=bw // 8))
            if kind == "add":
                x = builder.zext(x, v64)
                tot = x if tot is None else builder.add(tot, x)
            else:
                tot = (
                    x if tot is None else builder.select(builder.icmp_unsigned(">", x, tot), x, tot)
                )
        if kind == "add":
            ety, name = _I64, f"llvm.vector.reduce.add.v{LANES}i64"
        else:
            ety, name = ir.IntType(bw), f"llvm.vector.reduce.umax.v{LANES}i{bw}"
        fn = cgutils.get_or_insert_function(builder.module, ir.FunctionType(ety, [tot.type]), name)
        return builder.call(fn, [tot])

    return sig, codegen


@intrinsic
def _masked_sum(typingctx, a, r, j, mk, k, p, nb):
    """Sum (uint64) of ``a[r, j:j+8nb] & mk[k, p, j:j+8nb]`` (uint32 arrays), ``nb`` vectors."""
    return _masked_reduce("add", a, r, j, mk, k, p, nb)


@intrinsic
def _masked_max(typingctx, a, r, j, mk, k, p, nb):
    """Unsigned maximum of ``a[r, j:j+8nb] & mk[k, p, j:j+8nb]`` (same unsigned dtype)."""
    return _masked_reduce("max", a, r, j, mk, k, p, nb)


@njit(cache=True, nogil=True, inline="always")
def _row_sum(a, r, mk, k, p, spd):
    """Sum of ``a[r, :spd] & mk[k, p, :spd]``: one reduction for 24- and 96-step days."""
    if spd == 24:
        return _masked_sum(a, r, 0, mk, k, p, 3)
    if spd == 96:
        return _masked_sum(a, r, 0, mk, k, p, 12)
    s = np.uint64(0)
    for j in range(0, spd, LANES):
        s += _masked_sum(a, r, j, mk, k, p, 1)
    return s


@njit(cache=True, nogil=True, inline="always")
def _row_max(a, r, mk, k, p, spd):
    """Unsigned maximum of ``a[r, :spd] & mk[k, p, :spd]`` (see :func:`_row_sum`)."""
    if spd == 24:
        return _masked_max(a, r, 0, mk, k, p, 3)
    if spd == 96:
        return _masked_max(a, r, 0, mk, k, p, 12)
    t = a.dtype.type(0)
    for j in range(0, spd, LANES):
        t = max(t, _masked_max(a, r, j, mk, k, p, 1))
    return t


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


@njit(cache=True, nogil=True, inline="always")
def _units(bits, one, onef, scale, res_wh):
    """Wh of the value whose bits are ``bits`` (the reference's conversion)."""
    one[0] = bits
    return np.int64(np.int32(onef[0] * scale + 0.5)) * res_wh


@njit(cache=True, parallel=True)
def interval_kernel(
    A,
    t,
    X,
    fast_max,
    spd,
    day_slot,
    slot_month,
    slot_pat,
    emask,
    dmask,
    pat_has,
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
    out_top,
):
    """Interval bills by day blocks; bills equal :func:`kernels.bill_interval_kernel`'s.

    Same arguments and outputs as the reference, with ``out_energy`` (n x 12, P),
    ``out_dper`` (n x 12, PD), ``out_period`` (n x 12, P), ``out_block``
    (n x 12, KB), ``out_lines`` (n x 12, N_LINES) flattened to rows
    ``customer x 12 + bill index``, and the day structure of the calendar
    (computed once for all customers by the wrapper, api._day_blocks):

    * ``X`` (n, S) float32 or float64 kWh per step; ``fast_max`` the bits
      (uint32 / uint64) of the largest value the day blocks convert: a
      customer with a step at or above it (NaN, negatives, -0.0, inf and large
      values are, as unsigned bits) is billed by the reference step loop;
    * ``spd`` steps per day (a multiple of 8); the first ``D = day_slot.shape[0]``
      whole days are billed by blocks, the steps after them by the reference loop;
    * ``day_slot`` (D,) the day's slot; ``slot_month``, ``slot_pat`` (NS,) the
      slot's bill index and day pattern (a slot holds at most 31 days);
    * ``emask`` (NP, P, spd) uint32, all ones where the pattern's step is in
      energy period p; ``dmask`` (NP, PD + 1, spd) unsigned as ``fast_max``:
      all ones where the step is in TOU demand period p, row PD all ones
      (one-step demand windows); ``pat_has`` (NP, P + PD) 1 where the pattern
      has a step in energy period p (column p) or TOU demand period p (column
      P + p): the fold skips the others; ``pat_dw`` (NP, spd / win_steps) TOU demand
      period of each window (the period of its last step, as the reference
      attributes it), used when ``win_steps`` > 1.

    ``out_top`` (n, 2) receives each customer's largest month energy (Wh, the
    sum over periods) and largest demand (W, over out_dmax, out_dper,
    out_qmax): the wrapper's overflow check reads them instead of the outputs.
    """
    n = X.shape[0]
    S = X.shape[1]
    ND = day_slot.shape[0]
    NS = slot_month.shape[0]
    P = out_energy.shape[1]
    PD = out_dper.shape[1]
    NW = spd // win_steps
    have_q = reactive_kvarh.shape[0] == n and n > 0
    have_c = coinc_fen.shape[0] == n and n > 0
    scale = 1000.0 / res_wh
    nxt = X.strides[0]  # the next customer's row, prefetched into L2 as this one is read
    nch = (n + CHUNK - 1) // CHUNK
    for c in prange(nch):
        ns1 = max(NS, 1)
        acc = np.empty((ns1, spd), dtype=np.uint32)
        mxu = np.empty((ns1, spd), dtype=dmask.dtype)
        mx = np.empty((ns1, NW), dtype=np.int64)
        stop = np.empty(ns1, dtype=dmask.dtype)
        one = np.zeros(1, dtype=dmask.dtype)
        onef = one.view(X.dtype)
        i_end = min(n, (c + 1) * CHUNK)
        for i in range(c * CHUNK, i_end + 1):
            # customer i's days are read in 12 parts; between them, customer i - 1's 12
            # bills: the memory keeps streaming while the bills are computed
            cur = i < i_end
            ib = i - 1
            prev = ib >= c * CHUNK
            if cur:
                for sl in range(NS):
                    for j in range(spd):
                        acc[sl, j] = 0
                for sl in range(NS):
                    for j in range(spd):
                        mxu[sl, j] = 0
            ytd = np.int64(0)
            billed = np.int64(0)
            e_top = np.int64(0)
            d_top = np.int64(0)
            for m in range(12):
                d0 = ND * m // 12 if cur else 0
                d1 = ND * (m + 1) // 12 if cur else 0
                if spd == 24:
                    for d in range(d0, d1):
                        _day_steps(
                            X, i, d * 24, acc, mxu, day_slot[d], 0, scale, 3, PREFETCH_BYTES, nxt
                        )
                elif spd == 96:
                    for d in range(d0, d1):
                        _day_steps(
                            X, i, d * 96, acc, mxu, day_slot[d], 0, scale, 12, PREFETCH_BYTES, nxt
                        )
                else:
                    for d in range(d0, d1):
                        for j in range(0, spd, LANES):
                            _day_steps(
                                X,
                                i,
                                d * spd + j,
                                acc,
                                mxu,
                                day_slot[d],
                                j,
                                scale,
                                1,
                                PREFETCH_BYTES,
                                nxt,
                            )
                if not prev:
                    continue
                mo = month0[m]
                if m > 0 and mo < month0[m - 1]:
                    ytd = 0
                    billed = 0
                r = ib * 12 + m
                total, total_e = bill_row(
                    A,
                    t,
                    mo,
                    month_days[m],
                    out_energy,
                    r,
                    np.int64(1),
                    ytd,
                    out_dmax[ib, m],
                    out_dper,
                    r,
                    True,
                    cap_kva[ib],
                    out_q[ib, m],
                    out_qmax[ib, m],
                    coinc_fen[ib, m] if have_c else np.int64(0),
                    True,
                    out_lines,
                    out_period,
                    out_block,
                    r,
                )
                if year_end_month[m]:
                    my = A.min_year[t]
                    if my > 0 and billed + total < my:
                        tp = my - billed - total
                        out_lines[r, L_ANNUAL_MIN] = tp
                        out_lines[r, L_TOTAL] += tp
                        total += tp
                ytd += total_e
                billed += total
                e_top = max(e_top, total_e)
                d_top = max(d_top, out_dmax[ib, m], out_qmax[ib, m])
                for dp in range(PD):
                    d_top = max(d_top, out_dper[r, dp])
            if prev:
                out_top[ib, 0] = e_top
                out_top[ib, 1] = d_top
            if not cur:
                continue
            if win_steps > 1:
                # demand windows of several steps: the maximum window sum per slot and window
                for sl in range(NS):
                    for w in range(NW):
                        mx[sl, w] = 0
                for d in range(ND):
                    b = d * spd
                    sl = day_slot[d]
                    for w in range(NW):
                        a = np.int64(0)
                        for k in range(win_steps):
                            a += np.int64(np.int32(X[i, b + w * win_steps + k] * scale + 0.5))
                        mx[sl, w] = max(mx[sl, w], a)
            top = dmask.dtype.type(0)
            for sl in range(NS):
                k = slot_pat[sl]
                tb = _row_max(mxu, sl, dmask, k, PD, spd)
                stop[sl] = tb
                top = max(top, tb)
            ok = top < fast_max
            if ok:
                for sl in range(NS):
                    m = slot_month[sl]
                    k = slot_pat[sl]
                    r = i * 12 + m
                    for p in range(P):
                        if not pat_has[k, p]:
                            continue
                        s = _row_sum(acc, sl, emask, k, p, spd)
                        out_energy[r, p] += np.int64(s) * res_wh
                    if win_steps == 1:
                        v = _units(stop[sl], one, onef, scale, res_wh) * w_per_wh
                        if v > out_dmax[i, m]:
                            out_dmax[i, m] = v
                        for dp in range(PD):
                            if not pat_has[k, P + dp]:
                                continue
                            tb = _row_max(mxu, sl, dmask, k, dp, spd)
                            v = _units(tb, one, onef, scale, res_wh) * w_per_wh
                            if v > out_dper[r, dp]:
                                out_dper[r, dp] = v
                    else:
                        for w in range(NW):
                            v = mx[sl, w] * res_wh * w_per_wh
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
                np.int64(-1),
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
