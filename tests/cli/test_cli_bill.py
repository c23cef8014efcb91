"""``m2c bill`` and the interval load file reader."""

import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from m2c.cli import app
from m2c.sim.loadfile import LoadFileError, read_interval_csv

runner = CliRunner()


def _csv(tmp_path, body):
    p = tmp_path / "load.csv"
    p.write_text("customer,timestamp,kwh\n" + body)
    return p


def test_bill_sample_writes_every_line(tmp_path):
    out = tmp_path / "bills.parquet"
    r = runner.invoke(app, ["bill", "--customers", "5", "--out", str(out)])
    assert r.exit_code == 0, r.output
    t = pq.read_table(out)
    assert t.num_rows == 5 * 12
    # a bill is the sum of its lines
    d = t.to_pydict()
    for i in range(t.num_rows):
        parts = (
            d["energy_fen"][i]
            + d["demand_fen"][i]
            + d["basic_fen"][i]
            + d["fixed_fen"][i]
            + d["pf_adjust_fen"][i]
            + d["minimum_fen"][i]
            + d["annual_minimum_fen"][i]
        )
        assert parts == d["total_fen"][i]


def test_bill_from_csv_hand_computed(tmp_path):
    # Flat commercial tariff: check its price from the bundled file, then 3 hours of 1.5 kWh.
    from m2c.core.tariffs import bundled_tariff

    t = bundled_tariff("commercial_flat")
    price = t.energy_periods[0][0].price_uy
    rows = "".join(f"A,2025-03-01T0{h}:00,1.5\n" for h in range(3))
    out = tmp_path / "b.csv"
    r = runner.invoke(
        app,
        [
            "bill",
            "--tariff",
            "commercial_flat",
            "--load",
            str(_csv(tmp_path, rows)),
            "--out",
            str(out),
        ],
    )
    assert r.exit_code == 0, r.output
    # 4.50 kWh = 450 ckWh x price uy/kWh / 1e6 -> fen (half-up), plus the fixed charge
    energy = (450 * price + 500_000) // 1_000_000
    lines = out.read_text().splitlines()
    assert len(lines) == 2  # header + one month
    assert f",{energy}," in lines[1]


@pytest.mark.parametrize(
    ("body", "needle"),
    [
        ("A,2025-01-01T00:00,1\nA,2025-01-01T01:00,x\n", ":3: field 'kwh'"),
        ("A,2025-01-01T00:00,1\nA,2025-01-01T01:00,-2\n", ":3: field 'kwh'"),
        ("A,2025-01-01T00:00,1\nA,2025-01-01T00:30,1\n", ":3: field 'timestamp'"),
        ("A,2025-01-01T00:00,1\nA,2025-01-01T00:00,1\n", ":3: field 'timestamp'"),
        ("A,2025-01-01T00:00,1\nA,yesterday,1\n", ":3: field 'timestamp'"),
        ("A,2025-01-01T00:00,1\nB,2025-01-01T01:00,1\n", "missing"),
        ("A,2025-01-01T00:00,1\n,2025-01-01T01:00,1\n", ":3: field 'customer'"),
    ],
)
def test_bad_load_file_names_line_and_field(tmp_path, body, needle):
    p = _csv(tmp_path, body)
    with pytest.raises(LoadFileError, match=needle.replace("(", r"\(")):
        read_interval_csv(p)
    r = runner.invoke(app, ["bill", "--load", str(p)])
    assert r.exit_code == 2 and str(p) in r.output.replace("\n", "")


def test_unknown_tariff_is_a_usage_error():
    r = runner.invoke(app, ["bill", "--tariff", "nope"])
    assert r.exit_code == 2 and "bundled tariff" in r.output


def test_load_matrix_order(tmp_path):
    p = _csv(
        tmp_path,
        "B,2025-01-01T01:00,4\nA,2025-01-01T01:00,2\nB,2025-01-01T00:00,3\nA,2025-01-01T00:00,1\n",
    )
    load = read_interval_csv(p)
    assert load.customers == ["A", "B"]
    assert load.kwh.tolist() == [[1.0, 2.0], [3.0, 4.0]]
    assert load.start.startswith("2025-01-01T00:00")
