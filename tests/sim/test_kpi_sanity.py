"""Partial months and flagged station-months (m2c.sim.kpi_sanity) on hand-made tables."""

import pyarrow as pa
import pytest

from m2c.sim.kpi_sanity import flag_counts, flag_station_months, mark_months, month_days

MONTHS = ["2025-01", "2025-02", "2025-03", "2025-04", "2025-05"]


def test_month_days_by_hand():
    # 60 days from 1 January: January 31/31, February 28/28, March 1 of 31
    assert month_days("2025-01-01", 60) == {
        "2025-01": (31, 31),
        "2025-02": (28, 28),
        "2025-03": (1, 31),
    }
    # from 15 January without warm-up, January is simulated on 17 days (15..31)
    assert month_days("2025-01-15", 40)["2025-01"] == (17, 31)
    # with a warm-up the model simulates January's first days too: whole
    assert month_days("2025-01-15", 40, warmup_days=365)["2025-01"] == (31, 31)


def test_mark_months_flags_the_partial_last_month():
    t = pa.table({"month": ["2025-01", "2025-02", "2025-03"], "station": ["ALL"] * 3})
    assert mark_months(t, "2025-01-01", 60)["full_month"].to_pylist() == [True, True, False]


def _station(name, rows):
    """rows: (collected, outstanding, prepaid_stock, tamper_found, negotiated, offsets, full)."""
    out = []
    for m, (cash, outst, stock, tamper, neg, off, full) in zip(MONTHS, rows, strict=False):
        out.append(
            {
                "month": m,
                "station": name,
                "receivable": 100,
                "collected": cash,
                "recovery_rate_station": cash / 100,
                "outstanding": outst,
                "prepaid_stock": stock,
                "tamper_found": tamper,
                "negotiated": neg,
                "offsets": off,
                "full_month": full,
            }
        )
    return out


OK = (100, 50, 0, 0, 0, 0, True)


@pytest.fixture(scope="module")
def flagged():
    rows = (
        _station("A", [(200, 50, 0, 0, 0, 0, True)])  # high in the first reported month
        # paid down 150 -> 10 (140 >= 25 % of the 150 gap), second month: opening arrears
        + _station("B", [(100, 150, 0, 0, 0, 0, True), (250, 10, 0, 0, 0, 0, True)])
        # the same in the fifth month: arrears paid
        + _station("C", [OK, OK, OK, (100, 150, 0, 0, 0, 0, True), (250, 10, 0, 0, 0, 0, True)])
        # 100 settled by negotiation of which 20 offset: cash 80 >= 25 % of the gap 80
        + _station("D", [OK, (180, 50, 0, 0, 100, 20, True)])
        # tampering found in February (back-bill raises the receivable side), paid in March
        + _station("E", [OK, (40, 110, 0, 1, 0, 0, True), (210, 0, 0, 0, 0, 0, True)])
        # credit bought ahead (+120 stock), then used up (-70)
        + _station("F", [OK, (220, 50, 120, 0, 0, 0, True), (30, 50, 50, 0, 0, 0, True)])
        # low with nothing to show for it; then a partial month
        + _station("G", [OK, (30, 50, 0, 0, 0, 0, True), (10, 50, 0, 0, 0, 0, False)])
        + [{**_station("ALL", [OK])[0], "collected": 500, "recovery_rate_station": 5.0}]
    )
    t = pa.Table.from_pylist(rows)
    f = flag_station_months(t).to_pylist()
    return {(r["station"], r["month"]): (r["rate_flag"], r["rate_reason"]) for r in f}, t


@pytest.mark.parametrize(
    ("station", "month", "flag", "reason"),
    [
        ("A", "2025-01", "high", "first reported month"),
        ("B", "2025-02", "high", "opening arrears paid"),
        ("C", "2025-05", "high", "arrears paid"),
        ("D", "2025-02", "high", "negotiation settlement"),
        ("E", "2025-02", "low", "back-bill billed"),
        ("E", "2025-03", "high", "back-bill paid"),
        ("F", "2025-02", "high", "prepayment"),
        ("F", "2025-03", "low", "prepaid stock drawn down"),
        ("G", "2025-02", "low", "unexplained"),
        ("G", "2025-03", "low", "partial month"),
    ],
)
def test_reason_by_hand(flagged, station, month, flag, reason):
    got = flagged[0][(station, month)]
    assert got[0] == flag
    assert got[1].split("; ")[0] == reason, got


def test_rates_in_band_and_county_rows_are_not_flagged(flagged):
    assert flagged[0][("C", "2025-01")] == ("", "")
    assert flagged[0][("ALL", "2025-01")] == ("", "")  # 500 % county row: not a station


def test_flag_counts(flagged):
    c = flag_counts(flag_station_months(flagged[1]))
    # station rows: 1 + 2 + 5 + 2 + 3 + 3 + 3 = 19; high: A, B, C, D, E, F = 6; low: E, F, G x2
    assert c == {"station_months": 19, "high": 6, "low": 4, "partial": 1}
