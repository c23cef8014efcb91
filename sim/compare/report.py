"""One-page offline HTML report: reproduce table, data sanity, figures (embedded PNG),
KPI tables with bootstrap intervals and warnings, key parameters."""

from __future__ import annotations

import base64
import html
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc

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
    "body{font-family:sans-serif;max-width:1300px;margin:auto;font-size:13px}"
    "table{border-collapse:collapse;margin:6px 0}td,th{border:1px solid #ccc;"
    "padding:2px 6px;text-align:right}td:first-child,th:first-child{text-align:left}"
    "img{max-width:100%}.sig{font-weight:bold;color:#a00}.warn{color:#a60}"
    "td.v-reproduced{background:#dfd}td.v-direction-only{background:#ffd}"
    "td.v-not-reproduced{background:#fdd}td.v-not-measured-yet{background:#eee}"
    "table.repro td{text-align:left;vertical-align:top}"
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


def _pct(x: float) -> str:
    return "—" if x != x else f"{100 * x:+.1f} %"


def _kpi_tables(summary: pa.Table) -> str:
    rows = summary.to_pylist()
    out = ""
    for kpi in dict.fromkeys(r["kpi"] for r in rows):
        out += (
            f"<h3>{html.escape(kpi)} ({unit(kpi)})</h3><table><tr><th>policy</th>"
            "<th>mean</th><th>95 % interval of mean</th><th>diff vs first</th>"
            "<th>95 % interval of diff</th><th>relative</th><th>95 % interval</th>"
            "<th>significant</th><th>replications for interval = diff / 2</th>"
            "<th>top 1 % of customers hold</th><th>warning</th></tr>"
        )
        for i, r in enumerate(x for x in rows if x["kpi"] == kpi):
            sig = "yes" if r["significant"] else ("—" if i == 0 else "no")
            diff = "—" if i == 0 else format(r["diff"], "+.4g")
            dci = "—" if i == 0 else f"[{r['diff_low']:.4g}, {r['diff_high']:.4g}]"
            rel = "—" if i == 0 else _pct(r.get("rel_diff", float("nan")))
            rci = (
                "—"
                if i == 0 or r.get("rel_low", float("nan")) != r.get("rel_low", float("nan"))
                else f"[{_pct(r['rel_low'])}, {_pct(r['rel_high'])}]"
            )
            need = r.get("reps_needed", float("nan"))
            need = "—" if need != need else ("> 100 000" if need == float("inf") else f"{need:.0f}")
            top = r.get("top1_share", float("nan"))
            top = "—" if top != top else f"{100 * top:.0f} %"
            out += (
                f"<tr><td>{html.escape(r['policy'])}</td><td>{r['mean']:.4g}</td>"
                f"<td>[{r['mean_low']:.4g}, {r['mean_high']:.4g}]</td>"
                f"<td>{diff}</td><td>{dci}</td><td>{rel}</td><td>{rci}</td>"
                f"<td class='{'sig' if r['significant'] else ''}'>{sig}</td>"
                f"<td>{need}</td><td>{top}</td>"
                f"<td class='warn'>{html.escape(r.get('warning', '') or '')}</td></tr>"
            )
        out += "</table>"
    return out


def yearly_section(yearly: pa.Table) -> str:
    """KPIs by calendar year (whole months): one table, a row per KPI and policy,
    a column per year with the mean and its 95 % bootstrap interval."""
    rows = yearly.to_pylist()
    years = sorted({r["year"] for r in rows})
    months = {r["year"]: r["months"] for r in rows}
    head = "".join(
        f"<th>{y}{'' if months[y] == 12 else f' ({months[y]} months)'}</th>" for y in years
    )
    by = {(r["kpi"], r["policy"], r["year"]): r for r in rows}
    body = ""
    for kpi, pol in dict.fromkeys((r["kpi"], r["policy"]) for r in rows):
        cells = ""
        for y in years:
            r = by.get((kpi, pol, y))
            cells += (
                "<td>—</td>"
                if r is None
                else f"<td>{r['mean']:.4g} [{r['mean_low']:.4g}, {r['mean_high']:.4g}]</td>"
            )
        body += (
            f"<tr><td>{html.escape(kpi)} ({html.escape(unit(kpi))})</td>"
            f"<td>{html.escape(pol)}</td>{cells}</tr>"
        )
    return (
        "<section id='yearly'><h2>KPIs by year</h2><p>Whole months only (the warm-up is "
        "never reported); rates over the year's sums, stocks at the year's last month.</p>"
        f"<table><tr><th>KPI</th><th>policy</th>{head}</tr>{body}</table></section>"
    )


def reproduce_section(rows: pa.Table) -> str:
    """The reproduce table as HTML: one row per field-report outcome, verdict coloured."""
    from m2c.sim.compare.reproduce import CALIBRATED

    counts = {}
    for v in rows["verdict"].to_pylist():
        counts[v] = counts.get(v, 0) + 1
    head = "".join(
        f"<th>{h}</th>"
        for h in (
            "outcome",
            "kind",
            "field report",
            "source",
            "m2c (95 % interval)",
            "compared with",
            "verdict",
            "why / note / warning",
            "calibrated parameters",
        )
    )
    body = ""
    for r in rows.to_pylist():
        cls = "v-" + r["verdict"].replace(" ", "-")
        cells = (
            f"<td>{html.escape(r['outcome'])}</td><td>{html.escape(r['kind'])}</td>"
            f"<td>{html.escape(r['source_figure'])}</td><td>{html.escape(r['source'])}</td>"
            f"<td>{html.escape(r['m2c_figure'])}</td>"
            f"<td>{html.escape(r.get('versus_figure', '') or '')}</td>"
            f"<td class='{cls}'>{html.escape(r['verdict'])}</td>"
            f"<td>{html.escape(r['reason'])}<span class='warn'>"
            f"{'<br>' if r.get('warning') and r['reason'] else ''}"
            f"{html.escape(r.get('warning', '') or '')}</span></td>"
            f"<td>{html.escape(r['calibrated'])}</td>"
        )
        body += f"<tr id='outcome-{html.escape(r['key'])}'>{cells}</tr>"
    summary = ", ".join(f"{n} {v}" for v, n in counts.items())
    cal = "".join(
        f"<li>{html.escape(p)}: <code>{html.escape(k)}</code>, fitted to "
        f"<a href='#outcome-{html.escape(o)}'>{html.escape(o)}</a> ({html.escape(w)})</li>"
        for p, k, o, w in CALIBRATED
    )
    return (
        "<section id='reproduce'><h2>Field-report outcomes reproduced?</h2>"
        f"<p>{len(rows)} outcomes: {html.escape(summary)}. A <em>target</em> is a goal the "
        "report sets, not a result it achieved; a <em>calibrated</em> row was used to choose "
        "a parameter, so matching it is no prediction. Sources: ../shared/DOMAIN.md.</p>"
        f"<table class='repro'><tr>{head}</tr>{body}</table>"
        f"<h3>Calibrated parameters</h3><ul>{cal}</ul></section>"
    )


def sanity_section(monthly: pa.Table) -> str:
    """How many station-months were flagged (rate above 150 % or below 50 %) and why."""
    from m2c.sim.kpi_sanity import flag_counts, flag_station_months

    if "rate_flag" not in monthly.column_names:
        monthly = flag_station_months(monthly)
    c = flag_counts(monthly)
    st = monthly.filter(pc.not_equal(monthly["station"], "ALL"))
    reasons: dict[str, int] = {}
    for f, why in zip(st["rate_flag"].to_pylist(), st["rate_reason"].to_pylist(), strict=True):
        if f:
            for w in why.split("; "):
                reasons[w] = reasons.get(w, 0) + 1
    items = "".join(
        f"<li>{html.escape(k)}: {v}</li>" for k, v in sorted(reasons.items(), key=lambda kv: -kv[1])
    )
    return (
        "<section id='sanity'><h2>Data sanity</h2>"
        f"<p>{c['high'] + c['low']} of {c['station_months']} station-months flagged "
        f"({c['high']} with a station-level rate above 150 %, {c['low']} below 50 %); "
        f"{c['partial']} station-months of partial months left out of the monthly KPIs and "
        "figures. Reasons (a station-month may have several):</p>"
        f"<ul>{items}</ul></section>"
    )


def render(
    points: list[Point],
    summary: pa.Table,
    figures: list[Path],
    title: str,
    reproduce: pa.Table | None = None,
    monthly: pa.Table | None = None,
    yearly: pa.Table | None = None,
) -> str:
    """The report as one HTML string (PNG figures embedded as base64, SVG linked).

    ``reproduce`` (:func:`m2c.sim.compare.reproduce.reproduce_table`) adds the
    reproduce section first; ``monthly`` the data-sanity section; ``yearly``
    (:func:`m2c.sim.compare.stats.yearly_summary`) the KPIs-by-year table.
    """
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
        "paired per replication, with 95 % bootstrap percentile intervals (expanded for few "
        "replications) that never leave a KPI's range. Money in fen "
        "(0.01 CNY) in tables, CNY in figures.</p>"
        f"{reproduce_section(reproduce) if reproduce is not None else ''}"
        f"{sanity_section(monthly) if monthly is not None else ''}"
        f"<h2>Key scenario parameters</h2>{_params_table(points)}"
        f"<h2>Figures</h2>{figs}"
        f"{yearly_section(yearly) if yearly is not None and yearly.num_rows else ''}"
        f"<h2>KPIs over the run</h2>{_kpi_tables(summary)}</body></html>\n"
    )


def write_report(
    out: str | Path,
    points: list[Point],
    summary: pa.Table,
    figures: list[Path],
    *,
    title: str | None = None,
    reproduce: pa.Table | None = None,
    monthly: pa.Table | None = None,
    yearly: pa.Table | None = None,
) -> Path:
    """Write ``out/report.html`` atomically and return its path (arguments as :func:`render`)."""
    out = Path(out)
    if title is None:
        n = summary["n"][0].as_py() if summary.num_rows else 0
        title = f"m2c policy comparison: {len(points)} policies x {n} replications"
    return write_text(
        out / "report.html", render(points, summary, figures, title, reproduce, monthly, yearly)
    )
