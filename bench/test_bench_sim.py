"""Simulation throughput: customer-days/s, peak memory, speedup over the reference model.

Run: ``pytest bench/test_bench_sim.py --benchmark-enable -o addopts="" -s``.
``M2C_BENCH_CUSTOMERS`` (default 1 000 000) sets the fleet of the big run.
"""

import os
import subprocess
import sys
import time

import pytest

from m2c.sim.model import simulate
from m2c.sim.reference import simulate_reference
from m2c.sim.scenario import load_scenario

BIG = int(os.environ.get("M2C_BENCH_CUSTOMERS", "1000000"))

_CHILD = """
import resource, sys, time
from m2c.sim.run import run_simulation
from m2c.sim.scenario import load_scenario
sc = load_scenario("baseline_county")
run_simulation(sc, customers=1000, days=31, seed=1)  # compile (cached) outside the timing
t = time.perf_counter()
run_simulation(sc, customers=int(sys.argv[1]), days=365, seed=1)
print(time.perf_counter() - t, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
"""


def test_bench_county_year(benchmark):
    """1 M customers x 365 days of baseline_county in a fresh process (peak RSS is its own)."""

    def run():
        out = subprocess.run(
            [sys.executable, "-c", _CHILD, str(BIG)], capture_output=True, text=True, check=True
        ).stdout.split()
        return float(out[0]), int(out[1])

    seconds, rss_kb = benchmark.pedantic(run, rounds=1, iterations=1)
    cd = BIG * 365
    benchmark.extra_info.update(
        customers=BIG,
        days=365,
        seconds=seconds,
        customer_days_per_s=cd / seconds,
        peak_rss_gb=rss_kb / 1e6,
        cores=os.cpu_count(),
    )
    print(
        f"\n{BIG:,} customers x 365 days: {seconds:.1f} s, {cd / seconds / 1e6:.2f} M "
        f"customer-days/s, peak RSS {rss_kb / 1e6:.2f} GB on {os.cpu_count()} cores"
    )


@pytest.mark.parametrize("customers", [300])
def test_bench_speedup_over_reference(benchmark, customers):
    """Per customer-day cost of the fast model vs the per-agent model, same fleet, same run."""
    sc = load_scenario("baseline_county")
    simulate(sc, 50, 40, 1)  # compile
    t = time.perf_counter()
    simulate_reference(sc, customers, 365, 1)
    ref_s = time.perf_counter() - t
    fast = benchmark.pedantic(lambda: simulate(sc, customers, 365, 1), rounds=3, iterations=1)
    fast_s = benchmark.stats.stats.min
    del fast
    benchmark.extra_info.update(
        customers=customers, reference_s=ref_s, fast_s=fast_s, speedup=ref_s / fast_s
    )
    print(
        f"\nreference {ref_s:.2f} s, fast {fast_s:.3f} s on {customers} customers x 365 days: "
        f"speedup {ref_s / fast_s:.0f}x"
    )


def _gateway_year(meters: int) -> tuple[float, int]:
    """smoke x 365 days with ``meters`` customers read over a pty emulator: (s, reads)."""
    from m2c.devices.emulate import start_emulator
    from m2c.devices.gateway import MeterGateway
    from m2c.devices.protocol import MeterProtocol
    from m2c.sim.hil.feed import SimMeterFeed, meter_address
    from m2c.sim.hil.link import MeterLink
    from m2c.sim.model import Simulation

    sc = load_scenario("smoke")
    sim = Simulation(sc, 300, 365, 1)
    feed = SimMeterFeed(sim, range(meters))
    with start_emulator(MeterProtocol.DLT645, "pty", feed.state) as emu:
        gw = MeterGateway.open(emu.where, {c: meter_address(c) for c in range(meters)})
        t = time.perf_counter()
        link = MeterLink(sim, gw).install()
        sim.run()
        seconds = time.perf_counter() - t
        gw.shutdown()
    return seconds, len(link.reads) + meters


@pytest.mark.parametrize("meters", [100])
def test_bench_gateway_mode(benchmark, meters):
    """Gateway mode (reads over a pty) against the fast path on the same fleet, same run."""
    sc = load_scenario("smoke")
    simulate(sc, 300, 365, 1)  # compile outside the timing
    t = time.perf_counter()
    simulate(sc, 300, 365, 1)
    fast_s = time.perf_counter() - t
    gw_s, reads = benchmark.pedantic(lambda: _gateway_year(meters), rounds=1, iterations=1)
    benchmark.extra_info.update(
        fast_s=fast_s,
        gateway_s=gw_s,
        reads=reads,
        ratio_to_fast=gw_s / fast_s,
        reads_per_s=reads / max(gw_s - fast_s, 1e-9),
    )
    print(
        f"\ngateway mode, {meters} of 300 customers over a pty, 365 days: {gw_s:.3f} s "
        f"({reads} reads) vs fast path {fast_s:.3f} s: ratio {gw_s / fast_s:.2f}, "
        f"{reads / max(gw_s - fast_s, 1e-9):,.0f} extra reads/s"
    )
