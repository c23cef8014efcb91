"""The KPI catalog is the one list: a run's summary has exactly its KPIs, with units and formats."""

from __future__ import annotations

import math

from m2c.sim.kpi_catalog import BY_NAME, CATALOG, COMPARED, OVER_RUN, RUN_SUMMARY, SUMMARISED, unit
from m2c.sim.run import SUMMARY_KPIS


def test_names_are_unique_and_selections_are_catalogued():
    assert len(BY_NAME) == len(CATALOG)
    assert set(COMPARED) <= set(BY_NAME) and set(RUN_SUMMARY) <= set(BY_NAME)
    assert all(k.over_run in OVER_RUN for k in CATALOG)


def test_a_run_summary_has_exactly_the_catalogued_kpis(runs):
    summary = runs("smoke", customers=200, days=62, seed=3).summary
    assert list(summary) == [k.name for k in CATALOG]  # same order: derived ones last
    assert SUMMARY_KPIS is SUMMARISED
    assert all(math.isfinite(v) for v in summary.values())


def test_formats_and_units():
    # 123,456 fen = 1,234.56 CNY; 0.98765 as a percentage with 2 decimals = 98.77 %
    assert BY_NAME["bad_debt"].format(123_456) == "1,234.56"
    assert BY_NAME["recovery_rate_customer"].format(0.98765) == "98.77%"
    assert BY_NAME["dso_days"].format(41.26) == "41.3"
    assert unit("collection_cost_per_customer") == "fen" and unit("penalty_months") == (
        "station-months"
    )
    assert unit("not_a_kpi") == ""
