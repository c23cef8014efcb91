"""``m2c compare`` warns when an outcome rests on a handful of customers (issue 16).

The runner's tasks return the per-customer concentration of the money KPIs
(the share held by the top 1 % of customers) through Dask in the result
file's metadata; the study pools it over replications into the summary
table, ``summary.parquet``, ``concentration.parquet``, the printed table and
report.html. The study here runs on hand-built result files (one real tiny
run, relabelled, with hand-set concentration rows), so the figures are known.
"""

from __future__ import annotations

import json

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest
from rich.console import Console

from m2c.sim.atomic import write_json, write_table
from m2c.sim.compare import evidence, runner, study
from m2c.sim.compare.runner import Point
from m2c.sim.kpi_catalog import COMPARED

POINTS = [Point("base", "smoke"), Point("other", "smoke")]
REPS, CUSTOMERS, DAYS, SEED = 5, 200, 62, 5


@pytest.fixture(scope="module")
def one_run():
    """One real run of the smoke scenario, through the task the Dask workers execute."""
    sc = runner.resolved_scenario(Point("smoke", "smoke"))
    return runner.run_task(sc, "smoke", 0, CUSTOMERS, DAYS, SEED)


def test_task_returns_the_concentration_of_every_money_kpi(one_run):
    table, version = one_run
    assert version == runner.m2c_version()
    rows = json.loads(table.schema.metadata[b"concentration"])
    assert [r["kpi"] for r in rows] == list(evidence.CONCENTRATED)
    for r in rows:
        s = r["top1_share"]
        assert s != s or 0.0 < s <= 1.0  # NaN when nobody holds any
        assert r["holders"] <= CUSTOMERS and r["total"] >= 0


def _fake_results(out, one_run, share):
    """Result files of POINTS x REPS with ``old_arrears`` held ``share`` by the top 1 %."""
    table, _ = one_run
    summary = json.loads(table.schema.metadata[b"summary"])
    files = []
    for p in POINTS:
        for r in range(REPS):
            n = table.num_rows
            t = table.drop_columns(["policy", "replication", "seed"])
            t = t.add_column(0, "seed", pa.array([SEED + r] * n, pa.int64()))
            t = t.add_column(0, "replication", pa.array([r] * n, pa.int64()))
            t = t.add_column(0, "policy", pa.array([p.label] * n))
            # old arrears 1 000 000 fen in base, 600 000 (+ r) in other
            s = dict(summary, old_arrears=1e6 if p.label == "base" else 6e5 + r)
            conc = [
                {
                    "kpi": k,
                    "top1_share": share if k == "old_arrears" else 0.05,
                    "total": 1e6,
                    "holders": 100,
                }
                for k in evidence.CONCENTRATED
            ]
            meta = {"summary": json.dumps(s), "concentration": json.dumps(conc)}
            files.append(
                write_table(
                    t.replace_schema_metadata(meta),
                    out / "results" / f"{p.label}-r{r:03d}.parquet",
                )
            )
    write_json(
        out / runner.MANIFEST,
        {
            "kind": "compare",
            "points": [p.as_json() for p in POINTS],
            "replications": REPS,
            "customers": CUSTOMERS,
            "days": DAYS,
            "seed": SEED,
        },
    )
    return files


@pytest.mark.parametrize(("share", "warns"), [(0.92, True), (0.04, False)])
def test_compare_table_parquet_and_report_warn_on_concentration(
    one_run, tmp_path, monkeypatch, share, warns
):
    out = tmp_path / f"cmp-{share}"
    files = _fake_results(out, one_run, share)
    monkeypatch.setattr(runner, "run_points", lambda *a, **k: files)
    monkeypatch.setattr("m2c.sim.compare.plots.plot_folder", lambda *a, **k: [])
    st = study.run_study(POINTS, REPS, CUSTOMERS, DAYS, SEED, out)
    rows = {(r["kpi"], r["policy"]): r for r in st.summary.to_pylist()}
    text = "rests on few customers (top 1 % hold 92 %)"
    for pol in ("base", "other"):
        r = rows[("old_arrears", pol)]
        # pooled: sum(share x total) / sum(total) = 5 x 0.92e6 / 5e6 = 0.92
        assert r["top1_share"] == pytest.approx(share)
        assert (text in r["warning"]) is warns
        assert "rests on few" not in rows[("dso_days", pol)]["warning"]  # 5 % everywhere
    # a KPI without concentration data has no share
    assert (
        rows[("penalty_months", "base")]["top1_share"]
        != rows[("penalty_months", "base")]["top1_share"]
    )
    written = pq.read_table(out / "summary.parquet").to_pylist()
    w = next(r for r in written if r["kpi"] == "old_arrears" and r["policy"] == "other")
    assert (text in w["warning"]) is warns
    conc = pq.read_table(out / "concentration.parquet")
    assert conc.num_rows == len(POINTS) * REPS * len(evidence.CONCENTRATED)
    html = (out / "report.html").read_text(encoding="utf-8")
    assert (text in html) is warns
    assert "92 %" in html if warns else "4 %" in html  # the top-1 % column
    # the printed compare table carries the warning too
    from m2c.cli.compare import print_summary

    console = Console(record=True, width=250)
    print_summary(console, st.summary.filter(pc.equal(st.summary["kpi"], "old_arrears")), "t")
    assert ("rests on few customers" in console.export_text()) is warns
    assert len(COMPARED) == len({r["kpi"] for r in st.summary.to_pylist()})


def test_an_event_table_without_rows_gives_no_customers():
    # a run with no event at all has untyped (null) columns: read as int64, empty
    empty = pa.table({"event": pa.array([]), "customer": pa.array([])})
    got = evidence._customers(empty, "legal")
    assert got.dtype == "int64" and got.size == 0
    ev = pa.table({"event": ["legal", "notice", "legal"], "customer": [4, 2, 9]})
    assert evidence._customers(ev, "legal").tolist() == [4, 9]
