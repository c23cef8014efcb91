"""Fixtures for the devices tests: small emulated buses on in-process, pty and TCP transports."""

from __future__ import annotations

import datetime as dt

import pytest

from m2c.devices.dlt645 import Password
from m2c.devices.dlt645.emulator import Dlt645Bus
from m2c.devices.server import PtyServer, TcpServer
from m2c.devices.state import InMemoryState

#: Fixed clock for the emulated meters, so date/time tests are exact.
T0 = dt.datetime(2024, 3, 15, 10, 30, 0)
CONTROL_PASSWORD = Password(2, "000000")


@pytest.fixture
def state() -> InMemoryState:
    """Five meters 000000000001..5 with known registers and a fixed clock."""
    s = InMemoryState.synthetic(5, seed=11)
    s.now = lambda: T0
    s.energy[0] = [120642, 10000, 20000, 30000, 60642]  # 1206.42 kWh, the worked example
    return s


@pytest.fixture
def bus(state) -> Dlt645Bus:
    return Dlt645Bus(state)


@pytest.fixture
def pty_server(bus):
    with PtyServer(bus) as server:
        yield server


@pytest.fixture
def tcp_server(bus):
    with TcpServer(bus) as server:
        yield server
