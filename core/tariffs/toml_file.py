"""The TOML tariff format (for Chinese tariffs) and the bundled tariffs.

Human units in the file — prices in CNY per kWh, per kVA·month or per
kW·month; energy bounds in kWh; demand bounds in kW; charges in CNY — are
converted exactly (decimal, no float rounding) to m2c's integer units
(prices in nano-units, bounds in Wh and W); a value finer than the unit
(e.g. 0.0000000001 CNY/kWh) is refused, and so are a bounded last tier, a
negative price, a price beyond the int64 headroom bound
(core/units.py ``MAX_PRICE_NU``) and two periods claiming the same hour.
Example::

    name = "commercial_flat"
    [[periods]]
    name = "flat"
    tiers = [{ price = 0.8 }]
    [charges]
    fixed_monthly = 10.0

A period with ``hours`` (0..23) owns those hours of every day (optionally
only in ``months`` 1..12); the one period without ``hours`` takes every
other hour. Bundled files live in ``core/tariffs/data/``; see
:func:`bundled_tariff` and :func:`bundled_tariff_names`.
"""

from __future__ import annotations

import tomllib
from importlib import resources
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from m2c.core.tariffs.model import Block, DemandTier, Tariff, Tier
from m2c.core.units import W_PER_KW, WH_PER_KWH, exact_scaled, price_to_nu, yuan_to_fen


class TariffFileError(ValueError):
    """A tariff file is invalid; the message names the file, key path and expectation."""


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class _EnergyTier(_Model):
    upto_kwh: float | None = Field(None, gt=0, description="cumulative monthly kWh bound")
    price: float = Field(ge=0, description="CNY per kWh")


class _Period(_Model):
    name: str
    hours: list[int] | None = None
    months: list[int] | None = None
    tiers: list[_EnergyTier] = Field(min_length=1)

    @model_validator(mode="after")
    def _check(self):
        for h in self.hours or []:
            if not 0 <= h <= 23:
                raise ValueError(f"hours must be 0..23, got {h}")
        for m in self.months or []:
            if not 1 <= m <= 12:
                raise ValueError(f"months must be 1..12, got {m}")
        if self.months is not None and self.hours is None:
            raise ValueError("months needs hours")
        return self


class _BlockTier(_Model):
    upto_kwh: float | None = Field(None, gt=0)
    adder: float = Field(ge=0, description="CNY per kWh added to the period price")


class _Blocks(_Model):
    basis: Literal["monthly", "annual"]
    tiers: list[_BlockTier] = Field(min_length=1)


class _DemandTier(_Model):
    upto_kw: float | None = Field(None, gt=0)
    price: float = Field(ge=0, description="CNY per kW per month")


class _DemandPeriod(_Model):
    name: str
    hours: list[int] | None = None
    tiers: list[_DemandTier] = Field(min_length=1)


class _FlatDemand(_Model):
    months: list[int] = Field(default_factory=lambda: list(range(1, 13)))
    tiers: list[_DemandTier] = Field(min_length=1)


class _Basic(_Model):
    per_kva_month: float = Field(0, ge=0, description="CNY per kVA of capacity per month")
    per_kw_month: float = Field(0, ge=0, description="CNY per kW of maximum demand per month")


class _Charges(_Model):
    fixed_monthly: float = Field(0, ge=0)
    min_monthly: float = Field(0, ge=0)
    min_annual: float = Field(0, ge=0)


class _PowerFactor(_Model):
    standard: Literal[0.9, 0.85, 0.8]


class _TariffFile(_Model):
    name: str
    description: str = ""
    currency: str = "CNY"
    rounding: Literal["half_up", "half_even"] = "half_up"
    periods: list[_Period] = Field(min_length=1)
    blocks: _Blocks | None = None
    demand_periods: list[_DemandPeriod] = Field(default_factory=list)
    flat_demand: _FlatDemand | None = None
    basic: _Basic = _Basic()
    charges: _Charges = _Charges()
    power_factor: _PowerFactor | None = None


def _kwh(x: float | None, where: str) -> int | None:
    return None if x is None else exact_scaled(x, WH_PER_KWH, f"{where}: upto_kwh")


def _w(x: float | None, where: str) -> int | None:
    return None if x is None else exact_scaled(x, W_PER_KW, f"{where}: upto_kw")


def _schedule(periods, where: str) -> tuple[tuple[int, ...], ...]:
    defaults = [i for i, p in enumerate(periods) if p.hours is None]
    if len(defaults) != 1:
        raise ValueError(f"{where}: exactly one period must have no 'hours' (it takes the rest)")
    grid = [[defaults[0]] * 24 for _ in range(12)]
    owner: dict[tuple[int, int], int] = {}
    for i, p in enumerate(periods):
        # demand periods have no `months` key: they apply in every month
        months = getattr(p, "months", None) or range(1, 13)
        for m in months if p.hours is not None else []:
            for h in p.hours:
                j = owner.get((m, h))
                if j is not None and j != i:
                    both = sorted(set(p.hours) & set(periods[j].hours))
                    raise ValueError(
                        f"{where}: periods {periods[j].name!r} and {p.name!r} both claim "
                        f"hours {both} (month {m}): each hour must belong to one period"
                    )
                owner[(m, h)] = i
                grid[m - 1][h] = i
    return tuple(tuple(row) for row in grid)


def _to_tariff(f: _TariffFile) -> Tariff:
    def price(x, where):
        return price_to_nu(x, where)

    periods = tuple(
        tuple(
            Tier(
                _kwh(t.upto_kwh, f"periods[{i}].tiers[{k}]"),
                price(t.price, f"periods[{i}].tiers[{k}].price"),
            )
            for k, t in enumerate(p.tiers)
        )
        for i, p in enumerate(f.periods)
    )
    sched = _schedule(f.periods, "periods")
    blocks = ()
    if f.blocks:
        blocks = tuple(
            Block(
                _kwh(b.upto_kwh, f"blocks.tiers[{k}]"), price(b.adder, f"blocks.tiers[{k}].adder")
            )
            for k, b in enumerate(f.blocks.tiers)
        )
    dperiods, dsched = (), None
    if f.demand_periods:
        dperiods = tuple(
            tuple(
                DemandTier(
                    _w(t.upto_kw, f"demand_periods[{i}].tiers[{k}]"),
                    price(t.price, f"demand_periods[{i}].tiers[{k}].price"),
                )
                for k, t in enumerate(p.tiers)
            )
            for i, p in enumerate(f.demand_periods)
        )
        dsched = _schedule(f.demand_periods, "demand_periods")
    flat, flat_months = (), ()
    if f.flat_demand:
        tiers = f.flat_demand.tiers
        flat = (
            tuple(
                DemandTier(
                    _w(t.upto_kw, f"flat_demand.tiers[{k}]"),
                    price(t.price, f"flat_demand.tiers[{k}].price"),
                )
                for k, t in enumerate(tiers)
            ),
        )
        flat_months = tuple(0 if m + 1 in f.flat_demand.months else -1 for m in range(12))
    return Tariff(
        name=f.name,
        energy_periods=periods,
        weekday_schedule=sched,
        blocks=blocks,
        block_basis=f.blocks.basis if f.blocks else "none",
        demand_periods=dperiods,
        demand_weekday_schedule=dsched,
        flat_demand=flat,
        flat_demand_months=flat_months,
        basic_nu_per_kva=price(f.basic.per_kva_month, "basic.per_kva_month"),
        basic_nu_per_kw=price(f.basic.per_kw_month, "basic.per_kw_month"),
        fixed_fen=yuan_to_fen(f.charges.fixed_monthly),
        min_monthly_fen=yuan_to_fen(f.charges.min_monthly),
        min_annual_fen=yuan_to_fen(f.charges.min_annual),
        pf_standard=int(round(f.power_factor.standard * 100)) if f.power_factor else 0,
        rounding=f.rounding,
        currency=f.currency,
        notes=(f.description,) if f.description else (),
    )


def _format_errors(source: str, exc: ValidationError) -> str:
    lines = [f"{source}: invalid tariff"]
    for err in exc.errors():
        path = ".".join(str(x) for x in err["loc"]) or "(top level)"
        lines.append(f"  {path}: {err['msg']} (got {err.get('input')!r})")
    return "\n".join(lines)


def parse_tariff_toml(text: str, source: str = "<string>") -> Tariff:
    """Parse TOML text into a :class:`Tariff`; errors name ``source`` and the key path."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise TariffFileError(f"{source}: not valid TOML: {exc}") from None
    try:
        model = _TariffFile.model_validate(data)
    except ValidationError as exc:
        raise TariffFileError(_format_errors(source, exc)) from None
    try:
        return _to_tariff(model)
    except ValueError as exc:
        raise TariffFileError(f"{source}: {exc}") from None


def load_tariff_toml(path: str | Path) -> Tariff:
    """Load a TOML tariff file."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as exc:
        raise TariffFileError(f"{p}: cannot read tariff file: {exc.strerror}") from None
    except UnicodeDecodeError as exc:
        raise TariffFileError(
            f"{p}: not a TOML tariff file: not UTF-8 text (byte {exc.start}: {exc.reason})"
        ) from None
    if "\x00" in text:
        raise TariffFileError(f"{p}: not a TOML tariff file: it contains NUL bytes (binary data)")
    return parse_tariff_toml(text, str(p))


def _bundled_dir():
    return resources.files("m2c.core.tariffs") / "data"


def bundled_tariff_names() -> list[str]:
    """Names of the bundled TOML tariffs."""
    return sorted(p.name[:-5] for p in _bundled_dir().iterdir() if p.name.endswith(".toml"))


def bundled_tariff(name: str) -> Tariff:
    """A bundled tariff by name (see :func:`bundled_tariff_names`)."""
    f = _bundled_dir() / f"{name}.toml"
    if not f.is_file():
        raise KeyError(f"no bundled tariff {name!r}; bundled: {bundled_tariff_names()}")
    return parse_tariff_toml(f.read_text(encoding="utf-8"), f"bundled tariff {name}.toml")
