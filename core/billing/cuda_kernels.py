"""GPU billing device code: numba-cuda twins of :mod:`m2c.core.billing.kernels`.

Device functions mirror the CPU kernels operation by operation;
:func:`register_kernel` (one thread per customer) and :func:`interval_kernel`
(a factory per load dtype and block shape) are launched by
:mod:`m2c.core.billing.cuda_backend`, which owns transfers and chunking. Nothing
here is defined when numba's CUDA target is missing
(:mod:`m2c.core.billing.cuda_runtime`).

Why the results are identical, not merely close:

* money is int64 on the device and every line goes through
  :func:`_round_div`, a line-for-line twin of :func:`m2c.core.units.round_div`;
  integer sums are exact, so summation order does not matter;
* a step's kWh -> Wh conversion ``int64(x * (1000 / res) + 0.5) * res`` and the
  power factor ``p / sqrt(p*p + q*q)`` are float64 expressions; CUDA compilers
  contract ``a*b + c`` into one fused multiply-add (one rounding instead of
  two), which would move a value sitting next to a half-centi-kWh boundary. The
  device code therefore spells every float operation with libdevice's
  correctly-rounded ``__dmul_rn`` / ``__dadd_rn`` / ``__ddiv_rn`` /
  ``__dsqrt_rn``, which are never contracted, in the CPU kernel's order.

Interval kernel layout: one thread per customer (a customer-year is the unit
of work and carries the annual block and minimum state), 64 customers per
block. The (n, S) load array is row-major, so a thread reading its own row
would make every warp load touch 32 cache lines; instead the block stages a
64 customers x 32 steps tile through shared memory with coalesced reads
(consecutive threads read consecutive steps of one row), then each thread
walks its row of the tile. Monthly accumulators live in registers/local
memory and are flushed at month boundaries (steps are in calendar order).
"""

from __future__ import annotations

import functools
import math

from numba import float64, int32, int64

from m2c.core.billing.cuda_runtime import cuda, simulator_enabled
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
from m2c.core.units import MAX_STEP_KWH, NANO_PER_FEN, NANO_WH_TO_FEN

#: Largest number of energy / TOU-demand periods the interval kernel keeps in
#: per-thread local arrays (real tariffs have <= 6; compile-time constants).
MAX_EPERIODS = 16
MAX_DPERIODS = 16
#: Customers per thread block and steps per shared-memory tile on a real GPU.
BLOCK_CUSTOMERS = 64
TILE_STEPS = 32
#: Under the simulator every thread is a Python thread: keep blocks tiny ...
SIM_BLOCK_CUSTOMERS = 4
#: ... and tiles long: each syncthreads costs the simulator a GIL hand-off (~ms).
SIM_TILE_STEPS = 1000

_E_TO_FEN = NANO_WH_TO_FEN  # Wh x nano/kWh -> fen (billing.kernels._E_TO_FEN)
_W_TO_FEN = NANO_WH_TO_FEN  # W x nano/kW -> fen
_KVA_TO_FEN = NANO_PER_FEN  # kVA x nano/kVA -> fen
_UNB = int(UNBOUNDED)


def _plain(f):
    return f


if cuda is not None:
    if simulator_enabled():
        # The simulator runs kernels as Python: device functions are called as
        # plain Python (the same source, minus the simulator's per-call module
        # swap, which would make the tests 10x slower), and plain float
        # operators are exact twins of the libdevice ones (nothing is contracted
        # in Python; the simulator's libdevice functions are stubs).
        _device = _plain

        def _dmul(a, b):
            return a * b

        def _dadd(a, b):
            return a + b

        def _ddiv(a, b):
            return a / b

        def _dsqrt(a):
            return math.sqrt(a)
    else:
        from numba.cuda import libdevice as _ld

        _device = cuda.jit(device=True)
        _dmul, _dadd, _ddiv, _dsqrt = _ld.dmul_rn, _ld.dadd_rn, _ld.ddiv_rn, _ld.dsqrt_rn

    @_device
    def _round_div(numer, denom, mode):
        # MUST match m2c.core.units.round_div line for line (HALF_UP = 0, HALF_EVEN = 1).
        n = int64(numer)
        d = int64(denom)
        neg = n < 0
        a = -n if neg else n
        q = a // d
        r = a - q * d
        twice = 2 * r
        if twice > d or (twice == d and (mode == 0 or (q & 1) == 1)):
            q += 1
        return -q if neg else q

    @_device
    def _share_round_div(part, amount, whole, denom, mode):
        # MUST match m2c.core.units.share_round_div line for line.
        q = amount // whole
        r = amount - q * whole
        b = part * r
        n = part * q + b // whole
        br = b - (b // whole) * whole
        n1 = n // denom
        n0 = n - n1 * denom
        half = denom // 2
        if n0 > half or (n0 == half and br > 0):
            return n1 + 1
        if n0 == half and (mode == 0 or (n1 & 1) == 1):
            return n1 + 1
        return n1

    @_device
    def _to_units(x, scale, res):
        # MUST match billing.kernels: np.int64(x * scale + 0.5) * res, two roundings, no FMA.
        return int64(_dadd(_dmul(float64(x), scale), 0.5)) * res

    @_device
    def _tier_bound(b, basis, days, dmax_w):
        # Twin of billing.kernels._tier_bound.
        if basis == 0 or b >= _UNB:
            return b
        f = int64(days) if basis == 1 else (dmax_w if basis == 2 else dmax_w * days)
        if f <= 0:
            return int64(0)
        if b > _UNB // f:
            return int64(_UNB)
        return b * f if basis == 1 else (b * f) // 1000

    @_device
    def _tiered_scaled(amount, bounds, prices, ntiers, basis, days, dmax_w):
        # Twin of billing.kernels._tiered_scaled.
        total = int64(0)
        lo = int64(0)
        for k in range(ntiers):
            hi = _tier_bound(bounds[k], basis, days, dmax_w) if k < ntiers - 1 else int64(_UNB)
            if hi < lo:
                hi = lo
            a = min(amount, hi) - lo
            if a > 0:
                total += a * prices[k]
            lo = hi
            if lo >= amount:
                break
        return total

    @_device
    def _pf_hundredths(active_ckwh, reactive_ckvarh):
        # MUST match m2c.core.tariffs.powerfactor.pf_hundredths, operation by operation.
        p = float64(abs(active_ckwh))
        q = float64(abs(reactive_ckvarh))
        if p == 0.0:
            return int64(0)
        if q == 0.0:
            return int64(100)
        pf = _ddiv(p, _dsqrt(_dadd(_dmul(p, p), _dmul(q, q))))
        return int64(math.floor(_dadd(_dadd(_dmul(pf, 100.0), 0.5), 1e-9)))

    @_device
    def _tiered(start, amount, bounds, prices, ntiers):
        # Twin of billing.kernels._tiered.
        total = int64(0)
        lo = int64(0)
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

    @_device
    def _bill_month(
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
        # Twin of billing.kernels.bill_month (same arguments, same order of operations).
        mode = A.rounding[t]
        scope = A.e_scope[t]
        month_e = int64(0)
        if scope == 1:
            for p in range(out_period.shape[0]):
                month_e += energy[p] * e_scale
        total_e = int64(0)
        energy_fen = int64(0)
        for p in range(out_period.shape[0]):
            e = energy[p] * e_scale
            total_e += e
            f = int64(0)
            if p < A.n_eperiods[t] and e != 0:
                basis = A.e_basis[t, p]
                tiered_e = month_e if scope == 1 else e
                if basis == 0:
                    nu = _tiered(
                        int64(0), tiered_e, A.e_max[t, p], A.e_price[t, p], A.e_ntiers[t, p]
                    )
                else:
                    nu = _tiered_scaled(
                        tiered_e,
                        A.e_max[t, p],
                        A.e_price[t, p],
                        A.e_ntiers[t, p],
                        basis,
                        days,
                        dmax_w,
                    )
                if scope == 1:
                    f = _share_round_div(e, nu, month_e, _E_TO_FEN, mode)
                else:
                    f = _round_div(nu, _E_TO_FEN, mode)
            out_period[p] = f
            energy_fen += f

        block_fen = int64(0)
        basis = A.block_basis[t]
        start = ytd_before if basis == 2 else int64(0)
        lo = int64(0)
        for k in range(out_block.shape[0]):
            f = int64(0)
            if basis != 0 and k < A.b_n[t]:
                hi = A.b_max[t, k]
                end = start + total_e
                a = min(max(end, lo), hi) - min(max(start, lo), hi)
                if a > 0:
                    f = _round_div(a * A.b_adder[t, k], _E_TO_FEN, mode)
                lo = hi
            out_block[k] = f
            block_fen += f
        energy_fen += block_fen

        flat_fen = int64(0)
        d_div = A.d_div[t]
        fd = A.fd_month[t, month0]
        if fd >= 0 and dmax_w > 0:
            flat_fen = _round_div(
                _tiered(int64(0), dmax_w, A.fd_max[t, fd], A.fd_price[t, fd], A.fd_ntiers[t, fd]),
                d_div,
                mode,
            )
        tou_fen = int64(0)
        for p in range(A.n_dperiods[t]):
            d = dper_w[p]
            if d > 0:
                tou_fen += _round_div(
                    _tiered(int64(0), d, A.d_max[t, p], A.d_price[t, p], A.d_ntiers[t, p]),
                    d_div,
                    mode,
                )
        q_fen = int64(0)
        if A.q_price[t] != 0 and qmax_var > 0:
            q_fen = _round_div(qmax_var * A.q_price[t], _W_TO_FEN, mode)

        basic_fen = int64(0)
        if A.basic_kva[t] != 0:
            basic_fen += _round_div(cap_kva * A.basic_kva[t], _KVA_TO_FEN, mode)
        if A.basic_kw[t] != 0:
            basic_fen += _round_div(dmax_w * A.basic_kw[t], _W_TO_FEN, mode)

        pf = int64(100)
        pf_fen = int64(0)
        if reactive >= 0:
            pf = _pf_hundredths(total_e, reactive)
            row = A.pf_row[t]
            if row >= 0:
                pf_fen = _round_div(A.pf_table[row, pf] * (basic_fen + energy_fen), 1_000_000, mode)

        fixed = A.fixed[t]
        if A.fixed_daily[t] != 0:
            fixed += _round_div(A.fixed_daily[t] * days, NANO_PER_FEN, mode)
        subtotal = energy_fen + flat_fen + tou_fen + q_fen + coinc_fen + basic_fen + pf_fen + fixed
        min_month = A.min_month[t]
        if A.min_daily[t] != 0:
            min_month += _round_div(A.min_daily[t] * days, NANO_PER_FEN, mode)
        minimum = int64(0)
        if min_month > 0 and subtotal < min_month:
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

    @_device
    def _apply_annual_minimum(A, t, billed_before_fen, out_lines):
        # Twin of billing.kernels.apply_annual_minimum.
        year = billed_before_fen + out_lines[L_TOTAL]
        if A.min_year[t] > 0 and year < A.min_year[t]:
            top = A.min_year[t] - year
            out_lines[L_ANNUAL_MIN] = top
            out_lines[L_TOTAL] += top

    @cuda.jit
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
        out_period,
        out_block,
        out_lines,
    ):
        i = cuda.grid(1)
        if i < tariff_id.shape[0]:
            t = tariff_id[i]
            q = reactive[i]
            _bill_month(
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
                int64(0),
                out_period[i],
                out_block[i],
                out_lines[i],
            )
            if year_end:
                _apply_annual_minimum(A, t, ytd_billed[i], out_lines[i])


@functools.cache
def interval_kernel(load_type, B: int, TS: int):
    """The interval kernel for a load dtype (float32/float64), B customers per block."""
    EP, DP = MAX_EPERIODS, MAX_DPERIODS
    TSP = TS + 1  # padded row: no shared-memory bank conflicts (a closure constant, not an
    # expression in the kernel: shared/local array shapes must be compile-time constants)

    @cuda.jit
    def kernel(
        A,
        t,
        load,
        reactive,
        have_q,
        step_month,
        step_eperiod,
        step_dperiod,
        month0,
        month_days,
        res_wh,
        win_steps,
        w_per_wh,
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
        tile = cuda.shared.array((B, TSP), load_type)
        qtile = cuda.shared.array((B, TSP), float64)
        s_month = cuda.shared.array(TS, int32)
        s_ep = cuda.shared.array(TS, int32)
        s_dp = cuda.shared.array(TS, int32)
        ep = cuda.local.array(EP, int64)
        dp = cuda.local.array(DP, int64)
        tid = cuda.threadIdx.x
        c0 = cuda.blockIdx.x * B
        n = load.shape[0]
        S = load.shape[1]
        P = out_energy.shape[2]
        PD = out_dper.shape[2]
        i = c0 + tid
        active = i < n
        if active:
            for m in range(12):
                for k in range(P):
                    out_energy[i, m, k] = 0
                for k in range(PD):
                    out_dper[i, m, k] = 0
                out_dmax[i, m] = 0
                out_q[i, m] = 0 if have_q else -1
                out_qmax[i, m] = 0 if have_q else -1
        for k in range(EP):
            ep[k] = 0
        for k in range(DP):
            dp[k] = 0
        cur = int64(-1)
        dm = int64(0)
        qa = int64(0)
        qm = int64(0)
        bad = int64(-1)
        win = int64(0)
        wacc = int64(0)
        scale = _ddiv(1000.0, float64(res_wh))
        for s0 in range(0, S, TS):
            ns = min(TS, S - s0)
            # Coalesced staging: consecutive threads read consecutive steps of one row.
            for k in range(tid, B * TS, B):
                r = k // TS
                c = k - r * TS
                if c0 + r < n and c < ns:
                    tile[r, c] = load[c0 + r, s0 + c]
                    if have_q:
                        qtile[r, c] = reactive[c0 + r, s0 + c]
            for k in range(tid, ns, B):
                s_month[k] = step_month[s0 + k]
                s_ep[k] = step_eperiod[s0 + k]
                s_dp[k] = step_dperiod[s0 + k]
            cuda.syncthreads()
            if active:
                for j in range(ns):
                    m = s_month[j]
                    if m != cur:
                        if cur >= 0:
                            for k in range(P):
                                out_energy[i, cur, k] = ep[k]
                                ep[k] = 0
                            for k in range(PD):
                                out_dper[i, cur, k] = dp[k]
                                dp[k] = 0
                            out_dmax[i, cur] = dm
                            if have_q:
                                out_q[i, cur] = qa
                                out_qmax[i, cur] = qm
                        cur = m
                        dm = 0
                        qa = 0
                        qm = 0
                    x = float64(tile[tid, j])
                    if not (x >= 0.0 and x < MAX_STEP_KWH):
                        if bad < 0:
                            bad = s0 + j
                    else:
                        wh = _to_units(x, scale, res_wh)
                        ep[s_ep[j]] += wh
                        full = True
                        if win_steps > 1:
                            wacc += wh
                            win += 1
                            if win < win_steps:
                                full = False
                            else:
                                wh = wacc
                                win = 0
                                wacc = 0
                        if full:
                            w = wh * w_per_wh
                            if w > dm:
                                dm = w
                            d = s_dp[j]
                            if d >= 0 and w > dp[d]:
                                dp[d] = w
                    if have_q:
                        y = abs(qtile[tid, j])
                        if not y < MAX_STEP_KWH:
                            if bad < 0:
                                bad = s0 + j
                        else:
                            varh = _to_units(y, scale, res_wh)
                            qa += varh
                            if varh * w_per_wh > qm:
                                qm = varh * w_per_wh
            cuda.syncthreads()
        if active:
            if cur >= 0:
                for k in range(P):
                    out_energy[i, cur, k] = ep[k]
                for k in range(PD):
                    out_dper[i, cur, k] = dp[k]
                out_dmax[i, cur] = dm
                if have_q:
                    out_q[i, cur] = qa
                    out_qmax[i, cur] = qm
            out_bad[i] = bad
            ytd = int64(0)
            billed = int64(0)
            for m in range(12):
                mo = month0[m]
                if m > 0 and mo < month0[m - 1]:
                    ytd = 0  # a new calendar year: annual blocks start again
                    billed = 0
                total_e = _bill_month(
                    A,
                    t,
                    mo,
                    month_days[m],
                    out_energy[i, m],
                    1,
                    ytd,
                    out_dmax[i, m],
                    out_dper[i, m],
                    cap_kva[i],
                    out_q[i, m],
                    out_qmax[i, m],
                    int64(0),  # coincident demand: the CPU backend only
                    out_period[i, m],
                    out_block[i, m],
                    out_lines[i, m],
                )
                if year_end_month[m]:
                    _apply_annual_minimum(A, t, billed, out_lines[i, m])
                ytd += total_e
                billed += out_lines[i, m, L_TOTAL]

    return kernel
