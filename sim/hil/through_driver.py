"""Gateway mode for a whole run: the simulation reads its own meters through the driver.

:func:`run_through_driver` serves the chosen customers' meters (all of them
for a small fleet) from an in-process DL/T 645 emulator on a pty that
follows the simulation (:class:`~m2c.sim.hil.feed.SimMeterFeed`), and
bills them from what the client reads over that pty
(:class:`~m2c.sim.hil.link.MeterLink`). Behind ``m2c run --through-driver``;
the ledger must be the fast path's, entry for entry.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from m2c.core.ledger import canonical_entries
from m2c.devices.emulate import start_emulator
from m2c.devices.gateway import MeterGateway
from m2c.devices.protocol import MeterProtocol
from m2c.sim.hil.feed import SimMeterFeed, meter_address
from m2c.sim.hil.link import MeterLink
from m2c.sim.model import Simulation
from m2c.sim.run import RunResult, run_built, run_simulation
from m2c.sim.scenario import Scenario


def run_through_driver(
    scenario: Scenario,
    meters: int | None,
    *,
    customers: int | None = None,
    days: int | None = None,
    seed: int | None = None,
    progress: Callable[[int], None] | None = None,
) -> tuple[RunResult, MeterLink]:
    """Run with customers ``0..meters-1`` (all if None) read over a pty emulator."""
    n = customers or scenario.run.customers
    sim = Simulation(
        scenario, n, days or scenario.run.days, scenario.run.seed if seed is None else seed
    )
    chosen = range(n if meters is None else min(meters, n))
    feed = SimMeterFeed(sim, chosen)
    with start_emulator(MeterProtocol.DLT645, "pty", feed.state) as emu:
        gateway = MeterGateway.open(emu.where, {c: meter_address(c) for c in chosen})
        try:
            link = MeterLink(sim, gateway).install()
            result = run_built(sim, progress)
        finally:
            gateway.shutdown()
    return result, link


def same_ledger_as_fast_path(result: RunResult) -> bool:
    """Run the fast path on the same scenario, fleet, days and seed; compare entry by entry."""
    fast = run_simulation(
        result.scenario, customers=result.customers, days=result.days, seed=result.seed
    )
    return bool(np.array_equal(canonical_entries(fast.ledger), canonical_entries(result.ledger)))
