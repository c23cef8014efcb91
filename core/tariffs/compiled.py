"""Compiled tariffs: flat int64 arrays that kernels index by tariff id.

:func:`compile_tariffs` turns a list of :class:`~m2c.core.tariffs.model.Tariff` into a
:class:`TariffTable`; tariff id = position in the list. The kernels receive
``table.arrays`` (a :class:`TariffArrays` named tuple of NumPy arrays, the
only thing Numba sees). Layout (T tariffs; P, K, ... padded maxima):

================ =============== ===============================================
field            shape           meaning
================ =============== ===============================================
rounding         (T,)            units.HALF_UP / HALF_EVEN
n_eperiods       (T,)            energy periods used by the tariff
sched            (T, 2, 12, 24)  energy period by (weekday=0/weekend=1, month, hour)
e_ntiers         (T, P)          tiers per energy period
e_max            (T, P, K)       cumulative tier bound, Wh/month (UNBOUNDED); per day,
                                 per kW of peak or per kW per day by e_basis
e_basis          (T, P)          TIER_KWH, TIER_DAILY, TIER_PER_KW, TIER_PER_KW_DAILY
e_scope          (T,)            0: tiers on each period's energy, 1: on the month's total
e_price          (T, P, K)       nano-units per kWh
block_basis      (T,)            0 none, 1 monthly, 2 annual cumulative total
b_n              (T,)            number of blocks
b_max, b_adder   (T, KB)         block bound (Wh), adder (nano-units/kWh)
n_dperiods       (T,)            TOU demand periods (0 = none)
dsched           (T, 2, 12, 24)  demand period by day type, month, hour
d_ntiers         (T, PD)         tiers per demand period
d_max, d_price   (T, PD, KD)     bound (W), price (nano-units per demand unit·month)
fd_month         (T, 12)         flat-demand structure per month (-1 = none)
fd_ntiers        (T, PF)         tiers per flat-demand structure
fd_max, fd_price (T, PF, KF)     bound (W), price (nano-units per demand unit·month)
d_div            (T,)            W x nano/unit -> fen divisor: demand_unit_w x 1e7
basic_kva        (T,)            basic charge, nano-units per kVA·month
basic_kw         (T,)            basic charge, nano-units per kW of max demand·month
fixed            (T,)            fixed monthly charge, fen
fixed_daily      (T,)            fixed charge per day of the month, nano-units
min_month        (T,)            monthly minimum, fen
min_daily        (T,)            minimum per day of the month, nano-units
min_year         (T,)            annual minimum, fen
q_price          (T,)            reactive demand, nano-units per kvar·month
pf_row           (T,)            row of pf_table (-1 = no PF adjustment)
pf_table         (3, 101)        powerfactor.PF_TABLE_PPM
================ =============== ===============================================
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np

from m2c.core.tariffs.model import TIER_BASES, Tariff
from m2c.core.tariffs.powerfactor import PF_TABLE_PPM, standard_row
from m2c.core.units import NANO_PER_FEN, ROUNDING_MODES

#: Bound of an unbounded tier (far above any real monthly or annual energy).
UNBOUNDED = np.int64(2**62)

BLOCK_NONE, BLOCK_MONTHLY, BLOCK_ANNUAL = 0, 1, 2
TIER_KWH, TIER_DAILY, TIER_PER_KW, TIER_PER_KW_DAILY = 0, 1, 2, 3
_BASIS = {"none": BLOCK_NONE, "monthly": BLOCK_MONTHLY, "annual": BLOCK_ANNUAL}


class TariffArrays(NamedTuple):
    """The flat arrays kernels read (see the module docstring for the layout)."""

    rounding: np.ndarray
    n_eperiods: np.ndarray
    sched: np.ndarray
    e_ntiers: np.ndarray
    e_max: np.ndarray
    e_basis: np.ndarray
    e_scope: np.ndarray
    e_price: np.ndarray
    block_basis: np.ndarray
    b_n: np.ndarray
    b_max: np.ndarray
    b_adder: np.ndarray
    n_dperiods: np.ndarray
    dsched: np.ndarray
    d_ntiers: np.ndarray
    d_max: np.ndarray
    d_price: np.ndarray
    fd_month: np.ndarray
    fd_ntiers: np.ndarray
    fd_max: np.ndarray
    fd_price: np.ndarray
    d_div: np.ndarray
    basic_kva: np.ndarray
    basic_kw: np.ndarray
    fixed: np.ndarray
    fixed_daily: np.ndarray
    min_month: np.ndarray
    min_daily: np.ndarray
    min_year: np.ndarray
    q_price: np.ndarray
    pf_row: np.ndarray
    pf_table: np.ndarray


@dataclass(frozen=True)
class TariffTable:
    """Compiled tariffs. ``arrays`` go to kernels; the rest is metadata."""

    tariffs: tuple[Tariff, ...]
    arrays: TariffArrays
    #: kernel set-up derived from ``arrays`` (the fast register kernels' bounds, and
    #: their per-tariff plans per billing period), kept with the table so that
    #: repeated bills reuse it; ``arrays`` are not to be modified after compiling.
    setup: dict = field(default_factory=dict, compare=False, repr=False)

    @property
    def n_tariffs(self) -> int:
        return len(self.tariffs)

    @property
    def n_periods(self) -> int:
        """Energy-period columns the kernels expect (max over tariffs)."""
        return int(self.arrays.e_ntiers.shape[1])

    @property
    def n_demand_periods(self) -> int:
        return int(self.arrays.d_ntiers.shape[1])

    @property
    def n_blocks(self) -> int:
        return int(self.arrays.b_max.shape[1])

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(t.name for t in self.tariffs)

    def id_of(self, name: str) -> int:
        """Tariff id of the tariff called ``name``."""
        try:
            return self.names.index(name)
        except ValueError:
            raise KeyError(f"no tariff named {name!r}; known: {list(self.names)}") from None


def _bound(x: int | None) -> np.int64:
    return UNBOUNDED if x is None else np.int64(x)


def compile_tariffs(tariffs: list[Tariff] | tuple[Tariff, ...]) -> TariffTable:
    """Compile tariffs into a :class:`TariffTable`; tariff id = list index."""
    tariffs = tuple(tariffs)
    if not tariffs:
        raise ValueError("compile_tariffs needs at least one tariff")
    for i, t in enumerate(tariffs):
        if not isinstance(t, Tariff):
            raise TypeError(f"tariffs[{i}] must be a Tariff, got {type(t).__name__}")
    T = len(tariffs)
    P = max(t.n_energy_periods for t in tariffs)
    K = max(len(tiers) for t in tariffs for tiers in t.energy_periods)
    KB = max([len(t.blocks) for t in tariffs] + [1])
    PD = max([len(t.demand_periods) for t in tariffs] + [1])
    KD = max([len(x) for t in tariffs for x in t.demand_periods] + [1])
    PF = max([len(t.flat_demand) for t in tariffs] + [1])
    KF = max([len(x) for t in tariffs for x in t.flat_demand] + [1])

    def z(*shape):
        return np.zeros(shape, dtype=np.int64)

    a = {
        "rounding": z(T),
        "n_eperiods": z(T),
        "sched": z(T, 2, 12, 24),
        "e_ntiers": z(T, P),
        "e_max": np.full((T, P, K), UNBOUNDED),
        "e_basis": z(T, P),
        "e_scope": z(T),
        "e_price": z(T, P, K),
        "block_basis": z(T),
        "b_n": z(T),
        "b_max": np.full((T, KB), UNBOUNDED),
        "b_adder": z(T, KB),
        "n_dperiods": z(T),
        "dsched": np.full((T, 2, 12, 24), -1, np.int64),
        "d_ntiers": z(T, PD),
        "d_max": np.full((T, PD, KD), UNBOUNDED),
        "d_price": z(T, PD, KD),
        "fd_month": np.full((T, 12), -1, np.int64),
        "fd_ntiers": z(T, PF),
        "fd_max": np.full((T, PF, KF), UNBOUNDED),
        "fd_price": z(T, PF, KF),
        "d_div": z(T),
        "basic_kva": z(T),
        "basic_kw": z(T),
        "fixed": z(T),
        "fixed_daily": z(T),
        "min_month": z(T),
        "min_daily": z(T),
        "min_year": z(T),
        "q_price": z(T),
        "pf_row": z(T),
        "pf_table": PF_TABLE_PPM.copy(),
    }
    for i, t in enumerate(tariffs):
        a["rounding"][i] = ROUNDING_MODES[t.rounding]
        a["n_eperiods"][i] = t.n_energy_periods
        a["e_scope"][i] = 1 if t.tier_scope == "month" else 0
        a["sched"][i, 0] = np.asarray(t.weekday_schedule)
        a["sched"][i, 1] = np.asarray(t.weekend_schedule or t.weekday_schedule)
        for p, tiers in enumerate(t.energy_periods):
            a["e_ntiers"][i, p] = len(tiers)
            if t.energy_tier_basis:
                a["e_basis"][i, p] = TIER_BASES.index(t.energy_tier_basis[p])
            for k, tier in enumerate(tiers):
                a["e_max"][i, p, k] = _bound(tier.upto_wh)
                a["e_price"][i, p, k] = tier.price_nu
        a["block_basis"][i] = _BASIS[t.block_basis]
        a["b_n"][i] = len(t.blocks)
        for k, block in enumerate(t.blocks):
            a["b_max"][i, k] = _bound(block.upto_wh)
            a["b_adder"][i, k] = block.adder_nu
        a["n_dperiods"][i] = len(t.demand_periods)
        if t.demand_periods:
            a["dsched"][i, 0] = np.asarray(t.demand_weekday_schedule)
            a["dsched"][i, 1] = np.asarray(t.demand_weekend_schedule or t.demand_weekday_schedule)
        for p, tiers in enumerate(t.demand_periods):
            a["d_ntiers"][i, p] = len(tiers)
            for k, tier in enumerate(tiers):
                a["d_max"][i, p, k] = _bound(tier.upto_w)
                a["d_price"][i, p, k] = tier.price_nu
        if t.flat_demand:
            a["fd_month"][i] = np.asarray(t.flat_demand_months)
        for p, tiers in enumerate(t.flat_demand):
            a["fd_ntiers"][i, p] = len(tiers)
            for k, tier in enumerate(tiers):
                a["fd_max"][i, p, k] = _bound(tier.upto_w)
                a["fd_price"][i, p, k] = tier.price_nu
        a["d_div"][i] = t.demand_unit_w * NANO_PER_FEN
        a["basic_kva"][i] = t.basic_nu_per_kva
        a["basic_kw"][i] = t.basic_nu_per_kw
        a["fixed"][i] = t.fixed_fen
        a["fixed_daily"][i] = t.fixed_daily_nu
        a["min_month"][i] = t.min_monthly_fen
        a["min_daily"][i] = t.min_daily_nu
        a["min_year"][i] = t.min_annual_fen
        a["q_price"][i] = t.reactive_demand_nu_per_kvar
        a["pf_row"][i] = standard_row(t.pf_standard)
    return TariffTable(tariffs=tariffs, arrays=TariffArrays(**a))
