"""Fixtures for the CLI tests: emulated DL/T 645 buses on a pty and on TCP (public API only)."""

from __future__ import annotations

import pytest

from m2c.devices.emulate import RunningEmulator, start_emulator
from m2c.devices.state import InMemoryState


@pytest.fixture
def state() -> InMemoryState:
    """Five meters 000000000001..5; meter 1 holds 1206.42 kWh (the worked example)."""
    s = InMemoryState.synthetic(5, seed=11)
    s.energy[0] = [120642, 10000, 20000, 30000, 60642]
    return s


@pytest.fixture
def pty_bus(state) -> RunningEmulator:
    """``state`` served as DL/T 645 meters on a pty; ``.where`` is its path."""
    with start_emulator("dlt645", "pty", state) as emu:
        yield emu


@pytest.fixture
def tcp_bus(state) -> RunningEmulator:
    """``state`` served as DL/T 645 meters on a local TCP port; ``.where`` is its URL."""
    with start_emulator("dlt645", "tcp:0", state) as emu:
        yield emu
