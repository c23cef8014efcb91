"""Gateway mode: customers read through the DL/T 645 driver bill exactly as the fast path.

The emulated meters follow the simulation (SimMeterFeed), served on a pty;
the MeterLink reads them over the wire on their reading day. With every
read answered, the ledger must be the fast path's entry for entry; with
reads lost, the bills are estimated and no kWh is lost or billed twice.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest

from m2c.core import ledger as L
from m2c.core.ledger import canonical_entries
from m2c.devices.dlt645 import Password
from m2c.devices.dlt645.emulator import Dlt645Bus
from m2c.devices.emulate import start_emulator
from m2c.devices.errors import DeviceError, SettingsError
from m2c.devices.faults import FaultRates, FaultyTransport
from m2c.devices.gateway import MeterGateway
from m2c.devices.transport import InProcessTransport
from m2c.sim import rules as R
from m2c.sim.fleet import PREPAID
from m2c.sim.hil.feed import SimMeterFeed, meter_address, scenario_meters
from m2c.sim.hil.link import MeterLink
from m2c.sim.model import Simulation
from m2c.sim.run import events_table
from m2c.sim.scenario import load_scenario

N, DAYS, SEED = 300, 120, 3
PASSWORD = Password(2, "000000")


@pytest.fixture(scope="module")
def smoke():
    return load_scenario("smoke")


@pytest.fixture(scope="module")
def fast(smoke):
    return Simulation(smoke, N, DAYS, SEED).run()


@pytest.fixture(scope="module")
def chosen(fast) -> list[int]:
    """Eight ordinary customers, four that are disconnected in the run, four on TOU."""
    ev = events_table(fast)
    cut = ev.filter(pc.is_in(ev["event"], value_set=pa.array(["disconnect", "prepaid_trip"])))
    disconnected = sorted(set(cut["customer"].to_pylist()))[:4]
    f = fast.fleet
    tou = np.flatnonzero(f.table.arrays.n_eperiods[f.tariff_id] > 1)[:4].tolist()
    assert len(disconnected) == 4 and len(tou) == 4  # the scenario must exercise both
    return sorted(set(range(8)) | set(disconnected) | set(tou))


def _gateway_run(smoke, chosen, *, allow: bool, transport=None, retries: int = 2):
    sim = Simulation(smoke, N, DAYS, SEED)
    feed = SimMeterFeed(sim, chosen)
    addresses = {c: meter_address(c) for c in chosen}
    if transport is not None:
        gw = MeterGateway.open(
            "",
            addresses,
            password=PASSWORD,
            allow_relay_control=allow,
            transport=transport(feed),
            timeout_s=0.05,
            retries=retries,
        )
        link = MeterLink(sim, gw).install()
        sim.run()
        return sim, feed, link
    with start_emulator("dlt645", "pty", feed.state) as emu:
        gw = MeterGateway.open(
            emu.where, addresses, password=PASSWORD, allow_relay_control=allow, timeout_s=1.0
        )
        link = MeterLink(sim, gw).install()
        try:
            sim.run()
        finally:
            gw.shutdown()
    return sim, feed, link


def _no_kwh_lost(sim, feed, link):
    """Billed register + unbilled energy = what each meter registered (per TOU period)."""
    k = np.array([link.row[int(c)] for c in feed.customers])
    registered = feed.opening + sim.state.reg[feed.customers]
    np.testing.assert_array_equal(link.billed_to[k] + sim.state.acc[feed.customers], registered)


def test_gateway_mode_over_a_pty_gives_the_fast_path_ledger(smoke, fast, chosen):
    sim, feed, link = _gateway_run(smoke, chosen, allow=True)
    np.testing.assert_array_equal(canonical_entries(sim.ledger), canonical_entries(fast.ledger))
    s = link.summary()
    # every gateway customer is read on each of its station's reading days (4 in 120 days)
    assert s["reads_actual"] == 4 * len(chosen) and "reads_failed" not in s
    tou_reads = [
        r
        for r in link.reads
        if sim.fleet.table.arrays.n_eperiods[sim.fleet.tariff_id[r.customer]] > 1
    ]
    assert tou_reads and all(r.billed_ckwh > 0 for r in tou_reads)
    # the fast run and the gateway run bill the same energy to every customer
    np.testing.assert_array_equal(sim.state.acc, fast.state.acc)
    np.testing.assert_array_equal(sim.state.tally, fast.state.tally)
    _no_kwh_lost(sim, feed, link)


def test_relay_commands_reach_the_meters_when_allowed(smoke, fast, chosen):
    sim, feed, link = _gateway_run(smoke, chosen, allow=True)
    ev = events_table(fast)
    ours = ev.filter(pc.is_in(ev["customer"], value_set=pa.array(chosen)))
    trips = ours.filter(pc.is_in(ours["event"], value_set=pa.array(["disconnect", "prepaid_trip"])))
    closes = ours.filter(
        pc.is_in(ours["event"], value_set=pa.array(["reconnect", "prepaid_reconnect"]))
    )
    s = link.summary()
    assert s["relay_trip_sent"] == trips.num_rows > 0
    assert s.get("relay_close_sent", 0) == closes.num_rows
    # each emulated relay ends as the last command left it
    last = {e.record.meter: e.record.action for e in link.relay}
    for c, action in last.items():
        k = int(np.flatnonzero(feed.customers == c)[0])
        assert feed.state.relay_closed(k) == (action == "close")
    # the run itself knows which customers are off at the end
    off = {c for c in chosen if sim.state.cs[c, R.F_SUPPLY_OFF] == 1}
    assert off == {c for c, a in last.items() if a == "trip"}


def test_without_permission_relay_actions_are_only_logged(smoke, chosen):
    _, feed, link = _gateway_run(smoke, chosen, allow=False)
    outcomes = {e.record.outcome for e in link.relay}
    assert outcomes == {"would_send"}
    assert feed.state.relay.all()  # no meter was switched


def test_lost_reads_are_estimated_and_no_kwh_is_lost(smoke, chosen):
    faulty: list[FaultyTransport] = []

    def transport(feed):
        t = FaultyTransport(
            InProcessTransport(Dlt645Bus(feed.state).handle_bytes), FaultRates(), seed=11
        )
        faulty.append(t)
        return t

    sim = Simulation(smoke, N, DAYS, SEED)
    feed = SimMeterFeed(sim, chosen)
    gw = MeterGateway.open(
        "",
        {c: meter_address(c) for c in chosen},
        transport=transport(feed),
        timeout_s=0.02,
        retries=0,
    )
    link = MeterLink(sim, gw).install()  # opening reads on a clean line
    faulty[0].rates = FaultRates(drop=0.5)  # then half the frames vanish
    sim.run()  # the ledger is checked to the fen inside
    s = link.summary()
    assert s["reads_failed"] > 0 and s["reads_actual"] > 0
    assert len(link.reads) == 4 * len(chosen)  # a lost read still gives a bill: an estimate
    failed = [r for r in link.reads if r.outcome == "failed"]
    assert all(r.detail and r.total_ckwh == -1 for r in failed)
    assert sum(r.billed_ckwh for r in failed) > 0  # the estimates billed the last actual reads
    # the next actual read catches up: billed + unbilled = registered, to the centi-kWh
    _no_kwh_lost(sim, feed, link)


def test_the_bill_comes_from_the_wire(smoke, fast, chosen):
    """Read the TOU registers in the wrong order and only the TOU customers' bills change."""
    sim = Simulation(smoke, N, DAYS, SEED)
    feed = SimMeterFeed(sim, chosen)  # serves period p in T(p+1)
    gw = MeterGateway.open(
        "",
        {c: meter_address(c) for c in chosen},
        transport=InProcessTransport(Dlt645Bus(feed.state).handle_bytes),
    )
    MeterLink(sim, gw, tariff_registers=(2, 1, 3)).install()  # peak and flat swapped
    sim.run()
    f = sim.fleet
    tou = set(np.flatnonzero(f.table.arrays.n_eperiods[f.tariff_id] > 1).tolist()) & set(chosen)

    def bills(ledger):
        e = ledger.entries
        sel = e["kind"] == L.BILL
        return {
            (int(d), int(c)): int(a)
            for d, c, a in zip(e["day"][sel], e["customer"][sel], e["amount_fen"][sel], strict=True)
        }

    a, b = bills(fast.ledger), bills(sim.ledger)
    changed = {c for (d, c), v in a.items() if b.get((d, c)) != v}
    assert changed and changed <= tou


def test_opening_read_failure_names_the_meter(smoke):
    sim = Simulation(smoke, 20, 10, 1)
    feed = SimMeterFeed(sim, [0, 1])
    gw = MeterGateway.open(
        "",
        {0: meter_address(0), 5: "000000000099"},
        retries=0,
        timeout_s=0.01,
        transport=InProcessTransport(Dlt645Bus(feed.state).handle_bytes),
    )
    with pytest.raises(DeviceError, match="customer 5 \\(000000000099\\)"):
        MeterLink(sim, gw).install()


def test_total_only_meters_refuse_tou_customers(smoke, fast):
    f = fast.fleet
    tou = int(np.flatnonzero(f.table.arrays.n_eperiods[f.tariff_id] > 1)[0])
    sim = Simulation(smoke, N, 10, SEED)

    class TotalOnly:  # a Modbus-like reader: total import energy only
        def read_energy_ckwh(self, address: str) -> int:
            return 0

    with pytest.raises(SettingsError, match=f"customer {tou} is on a TOU tariff"):
        MeterLink(sim, MeterGateway(TotalOnly(), {tou: "1"}))


def test_emulated_registers_follow_the_simulation(smoke):
    sim = Simulation(smoke, 50, 40, 2)
    feed = scenario_meters(sim, 5, days_before=20)
    regs = feed.registers()
    np.testing.assert_array_equal(regs[:, 0], (feed.opening + sim.state.reg[:5]).sum(axis=1))
    assert (feed.state.energy == regs).all()
    before = regs[:, 0].copy()
    sim.advance(5)
    grew = feed.state.energy[:, 0] - before
    assert (grew >= 0).all() and grew.sum() > 0
    assert int(sim.env.now) == 25


def test_modbus_meters_in_gateway_mode(smoke, fast):
    """Flat-tariff customers on Modbus meters (float32 kWh registers) bill as the fast path."""
    from m2c.devices.modbus import ModbusEmulator

    f = fast.fleet
    flat = np.flatnonzero((f.table.arrays.n_eperiods[f.tariff_id] == 1) & (f.meter != PREPAID))[
        :6
    ].tolist()
    sim = Simulation(smoke, N, DAYS, SEED)
    feed = SimMeterFeed(sim, flat)
    assert feed.registers()[:, 0].max() < 16_777_216  # exact in float32 at 0.01 kWh
    with ModbusEmulator(feed.state).serve_tcp() as emu:
        gw = MeterGateway.open(
            emu.url, {c: str(k + 1) for k, c in enumerate(flat)}, protocol="modbus"
        )
        link = MeterLink(sim, gw).install()
        try:
            sim.run()
        finally:
            gw.shutdown()
    assert link.summary()["reads_actual"] == 4 * len(flat)
    np.testing.assert_array_equal(canonical_entries(sim.ledger), canonical_entries(fast.ledger))


def test_real_time_pacing_changes_nothing_but_the_clock(smoke):
    import simpy.rt

    paced = Simulation(smoke, 40, 20, 5, seconds_per_day=0.002)
    assert isinstance(paced.env, simpy.rt.RealtimeEnvironment)
    paced.run()
    plain = Simulation(smoke, 40, 20, 5).run()
    np.testing.assert_array_equal(canonical_entries(paced.ledger), canonical_entries(plain.ledger))
