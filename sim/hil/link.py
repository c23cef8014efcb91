"""Gateway mode: some customers' meters are read through the device driver.

A :class:`MeterLink` joins a :class:`~m2c.sim.model.Simulation` to a
:class:`~m2c.devices.gateway.MeterGateway` (emulated meters on a pty or TCP,
or real meters on an RS-485 adapter). For the customers on the gateway:

* **reading** - on their station's reading day the simulation still decides,
  with its own draws, whether an actual read is taken (a manual reader may
  miss, an AMI read may fail); when it is, the value comes from the meter
  over the wire. The energy billed per TOU period is the register minus what
  was billed up to last time (never negative), exactly what the fast path
  bills from its arrays, so with emulated meters that follow the simulation
  (:mod:`m2c.sim.hil.feed`) gateway mode gives the same ledger. A read that
  fails after the client's retries is estimated (the last actual read's
  energy) and logged; nothing is lost, the next actual read catches up.
* **relay** - disconnections and prepaid trips become a trip command,
  reconnections a close command, sent only if the gateway allows relay
  control; otherwise the gateway logs what it would have sent.

Registers: a customer on a one-period tariff is billed from the total
register (00 01 00 00); on a TOU tariff, period ``p`` of the tariff table is
read from DL/T 645 tariff register ``tariff_registers[p]`` (T1 sharp, T2
peak, T3 flat, T4 valley), all five from one block read (00 01 FF 00).
Energy is in centi-kWh (core/units.py).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from m2c.devices.errors import DeviceError, SettingsError
from m2c.devices.gateway import GatewayReads, MeterGateway, RelayRecord
from m2c.sim import rules as R
from m2c.sim.billing_run import read_is_estimated
from m2c.sim.inputs import Params, State
from m2c.sim.model import Simulation

#: Default map from tariff-table period to DL/T 645 tariff register (1..4).
DEFAULT_TARIFF_REGISTERS = (1, 2, 3, 4)

TRIP_EVENTS = R.EV_DISCONNECT | R.EV_TRIP
CLOSE_EVENTS = R.EV_RECONNECT | R.EV_PREPAID_RECONNECT


@dataclass(frozen=True)
class ReadRecord:
    """One billing read of a gateway customer (energy in centi-kWh).

    ``outcome`` is ``"actual"`` (read over the wire and billed),
    ``"estimated"`` (the simulation took no actual read) or ``"failed"``
    (the meter did not answer after retries; the bill was estimated).
    """

    day: int
    customer: int
    address: str
    outcome: str
    total_ckwh: int
    billed_ckwh: int
    detail: str = ""


@dataclass(frozen=True)
class RelayEvent:
    """A relay decision on a simulated day."""

    day: int
    record: RelayRecord


def check_tariff_registers(tariff_registers: Sequence[int], n_periods: int) -> tuple[int, ...]:
    """Validate the period -> tariff register map (one distinct register 1..4 per period)."""
    regs = tuple(int(t) for t in tariff_registers)
    if len(regs) < n_periods or len(set(regs)) != len(regs) or not all(1 <= t <= 4 for t in regs):
        raise SettingsError(
            f"tariff registers {list(regs)}: expected {n_periods} distinct values in 1..4 "
            "(T1 sharp, T2 peak, T3 flat, T4 valley), one per TOU period of the tariff table"
        )
    return regs


class MeterLink:
    """Read the gateway's customers through the driver and forward their relay actions.

    Parameters
    ----------
    sim : Simulation
        The run; the link installs itself (``sim.meters``, ``sim.day_hooks``).
    gateway : MeterGateway
        Customer index -> meter address; its ``allow_relay_control`` decides
        whether trip/close are sent.
    tariff_registers : sequence of int
        DL/T 645 tariff register (1..4) of each TOU period of the tariff table.
    """

    def __init__(
        self,
        sim: Simulation,
        gateway: MeterGateway,
        tariff_registers: Sequence[int] = DEFAULT_TARIFF_REGISTERS,
    ):
        self.sim = sim
        self.gateway = gateway
        fleet = sim.fleet
        self.customers = gateway.meters
        bad = self.customers[(self.customers < 0) | (self.customers >= fleet.n)]
        if bad.size:
            raise SettingsError(
                f"customer {int(bad[0])} is not in the fleet (customers 0..{fleet.n - 1})"
            )
        P = fleet.table.n_periods
        self.tariff_registers = check_tariff_registers(tariff_registers[: max(P, 1)], P)
        self.n_eperiods = fleet.table.arrays.n_eperiods[fleet.tariff_id[self.customers]]
        self.tou = bool((self.n_eperiods > 1).any())
        if self.tou and not gateway.reads_tariffs:
            c = int(self.customers[np.argmax(self.n_eperiods > 1)])
            raise SettingsError(
                f"customer {c} is on a TOU tariff but this protocol's meters "
                "report total energy only; use DL/T 645 meters or flat tariffs"
            )
        self.row = {int(c): k for k, c in enumerate(self.customers)}
        self.mask = np.zeros(fleet.n, dtype=bool)
        self.mask[self.customers] = True
        #: register (per TOU period) up to which each gateway customer has been billed
        self.billed_to = np.zeros((self.customers.shape[0], P), dtype=np.int64)
        self.reads: list[ReadRecord] = []
        self.relay: list[RelayEvent] = []
        self._events_seen = 0
        self.started = False

    def install(self) -> MeterLink:
        """Take the opening reads and hook into the simulation (before it runs).

        Raises
        ------
        DeviceError
            If a meter does not answer: a run cannot bill a meter whose
            opening register it does not know. The message lists them.
        """
        regs, reads = self._registers(self.customers)
        if reads.errors:
            lines = "; ".join(
                f"customer {c} ({self.gateway.address(c)}): {e}" for c, e in reads.errors.items()
            )
            raise DeviceError(f"opening read failed for {len(reads.errors)} meter(s): {lines}")
        self.billed_to[:] = regs
        self.sim.meters = self
        self.sim.day_hooks.append(self.after_day)
        self.started = True
        return self

    # --- reading ------------------------------------------------------------------
    def _registers(self, ids: np.ndarray) -> tuple[np.ndarray, GatewayReads]:
        """Per-period registers of ``ids`` (len, P), centi-kWh; rows of failed reads are -1."""
        reads = self.gateway.read_energies(ids, tariffs=self.tou)
        P = self.billed_to.shape[1]
        regs = np.zeros((ids.shape[0], P), dtype=np.int64)
        for j, c in enumerate(ids):
            if not reads.ok[j]:
                regs[j] = -1
            elif self.n_eperiods[self.row[int(c)]] > 1:
                for p in range(int(self.n_eperiods[self.row[int(c)]])):
                    regs[j, p] = reads.tariff_ckwh[j, self.tariff_registers[p] - 1]  # type: ignore[index]
            else:
                regs[j, 0] = reads.ckwh[j]
        return regs, reads

    def serves(self, ids: np.ndarray) -> np.ndarray:
        """Bool mask: which of ``ids`` are read through the gateway."""
        return self.mask[ids]

    def read(self, ids: np.ndarray, day: int, params: Params, state: State) -> np.ndarray:
        """Energy to bill per TOU period for gateway customers ``ids`` (see module docstring)."""
        seed = int(params.ip[R.IP_SEED])
        meter = state.cs[:, R.F_METER]
        estimated = np.array(
            [
                read_is_estimated(
                    int(i),
                    day,
                    seed,
                    meter[i],
                    params.manual_estimate_rate,
                    params.ami_success,
                    params.ami_retries,
                )
                for i in ids
            ],
            dtype=bool,
        )
        actual = ids[~estimated]
        regs, reads = self._registers(actual)
        # customer -> (register per TOU period, total register as the meter reports it)
        reg_of = {
            int(c): (regs[j], int(reads.ckwh[j])) for j, c in enumerate(actual) if reads.ok[j]
        }
        energy = np.zeros((ids.shape[0], self.billed_to.shape[1]), dtype=np.int64)
        for j, i in enumerate(ids):
            i = int(i)
            k = self.row[i]
            state.tally[i, R.T_READS] += 1
            if i in reg_of:
                e = np.maximum(reg_of[i][0] - self.billed_to[k], 0)
                state.last_billed[i] = e
                outcome, detail = "actual", ""
            else:
                e = state.last_billed[i].copy()
                state.tally[i, R.T_ESTIMATED] += 1
                failed = not estimated[j]
                outcome = "failed" if failed else "estimated"
                detail = reads.errors.get(i, "") if failed else ""
            self.billed_to[k] += e
            state.acc[i] -= e  # the simulation's unbilled energy, as the fast path keeps it
            energy[j] = e
            total = reg_of[i][1] if i in reg_of else -1
            self.reads.append(
                ReadRecord(day, i, self.gateway.address(i), outcome, total, int(e.sum()), detail)
            )
        return energy

    # --- relay --------------------------------------------------------------------
    def after_day(self, day: int) -> None:
        """Send (or log) trip/close for the gateway customers' supply events of ``day``."""
        ev = self.sim.events
        for chunk in range(self._events_seen, len(ev.customer)):
            cust, flags = ev.customer[chunk], ev.flags[chunk]
            sel = np.flatnonzero(self.mask[cust] & ((flags & (TRIP_EVENTS | CLOSE_EVENTS)) != 0))
            for j in sel:
                c, f = int(cust[j]), int(flags[j])
                if f & TRIP_EVENTS:
                    self.relay.append(RelayEvent(day, self.gateway.trip(c)))
                if f & CLOSE_EVENTS:
                    self.relay.append(RelayEvent(day, self.gateway.close(c)))
        self._events_seen = len(ev.customer)

    # --- summary ------------------------------------------------------------------
    def summary(self) -> dict[str, int]:
        """Counts of reads by outcome and relay decisions by outcome."""
        out: dict[str, int] = {"meters": int(self.customers.shape[0])}
        for r in self.reads:
            out[f"reads_{r.outcome}"] = out.get(f"reads_{r.outcome}", 0) + 1
        for r in self.relay:
            key = f"relay_{r.record.action}_{r.record.outcome}"
            out[key] = out.get(key, 0) + 1
        return out
