"""The view-free kernels (core/billing/fast_register.py) bill exactly as the reference kernels.

Random tariffs exercise every element the kernels bill (tiers per month, per
day, per kW of peak, tier scope "month", monthly and annual blocks, flat and
TOU demand with tiers, kW and hp demand units, reactive demand, basic per kVA
and per kW, fixed and minimum charges per month and per day, annual minimum,
PF adjustment, both rounding modes); each bill must equal the reference
kernel's (core/billing/kernels.py) in every line item, to the fen.
"""

from __future__ import annotations

import re
from unittest import mock

import numpy as np
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from numba import njit

from m2c.core import bill_interval, bill_register, compile_tariffs
from m2c.core.billing import api, fast_register
from m2c.core.billing.api import _bill_register_checked
from m2c.core.billing.fast_register import (
    _inv_below,
    _rdiv,
    _rdiv_f,
    register_limits,
    register_plan,
)
from m2c.core.tariffs.model import TIER_BASES, Block, DemandTier, Tariff, Tier
from m2c.core.units import round_div


def _tiers(draw, cls, n, top, price_top):
    bounds = sorted(
        draw(st.lists(st.integers(1, top), min_size=n - 1, max_size=n - 1, unique=True))
    )
    prices = [draw(st.integers(0, price_top)) for _ in range(n)]
    return tuple(cls(b, p) for b, p in zip([*bounds, None], prices, strict=True))


def _schedule(draw, n_periods, rng):
    if n_periods == 1:
        return tuple(tuple(0 for _ in range(24)) for _ in range(12))
    a = rng.integers(0, n_periods, (12, 24))
    return tuple(tuple(int(x) for x in row) for row in a)


#: Tariff charges a random tariff may have, with the largest value drawn.
_OPTIONAL_CHARGES = (
    ("basic_nu_per_kva", 40_000_000_000),
    ("basic_nu_per_kw", 40_000_000_000),
    ("fixed_fen", 5_000),
    ("fixed_daily_nu", 500_000_000),
    ("min_monthly_fen", 50_000),
    ("min_daily_nu", 2_000_000_000),
    ("min_annual_fen", 500_000),
    ("reactive_demand_nu_per_kvar", 5_000_000_000),
)


def _draw_optional_charges(draw, kw: dict) -> None:
    """Give ``kw`` each optional charge with probability 1/2, drawn in 0..its top."""
    for name, top in _OPTIONAL_CHARGES:
        if draw(st.booleans()):
            kw[name] = draw(st.integers(0, top))


@st.composite
def tariffs(draw, coincident=False):
    """A random tariff using any subset of the billed elements."""
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    P = draw(st.integers(1, 3))
    basis = draw(st.sampled_from([(), "mixed"]))
    energy = tuple(
        _tiers(draw, Tier, draw(st.integers(1, 3)), 400_000, 2_000_000_000) for _ in range(P)
    )
    kw = {}
    if basis:
        kw["energy_tier_basis"] = tuple(draw(st.sampled_from(TIER_BASES)) for _ in range(P))
    kw["tier_scope"] = draw(st.sampled_from(["period", "month"]))
    kw["weekday_schedule"] = _schedule(draw, P, rng)
    if draw(st.booleans()):
        kw["weekend_schedule"] = _schedule(draw, P, rng)
    bb = draw(st.sampled_from(["none", "monthly", "annual"]))
    if bb != "none":
        kw["block_basis"] = bb
        kw["blocks"] = _tiers(draw, Block, draw(st.integers(1, 3)), 3_000_000, 500_000_000)
    PD = draw(st.integers(0, 2))
    if PD:
        kw["demand_periods"] = tuple(
            _tiers(draw, DemandTier, draw(st.integers(1, 2)), 100_000, 30_000_000_000)
            for _ in range(PD)
        )
        kw["demand_weekday_schedule"] = _schedule(draw, PD, rng)
    PF = draw(st.integers(0, 2))
    if PF:
        kw["flat_demand"] = tuple(
            _tiers(draw, DemandTier, draw(st.integers(1, 2)), 100_000, 30_000_000_000)
            for _ in range(PF)
        )
        kw["flat_demand_months"] = tuple(int(x) for x in rng.integers(-1, PF, 12))
    _draw_optional_charges(draw, kw)
    kw["demand_unit_w"] = draw(st.sampled_from([1000, 746]))
    kw["pf_standard"] = draw(st.sampled_from([0, 80, 85, 90]))
    kw["rounding"] = draw(st.sampled_from(["half_up", "half_even"]))
    kw["demand_window_min"] = draw(st.sampled_from([0, 15, 30, 60]))
    if coincident and draw(st.booleans()):
        kw["coincident_periods"] = (
            _tiers(draw, DemandTier, draw(st.integers(1, 2)), 100_000, 10_000_000_000),
        )
        kw["coincident_schedule"] = _schedule(draw, 1, rng)
    return Tariff(name=f"r{draw(st.integers(0, 10**6))}", energy_periods=energy, **kw)


@st.composite
def register_cases(draw):
    table = compile_tariffs(draw(st.lists(tariffs(), min_size=1, max_size=3)))
    A = table.arrays
    n = draw(st.integers(1, 40))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    tid = rng.integers(0, table.n_tariffs, n)
    scale = draw(st.sampled_from([10, 10_000, 1_000_000]))
    energy = rng.integers(0, scale, (n, table.n_periods))
    energy[np.arange(table.n_periods)[None, :] >= A.n_eperiods[tid][:, None]] = 0
    energy[rng.random(energy.shape) < 0.2] = 0
    kw = {
        "ytd_energy_ckwh": rng.integers(0, 50 * scale, n),
        "max_demand_w": rng.integers(0, 300_000, n),
        "capacity_kva": rng.integers(0, 2_000, n),
        "period_demand_w": rng.integers(0, 300_000, (n, table.n_demand_periods)),
    }
    if draw(st.booleans()):
        r = rng.integers(0, 2 * scale, n)
        r[rng.random(n) < 0.3] = -1  # unknown for some customers
        kw["reactive_ckvarh"] = r
    if draw(st.booleans()):
        kw["max_reactive_var"] = rng.integers(-1, 200_000, n)
    month = draw(st.integers(1, 12))
    if draw(st.booleans()):
        kw["ytd_billed_fen"] = rng.integers(0, 400_000, n)
    kw["days"] = draw(st.integers(0, 31))
    for name in list(kw):
        if name != "period_demand_w" and name != "days" and draw(st.booleans()):
            del kw[name]
    if "period_demand_w" in kw and (A.n_dperiods == 0).all() and draw(st.booleans()):
        del kw["period_demand_w"]
    return table, tid, energy, month, kw


def _no_fallback(*args, **kw):
    raise AssertionError("valid inputs must be billed by the fast kernel, not the fallback")


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(register_cases())
def test_register_fast_equals_reference(case):
    table, tid, energy, month, kw = case
    ref = _bill_register_checked(table, tid, energy, month=month, backend="cpu", **kw)
    with mock.patch.object(api, "_bill_register_checked", _no_fallback):
        fast = bill_register(table, tid, energy, month=month, backend="cpu", **kw)
    np.testing.assert_array_equal(fast.lines, ref.lines)
    np.testing.assert_array_equal(fast.energy_period_fen, ref.energy_period_fen)
    np.testing.assert_array_equal(fast.block_line_fen, ref.block_line_fen)
    np.testing.assert_array_equal(fast.total_fen, ref.lines[:, 7])
    with mock.patch.object(api, "_bill_register_checked", _no_fallback):
        only = bill_register(table, tid, energy, month=month, backend="cpu", line_items=False, **kw)
    np.testing.assert_array_equal(only.total_fen, ref.total_fen)


def test_register_totals_only_hand_figure():
    # 123.45 kWh x 0.5 CNY/kWh = 61.725 -> 61.73 CNY (half-up); + 5 CNY fixed = 66.73
    table = compile_tariffs([Tariff("flat", ((Tier(None, 500_000_000),),), fixed_fen=500)])
    b = bill_register(table, np.array([0, 0]), np.array([[12_345], [0]]), month=3, line_items=False)
    assert b.total_fen.tolist() == [6_673, 500]
    with pytest.raises(ValueError, match="line_items=False"):
        _ = b.energy_fen


def test_register_refusals_match_the_checked_path():
    # a bad customer far into the fleet (another validation chunk) is named as before
    table = compile_tariffs([Tariff("flat", ((Tier(None, 500_000_000),),))])
    e = np.ones((10_000, 1), dtype=np.int64)
    e[9_000, 0] = -5
    with pytest.raises(ValueError, match="period_energy_ckwh must be >= 0"):
        bill_register(table, np.zeros(10_000, dtype=np.int64), e, month=1)
    with pytest.raises(ValueError, match=r"tariff_id values must be in 0\.\.0"):
        bill_register(table, np.array([0, 1]), np.ones((2, 1), dtype=np.int64), month=1)


# --- register totals: the per-tariff plans of register_totals_kernel ---------------------


@st.composite
def plan_tariffs(draw, fast=True):
    """A tariff the totals kernel's plan bills by its vectorised passes (``fast``), or,
    with ``fast=False``, one that differs from such a tariff in one element only."""
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    P = draw(st.integers(1, 3))
    price = st.integers(0, 2_000_000_000) | st.sampled_from([0, 1, 2, 5_000_000_000])
    energy = tuple((Tier(None, draw(price)),) for _ in range(P))
    kw = {"weekday_schedule": _schedule(draw, P, rng)}
    kw["energy_tier_basis"] = tuple(draw(st.sampled_from(TIER_BASES)) for _ in range(P))
    bb = draw(st.sampled_from(["none", "monthly", "annual"]))
    if bb != "none":
        kw["block_basis"] = bb
        blocks = _tiers(draw, Block, draw(st.integers(1, 3)), 3_000_000, 500_000_000)
        if draw(st.booleans()):  # a block of adder 0 (the plan drops it)
            blocks = (Block(blocks[0].upto_wh, 0), *blocks[1:])
        kw["blocks"] = blocks
    if draw(st.booleans()):
        kw["flat_demand"] = ((DemandTier(None, draw(st.integers(0, 30_000_000_000))),),)
        kw["flat_demand_months"] = tuple(int(x) for x in rng.integers(-1, 1, 12))
    _draw_optional_charges(draw, kw)
    kw["pf_standard"] = draw(st.sampled_from([0, 80, 85, 90]))
    kw["rounding"] = draw(st.sampled_from(["half_up", "half_even"]))
    if not fast:
        change = draw(st.sampled_from(["tiers", "scope", "tou_demand", "hp", "demand_tiers"]))
        event(f"slow plan: {change}")
        if change == "tiers":
            energy = (_tiers(draw, Tier, 2, 400_000, 2_000_000_000), *energy[1:])
        elif change == "scope":
            kw["tier_scope"] = "month"
        elif change == "tou_demand":
            kw["demand_periods"] = ((DemandTier(None, 3_000_000_000),),)
            kw["demand_weekday_schedule"] = _schedule(draw, 1, rng)
        elif change == "hp":
            kw["demand_unit_w"] = 746
            kw["flat_demand"] = ((DemandTier(None, 9_000_000_000),),)
            kw["flat_demand_months"] = (0,) * 12
        else:
            kw["flat_demand"] = (_tiers(draw, DemandTier, 2, 100_000, 30_000_000_000),)
            kw["flat_demand_months"] = (0,) * 12
    return Tariff(name=f"p{draw(st.integers(0, 10**6))}", energy_periods=energy, **kw)


@st.composite
def plan_cases(draw):
    """Fast and slow plans mixed in one table, customers of both interleaved."""
    ts = draw(st.lists(plan_tariffs(), min_size=1, max_size=3))
    ts += draw(st.lists(plan_tariffs(fast=False), min_size=0, max_size=2))
    table = compile_tariffs(ts)
    A = table.arrays
    n = draw(st.sampled_from([1, 7, 300, 1_100]))  # several sub-blocks of 256
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    tid = rng.integers(0, table.n_tariffs, n)
    scale = draw(st.sampled_from([10, 10_000, 1_000_000]))
    energy = rng.integers(0, scale, (n, table.n_periods))
    energy[np.arange(table.n_periods)[None, :] >= A.n_eperiods[tid][:, None]] = 0
    energy[rng.random(energy.shape) < 0.2] = 0
    kw = {
        "ytd_energy_ckwh": rng.integers(0, 50 * scale, n),
        "max_demand_w": rng.integers(0, 300_000, n),
        "capacity_kva": rng.integers(0, 2_000, n),
        "days": draw(st.integers(0, 31)),
    }
    if (A.n_dperiods > 0).any():
        kw["period_demand_w"] = rng.integers(0, 300_000, (n, table.n_demand_periods))
    if draw(st.booleans()):
        r = rng.integers(0, 2 * scale, n)
        r[rng.random(n) < 0.3] = -1
        r[rng.random(n) < 0.1] = 0
        kw["reactive_ckvarh"] = r
    if draw(st.booleans()):
        kw["max_reactive_var"] = rng.integers(-1, 200_000, n)
    if draw(st.booleans()):
        kw["ytd_billed_fen"] = rng.integers(0, 400_000, n)
    # edge values the fast passes must send to bill_row (or bill exactly)
    if draw(st.booleans()):
        i = rng.integers(0, n)
        edge = draw(
            st.sampled_from(
                [
                    ("max_demand_w", -5),  # negative: outside the fast bounds, still billed
                    ("capacity_kva", -3),
                    ("max_reactive_var", -7),
                    ("ytd_energy_ckwh", -100),
                    ("energy", 0),
                    ("energy", 2**40),
                ]
            )
        )
        name, v = edge
        if name == "energy":
            energy[i, 0] = v
        elif name in kw:
            kw[name][i] = v
    month = draw(st.integers(1, 12))
    return table, tid, energy, month, kw


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(plan_cases())
def test_register_totals_plans_equal_reference(case):
    table, tid, energy, month, kw = case
    try:
        ref = _bill_register_checked(table, tid, energy, month=month, backend="cpu", **kw)
    except ValueError as e:
        event("refused")
        with pytest.raises(ValueError, match=re.escape(str(e))):
            bill_register(table, tid, energy, month=month, backend="cpu", line_items=False, **kw)
        return
    plan, _, _ = register_plan(
        table.arrays, month - 1, kw["days"], 10, register_limits(table.arrays),
        np.zeros(table.n_tariffs, dtype=np.int64),
    )  # fmt: skip
    fast_share = float((plan[tid, 0] == 0).mean())
    event("all fast" if fast_share == 1 else "some slow" if fast_share else "all slow")
    with mock.patch.object(api, "_bill_register_checked", _no_fallback):
        only = bill_register(table, tid, energy, month=month, backend="cpu", line_items=False, **kw)
    np.testing.assert_array_equal(only.total_fen, ref.total_fen)


def test_register_plan_fast_and_slow_shapes():
    # the plan marks each shape: one price per period, blocks, kW demand, PF: fast;
    # tiers, tier scope "month", TOU demand, demand in hp, tiered demand: bill_row
    one = ((Tier(None, 500_000_000),),)
    demand = ((DemandTier(None, 20_000_000_000),),)
    ts = [
        Tariff("flat", one, fixed_fen=500),
        Tariff("blocks", one, blocks=(Block(1000, 0), Block(None, 50_000_000)),
               block_basis="annual"),
        Tariff("demand", one, flat_demand=demand, flat_demand_months=(0,) * 12,
               basic_nu_per_kva=28_000_000_000, pf_standard=90),
        Tariff("tiers", ((Tier(100_000, 500_000_000), Tier(None, 600_000_000)),)),
        Tariff("month", one, tier_scope="month"),
        Tariff("tou_demand", one, demand_periods=demand, demand_weekday_schedule=((0,) * 24,) * 12),
        Tariff("hp", one, flat_demand=demand, flat_demand_months=(0,) * 12, demand_unit_w=746),
        Tariff("tiered_demand", one, flat_demand=((DemandTier(50_000, 1), DemandTier(None, 2)),),
               flat_demand_months=(0,) * 12),
    ]  # fmt: skip
    table = compile_tariffs(ts)
    A = table.arrays
    plan, pf_table, kb = register_plan(
        A, 0, 30, 10, register_limits(A), np.zeros(len(ts), dtype=np.int64)
    )
    assert plan[:, 0].tolist() == [0, 0, 0, 1, 1, 1, 1, 1]
    assert kb == 1  # the block of adder 0 is dropped
    assert pf_table.shape[0] == A.pf_table.shape[0] + 1 and not pf_table[-1].any()


def test_register_totals_hand_figure_fast_path():
    # one price 0.5 CNY/kWh, annual blocks (+0.05 CNY/kWh above 1 000 kWh of the year),
    # 1 kW of demand at 20 CNY/kW, basic 28 CNY/kVA, fixed 5 CNY, PF standard 0.90.
    # 1 234.56 kWh this month, 500 kWh before: 734.56 kWh above the block bound.
    #   energy 1 234.56 x 0.5 = 617.28 CNY; block 734.56 x 0.05 = 36.728 -> 36.73 CNY
    #   demand 12.345 kW x 20 = 246.90 CNY; basic 100 kVA x 28 = 2 800.00 CNY
    #   PF: reactive 600 kvarh: 1234.56 / sqrt(1234.56^2 + 600^2) = 0.8994 -> 0.90:
    #   at the standard, no adjustment; total 617.28 + 36.73 + 246.90 + 2 800 + 5 = 3 705.91
    one = ((Tier(None, 500_000_000),),)
    t = Tariff(
        "hand",
        one,
        blocks=(Block(1_000_000, 0), Block(None, 50_000_000)),
        block_basis="annual",
        flat_demand=((DemandTier(None, 20_000_000_000),),),
        flat_demand_months=(0,) * 12,
        basic_nu_per_kva=28_000_000_000,
        fixed_fen=500,
        pf_standard=90,
    )
    table = compile_tariffs([t, Tariff("tiers", ((Tier(1, 1), Tier(None, 2)),))])
    kw = {
        "ytd_energy_ckwh": np.array([50_000, 50_000]),
        "max_demand_w": np.array([12_345, 12_345]),
        "capacity_kva": np.array([100, 100]),
        "reactive_ckvarh": np.array([60_000, 60_000]),
    }
    e = np.array([[123_456], [123_456]])
    with mock.patch.object(api, "_bill_register_checked", _no_fallback):
        b = bill_register(table, np.array([0, 1]), e, month=1, line_items=False, **kw)
    assert b.total_fen[0] == 61_728 + 3_673 + 24_690 + 280_000 + 500
    # the second customer's tariff has tiers: bill_row, as the reference does
    ref = _bill_register_checked(table, np.array([0, 1]), e, month=1, **kw)
    assert b.total_fen.tolist() == ref.total_fen.tolist()


def test_register_plan_shapes():
    # the shape of a fast plan: its energy periods, blocks of non-zero adder and the
    # demand (1), basic (2) and PF (4) elements; the kernel bills each shape's customers
    # together, by the passes of those elements only
    one = ((Tier(None, 500_000_000),),)
    three = ((Tier(None, 1),), (Tier(None, 2),), (Tier(None, 0),))
    demand = ((DemandTier(None, 20_000_000_000),),)
    ts = [
        Tariff("flat", one, fixed_fen=500),
        Tariff("tou", three, weekday_schedule=((0,) * 8 + (1,) * 8 + (2,) * 8,) * 12,
               basic_nu_per_kva=28_000_000_000, pf_standard=90),
        Tariff("blocks", one, blocks=(Block(1000, 0), Block(2000, 5), Block(None, 50)),
               block_basis="annual"),
        Tariff("demand", one, flat_demand=demand, flat_demand_months=(0,) * 12),
        Tariff("flat2", one, min_monthly_fen=100),
        Tariff("tiers", ((Tier(100_000, 500_000_000), Tier(None, 600_000_000)),)),
    ]  # fmt: skip
    A = compile_tariffs(ts).arrays
    plan, _, kb = register_plan(A, 0, 30, 10, register_limits(A), np.zeros(len(ts), np.int64))
    assert kb == 2
    assert plan[:, fast_register._F_NE].tolist()[:5] == [1, 3, 1, 1, 1]
    assert plan[:, fast_register._F_NB].tolist()[:5] == [0, 0, 2, 0, 0]
    assert plan[:, fast_register._F_FEAT].tolist()[:5] == [0, 2 | 4, 0, 1, 0]
    # shapes numbered in sorted order of (periods, blocks, elements); "flat" and "flat2"
    # share one; the slow plan ("tiers") gets the number after the last
    assert plan[:, fast_register._F_SHAPE].tolist() == [0, 3, 2, 1, 0, 4]


def test_register_plan_many_shapes_merged_and_billed_exactly():
    # more than _MAX_SHAPES shapes: the plans are merged into at most 8 (every period and
    # block billed, zeros where a tariff has none); bills still equal the reference's
    rng = np.random.default_rng(7)
    ts = []
    for k in range(24):
        P = 1 + k % 3
        kw = {"weekday_schedule": _schedule(None, P, rng)} if P > 1 else {}
        energy = tuple((Tier(None, int(rng.integers(1, 2_000_000_000))),) for _ in range(P))
        nb = (k // 3) % 4
        if nb:
            bounds = sorted(rng.choice(np.arange(1, 3_000_000), nb - 1, replace=False))
            kw["blocks"] = tuple(
                Block(int(b) if b is not None else None, int(rng.integers(1, 5e8)))
                for b in [*bounds, None]
            )
            kw["block_basis"] = "annual" if k % 2 else "monthly"
        if k % 5 == 0:
            kw["basic_nu_per_kva"] = int(rng.integers(1, 4e10))
        if k % 7 == 0:
            kw["pf_standard"] = 90
        ts.append(Tariff(f"s{k}", energy, **kw))
    table = compile_tariffs(ts)
    A = table.arrays
    n = 3_000
    plan, _, _ = register_plan(A, 2, 31, 10, register_limits(A), np.zeros(len(ts), dtype=np.int64))
    assert len(set(plan[:, fast_register._F_SHAPE].tolist())) <= 8
    assert (plan[:, fast_register._F_NE] == table.n_periods).all()
    tid = rng.integers(0, len(ts), n)
    energy = rng.integers(0, 100_000, (n, table.n_periods))
    energy[np.arange(table.n_periods)[None, :] >= A.n_eperiods[tid][:, None]] = 0
    kw = {
        "ytd_energy_ckwh": rng.integers(0, 500_000, n),
        "capacity_kva": rng.integers(0, 500, n),
        "reactive_ckvarh": rng.integers(-1, 50_000, n),
    }
    ref = _bill_register_checked(table, tid, energy, month=3, backend="cpu", **kw)
    with mock.patch.object(api, "_bill_register_checked", _no_fallback):
        fast = bill_register(table, tid, energy, month=3, backend="cpu", line_items=False, **kw)
    np.testing.assert_array_equal(fast.total_fen, ref.total_fen)


def test_register_totals_marked_in_a_run_go_to_the_checked_path():
    # energy in a column beyond a one-period tariff's periods, far into the fleet (a later
    # sub-block, inside a run of its shape): refused with the checked path's message; an
    # energy sum at and just beyond the plan's bound: billed (or refused) as the checked
    # path bills (or refuses) it
    one = ((Tier(None, 500_000_000),),)
    two = ((Tier(None, 400_000_000),), (Tier(None, 900_000_000),))
    ts = [Tariff("flat", one), Tariff("tou", two, weekday_schedule=((0,) * 12 + (1,) * 12,) * 12)]
    table = compile_tariffs(ts)
    n = 2_000
    tid = np.arange(n) % 2
    e = np.ones((n, 2), dtype=np.int64) * 100
    e[tid == 0, 1] = 0
    e[1_500, 1] = 7  # customer 1 500 (tariff "flat"): stray energy in period 1
    with pytest.raises(ValueError, match=re.escape("period_energy_ckwh[1500, 1] = 7")):
        bill_register(table, tid, e, month=1, line_items=False)
    e[1_500, 1] = 0

    def outcome(f):
        try:
            return f().total_fen.tolist()
        except ValueError as err:
            return str(err)

    big = int(register_limits(table.arrays)[1, 0] // 10)  # "tou": the largest energy sum
    for extra in (0, 1):
        e[1_501] = [big // 2, big - big // 2 + extra]
        fast = outcome(lambda: bill_register(table, tid, e, month=1, line_items=False))
        assert fast == outcome(lambda: _bill_register_checked(table, tid, e, month=1))


def test_register_totals_into_out():
    # out=: the totals are written into the caller's array (reused from call to call)
    table = compile_tariffs([Tariff("flat", ((Tier(None, 500_000_000),),), fixed_fen=500)])
    out = np.full(2, -1, dtype=np.int64)
    b = bill_register(
        table, np.array([0, 0]), np.array([[12_345], [0]]), month=3, line_items=False, out=out
    )
    assert b.total_fen is out and out.tolist() == [6_673, 500]
    b = bill_register(table, np.array([0, 0]), np.array([[0], [12_345]]), month=3, out=out)
    assert b.total_fen is out and out.tolist() == [500, 6_673] and b.lines[1, 7] == 6_673
    with pytest.raises(ValueError, match="out must be"):
        bill_register(table, np.array([0]), np.array([[1]]), month=3, out=np.zeros(2, np.int64))
    with pytest.raises(ValueError, match="out must be"):
        bill_register(table, np.array([0]), np.array([[1]]), month=3, out=np.zeros(1, np.int32))


def _near_half(x):
    return (x % 3) - 1  # an exact half, one below, one above


@settings(max_examples=400, deadline=None)
@given(
    st.integers(0, 2**63 - 1)
    | st.integers(0, 10**8).map(lambda x: x * 10_000_000_000 + 5_000_000_000)
    | st.integers(0, 10**8).map(lambda x: x * 1_000_000 + 500_000 + _near_half(x)),
    st.sampled_from([1_000_000, 10_000_000, 10_000_000_000]),
    st.sampled_from([0, 1]),
)
def test_float_round_div_equals_round_div(numer, denom, mode):
    fast = _rdiv_f(np.int64(numer), np.int64(denom), _inv_below(denom), np.int64(mode))
    assert fast == round_div(numer, denom, mode)


def test_float_round_div_halves_and_top():
    inv = _inv_below(10)
    for numer, mode, want in ((25, 1, 2), (25, 0, 3), (35, 1, 4), (15, 1, 2), (0, 1, 0)):
        assert _rdiv_f(np.int64(numer), np.int64(10), inv, np.int64(mode)) == want
    top = 2**63 - 1
    for d in (1_000_000, 10_000_000, 10_000_000_000):
        for x in (top, top - d // 2, top - d, d // 2, d // 2 - 1, 3 * d // 2):
            for mode in (0, 1):
                got = _rdiv_f(np.int64(x), np.int64(d), _inv_below(d), np.int64(mode))
                assert got == round_div(x, d, mode), (x, d, mode)


# --- interval: the day-block kernel against the reference step loop --------------------------

# 99_999.0 is just below the day blocks' bound (api._FAST_MAX_KWH), 1.5e5 and 3.0e6 valid above it
_SPECIALS = (
    *(np.nan, -1.0, -0.0, np.inf, -np.inf, 3.0e6, 2.0e9, 1e-7, 0.0005, 0.0015),
    *(99_999.0, 1.5e5),
)


@st.composite
def interval_cases(draw):
    tariff = draw(tariffs(coincident=True))
    step = draw(st.sampled_from([60, 15, 30]))  # 30: the kernel's generic day length
    spd = 24 * 60 // step
    start = draw(st.sampled_from(["2024-01-01", "2024-02-10", "2025-01-01", "2023-12-20"]))
    days = draw(st.sampled_from([1, 3, 30, 60, 200, 300]))
    extra = draw(st.sampled_from([0, 0, 1, 5]))  # a partial last day
    n = draw(st.integers(1, 4))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    S = days * spd + extra
    exact = draw(st.booleans())
    load = rng.gamma(1.0, draw(st.sampled_from([0.05, 1.0, 40.0])) * 60 / step, (n, S))
    if exact:  # 0.001 kWh data, as meters publish it
        load = np.round(load, 3)
    load[rng.random(load.shape) < 0.3] = 0.0
    if draw(st.booleans()):
        k = draw(st.integers(1, 3))
        for _ in range(k):
            load[rng.integers(0, n), rng.integers(0, S)] = draw(st.sampled_from(_SPECIALS))
    dtype = draw(st.sampled_from([np.float32, np.float64]))
    load = load.astype(dtype)
    q = None
    if draw(st.booleans()):
        q = np.round(rng.gamma(1.0, 0.5, (n, S)), 3)
        if draw(st.booleans()):
            q[0, rng.integers(0, S)] = draw(st.sampled_from(_SPECIALS))
    kw = {
        "start": start,
        "step_minutes": step,
        "reactive_kvarh": q,
        "capacity_kva": rng.integers(0, 1000, n),
        "step_resolution_wh": draw(st.sampled_from([1, 10])),
        "backend": "cpu",
    }
    if tariff.coincident_periods:
        kw["system_peak_steps"] = rng.random(S) < 0.05
    return tariff, load, kw


def _bill_or_error(tariff, load, kw):
    try:
        return bill_interval(tariff, load, **kw)
    except ValueError as e:
        return str(e)


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(interval_cases())
def test_interval_day_blocks_equal_reference(case):
    tariff, load, kw = case
    fast = _bill_or_error(tariff, load, kw)
    with mock.patch.object(api, "_REFERENCE_INTERVAL", True):
        ref = _bill_or_error(tariff, load, kw)
    event("refused" if isinstance(ref, str) else "billed")
    if isinstance(ref, str):
        assert fast == ref
        return
    assert not isinstance(fast, str), fast
    for name in (
        "lines",
        "energy_wh",
        "energy_period_fen",
        "block_line_fen",
        "max_demand_w",
        "period_demand_w",
        "reactive_varh",
        "max_reactive_var",
    ):
        np.testing.assert_array_equal(getattr(fast, name), getattr(ref, name), err_msg=name)
    assert fast.notes == ref.notes


def test_interval_day_blocks_hand_figure_and_fallback():
    # 2 days hourly, 1.0 kWh each hour at 0.5 CNY/kWh: 48 kWh -> 24.00 CNY; demand 1 kW.
    t = Tariff(
        "flat",
        ((Tier(None, 500_000_000),),),
        flat_demand=((DemandTier(None, 10_000_000_000),),),
        flat_demand_months=(0,) * 12,
    )
    load = np.ones((2, 48), dtype=np.float32)
    load[1, 30] = -0.0  # valid (>= 0) but outside the fast path: the reference loop bills it
    b = bill_interval(t, load, start="2025-03-01", backend="cpu")
    # customer 0: 48 kWh x 0.5 = 24.00 CNY + 1 kW x 10 CNY/kW = 34.00; customer 1: 47 kWh
    assert b.total_fen[:, 0].tolist() == [3_400, 2_350 + 1_000]
    assert b.max_demand_w[:, 0].tolist() == [1_000, 1_000]


def test_interval_day_blocks_uint32_slot_sums():
    # January hourly at 99 999 kWh every hour (just below the fast bound): each step's sum
    # over the month's 31 days is 31 x 99 999 000 = 3 099 969 000 Wh > 2^31, < 2^32 (the
    # day blocks' uint32 accumulators); the month is 744 x 99 999 000 = 74 399 256 000 Wh.
    t = Tariff("flat", ((Tier(None, 1_000_000),),))  # 0.001 CNY/kWh
    for dtype in (np.float32, np.float64):
        load = np.full((2, 31 * 24), 99_999.0, dtype=dtype)
        load[1, 5] = 1.5e5  # above the bound: the reference loop bills customer 1
        b = bill_interval(t, load, start="2025-01-01", backend="cpu")
        with mock.patch.object(api, "_REFERENCE_INTERVAL", True):
            ref = bill_interval(t, load, start="2025-01-01", backend="cpu")
        assert b.energy_wh[0, 0, 0] == 744 * 99_999_000
        assert b.energy_wh[1, 0, 0] == 743 * 99_999_000 + 150_000_000
        # 74 399 256 000 Wh x 1e6 nano/kWh / 1e10 = 7 439 925.6 -> 7 439 926 fen
        assert b.total_fen[0, 0] == 7_439_926
        np.testing.assert_array_equal(b.lines, ref.lines)
        np.testing.assert_array_equal(b.max_demand_w, ref.max_demand_w)


@njit(cache=True)
def _rdiv_both(numer, denom, mode):
    return _rdiv(numer, denom, mode), round_div(numer, denom, mode)


@settings(max_examples=400, deadline=None)
@given(
    st.integers(-(2**63) + 1, 2**63 - 1)
    | st.integers(-(10**9), 10**9).map(lambda x: x * 5_000_000_000 + 5_000_000_000 // 2),
    st.sampled_from([1, 2, 100, 1_000_000, 10_000_000, 10_000_000_000, 746 * 10_000_000])
    | st.integers(1, 2**62),
    st.sampled_from([0, 1]),
)
def test_unsigned_round_div_equals_round_div(numer, denom, mode):
    fast, ref = _rdiv_both(numer, denom, mode)
    assert fast == ref


def test_unsigned_round_div_halves():
    # -25 / 10: half-up = -3 (away from zero), half-even = -2; 35 / 10: 4 either way
    assert _rdiv_both(-25, 10, 0) == (-3, -3)
    assert _rdiv_both(-25, 10, 1) == (-2, -2)
    assert _rdiv_both(35, 10, 1) == (4, 4)
