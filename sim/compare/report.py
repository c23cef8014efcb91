"""One-page offline HTML report: figures (embedded PNG), KPI tables, key parameters."""

from __future__ import annotations

import base64
import html
from pathlib import Path

import pyarrow as pa

from m2c.sim.atomic import write_text
from m2c.sim.compare.runner import Point
from m2c.sim.kpi_catalog import unit

#: Scenario parameters worth showing next to the results (dotted paths).
KEY_PARAMS = (
    "meters.ami_share",
    "meters.prepaid_min_kva",
    "meters.remote_disconnect",
    "dunning.disconnect_after_days",
    "dunning.approval_days",
    "dunning.legal_after_days",
    "billing.due_days",
)

CSS = (
    "body{font-family:sans-serif;max-width:1100px;margin:auto;font-size:13px}"
    "table{border-collapse:collapse;margin:6px 0}td,th{border:1px solid #ccc;"
    "padding:2px 6px;text-align:right}td:first-child,th:first-child{text-align:left}"
    "img{max-width:100%}.sig{font-weight:bold;color:#a00}"
)


def _get(obj, path: str):
    for part in path.split("."):
        obj = getattr(obj, part, None)
    return obj


def _params_table(points: list[Point]) -> str:
    from m2c.sim.scenario import load_scenario

    head = "".join(f"<th>{html.escape(p)}</th>" for p in ("policy", "scenario", *KEY_PARAMS))
    body = ""
    for p in points:
        sc = load_scenario(p.spec, overrides=p.overrides or None)
        cells = [p.label, sc.name] + [str(_get(sc, k)) for k in KEY_PARAMS]
        body += "<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in cells) + "</tr>"
    return f"<table><tr>{head}</tr>{body}</table>"


def _kpi_tables(summary: pa.Table) -> str:
    rows = summary.to_pylist()
    out = ""
    for kpi in dict.fromkeys(r["kpi"] for r in rows):
        out += (
            f"<h3>{html.escape(kpi)} ({unit(kpi)})</h3><table><tr><th>policy</th>"
            "<th>mean</th><th>95 % CI of mean</th><th>diff vs first</th>"
            "<th>95 % CI of diff</th><th>significant</th></tr>"
        )
        for i, r in enumerate(x for x in rows if x["kpi"] == kpi):
            sig = "yes" if r["significant"] else ("—" if i == 0 else "no")
            diff = "—" if i == 0 else format(r["diff"], "+.4g")
            dci = "—" if i == 0 else f"[{r['diff_low']:.4g}, {r['diff_high']:.4g}]"
            out += (
                f"<tr><td>{html.escape(r['policy'])}</td><td>{r['mean']:.4g}</td>"
                f"<td>[{r['mean_low']:.4g}, {r['mean_high']:.4g}]</td>"
                f"<td>{diff}</td><td>{dci}</td>"
                f"<td class='{'sig' if r['significant'] else ''}'>{sig}</td></tr>"
            )
        out += "</table>"
    return out


def render(points: list[Point], summary: pa.Table, figures: list[Path], title: str) -> str:
    """The report as one HTML string (PNG figures embedded as base64, SVG linked)."""
    figs = ""
    for png in (f for f in figures if f.suffix == ".png"):
        data = base64.b64encode(png.read_bytes()).decode("ascii")
        figs += (
            f"<figure><img alt='{png.stem}' src='data:image/png;base64,{data}'>"
            f"<figcaption><a href='figures/{png.stem}.svg'>{png.stem} (SVG)</a>"
            "</figcaption></figure>"
        )
    return (
        f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{html.escape(title)}"
        f"</title><style>{CSS}</style></head><body><h1>{html.escape(title)}</h1>"
        "<p>Every policy ran on the same seeds (common random numbers); differences are "
        "paired per replication with a Student-t 95 % interval. Money in fen "
        "(0.01 CNY) in tables, CNY in figures.</p>"
        f"<h2>Key scenario parameters</h2>{_params_table(points)}"
        f"<h2>Figures</h2>{figs}<h2>KPIs</h2>{_kpi_tables(summary)}</body></html>\n"
    )


def write_report(
    out: str | Path, points: list[Point], summary: pa.Table, figures: list[Path]
) -> Path:
    """Write ``out/report.html`` atomically and return its path."""
    out = Path(out)
    n = summary["n"][0].as_py() if summary.num_rows else 0
    title = f"m2c policy comparison: {len(points)} policies x {n} replications"
    return write_text(out / "report.html", render(points, summary, figures, title))
