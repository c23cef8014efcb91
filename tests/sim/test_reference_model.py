"""The fast model and the per-agent reference model give the same ledger, entry by entry."""

import numpy as np
import pyarrow as pa
import pytest

from m2c.core import ledger as L
from m2c.core.ledger import canonical_entries
from m2c.sim.model import simulate
from m2c.sim.reference import simulate_reference
from m2c.sim.scenario import load_scenario


@pytest.mark.parametrize(
    "name", ["baseline_county", "prepaid_county", "credit_driven", "fully_automated"]
)
def test_fast_equals_reference(name):
    # a two-month warm-up (the default year would only make the test slower: the rules
    # are the same before and after run.start)
    sc = load_scenario(name, {"run.warmup_days": 45})
    # a few hundred customers over more than a year (crosses the year end: late fees
    # on carried arrears, annual blocks and the annual minimum restart)
    fast = simulate(sc, 150, 400, seed=5)
    ref = simulate_reference(sc, 150, 400, seed=5)
    assert fast.warmup_days == 31 + 30  # from 2024-11-01 to 2025-01-01
    a, b = canonical_entries(fast.ledger), canonical_entries(ref.ledger)
    assert len(a) == len(b) > 1000
    assert (a == b).all()
    # every kind of money movement the scenario can produce is exercised
    kinds = set(np.unique(a["kind"]).tolist())
    assert {L.BILL, L.PAYMENT, L.LATE_FEE} <= kinds
    if name == "prepaid_county":
        assert {L.TOPUP, L.PREPAID_DEBIT} <= kinds
    assert pa.table(fast.kpis.rows).equals(pa.table(ref.kpis.rows))
    np.testing.assert_array_equal(fast.state.cs, ref.state.cs)
