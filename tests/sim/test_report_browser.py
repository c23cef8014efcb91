"""The HTML report in a real browser: headless Chromium loads every figure and draws the page.

Skipped, with the reason, when no Chromium is installed (Debian: ``apt-get install
chromium``). The report is built from hand-made tables, so no simulation runs.
"""

import json
import shutil
import subprocess

import numpy as np
import pyarrow as pa
import pytest

from m2c.sim.compare import plots, report
from m2c.sim.compare.reproduce import OUTCOMES, reproduce_table
from m2c.sim.compare.stats import summary_table
from m2c.sim.kpi_sanity import flag_station_months

BROWSER = next(
    (shutil.which(b) for b in ("chromium", "chromium-browser", "google-chrome") if shutil.which(b)),
    None,
)
pytestmark = pytest.mark.skipif(
    BROWSER is None, reason="no chromium on PATH (Debian: apt-get install -y chromium)"
)

CHECK_IMAGES = (
    "<script>window.addEventListener('load', () => {"
    "const r = [...document.images].map(i => [i.alt, i.complete, i.naturalWidth]);"
    "const p = document.createElement('pre'); p.id = 'imgcheck';"
    "p.textContent = JSON.stringify(r); document.body.appendChild(p);});</script>"
)


def _chromium(tmp_path, *args):
    cmd = [
        BROWSER,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--hide-scrollbars",
        f"--user-data-dir={tmp_path / 'profile'}",
        "--virtual-time-budget=10000",
        *args,
    ]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=True)


@pytest.fixture(scope="module")
def report_folder(tmp_path_factory):
    out = tmp_path_factory.mktemp("report")
    # evidence: two policies, three replications, every statistic the outcomes read
    stats = {s for o in OUTCOMES for s in (o.statistic, o.needs) if s} | {
        o.direction.statistic for o in OUTCOMES if o.direction
    }
    ev = {"policy": [], "replication": [], "statistic": [], "value": []}
    for p in ("baseline_county", "prepaid_county", "fully_automated", "credit_driven"):
        for r in range(3):
            for s in sorted(stats):
                ev["policy"].append(p)
                ev["replication"].append(r)
                ev["statistic"].append(s)
                ev["value"].append(0.5 + 0.1 * r)
    rows = reproduce_table(pa.table(ev))
    tidy = pa.table(
        {
            "policy": ["A"] * 3 + ["B"] * 3,
            "replication": [0, 1, 2] * 2,
            "kpi": ["recovery_rate_customer"] * 6,
            "value": [0.9, 0.92, 0.91, 0.97, 0.98, 0.99],
        }
    )
    tidy = pa.concat_tables(
        [
            tidy,
            tidy.set_column(2, "kpi", pa.array(["collection_cost_per_customer"] * 6)).set_column(
                3, "value", pa.array([5000.0, 5200, 5100, 2500, 2600, 2400])
            ),
        ]
    )
    summary = summary_table(tidy)
    monthly = flag_station_months(
        pa.table(
            {
                "policy": ["A"] * 4,
                "replication": [0] * 4,
                "month": ["2025-01", "2025-02", "2025-01", "2025-02"],
                "station": ["R01", "R01", "R02", "R02"],
                "recovery_rate_station": [1.0, 2.4, 0.3, 1.0],
                "receivable": [100, 100, 100, 100],
                "collected": [100, 240, 30, 100],
                "outstanding": [200, 60, 50, 50],
            }
        )
    )
    figs = plots.save(plots.fig_cost_recovery(summary), out / "figures", "cost_vs_recovery")
    figs += plots.save(plots.fig_station_rates(monthly), out / "figures", "station_rates")
    page = report.write_report(
        out, [], summary, figs, title="browser test", reproduce=rows, monthly=monthly
    )
    return out, page, rows


def test_every_figure_loads(report_folder, tmp_path):
    out, page, _ = report_folder
    probe = out / "probe.html"
    # plus one broken image, to show the probe can fail
    broken = "<img alt='broken' src='data:image/png;base64,iVBORw0KGgoAAAA='>"
    probe.write_text(page.read_text().replace("</body>", broken + CHECK_IMAGES + "</body>"))
    dom = _chromium(tmp_path, "--dump-dom", probe.as_uri()).stdout
    assert '<pre id="imgcheck">' in dom, dom[-2000:]
    images = json.loads(dom.split('<pre id="imgcheck">')[1].split("</pre>")[0])
    assert [a for a, _, _ in images] == ["cost_vs_recovery", "station_rates", "broken"]
    # a broken data: URI loads as complete with naturalWidth 0
    assert images[-1][2] == 0
    assert all(done and width > 100 for _, done, width in images[:-1]), images
    # the reproduce section is in the page as rendered, one row per outcome
    assert dom.count('<tr id="outcome-') == len(OUTCOMES)


def test_screenshot_is_not_blank(report_folder, tmp_path):
    import matplotlib.image as mpimg

    _, page, _ = report_folder
    shot = tmp_path / "shot.png"
    _chromium(tmp_path, f"--screenshot={shot}", "--window-size=1100,2400", page.as_uri())
    img = mpimg.imread(shot)[:, :, :3]
    assert img.shape[:2] == (2400, 1100)
    # ink: pixels clearly darker than white, and colour (the pastel verdict cells: #fdd has a
    # channel spread of 0x22 / 255 = 0.13; the figures)
    dark = (img.mean(axis=2) < 0.6).mean()
    colourful = (img.max(axis=2) - img.min(axis=2) > 0.05).mean()
    assert dark > 0.005 and colourful > 0.005, (dark, colourful)
    assert float(np.std(img)) > 0.05
