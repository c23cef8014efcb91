"""GPU billing backend: numba-cuda twins of :mod:`m2c.core.billing_kernels`.

Optional (``pip install -e '.[cuda]'``): importing this module never fails;
without numba's CUDA target :func:`cuda_available` is False and the entry
points raise ``RuntimeError``. :func:`m2c.core.billing.bill_interval` and
:func:`~m2c.core.billing.bill_register` call :func:`bill_interval_cuda` /
:func:`bill_register_cuda` with ``backend="cuda"`` (or ``"auto"`` on a machine
with a GPU); both take exactly the arguments of the CPU kernels and fill the
same caller-allocated output arrays, so the wrappers' validation and
post-processing are shared and the bills are identical to the fen.

Why the results are identical, not merely close:

* money is int64 on the device and every line goes through
  :func:`_round_div`, a line-for-line twin of :func:`m2c.core.units.round_div`;
  integer sums are exact, so summation order does not matter;
* a step's kWh -> centi-kWh conversion ``int64(x * 100.0 + 0.5)`` and the
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

Batching (:func:`bill_interval_cuda`): customers are processed in chunks sized
to the free device memory, with two CUDA streams and two sets of pinned host
buffers, so that the host-to-device copy of chunk k+1 overlaps the kernel of
chunk k.
"""

from __future__ import annotations

import functools
import math
import os
import warnings

import numpy as np

try:  # the CUDA target is optional: any failure here just means "no GPU backend"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from numba import config as _numba_config
        from numba import cuda, float32, float64, int32, int64
    _IMPORT_ERROR: Exception | None = None
except Exception as exc:  # pragma: no cover - depends on the installation
    cuda = None
    _IMPORT_ERROR = exc

from m2c.core.billing_kernels import (
    L_ANNUAL_MIN,
    L_BASIC,
    L_BLOCKS,
    L_DEMAND,
    L_DEMAND_FLAT,
    L_DEMAND_TOU,
    L_ENERGY,
    L_FIXED,
    L_MINIMUM,
    L_PF,
    L_PF_HUNDREDTHS,
    L_TOTAL,
)
from m2c.core.tariff_table import TariffArrays

#: Largest number of energy / TOU-demand periods the interval kernel keeps in
#: per-thread local arrays (real tariffs have <= 6; compile-time constants).
MAX_EPERIODS = 16
MAX_DPERIODS = 16
#: Customers per thread block and steps per shared-memory tile on a real GPU.
BLOCK_CUSTOMERS = 64
TILE_STEPS = 32
#: Under the simulator every thread is a Python thread: keep blocks and chunks tiny.
_SIM_BLOCK_CUSTOMERS = 4
_SIM_CHUNK_CUSTOMERS = 2
#: ... and tiles long: each syncthreads costs the simulator a GIL hand-off (~ms).
_SIM_TILE_STEPS = 1000
#: Environment variable that lets cuda_available() report True under the simulator.
ALLOW_SIM_ENV = "M2C_CUDA_ALLOW_SIM"

_E_TO_FEN = 1_000_000  # centi-kWh x micro/kWh -> fen (billing_kernels._E_TO_FEN)
_W_TO_FEN = 10_000_000  # W x micro/kW -> fen
_KVA_TO_FEN = 10_000  # kVA x micro/kVA -> fen


def simulator_enabled() -> bool:
    """True when Numba's CUDA simulator is on (``NUMBA_ENABLE_CUDASIM=1``)."""
    if cuda is None:
        return False
    return bool(getattr(_numba_config, "ENABLE_CUDASIM", 0))


@functools.cache
def _driver_available() -> bool:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return bool(cuda.is_available())
    except Exception:
        return False


def cuda_available(allow_simulator: bool | None = None) -> bool:
    """Whether the GPU backend can run here; never raises.

    False when numba's CUDA target cannot be imported, when there is no
    driver or no device, and under the CUDA simulator unless
    ``allow_simulator`` is True (default: the environment variable
    ``M2C_CUDA_ALLOW_SIM=1``, for tests), so that ``backend="auto"`` never
    picks the (very slow) simulator by accident.
    """
    try:
        if cuda is None:
            return False
        if simulator_enabled():
            if allow_simulator is None:
                allow_simulator = os.environ.get(ALLOW_SIM_ENV, "") == "1"
            return bool(allow_simulator)
        return _driver_available()
    except Exception:
        return False


def _require_cuda() -> None:
    if cuda is None:
        raise RuntimeError(
            f"backend='cuda' needs numba's CUDA target (pip install -e '.[cuda]'): {_IMPORT_ERROR}"
        )
    if not simulator_enabled() and not _driver_available():
        raise RuntimeError(
            "backend='cuda' needs an NVIDIA GPU with a working driver (none found); "
            "use backend='cpu' or 'auto', or set NUMBA_ENABLE_CUDASIM=1 to run the simulator"
        )


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
    def _to_centi(x):
        # MUST match billing_kernels: np.int64(x * 100.0 + 0.5), two roundings, no FMA.
        return int64(_dadd(_dmul(float64(x), 100.0), 0.5))

    @_device
    def _pf_hundredths(active_ckwh, reactive_ckvarh):
        # MUST match m2c.core.powerfactor.pf_hundredths, operation by operation.
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
        # Twin of billing_kernels._tiered.
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
    def _bill_month(A, t, month0, energy, ytd_before, dmax_w, dper_w, cap_kva, reactive,
                    out_period, out_block, out_lines):
        # Twin of billing_kernels.bill_month (same arguments, same order of operations).
        mode = A.rounding[t]
        total_e = int64(0)
        energy_fen = int64(0)
        for p in range(out_period.shape[0]):
            e = energy[p]
            total_e += e
            f = int64(0)
            if p < A.n_eperiods[t] and e != 0:
                uy = _tiered(int64(0), e, A.e_max[t, p], A.e_price[t, p], A.e_ntiers[t, p])
                f = _round_div(uy, _E_TO_FEN, mode)
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
        fd = A.fd_month[t, month0]
        if fd >= 0 and dmax_w > 0:
            flat_fen = _round_div(
                _tiered(int64(0), dmax_w, A.fd_max[t, fd], A.fd_price[t, fd], A.fd_ntiers[t, fd]),
                _W_TO_FEN, mode,
            )
        tou_fen = int64(0)
        for p in range(A.n_dperiods[t]):
            d = dper_w[p]
            if d > 0:
                tou_fen += _round_div(
                    _tiered(int64(0), d, A.d_max[t, p], A.d_price[t, p], A.d_ntiers[t, p]),
                    _W_TO_FEN, mode,
                )

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
                pf_fen = _round_div(A.pf_table[row, pf] * (basic_fen + energy_fen), 1_000_000,
                                    mode)

        fixed = A.fixed[t]
        subtotal = energy_fen + flat_fen + tou_fen + basic_fen + pf_fen + fixed
        minimum = int64(0)
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

    @_device
    def _apply_annual_minimum(A, t, billed_before_fen, out_lines):
        # Twin of billing_kernels.apply_annual_minimum.
        year = billed_before_fen + out_lines[L_TOTAL]
        if year < A.min_year[t]:
            top = A.min_year[t] - year
            out_lines[L_ANNUAL_MIN] = top
            out_lines[L_TOTAL] += top

    @cuda.jit
    def _register_kernel(A, tariff_id, energy, month0, ytd_energy, dmax_w, dper_w, cap_kva,
                         reactive, ytd_billed, year_end, out_period, out_block, out_lines):
        i = cuda.grid(1)
        if i < tariff_id.shape[0]:
            t = tariff_id[i]
            _bill_month(A, t, month0, energy[i], ytd_energy[i], dmax_w[i], dper_w[i],
                        cap_kva[i], reactive[i], out_period[i], out_block[i], out_lines[i])
            if year_end:
                _apply_annual_minimum(A, t, ytd_billed[i], out_lines[i])

    @cuda.jit
    def _stream_sum_kernel(x, out):
        # Streaming baseline for benchmarks: a grid-stride read-and-sum of a flat view
        # of the load array (what an ideal bandwidth-bound pass over it costs).
        acc = float64(0.0)
        k = cuda.grid(1)
        stride = cuda.gridsize(1)
        while k < x.shape[0]:
            acc += x[k]
            k += stride
        cuda.atomic.add(out, 0, acc)


@functools.cache
def _interval_kernel(load_type, B: int, TS: int):
    """The interval kernel for a load dtype (float32/float64), B customers per block."""
    EP, DP = MAX_EPERIODS, MAX_DPERIODS
    TSP = TS + 1  # padded row: no shared-memory bank conflicts (a closure constant, not an
    # expression in the kernel: shared/local array shapes must be compile-time constants)

    @cuda.jit
    def kernel(A, t, load, reactive, have_q, step_month, step_eperiod, step_dperiod, month0,
               w_per_ckwh, cap_kva, year_end_month, out_energy, out_dmax, out_dper, out_q,
               out_period, out_block, out_lines, out_bad):
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
        for k in range(EP):
            ep[k] = 0
        for k in range(DP):
            dp[k] = 0
        cur = int64(-1)
        dm = int64(0)
        qa = int64(0)
        bad = int64(-1)
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
                        cur = m
                        dm = 0
                        qa = 0
                    x = float64(tile[tid, j])
                    if not (x >= 0.0 and x < 1e15):
                        if bad < 0:
                            bad = s0 + j
                    else:
                        ck = _to_centi(x)
                        ep[s_ep[j]] += ck
                        w = ck * w_per_ckwh
                        if w > dm:
                            dm = w
                        d = s_dp[j]
                        if d >= 0 and w > dp[d]:
                            dp[d] = w
                    if have_q:
                        qa += _to_centi(abs(qtile[tid, j]))
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
            out_bad[i] = bad
            ytd = int64(0)
            billed = int64(0)
            for m in range(12):
                mo = month0[m]
                if m > 0 and mo < month0[m - 1]:
                    ytd = 0  # a new calendar year: annual blocks start again
                    billed = 0
                total_e = _bill_month(A, t, mo, out_energy[i, m], ytd, out_dmax[i, m],
                                      out_dper[i, m], cap_kva[i], out_q[i, m],
                                      out_period[i, m], out_block[i, m], out_lines[i, m])
                if year_end_month[m]:
                    _apply_annual_minimum(A, t, billed, out_lines[i, m])
                ytd += total_e
                billed += out_lines[i, m, L_TOTAL]

    return kernel


def _device_tariffs(A: TariffArrays) -> TariffArrays:
    return TariffArrays(*(cuda.to_device(np.ascontiguousarray(a, dtype=np.int64)) for a in A))


def bill_register_cuda(A, tariff_id, energy, month0, ytd_energy, dmax_w, dper_w, cap_kva,
                       reactive, ytd_billed, year_end, out_period, out_block, out_lines) -> None:
    """GPU twin of :func:`m2c.core.billing_kernels.bill_register_kernel` (same arguments).

    Register reads are a few int64 per customer, so the whole batch goes up
    in one transfer; outputs are copied back into the caller's arrays.
    """
    _require_cuda()
    n = int(tariff_id.shape[0])
    if n == 0:
        return
    dA = _device_tariffs(A)
    d_out = [cuda.to_device(a) for a in (out_period, out_block, out_lines)]
    threads = _SIM_BLOCK_CUSTOMERS if simulator_enabled() else 128
    _register_kernel[(n + threads - 1) // threads, threads](
        dA, cuda.to_device(tariff_id), cuda.to_device(energy), np.int64(month0),
        cuda.to_device(ytd_energy), cuda.to_device(dmax_w), cuda.to_device(dper_w),
        cuda.to_device(cap_kva), cuda.to_device(reactive), cuda.to_device(ytd_billed),
        bool(year_end), *d_out,
    )
    for d, h in zip(d_out, (out_period, out_block, out_lines), strict=True):
        d.copy_to_host(h)


#: Target size of one chunk's input (pinned host buffer), and the fewest customers
#: per chunk worth launching: one thread per customer needs tens of thousands of
#: threads in flight to keep HBM busy.
_CHUNK_TARGET_BYTES = 1 << 30
_CHUNK_MIN_CUSTOMERS = 32_768


def _chunk_customers(n: int, in_bytes: int, bytes_per_customer: int, B: int) -> int:
    """Customers per chunk.

    About 1 GiB of input per chunk (but at least 32 768 customers), and two
    chunks in flight must fit in 70 % of the free device memory.
    """
    if simulator_enabled():
        return _SIM_CHUNK_CUSTOMERS
    free, _total = cuda.current_context().get_memory_info()
    c = max(_CHUNK_TARGET_BYTES // max(in_bytes, 1), _CHUNK_MIN_CUSTOMERS)
    c = min(c, int(0.7 * free) // (2 * bytes_per_customer))
    c = max(B, (c // B) * B)
    return min(n, c)


def bill_interval_cuda(A, t, load_kwh, step_month, step_eperiod, step_dperiod, month0,
                       w_per_ckwh, reactive_kvarh, cap_kva, year_end_month,
                       out_energy, out_dmax, out_dper, out_q, out_period, out_block,
                       out_lines, out_bad, *, chunk_customers: int | None = None) -> None:
    """GPU twin of :func:`m2c.core.billing_kernels.bill_interval_kernel` (same arguments).

    Fills the caller's output arrays exactly as the CPU kernel does.
    ``load_kwh`` is (n, S) float32 or float64 in any memory order (it is
    staged row-major through pinned buffers); ``step_month`` must be
    non-decreasing (steps in calendar order, as ``bill_interval`` makes
    them). ``chunk_customers`` overrides the automatic chunk size (customers
    per host-device round trip).
    """
    _require_cuda()
    n, S = (int(x) for x in load_kwh.shape)
    P, PD = int(out_energy.shape[2]), int(out_dper.shape[2])
    if P > MAX_EPERIODS or PD > MAX_DPERIODS:
        raise ValueError(
            f"the CUDA backend supports at most {MAX_EPERIODS} energy and {MAX_DPERIODS} demand "
            f"periods, the tariff table has {P} and {PD}; use backend='cpu'"
        )
    if load_kwh.dtype not in (np.float32, np.float64):
        raise ValueError(f"load_kwh must be float32 or float64, got {load_kwh.dtype}")
    sm = np.ascontiguousarray(step_month, dtype=np.int32)
    if S and (np.any(np.diff(sm) < 0) or sm.min() < 0 or sm.max() > 11):
        raise ValueError("step_month must be non-decreasing bill indices 0..11 (calendar order)")
    if n == 0 or S == 0:
        return
    have_q = reactive_kvarh.shape[0] == n
    sim = simulator_enabled()
    B = _SIM_BLOCK_CUSTOMERS if sim else BLOCK_CUSTOMERS
    TS = _SIM_TILE_STEPS if sim else TILE_STEPS
    kernel = _interval_kernel(float64 if load_kwh.dtype == np.float64 else float32, B, TS)
    outs_host = (out_energy, out_dmax, out_dper, out_q, out_period, out_block, out_lines,
                 out_bad)
    per_out = sum(a[0].nbytes if a.ndim > 1 else a.itemsize for a in outs_host)
    per_cust = S * load_kwh.itemsize + (S * 8 if have_q else 0) + per_out
    in_bytes = S * load_kwh.itemsize + (S * 8 if have_q else 0)
    chunk = chunk_customers or _chunk_customers(n, in_bytes, per_cust, B)
    chunk = max(1, min(int(chunk), n))

    dA = _device_tariffs(A)
    d_steps = [cuda.to_device(np.ascontiguousarray(a, dtype=np.int32))
               for a in (sm, step_eperiod, step_dperiod)]
    d_month0 = cuda.to_device(np.ascontiguousarray(month0, dtype=np.int64))
    d_yend = cuda.to_device(np.ascontiguousarray(year_end_month, dtype=np.int64))
    d_dummy_q = cuda.to_device(np.zeros((1, 1), dtype=np.float64))

    nbuf = 2 if chunk < n else 1
    streams = [cuda.stream() for _ in range(nbuf)]
    pin_load = [cuda.pinned_array((chunk, S), dtype=load_kwh.dtype) for _ in range(nbuf)]
    d_load = [cuda.device_array((chunk, S), dtype=load_kwh.dtype) for _ in range(nbuf)]
    pin_q = [cuda.pinned_array((chunk, S), dtype=np.float64) if have_q else None
             for _ in range(nbuf)]
    d_q = [cuda.device_array((chunk, S), dtype=np.float64) if have_q else d_dummy_q
           for _ in range(nbuf)]
    pin_out = [[cuda.pinned_array((chunk, *a.shape[1:]), dtype=a.dtype) for a in outs_host]
               for _ in range(nbuf)]
    d_out = [[cuda.device_array((chunk, *a.shape[1:]), dtype=a.dtype) for a in outs_host]
             for _ in range(nbuf)]
    d_cap = cuda.to_device(np.ascontiguousarray(cap_kva, dtype=np.int64))
    pending: list[tuple[int, int] | None] = [None] * nbuf

    def finish(b: int) -> None:
        streams[b].synchronize()
        lo, nc = pending[b]
        for h, p in zip(outs_host, pin_out[b], strict=True):
            h[lo:lo + nc] = p[:nc]
        pending[b] = None

    for k, lo in enumerate(range(0, n, chunk)):
        b = k % nbuf
        st = streams[b]
        if pending[b] is not None:
            finish(b)  # buffer set b is free again once its previous chunk is back
        nc = min(chunk, n - lo)
        pin_load[b][:nc] = load_kwh[lo:lo + nc]
        d_load[b][:nc].copy_to_device(pin_load[b][:nc], stream=st)
        if have_q:
            pin_q[b][:nc] = reactive_kvarh[lo:lo + nc]
            d_q[b][:nc].copy_to_device(pin_q[b][:nc], stream=st)
        dq = d_q[b][:nc] if have_q else d_dummy_q
        outs = [d[:nc] for d in d_out[b]]
        kernel[(nc + B - 1) // B, B, st](
            dA, np.int64(t), d_load[b][:nc], dq, have_q, d_steps[0], d_steps[1], d_steps[2],
            d_month0, np.int64(w_per_ckwh), d_cap[lo:lo + nc], d_yend, *outs,
        )
        for d, p in zip(outs, pin_out[b], strict=True):
            d.copy_to_host(p[:nc], stream=st)
        pending[b] = (lo, nc)
    for b in range(nbuf):
        if pending[b] is not None:
            finish(b)


def stream_sum(d_x) -> tuple[float, float]:
    """Streaming baseline on a device array: (sum, seconds), timed with CUDA events.

    Used by the benchmarks for ``ratio_to_stream``: a read-and-sum over the
    same device array as the billing kernel reads.
    """
    _require_cuda()
    out = cuda.to_device(np.zeros(1, dtype=np.float64))
    threads = 256
    blocks = 1 if simulator_enabled() else cuda.get_current_device().MULTIPROCESSOR_COUNT * 8
    start, stop = cuda.event(), cuda.event()
    start.record()
    _stream_sum_kernel[blocks, threads](d_x.reshape(d_x.size), out)
    stop.record()
    stop.synchronize()
    return float(out.copy_to_host()[0]), max(start.elapsed_time(stop), 1e-6) / 1e3
