"""The hil session's library parts: ``--address`` assignment and the through-driver run API."""

from __future__ import annotations

import numpy as np
import pytest

from m2c.sim.fleet import AMI, MANUAL, PREPAID
from m2c.sim.hil.session import AssignmentError, assign_meters
from m2c.sim.hil.through_driver import run_through_driver, same_ledger_as_fast_path
from m2c.sim.scenario import load_scenario


def test_bare_addresses_go_to_the_next_postpaid_customers():
    kinds = np.array([PREPAID, MANUAL, PREPAID, AMI, MANUAL])
    got = assign_meters(["000000000007", "3=000000000001", "000000000009"], kinds)
    assert got == {3: "000000000001", 1: "000000000007", 4: "000000000009"}


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (["x=000000000001"], "CUSTOMER an integer"),
        (["9=000000000001"], "customer 9 is not in the fleet"),
        (["1=000000000001", "1=000000000002"], "named twice"),
        (["1", "2", "3"], "no postpaid customer left"),
        (["0=000000000001", "000000000001"], "used once"),
    ],
)
def test_bad_address_options_are_explained(options, message):
    with pytest.raises(AssignmentError, match=message):
        assign_meters(options, np.array([MANUAL, MANUAL]))


def test_run_through_driver_api():
    result, link = run_through_driver(load_scenario("smoke"), 25, customers=60, days=70, seed=4)
    assert link.summary()["meters"] == 25 and link.summary()["reads_actual"] > 25
    assert same_ledger_as_fast_path(result)
