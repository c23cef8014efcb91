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
    price = t.energy_periods[0][0].price_nu
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
    # 4.50 kWh = 4 500 Wh x price nano/kWh / 1e10 -> fen (half-up), plus the fixed charge
    energy = (4_500 * price + 5 * 10**9) // 10**10
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


def test_bounded_last_tier_toml_is_refused(tmp_path):
    # issue 14: this tariff billed every kWh above 20 kWh at zero (660.00 CNY for 9 242.87 kWh)
    p = tmp_path / "t.toml"
    p.write_text(
        'name="t"\n[[periods]]\nname="flat"\n'
        "tiers=[{upto_kwh=10,price=0.5},{upto_kwh=20,price=0.6}]\n"
    )
    r = runner.invoke(app, ["bill", "--tariff", str(p), "--customers", "5"])
    assert r.exit_code == 2, r.output
    out = r.output.replace("\n", "")
    assert "t.toml" in out and "last tier must be unbounded" in out


@pytest.mark.parametrize("price", ["1e9", "1e300"])
def test_huge_price_is_a_one_line_error(tmp_path, price):
    # issue 14: 1e9 CNY/kWh overflowed int64 (negative energy lines, exit 0); 1e300 crashed
    p = tmp_path / "big.toml"
    p.write_text(f'name="t"\n[[periods]]\nname="flat"\ntiers=[{{price={price}}}]\n')
    r = runner.invoke(app, ["bill", "--tariff", str(p), "--customers", "2"])
    assert r.exit_code == 2, r.output
    assert "Traceback" not in r.output and "OverflowError" not in r.output
    out = r.output.replace("\n", "")
    assert "big.toml" in out and "beyond the bound of 10000" in out


def test_binary_tariff_file_names_the_file(tmp_path):
    p = tmp_path / "garbage.toml"
    p.write_bytes(bytes(range(256)))
    r = runner.invoke(app, ["bill", "--tariff", str(p), "--customers", "2"])
    assert r.exit_code == 2 and "garbage.toml" in r.output.replace("\n", "")
    j = tmp_path / "garbage.json"
    j.write_bytes(b"\xff\xfe\x00binary")
    r = runner.invoke(app, ["bill", "--tariff", str(j), "--customers", "2"])
    assert r.exit_code == 2 and "garbage.json" in r.output.replace("\n", "")


def test_strict_refuses_what_the_data_cannot_bill(tmp_path):
    import json

    rec = {
        "name": "reactive",
        "energyratestructure": [[{"rate": 0.1}]],
        "energyweekdayschedule": [[0] * 24] * 12,
        "energyweekendschedule": [[0] * 24] * 12,
        "demandreactivepowercharge": 0.51,
    }
    p = tmp_path / "r.json"
    p.write_text(json.dumps(rec))
    r = runner.invoke(app, ["bill", "--tariff", str(p), "--customers", "2"])
    assert r.exit_code == 0, r.output
    assert "reactive demand charge: not billed" in r.output.replace("\n", " ")
    r = runner.invoke(app, ["bill", "--tariff", str(p), "--customers", "2", "--strict"])
    assert r.exit_code == 2 and "strict" in r.output


def test_system_peak_hours_bill_coincident_demand(tmp_path):
    import json

    # 10 $/kW of coincident demand at every hour; 2 customers of the sample fleet;
    # the coincident line appears in the demand column only when --system-peak is given
    rec = {
        "name": "coincident",
        "energyratestructure": [[{"rate": 0}]],
        "energyweekdayschedule": [[0] * 24] * 12,
        "energyweekendschedule": [[0] * 24] * 12,
        "coincidentratestructure": [[{"rate": 10}]],
        "coincidentrateschedule": [[0] * 24] * 12,
    }
    p = tmp_path / "c.json"
    p.write_text(json.dumps(rec))
    out = tmp_path / "b.parquet"
    args = ["bill", "--tariff", str(p), "--customers", "2", "--out", str(out)]
    r = runner.invoke(app, args)
    assert r.exit_code == 0 and "coincident demand charge: not billed" in r.output.replace(
        "\n", " "
    )
    assert sum(pq.read_table(out).to_pydict()["demand_fen"]) == 0
    r = runner.invoke(app, [*args, "--system-peak", "2025-07-15T16:00"])
    assert r.exit_code == 0, r.output
    assert "1 system-peak step(s)" in r.output.replace("\n", " ")
    d = pq.read_table(out).to_pydict()
    july = [v for m, v in zip(d["month"], d["demand_fen"], strict=True) if m == "2025-07"]
    assert len(july) == 2 and all(v > 0 for v in july)
    assert sum(d["demand_fen"]) == sum(july)
    r = runner.invoke(
        app, ["bill", "--tariff", str(p), "--customers", "2", "--system-peak", "2031-01-01T00:00"]
    )
    assert r.exit_code == 2 and "does not cover" in r.output.replace("\n", " ")
