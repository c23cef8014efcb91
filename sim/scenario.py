"""Scenario files: the schema, loading, validation and dotted-path overrides.

A scenario is a TOML file (``scenarios/*.toml``) that describes a county:
stations, customer classes and their tariffs, meters, reading, billing,
customer behaviour, payment channels, the dunning ladder, disconnection
rules, field crews and the credit policy. Every default below comes from
../shared/DOMAIN.md or is a documented, plausible choice (the bundled
scenario files cite the source of each value).

Validation is strict (pydantic, ``extra="forbid"``): an unknown key, a wrong
type or an out-of-range value is reported as
``<file>: <key.path>: <what was expected>`` and a run never starts on an
invalid scenario.
"""

from __future__ import annotations

import copy
import datetime as dt
import math
import tomllib
from collections.abc import Callable, Iterator
from importlib import resources
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

SEGMENTS = ("on_time", "forgetful", "cash_gap", "strategic", "malicious")
CLASSES = ("residential", "commercial", "industrial", "agricultural", "critical")
ACTIONS = ("sms", "call", "email", "visit", "notice")


class ScenarioError(ValueError):
    """An invalid scenario; the message names the file, the key path and the expectation."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class Run(_Strict):
    start: str = "2025-01-01"
    days: int = Field(365, ge=1, le=3660)
    customers: int = Field(10_000, ge=1)
    seed: int = Field(1, ge=0)
    # Days simulated before ``start`` and left out of the KPIs (issue 15: the first
    # reported month must be in steady state, not in the opening arrears' start-up).
    # The warm-up begins on the 1st of the month at least this many days before start.
    warmup_days: int = Field(365, ge=0, le=3660)


class Stations(_Strict):
    """Supply stations (DOMAIN.md: a county has about 19, 2 urban + 17 rural)."""

    urban: int = Field(2, ge=0)
    rural: int = Field(17, ge=0)
    urban_share: float = Field(0.35, ge=0, le=1)  # share of customers in urban stations
    reading_day_urban: int = Field(3, ge=1, le=28)
    reading_day_rural: int = Field(1, ge=1, le=28)
    reading_day_spread: int = Field(6, ge=0, le=20)  # stations read on staggered days
    # bounds: a supply station has tens of staff; 1 000 crews (2 000 people) or 500 jobs a
    # crew-day are beyond any station, and each crew is a SimPy process every day
    crews_urban: int = Field(4, ge=0, le=1000)
    crews_rural: int = Field(2, ge=0, le=1000)
    jobs_per_crew_day: int = Field(12, ge=1, le=500)


class CustomerClass(_Strict):
    share: float = Field(ge=0, le=1)
    tariff: str
    kwh_per_day: float = Field(gt=0)
    capacity_kva: list[int] = Field(default_factory=lambda: [0])  # drawn uniformly from list
    season: list[float] = Field(default_factory=lambda: [1.0] * 12, min_length=12, max_length=12)


class Meters(_Strict):
    ami_share: float = Field(0.3, ge=0, le=1)
    prepaid_min_kva: int = Field(0, ge=0)  # 0 = no prepaid meters
    prepaid_alert_yuan: float = Field(100.0, ge=0)
    prepaid_credit_limit_yuan: float = Field(0.0, ge=0)
    prepaid_topup_days: int = Field(30, ge=1)
    prepaid_settle_days: int = Field(10, ge=1)
    remote_disconnect: bool = False
    # issue 15 "prepaid for large customers" (defaults, no figure in DOMAIN.md): the
    # low-balance alert is the larger of prepaid_alert_yuan and this many days of the
    # customer's expected use; a top-up buys prepaid_topup_days of energy plus the
    # basic charge; the daily debit uses the customer's own TOU prices
    prepaid_alert_days: int = Field(7, ge=0)
    # DOMAIN.md "Prepaid meters": at month end prepaid accounts are settled against
    # the core bill (basic charge, PF adjustment): surplus carries over, shortfall chased
    prepaid_settlement: bool = True
    # tampering found by anomaly (a large customer that stops buying stands out): an
    # inspection when no top-up came for prepaid_topup_days + this many days; 0 = off
    tamper_anomaly_days: int = Field(15, ge=0)


class Reading(_Strict):
    manual_estimate_rate: float = Field(0.004, ge=0, le=1)
    ami_daily_success: float = Field(0.98, ge=0, le=1)
    ami_retries: int = Field(2, ge=0, le=10)


class Billing(_Strict):
    due_days: int = Field(15, ge=1, le=60)
    error_rate: float = Field(0.002, ge=0, le=1)
    review_catch: float = Field(0.8, ge=0, le=1)
    error_factor: int = Field(10, ge=2)
    dispute_days: int = Field(10, ge=1)


class Segment(_Strict):
    """Daily payment probabilities of one behaviour segment."""

    share: float = Field(ge=0, le=1)
    before_due: float = Field(ge=0, le=1)
    after_due: float = Field(ge=0, le=1)
    reminded: float = Field(ge=0, le=1)
    notice: float = Field(ge=0, le=1)
    disconnected: float = Field(ge=0, le=1)
    legal: float = Field(ge=0, le=1)
    partial: float = Field(0.0, ge=0, le=1)
    topup_alert: float = Field(ge=0, le=1)
    topup_tripped: float = Field(ge=0, le=1)
    tamper: float = Field(0.0, ge=0, le=1)


class Behaviour(_Strict):
    prepayer_share: float = Field(0.2, ge=0, le=1)
    # mean age of the opening arrears at the first simulated day; ages are uniform on
    # [31, 2 x mean - 31] days (default distribution, sim.inputs.opening_state)
    opening_arrears_days: int = Field(120, ge=31)
    opening_arrears_months: float = Field(2.0, ge=0)
    segments: dict[str, Segment]
    # segment shares per customer class (5 shares in SEGMENTS order, summing to 1);
    # a class not listed uses the segments' own shares
    class_segments: dict[str, list[float]] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _segments(self) -> Behaviour:
        if tuple(self.segments) != SEGMENTS:
            raise ValueError(f"segments must be exactly {', '.join(SEGMENTS)} in this order")
        total = sum(s.share for s in self.segments.values())
        if abs(total - 1.0) > 1e-9:
            raise ValueError(f"segment shares must sum to 1, got {total}")
        for klass, shares in self.class_segments.items():
            if klass not in CLASSES:
                raise ValueError(f"class_segments: {klass!r} is not one of {', '.join(CLASSES)}")
            if len(shares) != len(SEGMENTS) or abs(sum(shares) - 1.0) > 1e-9 or min(shares) < 0:
                raise ValueError(
                    f"class_segments.{klass}: expected {len(SEGMENTS)} shares >= 0 "
                    f"summing to 1 ({', '.join(SEGMENTS)}), got {shares}"
                )
        return self


class Channel(_Strict):
    share: float = Field(ge=0, le=1)
    delay_days: int = Field(ge=0)
    failure_rate: float = Field(ge=0, le=1)
    cost_yuan: float = Field(ge=0)
    convenience: float = Field(gt=0)


class Step(_Strict):
    action: Literal["sms", "call", "email", "visit", "notice"]
    day: int = Field(ge=0)  # days overdue
    cost_yuan: float = Field(ge=0)
    crew: bool = False  # True: a field-crew job (queued)


class Dunning(_Strict):
    ladder: list[Step]
    # DOMAIN.md: > 30 days overdue + notice; lower values are for sweeps that test the rule
    disconnect_after_days: int = Field(30, ge=1)
    approval_days: int = Field(2, ge=0)  # station head + deputy manager
    disconnect_cost_yuan: float = Field(50.0, ge=0)
    reconnect_cost_yuan: float = Field(50.0, ge=0)
    remote_cost_yuan: float = Field(1.0, ge=0)
    reconnect_days_residential: int = Field(1, ge=0)
    reconnect_days_other: int = Field(2, ge=0)
    legal_after_days: int = Field(180, ge=31)
    legal_cost_yuan: float = Field(800.0, ge=0)
    write_off_after_days: int = Field(1095, ge=90)
    inspect_rate: float = Field(0.002, ge=0, le=1)  # prepaid inspections per customer-day
    inspect_cost_yuan: float = Field(30.0, ge=0)
    tamper_penalty_multiple: int = Field(3, ge=0)
    # DOMAIN.md: cutting an enterprise's power "met great resistance": the local
    # government presses the utility, so a non-residential disconnection is stopped with
    # this probability (default) and tried again pressure_delay_days later (the 30-day
    # rule gave debtors time)
    pressure_prob: float = Field(0.5, ge=0, le=1)
    pressure_delay_days: int = Field(30, ge=1)
    # lawsuits take months: the court rules after legal_days x (0.5..1.5) and enforces
    # payment of everything owed with probability legal_win (defaults)
    legal_days: int = Field(180, ge=1)
    legal_win: float = Field(0.7, ge=0, le=1)
    # notice timeliness (DOMAIN.md: "reading and notice timeliness ... >= 99 %"): a notice
    # or dunning visit served by a crew at most this many days after it was requested is
    # on time (0 = the same day); default, the field reports give no allowance
    notice_allowance_days: int = Field(1, ge=0)

    @model_validator(mode="after")
    def _ladder(self) -> Dunning:
        days = [s.day for s in self.ladder]
        if days != sorted(days):
            raise ValueError("ladder steps must be in increasing order of day")
        return self


class Credit(_Strict):
    to_prepaid_below: int = Field(0, ge=0, le=100)  # 0 = off
    to_prepaid_min_kva: int = Field(0, ge=0)
    instalments_min_kva: int = Field(0, ge=0)  # 0 = off
    legal_below: int = Field(0, ge=0, le=100)  # 0 = legal action by age only
    # ratings start from a neutral prior and move on observed history only (lateness,
    # whether anything was paid, amounts, disconnections, tamper findings: a moving
    # average of monthly grades, sim/rules/month_end.py rate_month), never on the
    # hidden segment
    initial_score: int = Field(60, ge=0, le=100)
    # moving a customer to prepayment fits a prepaid meter with trip: a crew job
    meter_change_cost_yuan: float = Field(1500.0, ge=0)
    # rating-based lawsuits only for arrears of at least this amount (default)
    legal_min_yuan: float = Field(1000.0, ge=0)


class Assessment(_Strict):
    """Station assessment (DOMAIN.md "What the prepaid county achieved")."""

    # False: the old way, a station is penalised when its station-level recovery rate
    # (collected / receivable) is below 100 %; True: when any customer is in arrears
    per_customer: bool = False
    # penalty in % of performance pay for 1, 2, 3+ months in a row (DOMAIN.md: 30/60/100)
    penalty_pct: list[int] = Field(
        default_factory=lambda: [30, 60, 100], min_length=3, max_length=3
    )
    # per-customer assessment: settled by the 21st (rural) / 26th (urban) earns a bonus
    settle_day_rural: int = Field(21, ge=1, le=28)  # DOMAIN.md
    settle_day_urban: int = Field(26, ge=1, le=28)  # DOMAIN.md
    bonus_yuan: float = Field(2000.0, ge=0)  # default per station-month (no figure given)
    # stations respond: calls to every overdue customer (every few days) and visits to
    # those owing at least effort_visit_min_yuan, from effort_days before the settle day
    # (per-customer assessment) and all month while the station is penalised
    station_effort: bool = True
    effort_days: int = Field(7, ge=0, le=28)
    effort_visit_min_yuan: float = Field(500.0, ge=0)
    call_cost_yuan: float = Field(0.5, ge=0)  # default cost of a voice call


class Negotiation(_Strict):
    """Critical customers (DOMAIN.md: city government, airport, hospitals) settle by agreement.

    Once their arrears pass the disconnection rule, a negotiation opens; after
    ``delay_days`` x (0.5..1.5) the agreed sum (all that is owed) is settled, a
    share ``offset_share`` by offset against money the utility owes them (e.g.
    construction surcharges), the rest paid. Defaults: no figures in DOMAIN.md.

    ``opens_after_days``: None (default) opens the negotiation only when the
    disconnection rule is met (``dunning.disconnect_after_days`` overdue and a
    notice served); a number opens it as soon as a bill is that many days
    overdue, with no notice - a monthly agreement, as the prepaid county settled
    its critical customers every month (DOMAIN.md "What the prepaid county achieved").
    """

    opens_after_days: int | None = Field(None, ge=0, le=365)
    delay_days: int = Field(30, ge=1)
    offset_share: float = Field(0.5, ge=0, le=1)
    cost_yuan: float = Field(200.0, ge=0)


class Funds(_Strict):
    """Funds timeliness (DOMAIN.md "Collect": daily funds arriving on time)."""

    on_time_days: int = Field(1, ge=0)  # money reaching the account within this is on time


class Staff(_Strict):
    """Staff time, wages and meter costs: the whole meter-to-cash cost (issue 16, item 2).

    DOMAIN.md gives no figure for any of these; every default is a documented,
    plausible choice for a Chinese county power-supply company (2025 prices) and
    :mod:`m2c.sim.staff_costs` turns the run's counts into full-time equivalents
    (FTE) per activity and yuan with them.
    """

    # field crews: stations.crews_urban/rural are the crews of a station when the fleet
    # has run.customers customers; another fleet size scales them in proportion (per
    # 1 000 customers of the station), never below this floor per station (default)
    min_crews_per_station: int = Field(1, ge=0, le=1000)
    crew_size: int = Field(2, ge=1)  # default: two persons per crew (live work needs two)
    # default: 250 working days x 8 h x 80 % productive time
    hours_per_fte_year: float = Field(1600.0, gt=0)
    # default: loaded yearly cost (pay + social insurance) of station staff
    office_wage_yuan_per_year: float = Field(70000.0, ge=0)
    field_wage_yuan_per_year: float = Field(80000.0, ge=0)
    # minutes per action (defaults): a meter reader reads ~70 meters a day with a
    # handheld; a remote meter needs alarm monitoring and, when a daily collection fails
    # through all retries, a site visit to the terminal
    read_manual_minutes: float = Field(6.0, ge=0)
    remote_meter_minutes_month: float = Field(0.5, ge=0)
    remote_fault_minutes: float = Field(30.0, ge=0)
    # bill review (核算): reads from handhelds are checked by hand, remote reads by
    # exception; a caught billing error is traced and corrected
    review_manual_bill_minutes: float = Field(1.0, ge=0)
    review_remote_bill_minutes: float = Field(0.2, ge=0)
    review_error_minutes: float = Field(30.0, ge=0)
    # staff minutes per payment or top-up by channel; channels not named take no staff
    # time (agents, banks and online channels are paid by their fee, channels.*.cost_yuan)
    channel_minutes: dict[str, float] = Field(
        default_factory=lambda: {"counter": 4.0, "mobile_collection": 15.0}
    )
    ladder_call_minutes: float = Field(5.0, ge=0)  # a ladder call by staff; 0 = robot call
    effort_call_minutes: float = Field(5.0, ge=0)  # a station's own call (assessment)
    visit_minutes: float = Field(45.0, ge=0)  # travel + talk, per crew member
    notice_minutes: float = Field(30.0, ge=0)  # a notice served by hand (crew job)
    disconnect_minutes: float = Field(60.0, ge=0)  # field (dis)connection, per crew member
    reconnect_minutes: float = Field(60.0, ge=0)
    remote_switch_minutes: float = Field(2.0, ge=0)  # remote (dis)connect: an operator
    inspect_minutes: float = Field(60.0, ge=0)
    meter_replace_minutes: float = Field(90.0, ge=0)  # a meter change or rotation swap
    # meters (defaults): price fitted, life (also the rotation period), running cost
    manual_meter_yuan: float = Field(150.0, ge=0)
    ami_meter_yuan: float = Field(400.0, ge=0)
    prepaid_meter_yuan: float = Field(1500.0, ge=0)  # with trip (credit.meter_change_cost)
    meter_life_years: float = Field(10.0, gt=0)
    discount_rate: float = Field(0.06, ge=0, le=1)
    # one concentrator/terminal per transformer area of remote meters (AMI and prepaid)
    terminal_yuan: float = Field(3000.0, ge=0)
    meters_per_terminal: int = Field(100, ge=1)
    manual_running_yuan_per_year: float = Field(1.0, ge=0)  # handheld readers, upkeep
    remote_comm_yuan_per_year: float = Field(6.0, ge=0)  # communication per remote meter


class Scenario(_Strict):
    name: str
    description: str = ""
    run: Run = Run()
    stations: Stations = Stations()
    classes: dict[str, CustomerClass]
    meters: Meters = Meters()
    reading: Reading = Reading()
    billing: Billing = Billing()
    behaviour: Behaviour
    channels: dict[str, Channel]
    dunning: Dunning
    credit: Credit = Credit()
    assessment: Assessment = Assessment()
    negotiation: Negotiation = Negotiation()
    funds: Funds = Funds()
    staff: Staff = Staff()

    @model_validator(mode="after")
    def _check(self) -> Scenario:
        if tuple(self.classes) != CLASSES:
            raise ValueError(f"classes must be exactly {', '.join(CLASSES)} in this order")
        total = sum(c.share for c in self.classes.values())
        if abs(total - 1.0) > 1e-9:
            raise ValueError(f"class shares must sum to 1, got {total}")
        total = sum(c.share for c in self.channels.values())
        if abs(total - 1.0) > 1e-9:
            raise ValueError(f"channel shares must sum to 1, got {total}")
        if self.stations.urban + self.stations.rural < 1:
            raise ValueError("a county needs at least one station")
        # staff.channel_minutes, when set, names channels of this scenario (a typo would
        # silently take no staff time); the default names the usual counter channels
        unknown = set(self.staff.channel_minutes) - set(self.channels)
        if "channel_minutes" in self.staff.model_fields_set and unknown:
            raise ValueError(
                f"staff.channel_minutes: {', '.join(sorted(unknown))} not a channel; "
                f"expected some of {', '.join(self.channels)}"
            )
        return self


def _format_error(source: str, exc: ValidationError, origin: _Origin | None = None) -> str:
    lines = []
    for err in exc.errors():
        path = ".".join(str(p) for p in err["loc"]) or "(top level)"
        got = err.get("input")
        got_s = "" if isinstance(got, dict) else f" (got {got!r})"
        where = origin(tuple(err["loc"])) if origin else source
        lines.append(f"{where}: {path}: {err['msg']}{got_s}")
    return "\n".join(lines)


#: Maps an error's key path to the file (or override) that gave the value.
_Origin = Callable[[tuple[Any, ...]], str]


def parse_scenario(
    data: dict[str, Any], source: str = "<scenario>", origin: _Origin | None = None
) -> Scenario:
    """Validate a scenario mapping; raise :class:`ScenarioError` naming key paths.

    Besides the schema, the checks that ``m2c run`` needs are made here
    (:func:`runnable_problems`: tariff names, the start date, int64 headroom),
    so a scenario that validates is one that runs. ``origin`` names the file
    that set a key (a parent's error is reported under the parent's name).
    """
    try:
        sc = Scenario.model_validate(data)
    except ValidationError as exc:
        raise ScenarioError(_format_error(source, exc, origin)) from None
    problems = runnable_problems(sc)
    if problems:
        raise ScenarioError(
            "\n".join(
                f"{origin(loc) if origin else source}: {'.'.join(map(str, loc))}: {msg}"
                for loc, msg in problems
            )
        )
    return sc


# --- what a run needs beyond the schema (issue 13: validate accepts only what runs) -----

#: Largest |Z| the counter-based RNG's Box-Muller normal can return: the uniform has
#: 53 bits, so -2 ln(1 - u1) <= 2 x 53 ln 2 (core/rng.py ``normal``).
Z_MAX = math.sqrt(2 * 53 * math.log(2))
#: Largest customer and day consumption factors (sim/consumption.py: lognormal level,
#: sigma 0.35, and day factor, sigma 0.15, at Z_MAX): about 19.5 x 3.6 = 70.
CONSUMPTION_FACTOR_MAX = math.exp(0.35 * Z_MAX) * math.exp(0.15 * Z_MAX)
#: Largest integer in any other count, day or multiple (int32 range): every such
#: value is added to or multiplied with day numbers and fen amounts in int64 kernels
#: whose other factor is below 2^31 as well, so no product or sum over a run overflows.
MAX_COUNT = 2**31 - 1


def _walk(node: Any, loc: tuple[Any, ...]) -> Iterator[tuple[tuple[Any, ...], str, Any]]:
    """Every leaf value of a validated scenario: (key path, field name, value)."""
    if isinstance(node, BaseModel):
        for name in type(node).model_fields:
            yield from _walk(getattr(node, name), (*loc, name))
    elif isinstance(node, dict):
        for k, v in node.items():
            yield from _walk(v, (*loc, k))
    elif isinstance(node, list | tuple):
        for i, v in enumerate(node):
            yield from _walk(v, (*loc, i))
    else:
        name = next((p for p in reversed(loc) if isinstance(p, str)), "")
        yield loc, name, node


def runnable_problems(sc: Scenario) -> list[tuple[tuple[Any, ...], str]]:
    """What would stop ``m2c run`` (or make it wrong) in a schema-valid scenario.

    Returns ``(key path, message)`` pairs; empty when the scenario can run. Checks:

    * ``run.start`` is a calendar date (``YYYY-MM-DD`` that exists);
    * every class's tariff is a bundled tariff;
    * every float is finite; every ``*_yuan`` amount is a whole number of fen and
      at most ``MAX_FEN`` (core/units.py: 10^13 fen);
    * every other integer is at most :data:`MAX_COUNT`;
    * int64 headroom of a bill line (core/units.py ``MAX_LINE_UNITS``, 9 223 372
      currency units a month): a class's ``kwh_per_day`` x 31 days x its largest
      ``season`` factor x :data:`CONSUMPTION_FACTOR_MAX` x its tariff's largest
      energy price, and its largest ``capacity_kva`` x the largest basic price,
      must each stay within that bound. The message gives the bound.
    """
    from m2c.core import units as U

    out: list[tuple[tuple[Any, ...], str]] = []
    try:
        ok = len(sc.run.start) == 10 and dt.date.fromisoformat(sc.run.start) is not None
    except ValueError as exc:
        ok, why = False, f" ({exc})"
    else:
        why = ""
    if not ok:
        out.append((("run", "start"), f"expected a date YYYY-MM-DD, got {sc.run.start!r}{why}"))
    for loc, name, v in _walk(sc, ()):
        if isinstance(v, bool):
            continue
        if isinstance(v, float) and not math.isfinite(v):
            out.append((loc, f"expected a finite number, got {v!r}"))
        elif name.endswith("_yuan"):
            try:
                fen = U.exact_scaled(v, U.FEN_PER_YUAN, "amount")
            except ValueError:
                out.append((loc, f"expected a whole number of fen (0.01 yuan), got {v!r}"))
                continue
            if fen > U.MAX_FEN:
                out.append(
                    (loc, f"expected at most {U.MAX_FEN // U.FEN_PER_YUAN:.0e} yuan, got {v!r}")
                )
        elif isinstance(v, int) and v > MAX_COUNT:
            out.append((loc, f"expected at most {MAX_COUNT} (int64 headroom), got {v!r}"))
    out.extend(_tariff_problems(sc))
    return out


def _tariff_problems(sc: Scenario) -> list[tuple[tuple[Any, ...], str]]:
    """Unknown tariff names and the int64 headroom of each class's bill lines."""
    from m2c.core import units as U
    from m2c.core.tariffs import bundled_tariff, bundled_tariff_names, compile_tariffs

    known = bundled_tariff_names()
    out: list[tuple[tuple[Any, ...], str]] = []
    # opening arrears = months x 30 x a class's typical daily charge (sim/inputs.py
    # opening_state), at most MAX_FEN per customer: bounded by the costliest class
    daily_fen = {}
    for klass, c in sc.classes.items():
        loc = ("classes", klass)
        if c.tariff not in known:
            out.append(
                (
                    (*loc, "tariff"),
                    f"unknown tariff {c.tariff!r}; expected one of {', '.join(known)}",
                )
            )
            continue
        a = compile_tariffs([bundled_tariff(c.tariff)]).arrays
        energy = max(int(a.e_price.max()), 1) / U.NANO_PER_UNIT  # units per kWh
        basic = max(int(a.basic_kva.max()), 1) / U.NANO_PER_UNIT  # units per kVA-month
        daily_fen[klass] = c.kwh_per_day * energy * U.FEN_PER_YUAN
        if not all(map(math.isfinite, c.season)):
            continue
        peak = 31 * max(max(c.season), 1e-9) * CONSUMPTION_FACTOR_MAX * energy
        bound = U.MAX_LINE_UNITS / peak
        if c.kwh_per_day > bound:
            out.append(
                (
                    (*loc, "kwh_per_day"),
                    f"expected at most {bound:.6g} kWh/day with tariff {c.tariff!r} (int64 "
                    f"headroom of a month's energy line, {U.MAX_LINE_UNITS:,} units: 31 days x "
                    f"season {max(c.season):g} x consumption factor up to "
                    f"{CONSUMPTION_FACTOR_MAX:.1f} x {energy:g}/kWh), got {c.kwh_per_day!r}",
                )
            )
        cap_bound = int(U.MAX_LINE_UNITS / basic)
        if max(c.capacity_kva) > cap_bound:
            out.append(
                (
                    (*loc, "capacity_kva"),
                    f"expected at most {cap_bound:,} kVA with tariff {c.tariff!r} (int64 "
                    f"headroom of a month's basic charge at {basic:g}/kVA), "
                    f"got {max(c.capacity_kva)}",
                )
            )
    if daily_fen:
        klass, fen = max(daily_fen.items(), key=lambda kv: kv[1])
        months = sc.behaviour.opening_arrears_months
        bound = U.MAX_FEN / (30 * max(fen, 1e-9))
        if math.isfinite(fen) and months > bound:
            out.append(
                (
                    ("behaviour", "opening_arrears_months"),
                    f"expected at most {bound:.6g} months (a {klass} customer's opening "
                    f"arrears, 30 days x {fen:g} fen/day each month, must stay within "
                    f"{U.MAX_FEN:.0e} fen), got {months!r}",
                )
            )
    return out


def bundled_scenario_names() -> list[str]:
    """Names of the scenarios shipped with m2c (``scenarios/*.toml``)."""
    files = resources.files("m2c.scenarios")
    return sorted(p.name[:-5] for p in files.iterdir() if p.name.endswith(".toml"))


def _locate(spec: str | Path, base_dir: Path | None) -> tuple[Path | None, str]:
    """A scenario spec as (file path, source name) or (None, bundled name).

    A relative file name in ``extends`` is resolved against ``base_dir`` (the
    folder of the file that extends it), never against the current directory.
    """
    path = Path(spec)
    if base_dir is not None and not path.is_absolute():
        path = base_dir / path
    if path.suffix == ".toml" or path.exists():
        if not path.is_file():
            raise ScenarioError(f"{path}: no such scenario file")
        return path, str(path)
    if str(spec) in bundled_scenario_names():
        return None, f"scenarios/{spec}.toml"
    raise ScenarioError(
        f"{spec}: not a scenario file and not a bundled scenario "
        f"({', '.join(bundled_scenario_names())})"
    )


def _read(path: Path | None, spec: str | Path, source: str) -> dict[str, Any]:
    if path is None:
        raw = (resources.files("m2c.scenarios") / f"{spec}.toml").read_bytes()
    else:
        try:
            raw = path.read_bytes()
        except OSError as exc:
            raise ScenarioError(f"{source}: cannot read the file ({exc.strerror})") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ScenarioError(
            f"{source}: not a scenario (TOML) file: byte 0x{raw[exc.start]:02x} at offset "
            f"{exc.start} is not UTF-8 text"
        ) from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ScenarioError(f"{source}: not valid TOML: {exc}") from None


def scenario_chain(spec: str | Path) -> list[tuple[str, dict[str, Any]]]:
    """The scenario and its ``extends`` ancestors: ``(source, raw mapping)``, child first.

    Raises
    ------
    ScenarioError
        For a missing, binary or invalid file, a bad ``extends`` value or a cycle
        (the message lists the files of the cycle).
    """
    chain: list[tuple[str, dict[str, Any]]] = []
    seen: list[str] = []
    base_dir: Path | None = None
    here: str | Path = spec
    while True:
        try:
            path, source = _locate(here, base_dir)
        except ScenarioError as exc:
            if not chain:
                raise
            raise ScenarioError(f"{chain[-1][0]}: extends: {exc}") from None
        key = str(path.resolve()) if path is not None else f"bundled:{here}"
        if key in seen:
            names = [s for s, _ in chain[seen.index(key) :]] + [source]
            raise ScenarioError(f"{chain[-1][0]}: extends: cycle {' -> '.join(names)}")
        seen.append(key)
        data = _read(path, here, source)
        parent = data.pop("extends", None)
        chain.append((source, data))
        if parent is None:
            return chain
        if not isinstance(parent, str) or not parent:
            raise ScenarioError(f"{source}: extends: expected a scenario name, got {parent!r}")
        # a bundled scenario's parent is a bundled name; a file's parent is relative to it
        base_dir = path.parent if path is not None else None
        here = parent


def scenario_source(spec: str | Path) -> tuple[dict[str, Any], str]:
    """Read a scenario's raw mapping (``extends`` merged) from a bundled name or a TOML path."""
    chain = scenario_chain(spec)
    data: dict[str, Any] = {}
    for _, raw in reversed(chain):
        data = _merge(data, raw)
    return data, chain[0][0]


def _has(data: Any, loc: tuple[Any, ...]) -> bool:
    for part in loc:
        if isinstance(data, dict) and part in data:
            data = data[part]
        else:
            return isinstance(data, list) and loc != ()  # a list is set whole by one file
    return True


def _origin(chain: list[tuple[str, dict[str, Any]]], overrides: dict[str, Any] | None) -> _Origin:
    """The file (child first) or override that set a key path; the child when none did."""

    def origin(loc: tuple[Any, ...]) -> str:
        dotted = ".".join(map(str, loc))
        for key in overrides or {}:
            if dotted == key or dotted.startswith(key + "."):
                return f"{chain[0][0]} (override {key})"
        # the deepest key path some file sets, searched from the child up
        for depth in range(len(loc), 0, -1):
            for source, raw in chain:
                if _has(raw, loc[:depth]):
                    return source
        return chain[0][0]

    return origin


def _merge(base: dict[str, Any], top: dict[str, Any]) -> dict[str, Any]:
    """Deep-merge ``top`` over ``base`` (tables merge, everything else replaces)."""
    out = copy.deepcopy(base)
    for key, value in top.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def apply_overrides(data: dict[str, Any], overrides: dict[str, Any]) -> dict[str, Any]:
    """Return a copy of ``data`` with dotted keys set, e.g. ``{"dunning.approval_days": 3}``.

    The path must exist in the scenario or in the schema's defaults (so a
    typo is an error, not a silently ignored parameter).
    """
    out = copy.deepcopy(data)
    for key, value in overrides.items():
        parts = key.split(".")
        node: Any = out
        model: Any = Scenario
        for j, part in enumerate(parts):
            last = j == len(parts) - 1
            fields = getattr(model, "model_fields", None)
            if fields is not None and part not in fields:
                raise ScenarioError(
                    f"override {key}: unknown key {part!r}; expected one of {', '.join(fields)}"
                )
            if fields is not None:
                ann = fields[part].annotation
                model = ann if isinstance(ann, type) and issubclass(ann, BaseModel) else None
            if last:
                node[part] = value
            else:
                node = node.setdefault(part, {})
                if not isinstance(node, dict):
                    raise ScenarioError(f"override {key}: {part!r} is not a table")
    return out


def load_scenario(spec: str | Path, overrides: dict[str, Any] | None = None) -> Scenario:
    """Load and validate a bundled scenario name or a TOML file, with optional overrides.

    An error names the file that set the offending key (a parent's error under
    the parent's file name), the key path and what was expected.
    """
    chain = scenario_chain(spec)
    data: dict[str, Any] = {}
    for _, raw in reversed(chain):
        data = _merge(data, raw)
    if overrides:
        data = apply_overrides(data, overrides)
    return parse_scenario(data, chain[0][0], _origin(chain, overrides))
