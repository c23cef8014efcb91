"""GPU interval billing benchmark (marker ``gpu``; skipped without a real NVIDIA GPU).

Figures (``benchmark.extra_info`` and printed), all measured in the same run:

* ``customer_years_per_s`` of the interval kernel over >= 1 M customer-years of
  hourly float32 data already on the device, and the achieved ``gb_per_s``
  (load bytes read / kernel time);
* ``ratio_to_stream`` = kernel time / time of a plain grid-stride read-and-sum
  over the same device array (:func:`baselines.stream_sum`, bench/baselines.py);
  ``fraction_of_stream_bw`` is its inverse (target >= 0.5);
* end to end from host memory (pinned staging, chunks, both streams, outputs
  back): ``e2e_customer_years_per_s``, ``e2e_gb_per_s`` and ``h2d_gb_per_s``, a
  plain 1 GiB pinned host-to-device copy, the PCIe ceiling of that figure;
* ``speedup_vs_cpu``: kernel rate over the CPU reference kernel's rate
  (:func:`m2c.core.billing.kernels.bill_interval_kernel`, all CPU cores), and
  ``speedup_vs_cpu_fast`` over the CPU's default path
  (:func:`m2c.core.bill_interval` with ``backend="cpu"``: the day-block kernel of
  :mod:`m2c.core.billing.fast_interval`, wrapper included).

Run on a GPU machine::

    pytest bench/test_bench_cuda.py -m gpu --benchmark-enable -p no:cacheprovider -o addopts="" -s

``M2C_BENCH_CUDA_N`` overrides the number of customers (default 1 048 576).
Under the simulator (``NUMBA_ENABLE_CUDASIM=1 M2C_CUDA_ALLOW_SIM=1``, tiny N)
the code path runs for a smoke test; its figures mean nothing.
"""

from __future__ import annotations

import os
import time

import numpy as np
import pytest
from baselines import stream_sum

from m2c.core import bill_interval
from m2c.core.billing import cuda_backend, cuda_kernels
from m2c.core.billing.api import _step_calendar
from m2c.core.billing.kernels import N_LINES, bill_interval_kernel
from m2c.core.tariffs import bundled_tariff, compile_tariffs

pytestmark = pytest.mark.gpu

N_CUSTOMERS = int(os.environ.get("M2C_BENCH_CUDA_N", 1 << 20))
S = 8760  # hourly, one year
TARIFF = "industrial_tou_two_part"


def _skip_without_gpu() -> None:
    if not cuda_backend.cuda_available():
        pytest.skip("needs an NVIDIA GPU with numba-cuda (or the simulator, explicitly allowed)")


def _gpu_name(sim: bool) -> str:
    if sim:
        return "simulator"
    from numba import cuda

    name = cuda.get_current_device().name
    return name.decode() if isinstance(name, bytes) else str(name)


#: Days of the 12 billed months of 2025 (daily charges and tier bounds).
MONTH_DAYS = np.array([31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31], dtype=np.int64)


def _inputs(n_e2e: int):
    table = compile_tariffs([bundled_tariff(TARIFF)])
    A = table.arrays
    idx, cal_month, hour, weekend = _step_calendar("2025-01-01", S, 60)
    wk = weekend.astype(np.int64)
    eperiod = A.sched[0, wk, cal_month, hour]
    dperiod = A.dsched[0, wk, cal_month, hour]
    month0 = np.arange(12, dtype=np.int64)
    year_end = (month0 == 11).astype(np.int64)
    rng = np.random.default_rng(0)
    base = rng.gamma(1.5, 0.4, size=(min(n_e2e, 1024), S)).astype(np.float32)
    host = np.tile(base, (-(-n_e2e // base.shape[0]), 1))[:n_e2e]
    return table, idx, eperiod, dperiod, month0, year_end, host


def _outputs(n: int, table, alloc, flat: bool = False):
    """The interval outputs; ``flat``: (n, 12, X) as (n x 12, X) rows, as the device
    kernel takes them (cuda_kernels.interval_kernel)."""
    P, PD, KB = table.n_periods, table.n_demand_periods, table.n_blocks
    shapes = [
        (n, 12, P),
        (n, 12),
        (n, 12, PD),
        (n, 12),
        (n, 12),
        (n, 12, P),
        (n, 12, KB),
        (n, 12, N_LINES),
        (n,),
    ]
    if flat:
        shapes = [(n * 12, s[2]) if len(s) == 3 else s for s in shapes]
    return [alloc(s, np.int64) for s in shapes]


def test_bench_interval_cuda(benchmark) -> None:
    _skip_without_gpu()
    from numba import cuda, float32

    sim = cuda_backend.simulator_enabled()
    n = N_CUSTOMERS if not sim else min(N_CUSTOMERS, 8)
    n_e2e = min(n, 131_072)
    table, idx, eperiod, dperiod, month0, year_end, host = _inputs(n_e2e)
    A = table.arrays

    # --- kernel only: n customer-years resident on the device ----------------
    d_load = cuda.device_array((n, S), dtype=np.float32)
    for lo in range(0, n, n_e2e):  # fill by repeating the host block
        hi = min(n, lo + n_e2e)
        d_load[lo:hi].copy_to_device(np.ascontiguousarray(host[: hi - lo]))
    dA = cuda_backend.device_tariffs(A)
    d_code = cuda.to_device((eperiod | ((dperiod + 1) << 8)).astype(np.int32))
    d_mstart = cuda.to_device(np.searchsorted(idx, np.arange(13)).astype(np.int64))
    d_m0, d_ye = cuda.to_device(month0), cuda.to_device(year_end)
    d_md = cuda.to_device(MONTH_DAYS)
    d_cap = cuda.to_device(np.full(n, 400, dtype=np.int64))
    d_q = cuda.to_device(np.zeros((1, 1)))
    outs = _outputs(n, table, lambda s, dt: cuda.device_array(s, dtype=dt), flat=True)
    o_energy, o_dmax, o_dper, o_q, o_qmax, o_period, o_block, o_lines, o_bad = outs
    block = cuda_kernels.WARP if sim else cuda_kernels.STEP_BLOCK
    per_block = block // cuda_kernels.WARP
    P, PD = table.n_periods, table.n_demand_periods
    steps = cuda_kernels.interval_step_kernel(float32, P, PD, 1, False, block)
    bills = cuda_kernels.interval_bill_kernel
    times = {}

    def run_kernel() -> float:
        ev = [cuda.event() for _ in range(3)]
        ev[0].record()
        # hourly steps in whole Wh (res 1, one-step demand window, 1 W per Wh)
        steps[(n + per_block - 1) // per_block, block](
            d_load, d_q, d_mstart, d_code, np.int64(1), np.int64(1),
            o_energy, o_dmax, o_dper, o_q, o_qmax, o_bad,
        )  # fmt: skip
        ev[1].record()
        bills[(n + 127) // 128, 128](
            dA, np.int64(0), d_m0, d_md, d_cap, d_ye,
            o_energy, o_dmax, o_dper, o_q, o_qmax, o_period, o_block, o_lines,
        )  # fmt: skip
        ev[2].record()
        ev[2].synchronize()
        times["steps"] = ev[0].elapsed_time(ev[1]) / 1e3
        times["bills"] = ev[1].elapsed_time(ev[2]) / 1e3
        return max(ev[0].elapsed_time(ev[2]), 1e-6) / 1e3

    run_kernel()  # compile
    kernel_s = benchmark.pedantic(run_kernel, rounds=1, iterations=1)
    split = dict(times)
    for _ in range(2):
        if (k := run_kernel()) < kernel_s:
            kernel_s, split = k, dict(times)
    # the step kernel's loads in flight: steps each lane loads before using them
    by_unroll = {}
    ref_sums = (o_energy.copy_to_host(), o_dmax.copy_to_host(), o_dper.copy_to_host())
    for u in (1, 2, 4, 8):
        k = cuda_kernels.interval_step_kernel(float32, P, PD, 1, False, block, u)
        args = (d_load, d_q, d_mstart, d_code, np.int64(1), np.int64(1))
        args += (o_energy, o_dmax, o_dper, o_q, o_qmax, o_bad)
        grid = ((n + per_block - 1) // per_block, block)
        k[grid](*args)  # compile
        best = np.inf
        for _ in range(3):
            ev = [cuda.event() for _ in range(2)]
            ev[0].record()
            k[grid](*args)
            ev[1].record()
            ev[1].synchronize()
            best = min(best, ev[0].elapsed_time(ev[1]) / 1e3)
        by_unroll[u] = best
        got = (o_energy.copy_to_host(), o_dmax.copy_to_host(), o_dper.copy_to_host())
        assert all(np.array_equal(g, r) for g, r in zip(got, ref_sums, strict=True)), u
    stream_sum(d_load)  # compile
    stream_s = min(stream_sum(d_load)[1] for _ in range(3))
    load_bytes = n * S * 4

    # --- end to end from host memory, and the plain H2D ceiling --------------
    h_outs = _outputs(n_e2e, table, np.zeros)
    args = (
        A,
        0,
        host,
        idx,
        eperiod,
        dperiod,
        month0,
        MONTH_DAYS,
        np.int64(1),
        np.int64(1),
        np.int64(1),
        np.zeros((0, 0)),
        np.zeros((0, 0), dtype=np.int64),
        np.full(n_e2e, 400, dtype=np.int64),
        year_end,
    )
    cuda_backend.bill_interval_cuda(*args, *h_outs)  # warm (pinned allocations, compile)
    t0 = time.perf_counter()
    cuda_backend.bill_interval_cuda(*args, *h_outs)
    e2e_s = time.perf_counter() - t0
    pin = cuda.pinned_array(min(1 << 28, n_e2e * S), dtype=np.float32)  # up to 1 GiB
    pin[:] = 1.0
    d_pin = cuda.device_array_like(pin)
    start, stop = cuda.event(), cuda.event()
    start.record()
    d_pin.copy_to_device(pin)
    stop.record()
    stop.synchronize()
    h2d_s = max(start.elapsed_time(stop), 1e-6) / 1e3

    # --- CPU kernel on the same machine (all cores), on a slice -------------
    n_cpu = min(n_e2e, 16_384)
    c_outs = _outputs(n_cpu, table, np.zeros)
    cpu_args = (
        A,
        0,
        host[:n_cpu],
        idx,
        eperiod,
        dperiod,
        month0,
        MONTH_DAYS,
        np.int64(1),
        np.int64(1),
        np.int64(1),
        np.zeros((0, 0)),
        np.zeros((0, 0), dtype=np.int64),
        np.full(n_cpu, 400, dtype=np.int64),
        year_end,
    )
    bill_interval_kernel(*cpu_args, *c_outs)  # compile
    for a in c_outs:
        a[...] = 0  # the CPU kernel accumulates into zeroed outputs
    t0 = time.perf_counter()
    bill_interval_kernel(*cpu_args, *c_outs)
    cpu_s = time.perf_counter() - t0
    # the bills themselves must agree (first n_cpu customers of the e2e run)
    for h, c in zip(h_outs, c_outs, strict=True):
        assert np.array_equal(h[:n_cpu], c)
    # ... and so do the kernel-only run's (its first rows hold the same loads)
    k_lines = o_lines[: n_cpu * 12].copy_to_host().reshape(n_cpu, 12, N_LINES)
    assert np.array_equal(k_lines, c_outs[7])
    # the CPU's default path (fast_interval day blocks, through bill_interval), same slice
    tariff = bundled_tariff(TARIFF)
    cap = np.full(n_cpu, 400, dtype=np.int64)
    bill_interval(tariff, host[:n_cpu], capacity_kva=cap, backend="cpu")  # compile
    t0 = time.perf_counter()
    fast = bill_interval(tariff, host[:n_cpu], capacity_kva=cap, backend="cpu")
    cpu_fast_s = time.perf_counter() - t0
    assert np.array_equal(fast.lines, h_outs[7][:n_cpu])

    rate = n / kernel_s
    info = {
        "gpu": _gpu_name(sim),
        "customers": n,
        "steps": S,
        "kernel_s": kernel_s,
        "steps_kernel_s": split["steps"],
        "bills_kernel_s": split["bills"],
        "steps_ratio_to_stream": split["steps"] / stream_s,
        **{f"steps_s_unroll{u}": t for u, t in by_unroll.items()},
        "customer_years_per_s": rate,
        "gb_per_s": load_bytes / kernel_s / 1e9,
        "stream_s": stream_s,
        "stream_gb_per_s": load_bytes / stream_s / 1e9,
        "ratio_to_stream": kernel_s / stream_s,
        "fraction_of_stream_bw": stream_s / kernel_s,
        "e2e_customers": n_e2e,
        "e2e_s": e2e_s,
        "e2e_customer_years_per_s": n_e2e / e2e_s,
        "e2e_gb_per_s": n_e2e * S * 4 / e2e_s / 1e9,
        "h2d_gb_per_s": pin.nbytes / h2d_s / 1e9,
        "e2e_fraction_of_h2d": (n_e2e * S * 4 / e2e_s) / (pin.nbytes / h2d_s),
        "cpu_cores": os.cpu_count(),
        "cpu_customer_years_per_s": n_cpu / cpu_s,
        "speedup_vs_cpu": rate / (n_cpu / cpu_s),
        "e2e_speedup_vs_cpu": (n_e2e / e2e_s) / (n_cpu / cpu_s),
        "cpu_fast_customer_years_per_s": n_cpu / cpu_fast_s,
        "speedup_vs_cpu_fast": rate / (n_cpu / cpu_fast_s),
    }
    benchmark.extra_info.update(info)
    for k, v in info.items():
        print(f"{k:>28}: {v:.4g}" if isinstance(v, float) else f"{k:>28}: {v}")
    assert info["customer_years_per_s"] > 0


N_REGISTER = int(os.environ.get("M2C_BENCH_CUDA_REGISTER", 10_000_000))


def test_bench_register_cuda(benchmark) -> None:
    """Register bills on the GPU, end to end from host arrays (inputs up, line items
    down: PCIe-bound), against the CPU's default path on all of this machine's cores,
    same inputs, same bills."""
    _skip_without_gpu()
    from m2c.core import bill_register

    sim = cuda_backend.simulator_enabled()
    n = N_REGISTER if not sim else min(N_REGISTER, 64)
    names = ("agricultural", "commercial_flat", TARIFF, "residential_annual_tiers")
    table = compile_tariffs([bundled_tariff(t) for t in names])
    P, PD = table.n_periods, table.n_demand_periods
    rng = np.random.default_rng(1)
    tid = rng.integers(0, table.n_tariffs, n).astype(np.int64)
    energy = rng.integers(0, 100_000, (n, P)).astype(np.int64)
    energy[tid != table.id_of(TARIFF), 1:] = 0  # flat tariffs bill column 0
    args = {
        "month": 7,
        "ytd_energy_ckwh": rng.integers(0, 500_000, n).astype(np.int64),
        "max_demand_w": rng.integers(0, 200_000, n).astype(np.int64),
        "capacity_kva": rng.integers(0, 500, n).astype(np.int64),
        "reactive_ckvarh": (energy.sum(axis=1) * 48) // 100,  # PF about 0.90
        "period_demand_w": np.zeros((n, PD), dtype=np.int64),
    }

    def gpu():
        return bill_register(table, tid, energy, backend="cuda", **args)

    def cpu():
        return bill_register(table, tid, energy, backend="cpu", **args)

    gpu(), cpu()  # compile
    t0 = time.perf_counter()
    g = benchmark.pedantic(gpu, rounds=1, iterations=1)
    gpu_s = min(time.perf_counter() - t0, *(_timed(gpu) for _ in range(2)))
    cpu_s = min(_timed(cpu) for _ in range(3))
    c = cpu()
    assert np.array_equal(g.total_fen, c.total_fen)
    assert np.array_equal(g.lines, c.lines)
    info = {
        "gpu": _gpu_name(sim),
        "bills": n,
        "gpu_e2e_s": gpu_s,
        "gpu_bills_per_s": n / gpu_s,
        "cpu_cores": os.cpu_count(),
        "cpu_s": cpu_s,
        "cpu_bills_per_s": n / cpu_s,
        "speedup_vs_cpu": cpu_s / gpu_s,
    }
    benchmark.extra_info.update(info)
    for k, v in info.items():
        print(f"{k:>28}: {v:.4g}" if isinstance(v, float) else f"{k:>28}: {v}")


def _timed(f) -> float:
    t0 = time.perf_counter()
    f()
    return time.perf_counter() - t0
