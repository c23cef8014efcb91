"""The one declaration of the county KPIs a run is summarised by: names, labels, units, formats.

Every figure of a run's ``summary`` (:func:`m2c.sim.run.summarise`) is one
:class:`Kpi` here: how it is taken over the run's months, the label and
format the CLI prints it with, and the unit that comparison tables, reports
and plot axes show. Add a new KPI here (and its monthly column in
:mod:`m2c.sim.kpi`); :data:`COMPARED` and :data:`RUN_SUMMARY` pick which ones
comparisons carry and ``m2c run`` prints. Money is integer fen (0.01 CNY);
rates are fractions (1.0 = 100 %); definitions in ../shared/DOMAIN.md
"Indicators" and :mod:`m2c.sim.kpi`.
"""

from __future__ import annotations

from dataclasses import dataclass

#: How a KPI is taken over a run's monthly county rows; ``derived`` ones are
#: computed from others (:func:`m2c.sim.run.summarise`).
OVER_RUN = ("mean", "sum", "last", "max", "derived")


@dataclass(frozen=True)
class Kpi:
    """One county KPI of a run.

    Parameters
    ----------
    name : column of the monthly KPI table and key of the run summary.
    label : what ``m2c run`` prints before the value.
    unit : unit of the value (``fen``, ``fraction``, ``days``, ``count`` ...).
    over_run : one of :data:`OVER_RUN`.
    fmt : a ``str.format`` spec for the value, or ``"fen"``: shown in CNY, 2 decimals.
    """

    name: str
    label: str
    unit: str
    over_run: str
    fmt: str

    def format(self, value: float) -> str:
        """The value as printed (fen shown as CNY with thousands separators)."""
        return f"{value / 100:,.2f}" if self.fmt == "fen" else self.fmt.format(value)


CATALOG: tuple[Kpi, ...] = (
    Kpi(
        "recovery_rate_customer",
        "recovery rate, per customer (mean of months)",
        "fraction",
        "mean",
        "{:.2%}",
    ),
    Kpi(
        "recovery_rate_station",
        "recovery rate, station level (mean of months)",
        "fraction",
        "mean",
        "{:.2%}",
    ),
    Kpi("old_arrears_ratio", "old-arrears ratio (end)", "fraction", "last", "{:.3%}"),
    Kpi("old_arrears", "old arrears (end, CNY)", "fen", "last", "fen"),
    Kpi("dso_days", "days sales outstanding (mean)", "days", "mean", "{:.1f}"),
    Kpi("bad_debt", "bad debt written off (CNY)", "fen", "sum", "fen"),
    Kpi("collection_cost", "collection cost (CNY)", "fen", "sum", "fen"),
    Kpi("disconnections", "disconnections", "count", "sum", "{:,.0f}"),
    Kpi("reconnections", "reconnections", "count", "sum", "{:,.0f}"),
    Kpi(
        "customer_days_without_supply",
        "customer-days without supply",
        "customer-days",
        "sum",
        "{:,.0f}",
    ),
    Kpi(
        "penalty_pct", "station penalty (% of pay, summed over months)", "percent", "sum", "{:,.0f}"
    ),
    Kpi("arrears_90_plus", "arrears over 90 days (end, CNY)", "fen", "last", "fen"),
    Kpi("billing_error_rate", "billing error rate (mean of months)", "fraction", "mean", "{:.2%}"),
    Kpi("reading_error_rate", "estimated-read rate (mean of months)", "fraction", "mean", "{:.2%}"),
    Kpi("crew_queue_max", "longest crew queue (jobs)", "jobs", "max", "{:,.0f}"),
    # issue 15 mechanisms (sim.kpi: monthly columns; DOMAIN.md "Indicators")
    Kpi("bonus", "station settlement bonus (CNY)", "fen", "sum", "fen"),
    Kpi(
        "cash_on_time_rate", "funds arriving on time (mean of months)", "fraction", "mean", "{:.2%}"
    ),
    Kpi(
        "prepaid_stock_ratio",
        "prepaid credit / monthly receivable (mean)",
        "fraction",
        "mean",
        "{:.1%}",
    ),
    Kpi("pressure_blocks", "disconnections stopped by local pressure", "count", "sum", "{:,.0f}"),
    Kpi("negotiated", "critical arrears settled by agreement (CNY)", "fen", "sum", "fen"),
    Kpi("court_won", "lawsuits won", "count", "sum", "{:,.0f}"),
    Kpi("meter_changes", "prepaid meters fitted by the credit policy", "count", "sum", "{:,.0f}"),
    # issue 16 item 2: staff and the whole meter-to-cash cost (m2c.sim.staff_costs)
    # issue 16: notice timeliness (DOMAIN.md: ">= 99 %" claimed by the fully automated
    # county); sim.crews times each notice against dunning.notice_allowance_days
    Kpi(
        "notices_due", "notices and dunning visits due (on time or late)", "count", "sum", "{:,.0f}"
    ),
    Kpi("notices_on_time", "of which on time", "count", "sum", "{:,.0f}"),
    Kpi("crews", "field crews (county, end)", "crews", "last", "{:,.0f}"),
    *(
        Kpi(
            f"fte_{a}",
            f"staff, {a.replace('_', ' ')} (FTE, mean of months)",
            "FTE",
            "mean",
            "{:.2f}",
        )
        for a in (
            "reading",
            "bill_review",
            "counter",
            "dunning",
            "disconnection",
            "inspection",
            "meter_replacement",
        )
    ),
    Kpi("fte_total", "staff, meter-to-cash total (FTE, mean of months)", "FTE", "mean", "{:.2f}"),
    Kpi(
        "fte_reading_dunning",
        "staff, reading + dunning + disconnection (FTE, mean)",
        "FTE",
        "mean",
        "{:.2f}",
    ),
    Kpi("staff_cost", "staff cost (CNY)", "fen", "sum", "fen"),
    Kpi("meter_cost", "meters, annualised capital + running (CNY)", "fen", "sum", "fen"),
    Kpi("external_cost", "fees paid out: channels, SMS, calls, legal (CNY)", "fen", "sum", "fen"),
    Kpi("m2c_cost", "meter-to-cash cost, whole (CNY)", "fen", "sum", "fen"),
    Kpi(
        "collection_cost_per_customer",
        "collection cost per customer (CNY)",
        "fen",
        "derived",
        "fen",
    ),
    Kpi("penalty_months", "station penalty months", "station-months", "derived", "{:,.0f}"),
    Kpi(
        "m2c_cost_per_customer_year",
        "meter-to-cash cost per customer per year (CNY)",
        "fen",
        "derived",
        "fen",
    ),
    Kpi(
        "collection_cost_per_customer_year",
        "collection cost (per-action costs) per customer per year (CNY)",
        "fen",
        "derived",
        "fen",
    ),
    Kpi(
        "fte_per_1000_customers",
        "staff per 1 000 customers (FTE, mean of months)",
        "FTE",
        "derived",
        "{:.2f}",
    ),
    Kpi(
        "notice_timeliness",
        "notices served on time (share of notices and visits; 1 when none)",
        "fraction",
        "derived",
        "{:.2%}",
    ),
)

#: KPIs by name.
BY_NAME: dict[str, Kpi] = {k.name: k for k in CATALOG}

#: The KPIs a comparison or sweep carries into its tidy table, in this order.
COMPARED: tuple[str, ...] = (
    "recovery_rate_customer",
    "recovery_rate_station",
    "old_arrears_ratio",
    "old_arrears",
    "dso_days",
    "bad_debt",
    "collection_cost",
    "collection_cost_per_customer",
    "disconnections",
    "customer_days_without_supply",
    "penalty_months",
    "bonus",
    "cash_on_time_rate",
    "prepaid_stock_ratio",
    "fte_total",
    "fte_reading_dunning",
    "fte_per_1000_customers",
    "m2c_cost_per_customer_year",
    "collection_cost_per_customer_year",
    "notice_timeliness",
)

#: The county figures ``m2c run`` prints after a run, in this order.
RUN_SUMMARY: tuple[str, ...] = (
    "recovery_rate_customer",
    "recovery_rate_station",
    "old_arrears_ratio",
    "dso_days",
    "collection_cost",
    "bad_debt",
    "disconnections",
    "customer_days_without_supply",
    "penalty_months",
    "crew_queue_max",
    "fte_total",
    "m2c_cost_per_customer_year",
    "collection_cost_per_customer_year",
)

#: ``{name: how}`` of the KPIs taken directly from the monthly rows (not derived).
SUMMARISED: dict[str, str] = {k.name: k.over_run for k in CATALOG if k.over_run != "derived"}


def unit(name: str) -> str:
    """The unit of KPI ``name``, or ``""`` for a column that is not a catalogued KPI."""
    kpi = BY_NAME.get(name)
    return kpi.unit if kpi else ""
