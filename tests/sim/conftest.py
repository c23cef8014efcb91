"""Shared small runs (computed once per session: the simulation is deterministic)."""

import functools

import pytest

from m2c.sim.run import run_simulation
from m2c.sim.scenario import load_scenario


@functools.cache
def small_run(name: str, customers: int = 3000, days: int = 365, seed: int = 11):
    return run_simulation(load_scenario(name), customers=customers, days=days, seed=seed)


@pytest.fixture(scope="session")
def runs():
    return small_run
