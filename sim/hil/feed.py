"""Emulated meters that follow a simulation: the simulation's arrays as a state provider.

:class:`SimMeterFeed` keeps a :class:`~m2c.devices.state.InMemoryState` in
step with a :class:`~m2c.sim.model.Simulation`: after each simulated day it
publishes, for the customers it serves, what their meters would show -

* energy registers: an opening register (drawn once per customer, a few
  years of its typical use) plus everything the simulation's meter has
  registered since day 0 (``State.reg``), per TOU period mapped to DL/T 645
  tariff registers T1..T4 (:data:`m2c.sim.hil.link.DEFAULT_TARIFF_REGISTERS`),
  the total being their sum; centi-kWh;
* the prepaid balance (fen) of prepaid customers;
* active power and phase current from the day's energy (W, mA at 220 V);
* the relay: it follows the commands the meter receives, and with
  ``follow_supply`` also the simulation's own disconnections and trips.

Serve ``feed.state`` with :func:`m2c.devices.emulate.start_emulator` and
any DL/T 645 or Modbus client reads the simulated fleet (``m2c emulate
--scenario``, and the gateway-mode tests). Customer ``i`` has address
``i + 1`` as 12 digits (:func:`meter_address`), unit id ``i + 1`` on Modbus.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from m2c.core import rng
from m2c.devices.state import InMemoryState
from m2c.sim import rules as R
from m2c.sim.fleet import PREPAID
from m2c.sim.hil.link import DEFAULT_TARIFF_REGISTERS, check_tariff_registers
from m2c.sim.model import Simulation
from m2c.sim.scenario import Scenario

P_OPENING = rng.purpose("meters.opening_register")
OPENING_YEARS = 3.0  # opening registers hold up to this many years of typical use
VOLTS = 220


def meter_address(customer: int) -> str:
    """DL/T 645 address of an emulated customer's meter: ``customer + 1``, 12 digits."""
    return f"{customer + 1:012d}"


def opening_registers(sim: Simulation, customers: np.ndarray) -> np.ndarray:
    """Register per TOU period on day 0 (len(customers), P), centi-kWh, from core.rng."""
    f = sim.fleet
    P = f.table.n_periods
    n_per = f.table.arrays.n_eperiods[f.tariff_id[customers]]
    out = np.zeros((customers.shape[0], P), dtype=np.int64)
    for k, c in enumerate(customers):
        scale = f.base_kwh[c] * 100 * 365 * OPENING_YEARS / n_per[k]
        for p in range(int(n_per[k])):
            out[k, p] = int(rng.uniform(sim.seed, int(c), 0, P_OPENING, p) * scale)
    return out


class SimMeterFeed:
    """Publish a simulation's meters into an :class:`InMemoryState` after every day.

    Parameters
    ----------
    sim : Simulation
        The run to follow (the feed adds itself to ``sim.day_hooks``).
    customers : sequence of int
        Customers whose meters are served, meter ``k`` = ``customers[k]``.
    tariff_registers : sequence of int
        DL/T 645 tariff register of each TOU period (as :class:`MeterLink`).
    follow_supply : bool
        Also open/close the relay when the simulation disconnects or reconnects.
    """

    def __init__(
        self,
        sim: Simulation,
        customers: Sequence[int],
        *,
        tariff_registers: Sequence[int] = DEFAULT_TARIFF_REGISTERS,
        follow_supply: bool = False,
    ):
        self.sim = sim
        self.customers = np.asarray(customers, dtype=np.int64)
        P = sim.fleet.table.n_periods
        self.tariff_registers = np.array(
            check_tariff_registers(tariff_registers[: max(P, 1)], P), dtype=np.int64
        )
        self.opening = opening_registers(sim, self.customers)
        self.follow_supply = follow_supply
        self.state = InMemoryState([meter_address(int(c)) for c in self.customers])
        self.state.relay[:] = self._supplied()
        self.publish(-1)
        sim.day_hooks.append(self.publish)

    def _supplied(self) -> np.ndarray:
        cs = self.sim.state.cs
        return np.array([not R.supply_off(int(c), cs) for c in self.customers], dtype=bool)

    def registers(self) -> np.ndarray:
        """What the meters show now: (k, 5) [total, T1..T4], centi-kWh."""
        periods = self.opening + self.sim.state.reg[self.customers]
        out = np.zeros((self.customers.shape[0], 5), dtype=np.int64)
        out[:, 0] = periods.sum(axis=1)
        out[:, self.tariff_registers[: periods.shape[1]]] = periods
        return out

    def publish(self, day: int) -> None:
        """Copy the simulation's state at the end of ``day`` into the served meters."""
        s = self.state
        regs = self.registers()
        cs = self.sim.state.cs[self.customers]
        balance = np.where(cs[:, R.F_METER] == PREPAID, -cs[:, R.F_OWED], s.NO_BALANCE)
        with s.lock:
            day_ckwh = regs[:, 0] - s.energy[:, 0] if day >= 0 else np.zeros(len(regs), np.int64)
            s.energy[:] = regs
            s.balance[:] = balance
            s.power_w[:] = day_ckwh * 10 // 24  # ckWh over 24 h -> W
            s.current_ma[:, 0] = s.power_w * 1000 // VOLTS
            if self.follow_supply:
                s.relay[:] = self._supplied()


def scenario_meters(sim: Simulation, meters: int, days_before: int = 0) -> SimMeterFeed:
    """Serve the first ``meters`` customers of ``sim``, started and run ``days_before`` days.

    The relay follows the simulation's supply (the simulation is the utility
    here). Step further with ``sim.advance(1)``; the feed publishes each day.
    """
    if not 1 <= meters <= sim.fleet.n:
        raise ValueError(f"meters {meters}: expected 1..{sim.fleet.n} (the scenario's fleet)")
    feed = SimMeterFeed(sim, range(meters), follow_supply=True)
    sim.start()
    if days_before:
        sim.advance(days_before)
    return feed


def scenario_feed(
    scenario: Scenario, meters: int, *, seed_offset: int = 0, days: int = 0, stepping: bool = False
) -> SimMeterFeed:
    """Emulated meters of the first ``meters`` customers of a fresh run of ``scenario``.

    The fleet has at least ``meters`` customers; the run uses the scenario's
    seed plus ``seed_offset`` and is advanced ``days`` days before serving.
    With ``stepping`` (the caller advances ``feed.sim`` one day at a time
    while serving) the calendar spans the scenario's year, otherwise just
    ``days + 1`` days. Behind ``m2c emulate --scenario``.
    """
    total = max(days + 1, scenario.run.days) if stepping else days + 1
    sim = Simulation(
        scenario, max(meters, scenario.run.customers), total, scenario.run.seed + seed_offset
    )
    return scenario_meters(sim, meters, days)
