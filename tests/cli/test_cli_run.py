"""``m2c run`` and ``m2c validate``: the run folder, the KPI table, refusals of bad scenarios."""

import json

import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from m2c.cli import app

runner = CliRunner()


def test_cli_run_writes_the_run_folder(tmp_path):
    out = tmp_path / "run"
    r = CliRunner().invoke(
        app, ["run", "smoke", "--customers", "200", "--days", "59", "--out", str(out)]
    )
    assert r.exit_code == 0, r.output
    m = json.loads((out / "manifest.json").read_text())
    assert m["ledger_balanced"] is True and m["customers"] == 200 and m["seed"] == 1
    kpi = pq.read_table(out / "kpi_monthly.parquet")
    assert {"month", "station", "recovery_rate_customer", "disconnections"} <= set(kpi.column_names)
    # one row per month (January, February) and station, plus the county row
    assert kpi.num_rows == 2 * (3 + 1)
    led = pq.read_table(out / "ledger.parquet")
    assert led.num_rows == m["ledger_entries"]
    assert (out / "kpi_monthly.csv").read_text().startswith('"month","station"')
    assert "recovery rate, per customer" in r.output


@pytest.mark.parametrize(
    ("extra", "path"),
    [
        ("[dunning]\ndisconect_after_days = 40\n", "dunning.disconect_after_days"),
        ("[run]\ncustomers = 0\n", "run.customers"),
    ],
)
def test_invalid_scenario_is_refused_by_validate_and_run(tmp_path, extra, path):
    p = tmp_path / "bad.toml"
    p.write_text('extends = "smoke"\nname = "bad"\n' + extra)
    r = runner.invoke(app, ["validate", str(p)])
    assert r.exit_code == 2 and path in r.output and "invalid scenario" in r.output
    # a run never starts on an invalid scenario
    out = tmp_path / "never"
    r = runner.invoke(app, ["run", str(p), "--out", str(out)])
    assert r.exit_code == 2 and not out.exists()


def test_validate_bundled():
    r = runner.invoke(app, ["validate", "prepaid_county"])
    assert r.exit_code == 0 and "valid" in r.output
