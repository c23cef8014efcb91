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

:func:`register_kernel` (one thread per customer) and :func:`interval_kernel`
(a factory per load dtype and block shape) are launched by
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
  ``int64(x * (1000 / res) + 0.5) * res`` (:func:`_to_units`), are spelled
  here with libdevice's correctly-rounded ``__dmul_rn`` / ``__dadd_rn`` /
  ``__ddiv_rn`` / ``__dsqrt_rn``, which are never contracted, in the CPU's
  order. tests/core/test_billing_cuda.py checks that every shared function is
  integer-only and, where NVVM is installed, that the PTX has no ``fma``.

Interval kernel layout: one thread per customer (a customer-year is the unit
of work and carries the annual block and minimum state), 64 customers per
block. The (n, S) load array is row-major, so a thread reading its own row
would make every warp load touch 32 cache lines; instead the block stages a
64 customers x 32 steps tile through shared memory with coalesced reads
(consecutive threads read consecutive steps of one row), then each thread
walks its row of the tile. All threads of a block walk the same steps (one
calendar), so a step's period is the same for all of them: the running sums per
energy / demand period live in shared memory, one column per thread (a step's
period is a data-dependent index, which registers cannot take; no per-thread
local array), and are flushed to the outputs at month boundaries (steps are in
calendar order). The kernel is specialised on the period counts and on whether
there is reactive data (no reactive tile without it). The 12 bills then read
and write the outputs in place (``arr[i * 12 + m, col]``).
"""

from __future__ import annotations

import functools
import math
import types as _pytypes

from numba import float64, int32, int64
from numba.core.registry import CPUDispatcher

from m2c.core.billing.cuda_runtime import cuda, simulator_enabled
from m2c.core.billing.fast_register import bill_row
from m2c.core.billing.kernels import L_ANNUAL_MIN, L_TOTAL
from m2c.core.tariffs.powerfactor import pf_hundredths
from m2c.core.units import MAX_STEP_KWH

#: Largest number of energy / TOU-demand periods of the interval kernel, whose month
#: sums live in shared memory (real tariffs have <= 6; see interval_kernel's budget).
MAX_EPERIODS = 16
MAX_DPERIODS = 12
#: Customers per thread block and steps per shared-memory tile on a real GPU.
BLOCK_CUSTOMERS = 64
TILE_STEPS = 32
#: Under the simulator every thread is a Python thread: keep blocks tiny ...
SIM_BLOCK_CUSTOMERS = 4
#: ... and tiles long: each syncthreads costs the simulator a GIL hand-off (~ms).
SIM_TILE_STEPS = 1000


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
    def _to_units(x, scale, res):
        # MUST match billing.kernels: np.int64(x * scale + 0.5) * res, two roundings, no FMA.
        return int64(_dadd(_dmul(float64(x), scale), 0.5)) * res

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


@functools.cache
def interval_kernel(load_type, B: int, TS: int, P: int, PD: int, have_q: bool):
    """The interval kernel for a load dtype (float32/float64), B customers per block,
    TS steps per tile, P energy and PD TOU-demand periods, with or without reactive data.

    Arguments as :func:`m2c.core.billing.kernels.bill_interval_kernel` (no
    coincident demand; ``reactive`` is read only when the kernel was made
    ``have_q``), with the outputs ``out_energy`` (n x 12, P), ``out_dper``
    (n x 12, PD), ``out_period`` (n x 12, P), ``out_block`` (n x 12, KB) and
    ``out_lines`` (n x 12, N_LINES) flattened to rows ``customer x 12 + bill
    index``, as :func:`m2c.core.billing.fast_interval.interval_kernel` takes them
    (``out_dmax``, ``out_q``, ``out_qmax`` (n, 12), ``out_bad`` (n,)).

    Shared memory per block (bytes): the load tile B x (TS + 1) x itemsize, the
    reactive tile B x (TS + 1) x 8 (1 x 1 without reactive data), the step
    calendar 3 x TS x 4, and the month's running sums (P + PD) x B x 8: one
    column per thread, so a warp reading sum k of its 32 threads hits 32
    consecutive words (no bank conflict), and every thread of a block is at the
    same step, hence the same k. :data:`MAX_EPERIODS` + :data:`MAX_DPERIODS`
    keep the worst case (float64 with reactive data) within the 48 KiB a block
    may declare statically.
    """
    if not (1 <= P <= MAX_EPERIODS and 0 <= PD <= MAX_DPERIODS):
        raise ValueError(f"P must be 1..{MAX_EPERIODS} and PD 0..{MAX_DPERIODS}, got {P}, {PD}")
    # closure constants, not expressions in the kernel: shared array shapes must be
    # compile-time constants
    TSP = TS + 1  # padded row: no shared-memory bank conflicts
    QB, QS = (B, TSP) if have_q else (1, 1)
    EP, DP = P, max(PD, 1)
    HAVE_Q = bool(have_q)

    @cuda.jit
    def kernel(
        A,
        t,
        load,
        reactive,
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
        qtile = cuda.shared.array((QB, QS), float64)
        s_month = cuda.shared.array(TS, int32)
        s_ep = cuda.shared.array(TS, int32)
        s_dp = cuda.shared.array(TS, int32)
        # the month's running sums: energy per period, maximum demand per TOU period
        ep = cuda.shared.array((EP, B), int64)
        dp = cuda.shared.array((DP, B), int64)
        tid = cuda.threadIdx.x
        c0 = cuda.blockIdx.x * B
        n = load.shape[0]
        S = load.shape[1]
        i = c0 + tid
        active = i < n
        if active:
            for m in range(12):
                for k in range(P):
                    out_energy[i * 12 + m, k] = 0
                for k in range(PD):
                    out_dper[i * 12 + m, k] = 0
                out_dmax[i, m] = 0
                out_q[i, m] = 0 if HAVE_Q else -1
                out_qmax[i, m] = 0 if HAVE_Q else -1
        for k in range(EP):
            ep[k, tid] = 0
        for k in range(DP):
            dp[k, tid] = 0
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
                    if HAVE_Q:
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
                                out_energy[i * 12 + cur, k] = ep[k, tid]
                                ep[k, tid] = 0
                            for k in range(PD):
                                out_dper[i * 12 + cur, k] = dp[k, tid]
                                dp[k, tid] = 0
                            out_dmax[i, cur] = dm
                            if HAVE_Q:
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
                        ep[s_ep[j], tid] += wh
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
                            if d >= 0 and w > dp[d, tid]:
                                dp[d, tid] = w
                    if HAVE_Q:
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
                    out_energy[i * 12 + cur, k] = ep[k, tid]
                for k in range(PD):
                    out_dper[i * 12 + cur, k] = dp[k, tid]
                out_dmax[i, cur] = dm
                if HAVE_Q:
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

    return kernel
