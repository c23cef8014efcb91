"""MeterGateway: reads a subset of meters through the driver; relay actions only when allowed."""

from __future__ import annotations

import logging

import numpy as np

from m2c.devices.dlt645 import Password
from m2c.devices.dlt645.emulator import Dlt645Bus
from m2c.devices.gateway import MeterGateway
from m2c.devices.modbus import ModbusEmulator
from m2c.devices.transport import InProcessTransport

PASSWORD = Password(2, "000000")


def _gateway(state, allow: bool) -> MeterGateway:
    # customers 0, 2 and 4 of the fleet are served by meters ...01, ...03, ...05
    addresses = {0: state.address(0), 2: state.address(2), 4: state.address(4)}
    return MeterGateway.open(
        "",
        addresses,
        password=PASSWORD,
        allow_relay_control=allow,
        transport=InProcessTransport(Dlt645Bus(state).handle_bytes),
    )


def test_reads_a_subset_in_centi_kwh(state):
    gw = _gateway(state, allow=False)
    r = gw.read_energies()
    assert r.meters.tolist() == [0, 2, 4]
    assert r.ckwh.dtype == np.int64 and r.ok.all() and r.errors == {}
    assert r.ckwh.tolist() == [120642, state.energy_ckwh(2), state.energy_ckwh(4)]
    assert gw.read_energy_ckwh(2) == state.energy_ckwh(2)


def test_failed_reads_are_reported_not_raised(state):
    gw = MeterGateway.open(
        "",
        {0: state.address(0), 9: "000000000099"},
        retries=0,
        transport=InProcessTransport(Dlt645Bus(state).handle_bytes),
    )
    r = gw.read_energies([9, 0])
    assert r.ok.tolist() == [False, True] and r.ckwh.tolist() == [-1, 120642]
    assert "000000000099" in r.errors[9]


def test_relay_actions_would_send_without_permission(state, caplog):
    gw = _gateway(state, allow=False)
    with caplog.at_level(logging.INFO, logger="m2c.devices"):
        rec = gw.trip(2)
    assert (rec.outcome, rec.action, rec.address) == ("would_send", "trip", "000000000003")
    assert state.relay_closed(2)  # nothing sent
    assert "would send trip" in caplog.text


def test_relay_actions_sent_when_allowed(state):
    gw = _gateway(state, allow=True)
    assert gw.trip(2).outcome == "sent" and not state.relay_closed(2)
    assert gw.close(2).outcome == "sent" and state.relay_closed(2)
    assert [a.action for a in gw.actions] == ["trip", "close"]


def test_modbus_gateway(state):
    with ModbusEmulator(state).serve_tcp() as emu:
        gw = MeterGateway.open(
            emu.url, {0: "1", 3: "4"}, protocol="modbus", allow_relay_control=True
        )
        try:
            r = gw.read_energies()
            assert r.ckwh.tolist() == [120642, state.energy_ckwh(3)]
            assert gw.trip(0).outcome == "unsupported"
        finally:
            gw.shutdown()
