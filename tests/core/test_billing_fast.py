"""The view-free kernels (core/billing/fast_kernels.py) bill exactly as the reference kernels.

Random tariffs exercise every element the kernels bill (tiers per month, per
day, per kW of peak, tier scope "month", monthly and annual blocks, flat and
TOU demand with tiers, kW and hp demand units, reactive demand, basic per kVA
and per kW, fixed and minimum charges per month and per day, annual minimum,
PF adjustment, both rounding modes); each bill must equal the reference
kernel's (core/billing/kernels.py) in every line item, to the fen.
"""

from __future__ import annotations

from unittest import mock

import numpy as np
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from numba import njit

from m2c.core import bill_interval, bill_register, compile_tariffs
from m2c.core.billing import api
from m2c.core.billing.api import _bill_register_checked
from m2c.core.billing.fast_kernels import _rdiv
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
    for name, top in (
        ("basic_nu_per_kva", 40_000_000_000),
        ("basic_nu_per_kw", 40_000_000_000),
        ("fixed_fen", 5_000),
        ("fixed_daily_nu", 500_000_000),
        ("min_monthly_fen", 50_000),
        ("min_daily_nu", 2_000_000_000),
        ("min_annual_fen", 500_000),
        ("reactive_demand_nu_per_kvar", 5_000_000_000),
    ):
        if draw(st.booleans()):
            kw[name] = draw(st.integers(0, top))
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


# --- interval: the day-block kernel against the reference step loop --------------------------

_SPECIALS = (np.nan, -1.0, -0.0, np.inf, -np.inf, 3.0e6, 2.0e9, 1e-7, 0.0005, 0.0015)


@st.composite
def interval_cases(draw):
    tariff = draw(tariffs(coincident=True))
    step = draw(st.sampled_from([60, 15]))
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
