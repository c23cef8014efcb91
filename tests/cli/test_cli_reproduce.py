"""``m2c reproduce``: the printed table (library stubbed: fast) and one real tiny run (slow)."""

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from m2c.cli import app
from m2c.sim.compare import reproduce as R


def _fake_rows():
    ev = pa.table(
        {
            "policy": ["prepaid_county"] * 3 + ["baseline_county"] * 3,
            "replication": [0, 1, 2] * 2,
            "statistic": ["prepaid_stock_ratio"] * 6,
            "value": [0.85, 0.9, 0.82, 0.0, 0.0, 0.0],
        }
    )
    return R.reproduce_table(ev)


def test_cli_prints_one_row_per_outcome(monkeypatch, tmp_path):
    seen = {}

    def fake(out, **kw):
        seen.update(kw, out=out)
        rows = _fake_rows()
        return R.Reproduction(rows, *(pa.table({}) for _ in range(5)))

    monkeypatch.setattr(R, "run_reproduce", fake)
    res = CliRunner().invoke(
        app,
        [
            "reproduce",
            "--customers",
            "500",
            "--replications",
            "3",
            "--years",
            "2",
            "--out",
            str(tmp_path),
        ],
        env={"COLUMNS": "200"},
    )
    assert res.exit_code == 0, res.output
    assert seen["customers"] == 500 and seen["replications"] == 3 and seen["years"] == 2
    # the calibrated prepaid-stock row: 85.67 % [82.00, 90.00], reproduced
    assert "85.67 % [82.00, 90.00]" in res.output and "reproduced" in res.output
    assert "not measured" in res.output and "report.html" in res.output


def test_cli_refuses_zero_years():
    res = CliRunner().invoke(app, ["reproduce", "--years", "0"])
    assert res.exit_code == 2 and "years" in res.output


@pytest.mark.slow
def test_cli_reproduce_tiny_run(tmp_path):
    out = tmp_path / "repro"
    res = CliRunner().invoke(
        app,
        [
            "reproduce",
            "--customers",
            "150",
            "--replications",
            "2",
            "--workers",
            "2",
            "--out",
            str(out),
        ],
    )
    assert res.exit_code == 0, res.output
    rows = pq.read_table(out / "reproduce.parquet")
    assert rows.num_rows == len(R.OUTCOMES)
    assert set(rows["verdict"].to_pylist()) <= set(R.VERDICTS)
    html = (out / "report.html").read_text()
    assert "id='reproduce'" in html and "id='sanity'" in html
    assert (out / "figures" / "kpi_by_year.png").exists()


def test_cli_refuses_a_scheduler_that_does_not_answer(tmp_path):
    res = CliRunner().invoke(
        app,
        [
            "reproduce",
            "--scheduler",
            "tcp://127.0.0.1:1",
            "--customers",
            "10",
            "--replications",
            "1",
            "--out",
            str(tmp_path / "r"),
        ],
    )
    assert res.exit_code == 2 and "no Dask scheduler answers" in res.output
    assert not (tmp_path / "r").exists()  # nothing written
