"""Comparison engine throughput: replications per minute and parallel efficiency.

The four bundled policies (baseline_county, prepaid_county, fully_automated,
credit_driven) x ``M2C_BENCH_REPS`` replications at ``M2C_BENCH_CUSTOMERS``
customers x 365 days (defaults 2 x 20,000, reduced from the issue's 100,000 to
fit a shared 2-core machine) on a Dask LocalCluster of 1 and then 2 workers.
Cluster start-up and each worker's Numba cache load are outside the timing.

Run: ``pytest bench/test_bench_compare.py --benchmark-enable -p no:cacheprovider
-o addopts="" -s``.
"""

import logging
import os
import time

from m2c.sim.compare import runner

CUSTOMERS = int(os.environ.get("M2C_BENCH_CUSTOMERS", "20000"))
REPS = int(os.environ.get("M2C_BENCH_REPS", "2"))
DAYS = 365
POLICIES = ["baseline_county", "prepaid_county", "fully_automated", "credit_driven"]


def _warm() -> None:
    from m2c.sim.run import run_simulation
    from m2c.sim.scenario import load_scenario

    runner.one_numba_thread()  # as every task does
    for name in POLICIES:  # loads the Numba cache in this worker process
        run_simulation(load_scenario(name), customers=50, days=35, seed=0)


def _numba_threads() -> int:
    import numba

    return numba.get_num_threads()


def _timed(workers: int, out) -> float:
    from distributed import Client, LocalCluster

    points = runner.compare_points(POLICIES)
    with (
        LocalCluster(
            n_workers=workers,
            threads_per_worker=1,
            processes=True,
            dashboard_address=":0",
            silence_logs=logging.ERROR,
            env=runner.WORKER_ENV,
        ) as cluster,
        Client(cluster) as client,
    ):
        client.run(_warm)
        assert client.run(_numba_threads) == dict.fromkeys(client.run(_numba_threads), 1)
        t = time.perf_counter()
        runner.run_points(points, REPS, CUSTOMERS, DAYS, 1, out, client=client)
        return time.perf_counter() - t


def test_bench_replications_per_minute(benchmark, tmp_path):
    """Replications (one policy x one seed) per minute on 1 and 2 workers."""

    def run():
        return _timed(1, tmp_path / "w1"), _timed(2, tmp_path / "w2")

    t1, t2 = benchmark.pedantic(run, rounds=1, iterations=1)
    runs = len(POLICIES) * REPS
    per_min_1, per_min_2 = 60 * runs / t1, 60 * runs / t2
    efficiency = t1 / (2 * t2)
    cust_day_s = t1 / (runs * CUSTOMERS * DAYS)
    benchmark.extra_info.update(
        {
            "customers": CUSTOMERS,
            "days": DAYS,
            "runs": runs,
            "cores": os.cpu_count(),
            "seconds_1_worker": t1,
            "seconds_2_workers": t2,
            "replications_per_min_1_worker": per_min_1,
            "replications_per_min_2_workers": per_min_2,
            "parallel_efficiency_1_to_2": efficiency,
            "seconds_per_customer_day": cust_day_s,
        }
    )
    print(
        f"\n{runs} runs of {CUSTOMERS:,} customers x {DAYS} days ({os.cpu_count()} cores): "
        f"1 worker {t1:.1f} s = {per_min_1:.2f} replications/min; 2 workers {t2:.1f} s = "
        f"{per_min_2:.2f} replications/min; efficiency {efficiency:.0%}; "
        f"{cust_day_s * 1e9:.1f} ns per customer-day on one worker"
    )
    # both cluster sizes produced byte-identical tables
    for name in sorted(os.listdir(tmp_path / "w1" / "results")):
        assert (tmp_path / "w1" / "results" / name).read_bytes() == (
            tmp_path / "w2" / "results" / name
        ).read_bytes()
