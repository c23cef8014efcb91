"""Scenario validation: errors name the file, the key path and what was expected."""

import pytest

from m2c.sim.scenario import ScenarioError, apply_overrides, load_scenario


def _write(tmp_path, extra):
    p = tmp_path / "bad.toml"
    p.write_text('extends = "smoke"\nname = "bad"\n' + extra)
    return p


@pytest.mark.parametrize(
    ("extra", "path", "expect"),
    [
        ("[dunning]\ndisconect_after_days = 40\n", "dunning.disconect_after_days", "Extra inputs"),
        ('[dunning]\napproval_days = "two"\n', "dunning.approval_days", "integer"),
        ("[billing]\nerror_rate = 1.5\n", "billing.error_rate", "less than or equal to 1"),
        ("[run]\ncustomers = 0\n", "run.customers", "greater than or equal to 1"),
        # a crew is a SimPy process a day: 2^31 - 1 of them would never finish
        (
            "[stations]\ncrews_urban = 2147483647\n",
            "stations.crews_urban",
            "less than or equal to 1000",
        ),
        (
            "[stations]\njobs_per_crew_day = 501\n",
            "stations.jobs_per_crew_day",
            "less than or equal to 500",
        ),
        (
            "[staff]\nmin_crews_per_station = 1001\n",
            "staff.min_crews_per_station",
            "less than or equal to 1000",
        ),
    ],
)
def test_invalid_scenario_names_file_and_key(tmp_path, extra, path, expect):
    p = _write(tmp_path, extra)
    with pytest.raises(ScenarioError) as err:
        load_scenario(p)
    msg = str(err.value)
    assert str(p) in msg and path in msg and expect in msg


def test_shares_must_sum_to_one(tmp_path):
    p = _write(tmp_path, "[classes.residential]\nshare = 0.5\n")
    with pytest.raises(ScenarioError, match="class shares must sum to 1"):
        load_scenario(p)


def test_overrides_are_checked_against_the_schema():
    sc = load_scenario("smoke", {"dunning.disconnect_after_days": 45, "meters.prepaid_min_kva": 50})
    assert sc.dunning.disconnect_after_days == 45 and sc.meters.prepaid_min_kva == 50
    with pytest.raises(ScenarioError, match="unknown key 'disconect_after_days'"):
        apply_overrides({}, {"dunning.disconect_after_days": 45})
