"""Runs: conservation, determinism across threads, the disconnection rules, seed outcomes."""

import numba
import numpy as np
import pyarrow.compute as pc
import pytest

from m2c.core import ledger as L
from m2c.sim.run import run_simulation
from m2c.sim.scenario import bundled_scenario_names, load_scenario

REQUIRED = [
    "month",
    "station",
    "recovery_rate_customer",
    "recovery_rate_station",
    "old_arrears_ratio",
    "dso_days",
    "arrears_0_30",
    "arrears_31_60",
    "arrears_61_90",
    "arrears_90_plus",
    "collection_cost",
    "disconnections",
]


@pytest.mark.parametrize("name", bundled_scenario_names())
def test_every_bundled_scenario_conserves_money(name):
    # no warm-up: the KPIs then cover every ledger day (with a warm-up, the same identity
    # over the reported days is tests/sim/test_mechanisms.py::test_warmup_cash_identity)
    res = run_simulation(
        load_scenario(name, {"run.warmup_days": 0}), customers=400, days=150, seed=2
    )
    assert res.ledger_balanced
    t = res.ledger.totals().by_kind
    county = res.kpi_monthly.filter(pc.equal(res.kpi_monthly["station"], "ALL"))
    # cash collected in the KPIs = payments + top-ups in the ledger, to the fen
    assert int(pc.sum(county["collected"]).as_py()) == t["payment"] + t["topup"]
    # the closing balances are what the ledger says (checked inside the run as well)
    e = res.ledger.entries
    signed = L.KIND_SIGN[e["kind"].astype(np.int64)] * e["amount_fen"]
    assert int(signed.sum()) == int(res.ledger.balances().sum() - res.ledger.opening_fen.sum())
    assert set(REQUIRED) <= set(res.kpi_monthly.column_names)


def test_same_seed_same_kpis_with_one_and_two_threads():
    sc = load_scenario("prepaid_county")
    before = numba.get_num_threads()
    try:
        numba.set_num_threads(1)
        one = run_simulation(sc, customers=1500, days=200, seed=9)
        numba.set_num_threads(min(2, numba.config.NUMBA_NUM_THREADS))
        two = run_simulation(sc, customers=1500, days=200, seed=9)
    finally:
        numba.set_num_threads(before)
    assert one.kpi_monthly.equals(two.kpi_monthly)
    assert (one.ledger.entries == two.ledger.entries).all()


@pytest.mark.parametrize(
    "name", ["baseline_county", "prepaid_county", "fully_automated", "credit_driven"]
)
def test_disconnection_only_after_30_days_and_notice(runs, name):
    res = runs(name)
    ev = res.events.to_pydict()
    limit = res.scenario.dunning.disconnect_after_days
    disc = [k for k, e in enumerate(ev["event"]) if e == "disconnect"]
    assert disc, "the scenario should disconnect someone"
    for k in disc:
        assert ev["days_overdue"][k] > limit
        assert ev["notice_served"][k]
        assert not ev["critical"][k]
    trips = [k for k, e in enumerate(ev["event"]) if e == "prepaid_trip"]
    assert not any(ev["critical"][k] for k in trips)


def _county(res, col):
    c = res.kpi_monthly.filter(pc.equal(res.kpi_monthly["station"], "ALL"))
    return np.asarray(c[col].to_numpy(zero_copy_only=False))


def test_baseline_clear_at_the_top_unclear_below(runs):
    res = runs("baseline_county")
    station = _county(res, "recovery_rate_station")
    customer = _county(res, "recovery_rate_customer")
    hit = station >= 1.0
    assert hit.any()
    assert (customer[hit] < 1.0).all()


def test_prepaid_county_ends_with_lower_old_arrears(runs):
    base, pre = runs("baseline_county"), runs("prepaid_county")
    assert _county(pre, "old_arrears")[-1] < _county(base, "old_arrears")[-1]
    assert pre.summary["recovery_rate_customer"] > base.summary["recovery_rate_customer"]
