"""Billing throughput against streaming baselines measured in the same run.

Run: ``pytest bench/test_bench_billing.py --benchmark-enable -o addopts="" -s``.
Sizes: ``M2C_BENCH_REGISTER`` customer-months (default 10 000 000),
``M2C_BENCH_INTERVAL`` customer-years of hourly data (default 100 000, billed in
chunks of 10 000 so the float32 load fits in memory).
"""

import os
import time

import numpy as np
from numba import njit, prange

from m2c.core import bill_interval, bill_register, bundled_tariff, compile_tariffs
from m2c.core.tariff import DemandTier, Tariff, Tier

N_REG = int(os.environ.get("M2C_BENCH_REGISTER", "10000000"))
N_INT = int(os.environ.get("M2C_BENCH_INTERVAL", "100000"))
CHUNK = 10_000


@njit(parallel=True, cache=True)
def stream_sum_2d(a):
    """The streaming baseline: read every element once and sum (per row, in parallel)."""
    out = np.zeros(a.shape[0])
    for i in prange(a.shape[0]):
        s = 0.0
        for j in range(a.shape[1]):
            s += a[i, j]
        out[i] = s
    return out.sum()


def _best(f, rounds=3):
    best = float("inf")
    for _ in range(rounds):
        t = time.perf_counter()
        f()
        best = min(best, time.perf_counter() - t)
    return best


def test_bench_register_bills(benchmark):
    table = compile_tariffs([bundled_tariff(n) for n in ("agricultural", "commercial_flat",
                                                         "industrial_tou_two_part",
                                                         "residential_annual_tiers")])
    rng = np.random.default_rng(1)
    tid = rng.integers(0, table.n_tariffs, N_REG).astype(np.int64)
    energy = rng.integers(0, 100_000, (N_REG, table.n_periods)).astype(np.int64)
    ytd = rng.integers(0, 500_000, N_REG).astype(np.int64)
    cap = rng.integers(0, 500, N_REG).astype(np.int64)
    pd = np.zeros((N_REG, table.n_demand_periods), dtype=np.int64)

    def bill():
        return bill_register(table, tid, energy, month=7, ytd_energy_ckwh=ytd, capacity_kva=cap,
                             period_demand_w=pd)

    bill()
    stream_sum_2d(energy[:10])
    inputs = (energy, tid.reshape(-1, 1), ytd.reshape(-1, 1), cap.reshape(-1, 1))
    t_stream = _best(lambda: [stream_sum_2d(x) for x in inputs])
    benchmark.pedantic(bill, rounds=3, iterations=1)
    t_kernel = benchmark.stats.stats.min
    info = {"bills": N_REG, "bills_per_s": N_REG / t_kernel,
            "bills_per_s_per_core": N_REG / t_kernel / os.cpu_count(),
            "ratio_to_stream": t_kernel / t_stream, "cores": os.cpu_count()}
    benchmark.extra_info.update(info)
    print(f"\nregister: {info['bills_per_s'] / 1e6:.1f} M bills/s "
          f"({info['bills_per_s_per_core'] / 1e6:.1f} M/core), "
          f"ratio_to_stream {info['ratio_to_stream']:.2f}")


def _tou_tiers_demand() -> Tariff:
    """Hourly TOU (peak 8-11 and 18-21, valley 23-6), tiers in the flat period, demand."""
    day = tuple(2 if (h >= 23 or h < 7) else 1 if (8 <= h < 12 or 18 <= h < 22) else 0
                for h in range(24))
    sched = tuple(day for _ in range(12))
    return Tariff(
        "bench", ((Tier(20_000, 600_000), Tier(None, 700_000)), (Tier(None, 1_000_000),),
                  (Tier(None, 300_000),)),
        sched, sched, flat_demand=((DemandTier(None, 30_000_000),),),
        flat_demand_months=tuple([0] * 12))


def numpy_interval_bill(load: np.ndarray, start: str, tariff: Tariff) -> np.ndarray:
    """What a user would write with NumPy alone: TOU energy + tiers + demand per month (fen)."""
    hours = np.arange(load.shape[1])
    t = np.datetime64(start, "h") + hours
    month = (t.astype("datetime64[M]").astype(np.int64)) % 12
    hour = (t - t.astype("datetime64[D]")).astype(np.int64)
    period = np.array(tariff.weekday_schedule[0])[hour]
    ckwh = np.floor(load.astype(np.float64) * 100 + 0.5).astype(np.int64)
    total = np.zeros((load.shape[0], 12), dtype=np.int64)
    for m in range(12):
        sel = month == m
        e = [ckwh[:, sel & (period == p)].sum(axis=1) for p in range(3)]
        flat1 = np.minimum(e[0], 20_000)
        # each period is a bill line, rounded once to fen (as the kernel's line items)
        uy = (flat1 * 600_000 + (e[0] - flat1) * 700_000, e[1] * 1_000_000, e[2] * 300_000)
        energy = sum((x + 500_000) // 1_000_000 for x in uy)
        dmax_w = ckwh[:, sel].max(axis=1) * 10
        demand = (dmax_w * 30_000_000 // 1000 + 5_000) // 10_000
        total[:, m] = energy + demand
    return total


def test_bench_interval_bills(benchmark):
    tariff = _tou_tiers_demand()
    rng = np.random.default_rng(2)
    load = rng.gamma(2.0, 0.6, (min(N_INT, CHUNK), 8760)).astype(np.float32)
    n_chunks = max(1, N_INT // CHUNK)
    bill_interval(tariff, load[:2], start="2025-01-01")
    stream_sum_2d(load[:2])
    t_stream = _best(lambda: stream_sum_2d(load)) * n_chunks

    def bill_all():
        for _ in range(n_chunks):
            bills = bill_interval(tariff, load, start="2025-01-01")
        return bills

    bills = benchmark.pedantic(bill_all, rounds=2, iterations=1)
    t_kernel = benchmark.stats.stats.min
    small = load[:500]
    t_np = _best(lambda: numpy_interval_bill(small, "2025-01-01", tariff), rounds=1)
    t_nb = _best(lambda: bill_interval(tariff, small, start="2025-01-01"))
    ref = numpy_interval_bill(small, "2025-01-01", tariff)
    np.testing.assert_array_equal(ref, bills.total_fen[:500])  # same bills, to the fen
    cy = n_chunks * load.shape[0]
    info = {"customer_years": cy, "customer_years_per_s": cy / t_kernel,
            "gb_per_s": cy * 8760 * 4 / t_kernel / 1e9, "ratio_to_stream": t_kernel / t_stream,
            "speedup_vs_numpy": t_np / t_nb, "cores": os.cpu_count()}
    benchmark.extra_info.update(info)
    print(f"\ninterval: {info['customer_years_per_s']:,.0f} customer-years/s, "
          f"{info['gb_per_s']:.2f} GB/s, ratio_to_stream {info['ratio_to_stream']:.2f}, "
          f"speedup_vs_numpy {info['speedup_vs_numpy']:.1f}x")
