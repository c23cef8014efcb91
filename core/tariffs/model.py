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
* **fixed** monthly charge (or per day), **monthly** (or per day) and
  **annual minimum** charges;
* **power-factor adjustment** against a 0.90 / 0.85 / 0.80 standard;
* a **reactive demand** charge per kvar of the month's maximum reactive demand;
* **coincident demand**: the customer's demand in the system-peak hours
  (given to :func:`~m2c.core.billing.bill_interval`), per coincident period
  of a 12x24 schedule, tiered.

Units (core/units.py): energy tier bounds in Wh per month (or per year for
annual blocks; per day, per kW of peak or per kW per day when
``energy_tier_basis`` says so), demand tier bounds in W of demand (the
billed demand unit is ``demand_unit_w`` watts: 1000 for kW, 746 for hp),
prices in nano-units of currency (``*_nu``, 1e-9 CNY or USD) per kWh or per
demand unit (kVA, kvar) per month; fixed and minimum charges in fen.

Every loader (Python, TOML, URDB) goes through :class:`Tariff`, which refuses
what could bill wrong without a word: a bounded last tier (usage above it
would be billed at zero), a negative price, a price beyond
:data:`m2c.core.units.MAX_PRICE_NU`, a charge beyond :data:`m2c.core.units.MAX_FEN`.

Example (a flat 0.5 CNY/kWh tariff with a 5 CNY fixed charge)::

    >>> from m2c.core.tariffs.model import Tariff, Tier
    >>> t = Tariff(name="flat", energy_periods=((Tier(None, 500_000_000),),), fixed_fen=500)
    >>> t.n_energy_periods
    1
"""

from __future__ import annotations

from dataclasses import dataclass, field

from m2c.core.units import MAX_BOUND, MAX_FEN, ROUNDING_MODES, check_price_nu

BLOCK_BASES = ("none", "monthly", "annual")
PF_STANDARDS = (0, 80, 85, 90)
#: What an energy tier bound ``upto_wh`` is counted in (URDB tier units):
#: Wh per month, Wh per day of the month, Wh per kW of the month's peak
#: demand (hours-use x 1000), Wh per kW per day.
TIER_BASES = ("kWh", "kWh daily", "kWh/kW", "kWh/kW daily")
#: What energy tier bounds apply to: each period's own energy of the month
#: ("period"), or the month's total energy over all periods, each period
#: billing its share of every tier at its own prices ("month": the URDB reading,
#: as SAM bills it).
TIER_SCOPES = ("period", "month")


@dataclass(frozen=True)
class Tier:
    """An energy tier: up to ``upto_wh`` (cumulative, None = unbounded), ``price_nu``/kWh."""

    upto_wh: int | None
    price_nu: int


@dataclass(frozen=True)
class Block:
    """A block on total consumption: up to ``upto_wh`` cumulative, adding ``adder_nu`` per kWh."""

    upto_wh: int | None
    adder_nu: int


@dataclass(frozen=True)
class DemandTier:
    """A demand tier: up to ``upto_w`` W (None = unbounded), ``price_nu`` per demand unit·month."""

    upto_w: int | None
    price_nu: int


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
    basic_nu_per_kva: int = 0
    basic_nu_per_kw: int = 0
    fixed_fen: int = 0
    min_monthly_fen: int = 0
    min_annual_fen: int = 0
    energy_tier_basis: tuple[str, ...] = ()
    tier_scope: str = "period"
    demand_unit_w: int = 1000
    fixed_daily_nu: int = 0
    min_daily_nu: int = 0
    reactive_demand_nu_per_kvar: int = 0
    demand_window_min: int = 0
    coincident_periods: tuple[tuple[DemandTier, ...], ...] = ()
    coincident_schedule: tuple[tuple[int, ...], ...] | None = None
    unbilled: tuple[str, ...] = ()
    pf_standard: int = 0
    rounding: str = "half_up"
    currency: str = "CNY"
    notes: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        where = f"tariff {self.name!r}"
        if not self.energy_periods:
            raise ValueError(f"{where}: energy_periods must list at least one period")
        for p, tiers in enumerate(self.energy_periods):
            _check_tiers(tiers, f"{where}: energy period {p}", "upto_wh")
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
            _check_tiers(self.blocks, f"{where}: blocks", "upto_wh")
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
        for p, tiers in enumerate(self.coincident_periods):
            _check_tiers(tiers, f"{where}: coincident period {p}", "upto_w")
        if self.coincident_periods:
            if self.coincident_schedule is None:
                raise ValueError(f"{where}: coincident_periods need coincident_schedule")
            _check_schedule(
                self.coincident_schedule,
                len(self.coincident_periods),
                f"{where}: coincident_schedule",
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
            "basic_nu_per_kva",
            "basic_nu_per_kw",
            "fixed_daily_nu",
            "min_daily_nu",
            "reactive_demand_nu_per_kvar",
        ):
            _check_int(getattr(self, name), f"{where}: {name}")
            check_price_nu(getattr(self, name), f"{where}: {name}")
        for name in ("fixed_fen", "min_monthly_fen", "min_annual_fen"):
            v = getattr(self, name)
            _check_int(v, f"{where}: {name}")
            if not 0 <= v <= MAX_FEN:
                raise ValueError(f"{where}: {name} must be 0..{MAX_FEN} fen, got {v}")
        if self.energy_tier_basis:
            if len(self.energy_tier_basis) != len(self.energy_periods):
                raise ValueError(
                    f"{where}: energy_tier_basis needs one entry per energy period "
                    f"({len(self.energy_periods)}), got {len(self.energy_tier_basis)}"
                )
            for p, b in enumerate(self.energy_tier_basis):
                if b not in TIER_BASES:
                    raise ValueError(
                        f"{where}: energy_tier_basis[{p}] must be one of {TIER_BASES}, got {b!r}"
                    )
        if self.tier_scope not in TIER_SCOPES:
            raise ValueError(
                f"{where}: tier_scope must be one of {TIER_SCOPES}, got {self.tier_scope!r}"
            )
        if self.demand_window_min not in (0, 5, 10, 15, 20, 30, 60):
            raise ValueError(
                f"{where}: demand_window_min must be 0 (the data's step) or a divisor of 60 "
                f"minutes, got {self.demand_window_min}"
            )
        if not 1 <= self.demand_unit_w <= 1_000_000:
            raise ValueError(
                f"{where}: demand_unit_w must be 1..1000000 W per billed unit (1000 for kW, "
                f"746 for hp), got {self.demand_unit_w}"
            )
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


def _check_int(v, where: str) -> None:
    if isinstance(v, bool) or not isinstance(v, int):
        raise ValueError(f"{where} must be an integer (exact units), got {v!r}")


def _check_tiers(tiers, where: str, bound: str) -> None:
    if not tiers:
        raise ValueError(f"{where}: needs at least one tier")
    last = 0
    for k, tier in enumerate(tiers):
        upto = getattr(tier, bound)
        price = tier.adder_nu if isinstance(tier, Block) else tier.price_nu
        _check_int(price, f"{where}, tier {k}: price")
        check_price_nu(price, f"{where}, tier {k}: price")
        if upto is None:
            if k != len(tiers) - 1:
                raise ValueError(f"{where}, tier {k}: only the last tier may be unbounded")
            continue
        _check_int(upto, f"{where}, tier {k}: {bound}")
        if k == len(tiers) - 1:
            # Usage above a bounded last tier would be billed at zero.
            raise ValueError(
                f"{where}, tier {k}: the last tier must be unbounded ({bound}=None), got "
                f"{upto}: usage above it would not be billed"
            )
        if upto > MAX_BOUND:
            raise ValueError(f"{where}, tier {k}: {bound} = {upto} is beyond the bound {MAX_BOUND}")
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
