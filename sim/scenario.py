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
import tomllib
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


class Stations(_Strict):
    """Supply stations (DOMAIN.md: a county has about 19, 2 urban + 17 rural)."""

    urban: int = Field(2, ge=0)
    rural: int = Field(17, ge=0)
    urban_share: float = Field(0.35, ge=0, le=1)  # share of customers in urban stations
    reading_day_urban: int = Field(3, ge=1, le=28)
    reading_day_rural: int = Field(1, ge=1, le=28)
    reading_day_spread: int = Field(6, ge=0, le=20)  # stations read on staggered days
    crews_urban: int = Field(4, ge=0)
    crews_rural: int = Field(2, ge=0)
    jobs_per_crew_day: int = Field(12, ge=1)


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
    opening_arrears_days: int = Field(120, ge=31)
    opening_arrears_months: float = Field(2.0, ge=0)
    segments: dict[str, Segment]

    @model_validator(mode="after")
    def _segments(self) -> Behaviour:
        if tuple(self.segments) != SEGMENTS:
            raise ValueError(f"segments must be exactly {', '.join(SEGMENTS)} in this order")
        total = sum(s.share for s in self.segments.values())
        if abs(total - 1.0) > 1e-9:
            raise ValueError(f"segment shares must sum to 1, got {total}")
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


class Assessment(_Strict):
    per_customer: bool = False


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
        return self


def _format_error(source: str, exc: ValidationError) -> str:
    lines = []
    for err in exc.errors():
        path = ".".join(str(p) for p in err["loc"]) or "(top level)"
        got = err.get("input")
        got_s = "" if isinstance(got, dict) else f" (got {got!r})"
        lines.append(f"{source}: {path}: {err['msg']}{got_s}")
    return "\n".join(lines)


def parse_scenario(data: dict[str, Any], source: str = "<scenario>") -> Scenario:
    """Validate a scenario mapping; raise :class:`ScenarioError` naming key paths."""
    try:
        return Scenario.model_validate(data)
    except ValidationError as exc:
        raise ScenarioError(_format_error(source, exc)) from None


def bundled_scenario_names() -> list[str]:
    """Names of the scenarios shipped with m2c (``scenarios/*.toml``)."""
    files = resources.files("m2c.scenarios")
    return sorted(p.name[:-5] for p in files.iterdir() if p.name.endswith(".toml"))


def scenario_source(spec: str | Path) -> tuple[dict[str, Any], str]:
    """Read a scenario's raw mapping from a bundled name or a TOML path."""
    path = Path(spec)
    if path.suffix == ".toml" or path.exists():
        if not path.is_file():
            raise ScenarioError(f"{path}: no such scenario file")
        text, source = path.read_text(encoding="utf-8"), str(path)
    elif str(spec) in bundled_scenario_names():
        ref = resources.files("m2c.scenarios") / f"{spec}.toml"
        text, source = ref.read_text(encoding="utf-8"), f"scenarios/{spec}.toml"
    else:
        raise ScenarioError(
            f"{spec}: not a scenario file and not a bundled scenario "
            f"({', '.join(bundled_scenario_names())})"
        )
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ScenarioError(f"{source}: not valid TOML: {exc}") from None
    parent = data.pop("extends", None)
    if parent is None:
        return data, source
    if not isinstance(parent, str):
        raise ScenarioError(f"{source}: extends: expected a scenario name, got {parent!r}")
    if parent == str(spec) or Path(parent).stem == path.stem:
        raise ScenarioError(f"{source}: extends: a scenario cannot extend itself")
    base, _ = scenario_source(parent)
    return _merge(base, data), source


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
    """Load and validate a bundled scenario name or a TOML file, with optional overrides."""
    data, source = scenario_source(spec)
    if overrides:
        data = apply_overrides(data, overrides)
    return parse_scenario(data, source)
