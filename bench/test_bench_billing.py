"""Billing throughput against streaming baselines measured in the same run (issue 3).

Run::

    pytest bench/test_bench_billing.py --benchmark-enable -p no:cacheprovider -o addopts="" -s

Figures go to ``benchmark.extra_info`` and are printed; nothing asserts a wall time.

* register-read billing of ``M2C_BENCH_REGISTER`` customer-months (default
  10 000 000, one call): bills/s and ``ratio_to_stream`` = kernel time / time of
  a Numba ``prange`` pass that reads (sums) the same input arrays once;
* interval billing (hourly TOU + tiers in a period + monthly max demand) of
  ``M2C_BENCH_INTERVAL`` customer-years (default 100 000; float32 load, 3.5 GB
  at once when the machine has the memory, else billed in chunks of 10 000 and
  the time scaled, which ``extra_info["chunked"]`` records): customer-years/s
  and ``ratio_to_stream`` against a streaming sum over the same load array;
* a plain-NumPy (vectorised, no Numba) implementation of the same interval
  bill on ``M2C_BENCH_NUMPY`` customers (default 2 000): it must give the same
  bills to the fen; ``speedup_vs_numpy`` = NumPy time / kernel time;
* a real URDB record (PG&E E-19) on ``M2C_BENCH_URDB`` hourly customer-years
  (default 4 000, float64 at 0.001 kWh): ``ratio_to_stream`` and, when NREL
  PySAM is installed, ``speedup_vs_pysam`` (PySAM's time per customer-year on
  ``M2C_BENCH_PYSAM`` customers, default 20, measured in the same run).
"""

import json
import os
import time
from pathlib import Path

import numpy as np
from numba import get_num_threads, njit, prange

from m2c.core import bill_interval, bundled_tariff, compile_tariffs
from m2c.core.billing import bill_register
from m2c.core.billing.kernels import N_LINES, bill_register_kernel
from m2c.core.tariffs.model import DemandTier, Tariff, Tier

N_REG = int(os.environ.get("M2C_BENCH_REGISTER", "10000000"))
N_INT = int(os.environ.get("M2C_BENCH_INTERVAL", "100000"))
N_NUMPY = int(os.environ.get("M2C_BENCH_NUMPY", "2000"))
CHUNK = 10_000
HOURS = 8760


def _best(f, rounds=3):
    """Best wall time of ``rounds`` calls (s)."""
    best = float("inf")
    for _ in range(rounds):
        t = time.perf_counter()
        f()
        best = min(best, time.perf_counter() - t)
    return best


def _available_bytes() -> int:
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


# --- streaming baselines: read every input element once ---------------------------------


@njit(parallel=True, cache=True)
def stream_register(tid, energy, ytd, dmax, pd, cap, q, ytd_billed):
    """Sum every element of the register kernel's inputs (one pass, prange over rows)."""
    total = 0
    for i in prange(tid.shape[0]):
        s = tid[i] + ytd[i] + dmax[i] + cap[i] + q[i] + ytd_billed[i]
        for p in range(energy.shape[1]):
            s += energy[i, p]
        for p in range(pd.shape[1]):
            s += pd[i, p]
        total += s
    return total


@njit(parallel=True, cache=True, fastmath=True)
def stream_load(a):
    """Sum every element of a (n, S) load array (one pass, prange over rows).

    ``fastmath`` lets the float sum vectorise, so this is a memory-bound pass (the
    strictest baseline), not one limited by the latency of dependent float adds.
    """
    total = 0.0
    for i in prange(a.shape[0]):
        s = np.float32(0.0)
        for j in range(a.shape[1]):
            s += a[i, j]
        total += s
    return total


# --- (a) register-read billing -----------------------------------------------------------


def test_bench_register_bills(benchmark):
    names = (
        "agricultural",
        "commercial_flat",
        "industrial_tou_two_part",
        "residential_annual_tiers",
    )
    table = compile_tariffs([bundled_tariff(n) for n in names])
    A = table.arrays
    P, PD, KB = table.n_periods, table.n_demand_periods, table.n_blocks
    rng = np.random.default_rng(1)
    n = N_REG
    tid = rng.integers(0, table.n_tariffs, n).astype(np.int64)
    energy = rng.integers(0, 100_000, (n, P)).astype(np.int64)
    energy[tid != table.id_of("industrial_tou_two_part"), 1:] = 0  # flat tariffs: column 0
    ytd = rng.integers(0, 500_000, n).astype(np.int64)
    dmax = rng.integers(0, 200_000, n).astype(np.int64)
    pd = np.zeros((n, PD), dtype=np.int64)
    cap = rng.integers(0, 500, n).astype(np.int64)
    q = (energy.sum(axis=1) * 48) // 100  # PF about 0.90
    ytd_billed = np.zeros(n, dtype=np.int64)
    out_period = np.zeros((n, P), dtype=np.int64)
    out_block = np.zeros((n, KB), dtype=np.int64)
    lines = np.zeros((n, N_LINES), dtype=np.int64)
    qmax = np.full(n, -1, dtype=np.int64)

    def kernel():
        bill_register_kernel(
            A,
            tid,
            energy,
            10,  # register centi-kWh: the kernel bills Wh (x 10)
            6,
            31,
            ytd,
            dmax,
            pd,
            cap,
            q,
            qmax,
            ytd_billed,
            False,
            out_period,
            out_block,
            lines,
        )

    def stream():
        return stream_register(tid, energy, ytd, dmax, pd, cap, q, ytd_billed)

    # warm up (compile) on a slice, then check one figure of the kernel's bills
    bill_register_kernel(
        A,
        tid[:10],
        energy[:10],
        10,
        6,
        31,
        ytd[:10],
        dmax[:10],
        pd[:10],
        cap[:10],
        q[:10],
        qmax[:10],
        ytd_billed[:10],
        False,
        out_period[:10],
        out_block[:10],
        lines[:10],
    )
    stream()
    t_stream = _best(stream)
    benchmark.pedantic(kernel, rounds=3, iterations=1)
    t_kernel = benchmark.stats.stats.min
    # the public wrapper (validation, allocation of the outputs) on the same input
    t_wrapper = _best(
        lambda: bill_register(
            table,
            tid,
            energy,
            month=7,
            ytd_energy_ckwh=ytd,
            max_demand_w=dmax,
            capacity_kva=cap,
            reactive_ckvarh=q,
            period_demand_w=pd,
            backend="cpu",
        ),
        rounds=2,
    )
    ref = bill_register(
        table,
        tid[:1000],
        energy[:1000],
        month=7,
        ytd_energy_ckwh=ytd[:1000],
        max_demand_w=dmax[:1000],
        capacity_kva=cap[:1000],
        reactive_ckvarh=q[:1000],
        period_demand_w=pd[:1000],
        backend="cpu",
    )
    np.testing.assert_array_equal(ref.lines, lines[:1000])
    in_bytes = sum(x.nbytes for x in (tid, energy, ytd, dmax, pd, cap, q, ytd_billed))
    out_bytes = sum(x.nbytes for x in (out_period, out_block, lines))
    cores = os.cpu_count()
    info = {
        "bills": n,
        "cores": cores,
        "numba_threads": get_num_threads(),
        "kernel_s": t_kernel,
        "stream_s": t_stream,
        "wrapper_s": t_wrapper,
        "bills_per_s": n / t_kernel,
        "bills_per_s_per_core": n / t_kernel / cores,
        "wrapper_bills_per_s": n / t_wrapper,
        "ratio_to_stream": t_kernel / t_stream,
        "wrapper_ratio_to_stream": t_wrapper / t_stream,
        "stream_gb_per_s": in_bytes / t_stream / 1e9,
        "input_bytes_per_bill": in_bytes / n,
        "output_bytes_per_bill": out_bytes / n,
    }
    benchmark.extra_info.update(info)
    print(
        f"\nregister ({n:,} bills, {cores} cores): kernel {t_kernel:.3f} s = "
        f"{info['bills_per_s'] / 1e6:.1f} M bills/s ({info['bills_per_s_per_core'] / 1e6:.1f} "
        f"M/core); stream {t_stream:.3f} s ({info['stream_gb_per_s']:.1f} GB/s); "
        f"ratio_to_stream {info['ratio_to_stream']:.2f}; with wrapper {t_wrapper:.3f} s "
        f"(ratio {info['wrapper_ratio_to_stream']:.2f}); the kernel also writes "
        f"{info['output_bytes_per_bill']:.0f} B/bill of line items vs "
        f"{info['input_bytes_per_bill']:.0f} B/bill read"
    )


# --- (b) interval billing and (c) the plain-NumPy baseline ---------------------------------


def _tou_tiers_demand() -> Tariff:
    """Hourly TOU (peak 8-11 and 18-21, valley 23-6), tiers in the flat period, demand."""
    day = tuple(
        2 if (h >= 23 or h < 7) else 1 if (8 <= h < 12 or 18 <= h < 22) else 0 for h in range(24)
    )
    sched = tuple(day for _ in range(12))
    return Tariff(
        "bench",
        (
            (Tier(200_000, 600_000_000), Tier(None, 700_000_000)),
            (Tier(None, 1_000_000_000),),
            (Tier(None, 300_000_000),),
        ),
        sched,
        sched,
        flat_demand=((DemandTier(None, 30_000_000_000),),),
        flat_demand_months=tuple([0] * 12),
    )


def numpy_interval_bill(load: np.ndarray, start: str, tariff: Tariff) -> np.ndarray:
    """What a user would write with NumPy alone: TOU energy + tiers + demand per month (fen).

    Same rules as the kernel: each hour rounded half-up to the Wh, the flat period's
    first 200 kWh at 0.60 and the rest at 0.70, peak 1.00, valley 0.30, each period a
    line rounded once to fen, demand 30 CNY/kW on the month's largest hour.
    """
    hours = np.arange(load.shape[1])
    t = np.datetime64(start, "h") + hours
    month = (t.astype("datetime64[M]").astype(np.int64)) % 12
    hour = (t - t.astype("datetime64[D]")).astype(np.int64)
    period = np.array(tariff.weekday_schedule[0])[hour]
    wh = np.floor(load.astype(np.float64) * 1000 + 0.5).astype(np.int64)
    total = np.zeros((load.shape[0], 12), dtype=np.int64)
    d = 10**10  # Wh x nano-yuan/kWh -> fen
    for m in range(12):
        sel = month == m
        e = [wh[:, sel & (period == p)].sum(axis=1) for p in range(3)]
        flat1 = np.minimum(e[0], 200_000)
        nu = (
            flat1 * 600_000_000 + (e[0] - flat1) * 700_000_000,
            e[1] * 1_000_000_000,
            e[2] * 300_000_000,
        )
        energy = sum((x + d // 2) // d for x in nu)
        dmax_w = wh[:, sel].max(axis=1)  # hourly: W = Wh
        demand = (dmax_w * 30_000_000_000 + d // 2) // d
        total[:, m] = energy + demand
    return total


def _load(rng, n):
    """float32 hourly kWh in [0, 2), generated in blocks to bound temporary memory."""
    out = np.empty((n, HOURS), dtype=np.float32)
    for a in range(0, n, CHUNK):
        b = min(n, a + CHUNK)
        rng.random(dtype=np.float32, out=out[a:b])
        out[a:b] *= 2.0
    return out


def test_bench_interval_bills(benchmark):
    tariff = _tou_tiers_demand()
    rng = np.random.default_rng(2)
    need = N_INT * HOURS * 4
    chunked = _available_bytes() < 2 * need + 2 * 2**30  # keep 2 GB for the others
    n_rows = min(N_INT, CHUNK) if chunked else N_INT
    reps = -(-N_INT // n_rows)
    load = _load(rng, n_rows)
    bill_interval(tariff, load[:2], start="2025-01-01", backend="cpu")  # compile
    stream_load(load[:2])
    t_stream = _best(lambda: stream_load(load)) * reps

    def bill_all():
        for _ in range(reps):
            bills = bill_interval(tariff, load, start="2025-01-01", backend="cpu")
        return bills

    bills = benchmark.pedantic(bill_all, rounds=2, iterations=1)
    t_kernel = benchmark.stats.stats.min

    # (c) plain NumPy on a smaller fleet: same bills to the fen, and its speed
    small = np.ascontiguousarray(load[:N_NUMPY])
    ref = numpy_interval_bill(small, "2025-01-01", tariff)
    np.testing.assert_array_equal(ref, bills.total_fen[:N_NUMPY])
    t_np = _best(lambda: numpy_interval_bill(small, "2025-01-01", tariff), rounds=1)
    t_nb = _best(lambda: bill_interval(tariff, small, start="2025-01-01", backend="cpu"))
    cy = reps * n_rows
    cores = os.cpu_count()
    info = {
        "customer_years": cy,
        "chunked": chunked,
        "rows_per_call": n_rows,
        "cores": cores,
        "numba_threads": get_num_threads(),
        "kernel_s": t_kernel,
        "stream_s": t_stream,
        "customer_years_per_s": cy / t_kernel,
        "load_gb_per_s": cy * HOURS * 4 / t_kernel / 1e9,
        "stream_gb_per_s": cy * HOURS * 4 / t_stream / 1e9,
        "ratio_to_stream": t_kernel / t_stream,
        "numpy_customers": N_NUMPY,
        "numpy_s": t_np,
        "kernel_small_s": t_nb,
        "speedup_vs_numpy": t_np / t_nb,
    }
    benchmark.extra_info.update(info)
    print(
        f"\ninterval ({cy:,} customer-years hourly float32, {cores} cores, "
        f"{'chunks of ' + str(n_rows) if chunked else 'one array'}): kernel {t_kernel:.2f} s "
        f"= {info['customer_years_per_s']:,.0f} customer-years/s "
        f"({info['load_gb_per_s']:.2f} GB/s); stream {t_stream:.2f} s "
        f"({info['stream_gb_per_s']:.2f} GB/s); ratio_to_stream "
        f"{info['ratio_to_stream']:.2f}; NumPy on {N_NUMPY:,}: {t_np:.2f} s vs kernel "
        f"{t_nb:.3f} s, speedup_vs_numpy {info['speedup_vs_numpy']:.1f}x"
    )


# --- (d) a real URDB record against NREL PySAM --------------------------------------------

N_URDB = int(os.environ.get("M2C_BENCH_URDB", "4000"))
N_PYSAM = int(os.environ.get("M2C_BENCH_PYSAM", "20"))
URDB_RECORD = (
    Path(__file__).resolve().parents[1]
    / "tests"
    / "core"
    / "data"
    / "urdb"
    / "pge-e-19-secondary-5cef0a415457a33576f60fe2.json"
)


def test_bench_interval_urdb_vs_pysam(benchmark):
    """PG&E E-19 (5 TOU periods, TOU + flat demand, $/day fixed): m2c vs PySAM.

    Hourly float64 loads at 0.001 kWh resolution, billed from 2018-01-01 (PySAM's
    calendar). ``ratio_to_stream`` against a streaming sum of the same array;
    ``speedup_vs_pysam`` = PySAM's time per customer-year (one model reused, only the
    load changes: the most favourable way to run it) / m2c's, with all of m2c's threads,
    and ``speedup_vs_pysam_per_core`` with m2c's time multiplied by the cores. The first
    ``N_PYSAM`` bills must agree with PySAM's to line rounding (tests/core/test_urdb_pysam.py
    checks every line; here the month totals).
    """
    from m2c.core.tariffs.urdb import load_urdb

    tariff = load_urdb(URDB_RECORD)
    rng = np.random.default_rng(4)
    hours = np.arange(HOURS)
    daily = 1 + 0.6 * np.sin((hours % 24 - 6) / 24 * 2 * np.pi)
    load = np.round(rng.gamma(1.5, 0.6, (N_URDB, HOURS)) * daily * 20 + 0.1, 3)
    bill_interval(tariff, load[:2], start="2018-01-01", backend="cpu")  # compile
    stream_load(load[:2])
    t_stream = _best(lambda: stream_load(load))

    def bill_all():
        return bill_interval(tariff, load, start="2018-01-01", backend="cpu")

    bills = benchmark.pedantic(bill_all, rounds=3, iterations=1)
    t_kernel = benchmark.stats.stats.min
    cores = os.cpu_count()
    info = {
        "record": URDB_RECORD.name,
        "customer_years": N_URDB,
        "cores": cores,
        "numba_threads": get_num_threads(),
        "kernel_s": t_kernel,
        "stream_s": t_stream,
        "us_per_customer_year": t_kernel / N_URDB * 1e6,
        "ratio_to_stream": t_kernel / t_stream,
    }
    try:
        from PySAM import Utilityrate5
        from PySAM.UtilityRateTools import URDBv8_to_ElectricityRates
    except ImportError:
        info["speedup_vs_pysam"] = None
        info["pysam"] = "not installed (pip install nrel-pysam)"
    else:
        record = json.loads(URDB_RECORD.read_text(encoding="utf-8"))
        record = record["items"][0] if "items" in record else record
        m = Utilityrate5.new()
        m.ElectricityRates.assign(URDBv8_to_ElectricityRates(record))
        m.ElectricityRates.rate_escalation = [0]
        m.Lifetime.analysis_period = 1
        m.Lifetime.system_use_lifetime_output = 0
        m.Lifetime.inflation_rate = 0
        m.SystemOutput.gen = [0.0] * HOURS
        m.SystemOutput.degradation = [0]
        n_ps = min(N_PYSAM, N_URDB)
        rows = [load[i].tolist() for i in range(n_ps)]
        totals = np.zeros((n_ps, 12))
        t0 = time.perf_counter()
        for i in range(n_ps):
            m.Load.load = rows[i]
            m.execute(0)
            totals[i] = np.asarray(m.Outputs.utility_bill_w_sys_ym)[1]
        t_pysam = (time.perf_counter() - t0) / n_ps
        # PySAM bills the $/day fixed charge x 365/12 a month, m2c x the month's days
        per_day = float(record["fixedchargefirstmeter"])
        days = np.array([31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31])
        ref = totals * 100 + per_day * 100 * (days - 365 / 12)
        assert np.abs(bills.total_fen[:n_ps] - ref).max() <= 6  # 12 lines at most, rounded
        t_m2c = t_kernel / N_URDB
        info.update(
            {
                "pysam_customers": n_ps,
                "pysam_ms_per_customer_year": t_pysam * 1e3,
                "speedup_vs_pysam": t_pysam / t_m2c,
                "speedup_vs_pysam_per_core": t_pysam / (t_m2c * cores),
            }
        )
    benchmark.extra_info.update(info)
    sp = info["speedup_vs_pysam"]
    print(
        f"\ninterval URDB {URDB_RECORD.name[:22]} ({N_URDB:,} customer-years hourly float64, "
        f"{cores} cores): {info['us_per_customer_year']:.1f} us per customer-year; "
        f"ratio_to_stream {info['ratio_to_stream']:.2f}; "
        + (
            "PySAM not installed"
            if sp is None
            else f"PySAM {info['pysam_ms_per_customer_year']:.2f} ms per customer-year: "
            f"speedup_vs_pysam {sp:.0f}x ({info['speedup_vs_pysam_per_core']:.0f}x per core)"
        )
    )
