"""GPU billing device code: the CPU's bill arithmetic, compiled for the GPU.

One source for both targets: the bills are
:func:`m2c.core.billing.fast_register.bill_row` (the view-free arithmetic of
the CPU fast kernels: every access ``arr[row, col]``, no array view or slice
per bill, no local array), and this module does not restate it. It compiles
the *same Python functions* for the device: :func:`_retarget` takes
``bill_row.py_func`` and every ``@njit`` helper it calls (``_rdiv``,
``_share``, ``_energy_nu``, ...), transitively, rebinds their global names to
the device versions of those helpers and wraps each with
``cuda.jit(device=True)`` (under the simulator: plain Python). The tariff
tuple travels to the kernel as a namedtuple of device arrays, which numba's
CUDA target accepts as is (``A.e_max[t, p, k]`` compiles to the same indexing
as on the CPU), so no adapter is needed.

:func:`register_kernel` (one thread per customer) and the interval kernels below
(:func:`interval_step_kernel` is a factory per load dtype, period counts, demand
window and reactive data) are launched by
:mod:`m2c.core.billing.cuda_backend`, which owns transfers and chunking. Nothing
here is defined when numba's CUDA target is missing
(:mod:`m2c.core.billing.cuda_runtime`).

Why the results are identical, not merely close:

* money is int64 and every line is the CPU's own integer code (the rounding
  helpers of core/units.py included); integer sums are exact;
* floats: CUDA compilers contract ``a*b + c`` into one fused multiply-add (one
  rounding instead of two; NVVM's default ``-fma=1``, which numba offers no
  switch for), which would move a value sitting next to a rounding boundary.
  The shared integer code has no float operation; the two float expressions,
  the power factor ``p / sqrt(p*p + q*q)`` (:func:`_pf_hundredths_rn`, put in
  place of :func:`m2c.core.tariffs.powerfactor.pf_hundredths` by
  :func:`_retarget`) and a step's kWh -> Wh conversion
  ``int64(x * (1000 / res) + 0.5) * res`` (:func:`_step_units`), are spelled
  here with libdevice's correctly-rounded ``__dmul_rn`` / ``__dadd_rn`` /
  ``__ddiv_rn`` / ``__dsqrt_rn``, which are never contracted, in the CPU's
  order. tests/core/test_billing_cuda.py checks that every shared function is
  integer-only and, where NVVM is installed, that the PTX has no ``fma``.

Interval kernels: :func:`interval_step_kernel` sums the steps (one warp per
customer: a warp reads 32 consecutive steps of its customer's row at once, each
lane keeps its month sums in registers, and the lanes' sums are folded through
shared memory at each month's end) and :func:`interval_bill_kernel` then bills
the 12 months (one thread per customer, the outputs read and written in place,
``arr[i * 12 + m, col]``). Two kernels, not one: the bill arithmetic needs many
registers, and in the same kernel it would limit how many warps stream the
steps. Measured on an H200 (1 M customer-years, hourly float32, in the same run):
steps 38 ms + bills 7 ms against 8.8 ms for a plain read of the load (4.2 TB/s).
Each lane loads ``unroll`` (4) steps before using them - with one load in flight
the step kernel took 51 ms, waiting on memory; from 4 on it is bound by
instruction issue (~65 SASS instructions per step: conversion, validity check,
a compare-and-add per period, demand maxima).
"""

from __future__ import annotations

import functools
import math
import types as _pytypes

from numba import float64, int32, int64, uint64
from numba.core.registry import CPUDispatcher

from m2c.core.billing.cuda_runtime import cuda, simulator_enabled
from m2c.core.billing.fast_register import bill_row
from m2c.core.billing.kernels import L_ANNUAL_MIN, L_TOTAL
from m2c.core.tariffs.powerfactor import pf_hundredths
from m2c.core.units import MAX_STEP_KWH

#: Largest number of energy / TOU-demand periods of the interval kernel (real tariffs
#: have <= 6): a lane keeps one register sum per period, and a warp folds at most 32
#: month sums (interval_values).
MAX_EPERIODS = 16
MAX_DPERIODS = 12
#: Threads per block of the register kernel under the simulator (every thread is a
#: Python thread there: keep blocks tiny).
SIM_BLOCK_CUSTOMERS = 4


def _retarget(fn, wrap, overrides: dict, memo: dict):
    """``fn``'s Python source compiled by ``wrap``, with its @njit callees retargeted.

    ``fn`` is an ``@njit`` dispatcher (or a plain function). Its code object is
    re-bound to a copy of its module's globals in which every global it reads
    that is an ``@njit`` dispatcher is replaced by that function's own
    retargeted version (recursively), or by ``overrides[callee.py_func]``
    where given. Same code, same constants, another target: the CPU and GPU
    arithmetic cannot drift. ``memo`` maps an original Python function to its
    retargeted version (shared callees are compiled once).
    """
    py = getattr(fn, "py_func", fn)
    if py in overrides:
        return overrides[py]
    if py not in memo:
        g = dict(py.__globals__)
        for name in py.__code__.co_names:  # the global names (and attributes) it reads
            v = g.get(name)
            if isinstance(v, CPUDispatcher):
                g[name] = _retarget(v, wrap, overrides, memo)
        clone = _pytypes.FunctionType(py.__code__, g, py.__name__, py.__defaults__, py.__closure__)
        clone.__qualname__ = py.__qualname__
        clone.__doc__ = py.__doc__
        memo[py] = wrap(clone)
    return memo[py]


def _plain(f):
    return f


#: The CPU functions compiled for the device (original Python function -> device
#: version), filled at import; the tests check that they are integer-only.
SHARED: dict = {}

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
    def _step_units(x, scale):
        # MUST match billing.kernels: np.int64(x * scale + 0.5), two roundings, no FMA
        # (the kernels multiply by res_wh, which is exact in integers).
        return int64(_dadd(_dmul(float64(x), scale), 0.5))

    @_device
    def _pf_hundredths_rn(active_ckwh, reactive_ckvarh):
        # m2c.core.tariffs.powerfactor.pf_hundredths with every float operation rounded
        # on its own, in the same order (pf_hundredths is the one float function that
        # bill_row calls; _retarget puts this in its place on the device).
        p = float64(abs(active_ckwh))
        q = float64(abs(reactive_ckvarh))
        if p == 0.0:
            return int64(0)
        if q == 0.0:
            return int64(100)
        pf = _ddiv(p, _dsqrt(_dadd(_dmul(p, p), _dmul(q, q))))
        return int64(math.floor(_dadd(_dadd(_dmul(pf, 100.0), 0.5), 1e-9)))

    _bill_row = _retarget(bill_row, _device, {pf_hundredths.py_func: _pf_hundredths_rn}, SHARED)

    @_device
    def _annual_minimum(A, t, billed_before_fen, total, OL, orow):
        # kernels.apply_annual_minimum on OL[orow, :] (as fast_register.register_kernel
        # and fast_interval.interval_kernel spell it inline); returns the new total.
        my = A.min_year[t]
        if my > 0 and billed_before_fen + total < my:
            top = my - billed_before_fen - total
            OL[orow, L_ANNUAL_MIN] = top
            OL[orow, L_TOTAL] = total + top
            return total + top
        return total

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
        """Arguments and outputs of :func:`m2c.core.billing.kernels.bill_register_kernel`."""
        i = cuda.grid(1)
        if i < tariff_id.shape[0]:
            t = tariff_id[i]
            q = reactive[i]
            total, _e = _bill_row(
                A,
                t,
                month0,
                days,
                energy,
                i,
                e_scale,
                ytd_energy[i] * e_scale,
                dmax_w[i],
                dper_w,
                i,
                True,
                cap_kva[i],
                q * e_scale if q >= 0 else q,
                qmax_var[i],
                int64(0),
                True,
                out_lines,
                out_period,
                out_block,
                i,
            )
            if year_end:
                _annual_minimum(A, t, ytd_billed[i], total, out_lines, i)


#: Threads per block of the interval step kernel: one warp per customer.
STEP_BLOCK = 128
WARP = 32
#: Steps each lane loads before it uses any (interval_step_kernel).
UNROLL = 4


def interval_values(P: int, PD: int, have_q: bool) -> int:
    """Month sums per customer that the step kernel reduces across a warp: energy per
    period, maximum demand per TOU demand period, maximum demand, and (with reactive
    data) reactive energy and maximum reactive demand."""
    return P + PD + 1 + (2 if have_q else 0)


@functools.cache
def interval_step_kernel(
    load_type,
    P: int,
    PD: int,
    W: int,
    have_q: bool,
    block: int = STEP_BLOCK,
    unroll: int = UNROLL,
):
    """The interval step kernel for a load dtype (float32/float64), P energy and PD
    TOU-demand periods, a demand window of W steps, with or without reactive data.

    One warp per customer, ``block`` threads per block (a multiple of 32); each lane
    loads about ``unroll`` steps before it uses them. For each of the 12
    bill months ``[month_start[m], month_start[m + 1])`` the warp's lanes take the
    demand windows (W consecutive steps from step 0, as the CPU kernel aligns them)
    that touch the month in turn, lane ``l`` window ``l``, ``l + 32``, ...: a warp
    reads 32 x W consecutive values of its customer's row at once (coalesced), and
    the calendar (``step_code``: energy period | (demand period + 1) << 8, int32) is
    the same for every warp (cached). A step's energy counts in its own month; a
    window's demand counts in the month of its last step, only when the window is
    whole (as in :func:`m2c.core.billing.kernels.bill_interval_kernel`). Each lane
    keeps its month sums in registers (the period is a data-dependent index: a
    compare-and-add per period, unrolled, no local array); at the month's end the
    lanes write them to a shared-memory row per value and lane ``k`` of the warp
    folds value ``k`` over the 32 lanes and writes the output itself.

    Arguments: ``load`` (n, S), ``reactive`` (n, S) float64 or (1, 1) without
    reactive data, ``month_start`` (13,) int64, ``step_code`` (S,) int32,
    ``res_wh``, ``w_per_wh``; outputs ``out_energy`` (n x 12, P), ``out_dmax``
    (n, 12), ``out_dper`` (n x 12, PD), ``out_q`` and ``out_qmax`` (n, 12, -1
    without reactive data) and ``out_bad`` (n,): the first step with a bad load
    value, else the first bad reactive value, else -1. The bills are
    :func:`interval_bill_kernel`'s.

    Shared memory per block: :func:`interval_values` x (block + 1) x 8 bytes
    (the padding column keeps lane k's reads of row k free of bank conflicts).
    """
    if not (1 <= P <= MAX_EPERIODS and 0 <= PD <= MAX_DPERIODS and W >= 1 and block % 32 == 0):
        raise ValueError(
            f"need P in 1..{MAX_EPERIODS}, PD in 0..{MAX_DPERIODS}, W >= 1 and a block of "
            f"whole warps; got P={P}, PD={PD}, W={W}, block={block}"
        )
    EP, DP = P, max(PD, 1)  # local arrays need a length >= 1
    HAVE_Q = bool(have_q)
    NV = interval_values(P, PD, have_q)
    V_DM = P + PD  # row of the maximum demand, then reactive energy and demand
    BT = int(block)
    BTP = BT + 1
    WIN = int(W)
    U = max(1, int(unroll) // WIN)  # windows per lane per round: ~unroll loads in flight
    UW = U * WIN

    @cuda.jit
    def kernel(
        load,
        reactive,
        month_start,
        step_code,
        res_wh,
        w_per_wh,
        out_energy,
        out_dmax,
        out_dper,
        out_q,
        out_qmax,
        out_bad,
    ):
        red = cuda.shared.array((NV, BTP), int64)
        tid = cuda.threadIdx.x
        lane = tid % WARP
        i = cuda.blockIdx.x * (BT // WARP) + tid // WARP
        n = load.shape[0]
        S = load.shape[1]
        active = i < n
        scale = _ddiv(1000.0, float64(res_wh))
        # rows as views, indexed unsigned: no negative-index wrap-around per load
        row = load[i if active else 0]
        qrow = reactive[i if active and HAVE_Q else 0]
        # the loop sums and maximises step units (int64(x * scale + 0.5), as the CPU
        # kernel converts); the fold multiplies by res_wh (x w_per_wh for demand)
        e = cuda.local.array(EP, int64)
        d = cuda.local.array(DP, int64)
        xs = cuda.local.array(UW, load_type)
        cs = cuda.local.array(UW, int32)
        lbad = int64(-1)
        qbad = int64(-1)
        for m in range(12):
            a = month_start[m] if active else int64(0)
            b = month_start[m + 1] if active else int64(0)
            for k in range(EP):
                e[k] = 0
            for k in range(DP):
                d[k] = 0
            dm = int64(0)
            qa = int64(0)
            qm = int64(0)
            # the windows that touch [a, b): from the one holding step a to the one
            # holding step b - 1
            w0 = a // WIN
            nw = (b + WIN - 1) // WIN - w0 if b > a else int64(0)
            # U windows per lane per round, their loads issued before any is used (more
            # bytes in flight per warp: the loop is otherwise bound by load latency)
            for rnd in range((nw + U * WARP - 1) // (U * WARP)):
                for r in range(U):
                    wi = lane + WARP * (rnd * U + r)
                    for u in range(WIN):
                        s = (w0 + wi) * WIN + u
                        if wi < nw and (WIN == 1 or s < S):
                            xs[r * WIN + u] = row[uint64(s)]
                            cs[r * WIN + u] = step_code[uint64(s)]
                for r in range(U):
                    wi = lane + WARP * (rnd * U + r)
                    if wi >= nw:
                        continue
                    s0 = (w0 + wi) * WIN
                    wacc = int64(0)
                    code = int32(0)
                    for u in range(WIN):
                        s = s0 + u
                        if WIN == 1 or s < S:
                            x = float64(xs[r * WIN + u])
                            code = cs[r * WIN + u]
                            if not (x >= 0.0 and x < MAX_STEP_KWH):
                                if lbad < 0:
                                    lbad = s
                            else:
                                wh = _step_units(x, scale)
                                wacc += wh
                                if WIN == 1 or (s >= a and s < b):
                                    ep = code & 255
                                    for k in range(EP):
                                        # a multiply, not a branch: under `if ep == k`
                                        # the compiler rewrites e[k] as e[ep], a dynamic
                                        # index that sends e to local memory
                                        e[k] += wh * (ep == k)
                            if HAVE_Q and (WIN == 1 or (s >= a and s < b)):
                                y = abs(qrow[uint64(s)])
                                if not y < MAX_STEP_KWH:
                                    if qbad < 0:
                                        qbad = s
                                else:
                                    varh = _step_units(y, scale)
                                    qa += varh
                                    if varh > qm:
                                        qm = varh
                    last = s0 + WIN - 1
                    if WIN == 1 or (last >= a and last < b):  # a whole window ending in m
                        if wacc > dm:
                            dm = wacc
                        dp = (code >> 8) - 1
                        for k in range(PD):
                            v = wacc * (dp == k)  # wacc >= 0: 0 leaves the maximum as is
                            if v > d[k]:
                                d[k] = v
            # fold the 32 lanes: lane k owns value k
            for k in range(EP):
                red[k, tid] = e[k]
            for k in range(PD):
                red[P + k, tid] = d[k]
            red[V_DM, tid] = dm
            if HAVE_Q:
                red[V_DM + 1, tid] = qa
                red[V_DM + 2, tid] = qm
            cuda.syncthreads()
            if active and lane < NV:
                base = tid - lane
                v = red[lane, base]
                is_sum = lane < P or (HAVE_Q and lane == V_DM + 1)
                for j in range(1, WARP):
                    x2 = red[lane, base + j]
                    if is_sum:
                        v += x2
                    elif x2 > v:
                        v = x2
                r = i * 12 + m
                v *= res_wh  # units -> Wh (varh)
                if lane >= P and lane != V_DM + 1:
                    v *= w_per_wh  # a maximum: window Wh -> W
                if lane < P:
                    out_energy[r, lane] = v
                elif lane < V_DM:
                    out_dper[r, lane - P] = v
                elif lane == V_DM:
                    out_dmax[i, m] = v
                elif lane == V_DM + 1:
                    out_q[i, m] = v
                else:
                    out_qmax[i, m] = v
            if active and not HAVE_Q and lane == V_DM + 1:
                out_q[i, m] = -1
                out_qmax[i, m] = -1
            cuda.syncthreads()
        # the first bad step: the smallest over the lanes (each lane's first is its least)
        red[0, tid] = lbad
        if HAVE_Q:
            red[1, tid] = qbad
        cuda.syncthreads()
        if active and lane == 0:
            first = int64(-1)
            qfirst = int64(-1)
            for j in range(WARP):
                x3 = red[0, tid + j]
                if x3 >= 0 and (first < 0 or x3 < first):
                    first = x3
                if HAVE_Q:
                    y3 = red[1, tid + j]
                    if y3 >= 0 and (qfirst < 0 or y3 < qfirst):
                        qfirst = y3
            out_bad[i] = first if first >= 0 else qfirst

    return kernel


if cuda is not None:

    @cuda.jit
    def interval_bill_kernel(
        A,
        t,
        month0,
        month_days,
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
    ):
        """The 12 bills of each customer (one thread per customer) from the step
        kernel's month sums, read in place (rows ``customer x 12 + bill index``), as
        :func:`m2c.core.billing.kernels.bill_interval_kernel` bills them: annual
        blocks and the annual minimum carried across the year's bills."""
        i = cuda.grid(1)
        if i >= cap_kva.shape[0]:
            return
        ytd = int64(0)
        billed = int64(0)
        for m in range(12):
            mo = month0[m]
            if m > 0 and mo < month0[m - 1]:
                ytd = 0  # a new calendar year: annual blocks start again
                billed = 0
            r = i * 12 + m
            total, total_e = _bill_row(
                A,
                t,
                mo,
                month_days[m],
                out_energy,
                r,
                int64(1),
                ytd,
                out_dmax[i, m],
                out_dper,
                r,
                True,
                cap_kva[i],
                out_q[i, m],
                out_qmax[i, m],
                int64(0),  # coincident demand: the CPU backend only
                True,
                out_lines,
                out_period,
                out_block,
                r,
            )
            if year_end_month[m]:
                total = _annual_minimum(A, t, billed, total, out_lines, r)
            ytd += total_e
            billed += total
