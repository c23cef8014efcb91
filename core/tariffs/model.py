"""Tariff descriptions: what a utility charges for, in exact integer units.

A :class:`Tariff` is plain data (frozen dataclasses) that
:func:`m2c.core.tariffs.compiled.compile_tariffs` turns into flat arrays for the
kernels. It expresses every element met in practice (../shared/DOMAIN.md
"Bill"):

* **energy** by period (``energy_periods``), each period with tiers on the
  month's energy *in that period* (URDB style); 12x24 weekday and weekend
  schedules map (month, hour) to a period, so seasons are just periods;
* **block tiers on total consumption** (``blocks``), monthly or annual
  cumulative (Chinese residential 阶梯电价: adders on top of the period price);
* **demand**: monthly maximum demand, flat (``flat_demand`` chosen per month by
  ``flat_demand_months``) and per TOU demand period, both tiered;
* **two-part basic charge** per kVA of capacity or per kW of maximum demand;
* **fixed** monthly charge, **monthly** and **annual minimum** charges;
* **power-factor adjustment** against a 0.90 / 0.85 / 0.80 standard.

Units: energy tier bounds in centi-kWh per month (or per year for annual
blocks), demand tier bounds in watts, prices in micro-units of currency per
kWh (``*_uy``) or per kW / kVA per month; fixed and minimum charges in fen.

Example (a flat 0.5 CNY/kWh tariff with a 5 CNY fixed charge)::

    >>> from m2c.core.tariffs.model import Tariff, Tier
    >>> t = Tariff(name="flat", energy_periods=((Tier(None, 500_000),),), fixed_fen=500)
    >>> t.n_energy_periods
    1
"""

from __future__ import annotations

from dataclasses import dataclass, field

from m2c.core.units import ROUNDING_MODES

BLOCK_BASES = ("none", "monthly", "annual")
PF_STANDARDS = (0, 80, 85, 90)


@dataclass(frozen=True)
class Tier:
    """An energy tier: up to ``upto_ckwh`` (cumulative, None = unbounded), ``price_uy``/kWh."""

    upto_ckwh: int | None
    price_uy: int


@dataclass(frozen=True)
class Block:
    """A block on total consumption: up to ``upto_ckwh`` cumulative, adding ``adder_uy`` per kWh."""

    upto_ckwh: int | None
    adder_uy: int


@dataclass(frozen=True)
class DemandTier:
    """A demand tier: up to ``upto_w`` watts (None = unbounded) at ``price_uy`` per kW per month."""

    upto_w: int | None
    price_uy: int


def _flat_schedule() -> tuple[tuple[int, ...], ...]:
    return tuple(tuple(0 for _ in range(24)) for _ in range(12))


@dataclass(frozen=True)
class Tariff:
    """One tariff, in exact integer units (see the module docstring)."""

    name: str
    energy_periods: tuple[tuple[Tier, ...], ...]
    weekday_schedule: tuple[tuple[int, ...], ...] = field(default_factory=_flat_schedule)
    weekend_schedule: tuple[tuple[int, ...], ...] | None = None
    blocks: tuple[Block, ...] = ()
    block_basis: str = "none"
    demand_periods: tuple[tuple[DemandTier, ...], ...] = ()
    demand_weekday_schedule: tuple[tuple[int, ...], ...] | None = None
    demand_weekend_schedule: tuple[tuple[int, ...], ...] | None = None
    flat_demand: tuple[tuple[DemandTier, ...], ...] = ()
    flat_demand_months: tuple[int, ...] = ()
    basic_uy_per_kva: int = 0
    basic_uy_per_kw: int = 0
    fixed_fen: int = 0
    min_monthly_fen: int = 0
    min_annual_fen: int = 0
    pf_standard: int = 0
    rounding: str = "half_up"
    currency: str = "CNY"
    notes: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        where = f"tariff {self.name!r}"
        if not self.energy_periods:
            raise ValueError(f"{where}: energy_periods must list at least one period")
        for p, tiers in enumerate(self.energy_periods):
            _check_tiers(tiers, f"{where}: energy period {p}", "upto_ckwh")
        _check_schedule(
            self.weekday_schedule, len(self.energy_periods), f"{where}: weekday_schedule"
        )
        if self.weekend_schedule is not None:
            _check_schedule(
                self.weekend_schedule, len(self.energy_periods), f"{where}: weekend_schedule"
            )
        if self.block_basis not in BLOCK_BASES:
            raise ValueError(
                f"{where}: block_basis must be one of {BLOCK_BASES}, got {self.block_basis!r}"
            )
        if self.blocks and self.block_basis == "none":
            raise ValueError(f"{where}: blocks given but block_basis is 'none'")
        if self.blocks:
            _check_tiers(self.blocks, f"{where}: blocks", "upto_ckwh")
        for p, tiers in enumerate(self.demand_periods):
            _check_tiers(tiers, f"{where}: demand period {p}", "upto_w")
        if self.demand_periods:
            if self.demand_weekday_schedule is None:
                raise ValueError(f"{where}: demand_periods need demand_weekday_schedule")
            _check_schedule(
                self.demand_weekday_schedule,
                len(self.demand_periods),
                f"{where}: demand_weekday_schedule",
            )
            if self.demand_weekend_schedule is not None:
                _check_schedule(
                    self.demand_weekend_schedule,
                    len(self.demand_periods),
                    f"{where}: demand_weekend_schedule",
                )
        for p, tiers in enumerate(self.flat_demand):
            _check_tiers(tiers, f"{where}: flat demand structure {p}", "upto_w")
        if self.flat_demand:
            if len(self.flat_demand_months) != 12:
                raise ValueError(f"{where}: flat_demand_months must have 12 entries")
            for m, idx in enumerate(self.flat_demand_months):
                if not -1 <= idx < len(self.flat_demand):
                    raise ValueError(
                        f"{where}: flat_demand_months[{m}] = {idx}, expected -1 or "
                        f"0..{len(self.flat_demand) - 1}"
                    )
        for name in (
            "basic_uy_per_kva",
            "basic_uy_per_kw",
            "fixed_fen",
            "min_monthly_fen",
            "min_annual_fen",
        ):
            if getattr(self, name) < 0:
                raise ValueError(f"{where}: {name} must be >= 0, got {getattr(self, name)}")
        if self.pf_standard not in PF_STANDARDS:
            raise ValueError(
                f"{where}: pf_standard must be 0 (none), 80, 85 or 90 hundredths, "
                f"got {self.pf_standard}"
            )
        if self.rounding not in ROUNDING_MODES:
            raise ValueError(
                f"{where}: rounding must be one of {sorted(ROUNDING_MODES)}, got {self.rounding!r}"
            )

    @property
    def n_energy_periods(self) -> int:
        return len(self.energy_periods)

    @property
    def has_tou_demand(self) -> bool:
        return bool(self.demand_periods)


def _check_tiers(tiers, where: str, bound: str) -> None:
    if not tiers:
        raise ValueError(f"{where}: needs at least one tier")
    last = 0
    for k, tier in enumerate(tiers):
        upto = getattr(tier, bound)
        price = tier.adder_uy if isinstance(tier, Block) else tier.price_uy
        if not isinstance(price, int):
            raise ValueError(f"{where}, tier {k}: price must be an integer, got {price!r}")
        if upto is None:
            if k != len(tiers) - 1:
                raise ValueError(f"{where}, tier {k}: only the last tier may be unbounded")
            continue
        if upto <= last:
            raise ValueError(f"{where}, tier {k}: {bound} must increase (got {upto} after {last})")
        last = upto


def _check_schedule(schedule, n_periods: int, where: str) -> None:
    if len(schedule) != 12 or any(len(row) != 24 for row in schedule):
        raise ValueError(f"{where}: expected 12 rows (months) of 24 hours")
    for m, row in enumerate(schedule):
        for h, p in enumerate(row):
            if not 0 <= p < n_periods:
                raise ValueError(
                    f"{where}[{m}][{h}] = {p}: expected a period index 0..{n_periods - 1}"
                )
