"""Interval billing: hand-computed bills, a slow pure-Python reference, input checks.

The reference :func:`ref_bill_interval` loops over every step with ``datetime``
for the calendar and plain ``int`` / ``Decimal`` arithmetic for money, written
from the tariff semantics (core/tariffs/model.py, core/billing/kernels.py docstring:
each period, block, demand period and basic line rounded once to fen) without
calling any m2c kernel. Hypothesis compares it with :func:`bill_interval` on
small random fleets for a year of hourly and 15-minute data.
"""

import datetime as dt
import math
from collections import defaultdict
from decimal import ROUND_HALF_EVEN, ROUND_HALF_UP, Decimal, localcontext

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from m2c.core import bill_interval, bundled_tariff
from m2c.core.tariffs.model import Block, DemandTier, Tariff, Tier
from m2c.core.tariffs.powerfactor import adjustment_ppm

FLAT = ((Tier(None, 500_000_000),),)  # 0.50 CNY/kWh
ALL = tuple([0] * 12)


# --- the pure-Python reference ---------------------------------------------------------------


def _rdiv(n: int, d: int, mode: str) -> int:
    r = ROUND_HALF_UP if mode == "half_up" else ROUND_HALF_EVEN
    return int((Decimal(n) / Decimal(d)).quantize(Decimal(1), rounding=r))


def _tiered(start: int, amount: int, tiers, bound: str) -> int:
    """Sum over tiers of the overlap of [start, start + amount) with the tier, x price."""
    total, lo, end = 0, 0, start + amount
    for t in tiers:
        hi = getattr(t, bound)
        hi = 2**62 if hi is None else hi
        price = t.adder_nu if isinstance(t, Block) else t.price_nu
        part = min(max(end, lo), hi) - min(max(start, lo), hi)
        total += max(part, 0) * price
        lo = hi
    return total


def _pf(p: int, q: int) -> int:
    if p == 0:
        return 0
    with localcontext() as ctx:
        ctx.prec = 50
        x = Decimal(p) / (Decimal(p) ** 2 + Decimal(q) ** 2).sqrt() * 100
        return int(x.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def ref_bill_interval(
    tariff: Tariff, load, start: str, step: int, reactive=None, cap=None, res: int = 1
):
    """Slow reference: dict of month index -> dict of line name -> fen, per customer.

    Each step becomes a whole number of ``res`` Wh (1: exact for 0.001 kWh data;
    10: the 0.01 kWh register step), summed exactly per month and period.
    """
    t0 = dt.datetime.fromisoformat(start)
    mode = tariff.rounding
    wk_s, we_s = tariff.weekday_schedule, tariff.weekend_schedule or tariff.weekday_schedule
    dwk = tariff.demand_weekday_schedule
    dwe = tariff.demand_weekend_schedule or dwk
    out = []
    for i in range(load.shape[0]):
        energy = defaultdict(int)  # (month index, period) -> Wh
        dmax = defaultdict(int)  # month index -> W
        dper = defaultdict(int)  # (month index, demand period) -> W
        q = defaultdict(int)
        cal = {}
        for s in range(load.shape[1]):
            t = t0 + dt.timedelta(minutes=step * s)
            mi = (t.year - t0.year) * 12 + t.month - t0.month
            cal[mi] = (t.year, t.month)
            weekend = t.weekday() >= 5
            wh = math.floor(float(load[i, s]) * (1000 // res) + 0.5) * res
            p = (we_s if weekend else wk_s)[t.month - 1][t.hour]
            energy[mi, p] += wh
            w = wh * 60 // step  # Wh per step of `step` minutes -> W
            assert wh * 60 % step == 0
            dmax[mi] = max(dmax[mi], w)
            if tariff.demand_periods:
                dp = (dwe if weekend else dwk)[t.month - 1][t.hour]
                dper[mi, dp] = max(dper[mi, dp], w)
            if reactive is not None:
                q[mi] += math.floor(abs(float(reactive[i, s])) * (1000 // res) + 0.5) * res
        bills = {}
        ytd = 0
        billed = 0
        year = None
        for mi in sorted(cal):
            y, m = cal[mi]
            if year is not None and y != year:
                ytd = billed = 0
            year = y
            e_total = sum(energy[mi, p] for p in range(tariff.n_energy_periods))
            periods = [
                _rdiv(_tiered(0, energy[mi, p], tiers, "upto_wh"), 10**10, mode)
                for p, tiers in enumerate(tariff.energy_periods)
            ]
            start_b = ytd if tariff.block_basis == "annual" else 0
            blocks = []
            lo = 0
            for b in tariff.blocks:
                hi = 2**62 if b.upto_wh is None else b.upto_wh
                part = min(max(start_b + e_total, lo), hi) - min(max(start_b, lo), hi)
                blocks.append(_rdiv(max(part, 0) * b.adder_nu, 10**10, mode))
                lo = hi
            energy_fen = sum(periods) + sum(blocks)
            flat = 0
            if tariff.flat_demand and tariff.flat_demand_months[m - 1] >= 0:
                tiers = tariff.flat_demand[tariff.flat_demand_months[m - 1]]
                flat = _rdiv(_tiered(0, dmax[mi], tiers, "upto_w"), 10**10, mode)
            tou = sum(
                _rdiv(_tiered(0, dper[mi, p], tiers, "upto_w"), 10**10, mode)
                for p, tiers in enumerate(tariff.demand_periods)
            )
            basic = 0
            if tariff.basic_nu_per_kva:
                basic += _rdiv(
                    (0 if cap is None else int(cap[i])) * tariff.basic_nu_per_kva, 10**7, mode
                )
            if tariff.basic_nu_per_kw:
                basic += _rdiv(dmax[mi] * tariff.basic_nu_per_kw, 10**10, mode)
            pf_fen = 0
            if reactive is not None and tariff.pf_standard:
                ppm = adjustment_ppm(_pf(e_total, q[mi]), tariff.pf_standard)
                pf_fen = _rdiv(ppm * (basic + energy_fen), 10**6, mode)
            sub = energy_fen + flat + tou + basic + pf_fen + tariff.fixed_fen
            minimum = max(tariff.min_monthly_fen - sub, 0) if tariff.min_monthly_fen else 0
            total = sub + minimum
            annual = 0
            if m == 12 and billed + total < tariff.min_annual_fen:
                annual = tariff.min_annual_fen - billed - total
            total += annual
            bills[mi] = {
                "energy_fen": energy_fen,
                "block_fen": sum(blocks),
                "demand_flat_fen": flat,
                "demand_tou_fen": tou,
                "basic_fen": basic,
                "pf_adjust_fen": pf_fen,
                "fixed_fen": tariff.fixed_fen,
                "minimum_fen": minimum,
                "annual_minimum_fen": annual,
                "total_fen": total,
                "periods": periods,
            }
            ytd += e_total
            billed += total
        out.append(bills)
    return out


def _assert_same(bills, ref):
    n = len(ref)
    for i in range(n):
        for mi in range(12):
            r = ref[i].get(mi)
            if r is None:  # month not covered by the data: all zero
                assert int(bills.total_fen[i, mi]) == 0
                continue
            for name, value in r.items():
                got = (
                    bills.energy_period_fen[i, mi, : len(value)].tolist()
                    if name == "periods"
                    else int(getattr(bills, name)[i, mi])
                )
                assert got == value, (i, mi, name)


# --- tariffs used below --------------------------------------------------------------------

_DAY = tuple(
    2 if (h >= 23 or h < 7) else 1 if (8 <= h < 12 or 18 <= h < 22) else 0 for h in range(24)
)
_TOU_WK = tuple(_DAY for _ in range(12))
_TOU_WE = tuple(tuple(2 if p == 2 else 0 for p in _DAY) for _ in range(12))  # no weekend peak
_DEM = tuple(tuple(1 if 8 <= h < 12 or 18 <= h < 22 else 0 for h in range(24)) for _ in range(12))

RICH = Tariff(
    "rich",
    energy_periods=(
        (Tier(30_000, 600_000_000), Tier(None, 700_000_000)),  # flat, tiered in-period
        (Tier(None, 1_041_800_000),),  # peak
        (Tier(10_000, 300_000_000), Tier(None, 325_600_000)),
    ),  # valley, tiered
    weekday_schedule=_TOU_WK,
    weekend_schedule=_TOU_WE,
    blocks=(Block(276_000, 0), Block(480_000, 50_000_000), Block(None, 300_000_000)),
    block_basis="annual",
    demand_periods=(
        (DemandTier(None, 0),),
        (DemandTier(1_500, 10_000_000_000), DemandTier(None, 15_000_000_000)),
    ),
    demand_weekday_schedule=_DEM,
    demand_weekend_schedule=tuple(tuple([0] * 24) for _ in range(12)),
    flat_demand=(
        (DemandTier(2_000, 20_000_000_000), DemandTier(None, 25_000_000_000)),
        (DemandTier(None, 5_000_000_000),),
    ),
    flat_demand_months=(1, 1, -1, -1, -1, 0, 0, 0, 0, -1, -1, 1),
    basic_nu_per_kva=28_000_000_000,
    basic_nu_per_kw=1_230_000_000,
    fixed_fen=571,
    min_monthly_fen=30_000,
    min_annual_fen=1_200_000,
    pf_standard=90,
)
RICH_EVEN = Tariff(
    **{
        **RICH.__dict__,
        "name": "rich_even",
        "rounding": "half_even",
        "block_basis": "monthly",
        "blocks": (Block(5_000, 0), Block(None, 150_000_000)),
    }
)


# --- hand-computed interval bills ----------------------------------------------------------


def test_tou_periods_with_weekend_schedule():
    # peak 1.00 (hours 8-11 weekdays), off-peak 0.30 otherwise and on weekends.
    wk = tuple(tuple(1 if 8 <= h < 12 else 0 for h in range(24)) for _ in range(12))
    we = tuple(tuple(0 for _ in range(24)) for _ in range(12))
    t = Tariff("tou", ((Tier(None, 300_000_000),), (Tier(None, 1_000_000_000),)), wk, we)
    # March 2025: 21 weekdays, 10 weekend days; 1 kWh every hour.
    # peak 21 x 4 = 84 kWh x 1.00 = 84.00; off-peak (744 - 84) = 660 x 0.30 = 198.00
    load = np.ones((1, 24 * 31))
    b = bill_interval(t, load, start="2025-03-01", backend="cpu")
    assert int(b.total_fen[0, 0]) == 28_200
    assert b.energy_wh[0, 0].tolist() == [660_000, 84_000]
    assert b.energy_period_fen[0, 0].tolist() == [19_800, 8_400]
    assert b.months[:2] == ["2025-03", "2025-04"] and int(b.total_fen[0, 1]) == 0
    # without a weekend schedule the weekday one applies every day: February 2025 has
    # 28 days -> peak 28 x 4 = 112 kWh; off-peak 672 - 112 = 560 kWh:
    # 112 x 1.00 + 560 x 0.30 = 112 + 168 = 280.00
    t2 = Tariff("tou2", t.energy_periods, wk)
    b = bill_interval(t2, np.ones((1, 24 * 28)), start="2025-02-01", backend="cpu")
    assert int(b.total_fen[0, 0]) == 28_000


def test_seasonal_schedule_by_month():
    # summer (Jul, Aug) all hours in period 1 at 0.80, other months period 0 at 0.50.
    sched = tuple(tuple(1 if m in (6, 7) else 0 for _ in range(24)) for m in range(12))
    t = Tariff("season", ((Tier(None, 500_000_000),), (Tier(None, 800_000_000),)), sched)
    # 2025-06-01 .. 2025-08-31: 30 + 31 + 31 days at 0.1 kWh/h:
    # June 72 kWh x 0.50 = 36.00; July 74.4 x 0.80 = 59.52; August 59.52
    load = np.full((1, 24 * 92), 0.1)
    b = bill_interval(t, load, start="2025-06-01", backend="cpu")
    assert b.total_fen[0, :3].tolist() == [3_600, 5_952, 5_952]


def test_annual_blocks_accumulate_over_the_year():
    # residential 0.4883 + annual blocks 2760/4800 kWh. 300 kWh in the first hour of
    # each month (2025): by October 9 x 300 = 2700 kWh already billed, so October:
    # 60 kWh in block 1, 240 kWh in block 2 -> 146.49 + 240 x 0.05 = 158.49;
    # November (ytd 3000): 146.49 + 15.00 = 161.49; December (ytd 3300) likewise.
    t = bundled_tariff("residential_annual_tiers")
    load = np.zeros((1, 8760))
    for m in range(12):
        h = (np.datetime64(f"2025-{m + 1:02d}-01") - np.datetime64("2025-01-01")).astype(int) * 24
        load[0, h] = 300.0
    b = bill_interval(t, load, start="2025-01-01", backend="cpu")
    assert b.total_fen[0].tolist() == [14_649] * 9 + [15_849, 16_149, 16_149]
    assert b.block_fen[0, 9:].tolist() == [1_200, 1_500, 1_500]
    # starting in July 2025: Jul-Dec 2025 = 1800 kWh (no adders), then January 2026
    # starts a new year: ytd back to 0, so no adders at all over the 12 bills.
    load2 = np.zeros((1, 8760))
    for k in range(12):
        y, m = (2025, 7 + k) if k < 6 else (2026, k - 5)
        h = (np.datetime64(f"{y}-{m:02d}-01") - np.datetime64("2025-07-01")).astype(int) * 24
        load2[0, h] = 300.0
    b = bill_interval(t, load2, start="2025-07-01", backend="cpu")
    assert b.months[0] == "2025-07" and b.months[6] == "2026-01"
    assert b.total_fen[0].tolist() == [14_649] * 12


def test_demand_from_interval_data_hourly_and_15_minutes():
    # flat demand 30 CNY/kW; hourly: the largest hour in January is 12.34 kWh -> 12.34 kW
    # -> 12.34 x 30 = 370.20 CNY (energy 0.50/kWh on 12.34 + 1.00 kWh = 6.67 CNY)
    t = Tariff(
        "d", FLAT, flat_demand=((DemandTier(None, 30_000_000_000),),), flat_demand_months=ALL
    )
    load = np.zeros((1, 744))
    load[0, 100] = 12.34
    load[0, 200] = 1.0
    b = bill_interval(t, load, backend="cpu")
    assert int(b.max_demand_w[0, 0]) == 12_340 and int(b.demand_fen[0, 0]) == 37_020
    assert int(b.energy_fen[0, 0]) == 667  # 13.34 x 0.5 = 6.67
    # 15-minute steps: 1 Wh per 15 min is 4 W, so demand moves in 4 W steps:
    # 3.09 kWh in 15 min = 12.36 kW average -> 12.36 x 30 = 370.80 CNY
    load = np.zeros((1, 744 * 4))
    load[0, 400] = 3.09
    load[0, 401] = 3.0  # the hour holds 6.09 kWh, but demand is the 15-minute average
    b = bill_interval(t, load, step_minutes=15, backend="cpu")
    assert int(b.max_demand_w[0, 0]) == 12_360 and int(b.demand_fen[0, 0]) == 37_080
    assert int(b.energy_wh[0, 0, 0]) == 6_090  # 6.09 x 0.5 = 3.045 -> 3.05 CNY (half-up)
    assert int(b.energy_fen[0, 0]) == 305


def test_tou_demand_and_basic_per_kw_from_interval_data():
    # TOU demand: peak hours 8-11 on weekdays 10 CNY/kW; 2025-01-06 is a Monday.
    # Monday 09:00 5 kWh (peak 5 kW), Saturday 2025-01-04 09:00 9 kWh (weekend: off-peak).
    # Off-peak demand free; basic 2 CNY/kW of the month's max demand (9 kW) = 18.00;
    # peak demand 5 x 10 = 50.00; energy 14 x 0.5 = 7.00 -> 75.00
    ds = tuple(tuple(1 if 8 <= h < 12 else 0 for h in range(24)) for _ in range(12))
    we = tuple(tuple([0] * 24) for _ in range(12))
    t = Tariff(
        "td",
        FLAT,
        demand_periods=((DemandTier(None, 0),), (DemandTier(None, 10_000_000_000),)),
        demand_weekday_schedule=ds,
        demand_weekend_schedule=we,
        basic_nu_per_kw=2_000_000_000,
    )
    load = np.zeros((1, 24 * 31))
    load[0, 5 * 24 + 9] = 5.0  # 2025-01-06 09:00
    load[0, 3 * 24 + 9] = 9.0  # 2025-01-04 09:00
    b = bill_interval(t, load, backend="cpu")
    assert b.period_demand_w[0, 0].tolist() == [9_000, 5_000]
    assert int(b.demand_tou_fen[0, 0]) == 5_000 and int(b.basic_fen[0, 0]) == 1_800
    assert int(b.total_fen[0, 0]) == 7_500


def test_pf_and_capacity_from_interval_data():
    # bundled industrial two-part: 315 kVA x 28 = 8 820.00 basic; 1 kWh every hour of
    # January 2025 (744 kWh; 0.5 kvarh every hour -> 372 kvarh):
    # PF = 744 / sqrt(744^2 + 372^2) = 1 / sqrt(1.25) = 0.8944 -> 0.89: +0.5 %.
    # periods per weekday and weekend alike: peak 6 h, valley 8 h, flat 10 h a day:
    # 31 x (6 x 1.0418 + 8 x 0.3256 + 10 x 0.6512) = 31 x 15.3648 = 476.3088
    #   -> lines 193.77 (peak 186 kWh) + 80.75 (valley 248) + 201.87 (flat 310) = 476.39?
    # peak 186 x 1.0418 = 193.7748 -> 193.77; valley 248 x 0.3256 = 80.7488 -> 80.75;
    # flat 310 x 0.6512 = 201.872 -> 201.87; energy 476.39 CNY.
    # PF +0.5 % of (882 000 + 47 639) = 929 639 x 0.005 = 4 648.195 -> 4 648 fen
    t = bundled_tariff("industrial_tou_two_part")
    load = np.ones((1, 744))
    b = bill_interval(
        t, load, reactive_kvarh=np.full((1, 744), 0.5), capacity_kva=np.array([315]), backend="cpu"
    )
    assert b.energy_period_fen[0, 0].tolist() == [20_187, 19_377, 8_075]
    assert int(b.basic_fen[0, 0]) == 882_000 and int(b.pf_hundredths[0, 0]) == 89
    assert int(b.pf_adjust_fen[0, 0]) == 4_648
    assert int(b.total_fen[0, 0]) == 882_000 + 47_639 + 4_648
    assert int(b.reactive_varh[0, 0]) == 372_000 and int(b.reactive_varh[0, 1]) == 0


def test_monthly_and_annual_minimum_over_a_year():
    # 0.50/kWh, fixed 2.00, monthly minimum 10.00, annual minimum 200.00; no load:
    # each month 2.00 + top-up 8.00 = 10.00; Jan-Nov 110.00; December 10.00 + annual
    # top-up 200 - 110 - 10 = 80.00 -> 90.00
    t = Tariff("mins", FLAT, fixed_fen=200, min_monthly_fen=1_000, min_annual_fen=20_000)
    b = bill_interval(t, np.zeros((2, 8760)), backend="cpu")
    assert b.total_fen[0].tolist() == [1_000] * 11 + [9_000]
    assert b.minimum_fen[1].tolist() == [800] * 12
    assert b.annual_minimum_fen[1].tolist() == [0] * 11 + [8_000]
    assert b.total[0, 11] == pytest.approx(90.0)


def test_float32_and_float64_and_orders_agree():
    rng = np.random.default_rng(11)
    load = rng.gamma(1.5, 0.5, (5, 8760)).astype(np.float32)
    q = (load * 0.4).astype(np.float32)
    kw = {
        "start": "2025-01-01",
        "reactive_kvarh": q,
        "capacity_kva": np.arange(5) * 50,
        "backend": "cpu",
    }
    a = bill_interval(RICH, load, **kw)
    f = bill_interval(RICH, np.asfortranarray(load), **kw)
    np.testing.assert_array_equal(a.lines, f.lines)
    np.testing.assert_array_equal(a.energy_period_fen, f.energy_period_fen)
    # float64 copies of the same float32 values are the same kWh, so the same bills
    d = bill_interval(RICH, load.astype(np.float64), **kw)
    np.testing.assert_array_equal(a.lines, d.lines)
    # a strided view (every other customer) bills like a compact copy
    s = bill_interval(
        RICH, load[::2], **{**kw, "reactive_kvarh": q[::2], "capacity_kva": np.arange(3) * 100}
    )
    np.testing.assert_array_equal(s.lines, a.lines[::2])


def test_matches_reference_on_fixed_examples():
    rng = np.random.default_rng(3)
    load = rng.gamma(1.2, 0.6, (3, 8760))
    load[1, ::7] = 0.0
    load[2] *= 20  # a large customer through all the blocks
    q = rng.gamma(1.0, 0.3, (3, 8760))
    cap = np.array([0, 100, 630])
    for tariff in (RICH, RICH_EVEN):
        b = bill_interval(tariff, load, reactive_kvarh=q, capacity_kva=cap, backend="cpu")
        _assert_same(b, ref_bill_interval(tariff, load, "2025-01-01", 60, q, cap))


# --- hypothesis: the kernel equals the slow reference ---------------------------------------


@st.composite
def _fleets(draw):
    n = draw(st.integers(1, 3))
    start = draw(st.sampled_from(["2025-01-01", "2024-01-01", "2024-03-01", "2025-07-15"]))
    step = draw(st.sampled_from([60, 15]))
    steps_per_day = 24 * 60 // step
    days = draw(st.sampled_from([365, 300, 40]))
    if start.endswith("-15"):
        days = min(days, 300)  # 365 days from mid-July span 13 calendar months (refused)
    seed = draw(st.integers(0, 2**32 - 1))
    scale = draw(st.sampled_from([0.05, 0.5, 5.0]))
    sparsity = draw(st.sampled_from([0.0, 0.5, 0.95]))
    with_q = draw(st.booleans())
    tariff = draw(st.sampled_from([RICH, RICH_EVEN]))
    res = draw(st.sampled_from([1, 10]))
    rng = np.random.default_rng(seed)
    # integer Wh / 1000 (res 1) or centi-kWh / 100 (res 10, register data): each value
    # lands exactly on the resolution
    per_kwh = 1000 // res
    ck = np.floor(rng.gamma(1.0, scale * per_kwh * 60 / step, (n, days * steps_per_day)))
    ck[rng.random(ck.shape) < sparsity] = 0
    load = ck / per_kwh
    q = (
        np.floor(rng.gamma(1.0, 0.4 * per_kwh * 60 / step, load.shape)) / per_kwh
        if with_q
        else None
    )
    cap = rng.integers(0, 1000, n)
    return tariff, load, start, step, q, cap, res


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_fleets())
def test_kernel_equals_reference(fleet):
    tariff, load, start, step, q, cap, res = fleet
    b = bill_interval(
        tariff,
        load,
        start=start,
        step_minutes=step,
        reactive_kvarh=q,
        capacity_kva=cap,
        step_resolution_wh=res,
        backend="cpu",
    )
    _assert_same(b, ref_bill_interval(tariff, load, start, step, q, cap, res))
    # the float32 copy bills the same (values are multiples of 0.001 below 2**24 / 1000)
    b32 = bill_interval(
        tariff,
        load.astype(np.float32),
        start=start,
        step_minutes=step,
        reactive_kvarh=q,
        capacity_kva=cap,
        step_resolution_wh=res,
        backend="cpu",
    )
    np.testing.assert_array_equal(b.lines, b32.lines)


@pytest.mark.slow
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_fleets())
def test_kernel_equals_reference_many(fleet):
    test_kernel_equals_reference.hypothesis.inner_test(fleet)


# --- validation --------------------------------------------------------------------------


def test_bad_inputs_name_the_argument():
    t = Tariff("f", FLAT)
    with pytest.raises(ValueError, match=r"load_kwh must have shape \(n_customers, n_steps\)"):
        bill_interval(t, np.zeros(8760), backend="cpu")
    with pytest.raises(ValueError, match=r"load_kwh must have shape"):
        bill_interval(t, np.zeros((1, 2, 3)), backend="cpu")
    with pytest.raises(ValueError, match="load_kwh has no steps"):
        bill_interval(t, np.zeros((1, 0)), backend="cpu")
    bad = np.zeros((3, 48))
    bad[2, 17] = -0.5
    with pytest.raises(ValueError, match=r"load_kwh\[2, 17\] = -0.5"):
        bill_interval(t, bad, backend="cpu")
    bad[2, 17] = np.nan
    with pytest.raises(ValueError, match=r"load_kwh\[2, 17\] = nan"):
        bill_interval(t, bad, backend="cpu")
    bad[2, 17] = np.inf
    with pytest.raises(ValueError, match=r"load_kwh\[2, 17\]"):
        bill_interval(t, bad.astype(np.float32), backend="cpu")
    with pytest.raises(ValueError, match="span 13 months"):
        bill_interval(t, np.zeros((1, 8760 + 31 * 24)), backend="cpu")
    with pytest.raises(ValueError, match="step_minutes must divide 60"):
        bill_interval(t, np.zeros((1, 10)), step_minutes=7, backend="cpu")
    with pytest.raises(ValueError, match="start must be an ISO date"):
        bill_interval(t, np.zeros((1, 10)), start="01/01/2025", backend="cpu")
    with pytest.raises(ValueError, match=r"reactive_kvarh must have shape \(1, 10\)"):
        bill_interval(t, np.zeros((1, 10)), reactive_kvarh=np.zeros((1, 9)), backend="cpu")
    with pytest.raises(ValueError, match=r"capacity_kva must have shape \(1,\)"):
        bill_interval(t, np.zeros((1, 10)), capacity_kva=np.array([1, 2]), backend="cpu")
    with pytest.raises(TypeError, match="tariff must be a Tariff or TariffTable"):
        bill_interval("flat", np.zeros((1, 10)), backend="cpu")
    # integer loads are accepted (converted to float kWh)
    b = bill_interval(t, np.ones((1, 24), dtype=np.int64), backend="cpu")
    assert int(b.total_fen[0, 0]) == 1_200  # 24 kWh x 0.50
