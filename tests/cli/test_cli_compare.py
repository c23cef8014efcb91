"""``m2c compare``, ``sweep`` and ``plot`` on a tiny comparison (2 replications x 200 customers)."""

import pyarrow.parquet as pq
from typer.testing import CliRunner

from m2c.cli import app
from m2c.sim.kpi_catalog import COMPARED


def test_cli_compare_sweep_plot(tmp_path):
    cli = CliRunner()
    out = tmp_path / "cmp"
    args = [
        "compare",
        "smoke",
        "prepaid_county",
        "--replications",
        "2",
        "--customers",
        "200",
        "--days",
        "60",
        "--workers",
        "1",
        "--out",
        str(out),
    ]
    res = cli.invoke(app, args)
    assert res.exit_code == 0, res.output
    assert "recovery_rate_customer" in res.output and "95 % CI" in res.output
    html = (out / "report.html").read_text()
    assert "data:image/png;base64," in html and "prepaid_min_kva" in html
    k = len(COMPARED)  # KPIs a comparison carries (m2c.sim.kpi_catalog)
    assert pq.read_table(out / "comparison.parquet").num_rows == 2 * 2 * k
    res = cli.invoke(app, [a if a != "200" else "201" for a in args])  # other --customers
    assert res.exit_code == 2 and "other arguments" in res.output
    sw = tmp_path / "sweep"
    res = cli.invoke(
        app,
        [
            "sweep",
            "smoke",
            "--param",
            "dunning.disconnect_after_days=15,60",
            "--param",
            "prepaid.min_kva=0,50",
            "--replications",
            "2",
            "--customers",
            "200",
            "--days",
            "60",
            "--workers",
            "1",
            "--out",
            str(sw),
        ],
    )
    assert res.exit_code == 0, res.output
    tidy = pq.read_table(sw / "comparison.parquet")
    assert tidy.num_rows == 4 * 2 * k  # 2 x 2 grid points x 2 replications x k KPIs
    assert set(tidy["prepaid.min_kva"].to_pylist()) == {0.0, 50.0}
    assert (sw / "figures" / "sweep_kpis.png").stat().st_size > 1000
    assert (sw / "figures" / "frontier.svg").stat().st_size > 1000
    res = cli.invoke(app, ["plot", str(sw)])
    assert res.exit_code == 0 and "frontier.png" in res.output
    res = cli.invoke(
        app, ["sweep", "smoke", "--param", "dunning.no_such_key=1", "--out", str(tmp_path / "bad")]
    )
    assert res.exit_code == 2 and "no_such_key" in res.output
