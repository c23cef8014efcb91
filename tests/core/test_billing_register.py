"""Register-read billing: hand-computed bills for every tariff element.

Each test bills one or a few customers with :func:`m2c.core.bill_register` and
checks the figures against arithmetic written in the comments (CNY unless
marked fen; 1 CNY = 100 fen).
"""

import numpy as np
import pytest

from m2c.core import bill_register, bundled_tariff, compile_tariffs
from m2c.core.tariffs.model import Block, DemandTier, Tariff, Tier

FLAT = ((Tier(None, 500_000_000),),)  # 0.50 CNY/kWh
ALL = tuple([0] * 12)  # flat-demand structure 0 in every month


def _reg(tariff, energy_ckwh, month=3, **kw):
    """Bill one customer on ``tariff``; keyword arrays are scalars per customer."""
    table = compile_tariffs([tariff])
    e = np.zeros((1, table.n_periods), dtype=np.int64)
    e[0, : len(energy_ckwh)] = energy_ckwh
    args = {}
    for k, v in kw.items():
        args[k] = np.array([v], dtype=np.int64)
    return bill_register(table, np.array([0]), e, month=month, backend="cpu", **args)


def _one(bills, line):
    return int(getattr(bills, line)[0])


# --- energy ------------------------------------------------------------------


def test_flat_price_and_rounding_modes():
    # 123.45 kWh x 0.50 = 61.725 CNY = 6 172.5 fen -> 6 173 (half-up) / 6 172 (half-even)
    b = _reg(Tariff("f", FLAT), [12_345])
    assert _one(b, "total_fen") == 6_173 and _one(b, "energy_fen") == 6_173
    assert b.energy_period_fen[0].tolist() == [6_173]
    assert b.total[0] == pytest.approx(61.73)
    b = _reg(Tariff("f", FLAT, rounding="half_even"), [12_345])
    assert _one(b, "total_fen") == 6_172
    # 0 kWh -> 0; no other line moves
    b = _reg(Tariff("f", FLAT), [0])
    assert b.lines[0].tolist()[:8] == [0] * 8


def test_monthly_tiers_in_the_period():
    # tiers: first 200 kWh at 0.50, next 200 at 0.55, rest at 0.80; 450 kWh:
    # 200 x 0.50 + 200 x 0.55 + 50 x 0.80 = 100 + 110 + 40 = 250.00 CNY
    t = Tariff(
        "m", ((Tier(200_000, 500_000_000), Tier(400_000, 550_000_000), Tier(None, 800_000_000)),)
    )
    assert _one(_reg(t, [45_000]), "total_fen") == 25_000
    # exactly at a bound: 200 kWh x 0.50 = 100.00 (nothing in tier 2)
    assert _one(_reg(t, [20_000]), "total_fen") == 10_000
    # one step over: 200.01 kWh -> 100.00 + 0.01 x 0.55 = 100.0055 -> 100.01
    assert _one(_reg(t, [20_001]), "total_fen") == 10_001


def test_monthly_block_adders_on_total():
    # base 0.50/kWh, monthly blocks: first 200 kWh +0, next 200 +0.05, rest +0.30.
    # 450 kWh: base 225.00; adders 200 x 0.05 = 10.00 and 50 x 0.30 = 15.00 -> 250.00
    t = Tariff(
        "mb",
        FLAT,
        blocks=(Block(200_000, 0), Block(400_000, 50_000_000), Block(None, 300_000_000)),
        block_basis="monthly",
    )
    b = _reg(t, [45_000])
    assert _one(b, "total_fen") == 25_000 and _one(b, "block_fen") == 2_500
    assert b.block_line_fen[0].tolist() == [0, 1_000, 1_500]
    # monthly basis ignores the year-to-date energy: same bill with ytd = 10 000 kWh
    assert _one(_reg(t, [45_000], ytd_energy_ckwh=1_000_000), "total_fen") == 25_000


def test_annual_blocks_chinese_residential():
    # 2760 / 4800 kWh per year, +0.05 / +0.30 CNY/kWh on 0.4883 (bundled tariff).
    t = bundled_tariff("residential_annual_tiers")
    # ytd 0, 300 kWh: all in block 1: 300 x 0.4883 = 146.49 CNY, no adder
    b = _reg(t, [30_000], ytd_energy_ckwh=0)
    assert _one(b, "total_fen") == 14_649 and _one(b, "block_fen") == 0
    # ytd 2700 kWh, this bill 300 kWh: 60 kWh in block 1, 240 kWh in block 2.
    # energy 146.49; adders 240 x 0.05 = 12.00 -> 158.49 CNY
    b = _reg(t, [30_000], ytd_energy_ckwh=270_000)
    assert _one(b, "total_fen") == 15_849 and _one(b, "block_fen") == 1_200
    # ytd 4700 kWh, 300 kWh: 100 kWh at +0.05, 200 kWh at +0.30 -> 146.49 + 5 + 60 = 211.49
    b = _reg(t, [30_000], ytd_energy_ckwh=470_000)
    assert _one(b, "total_fen") == 21_149
    assert b.block_line_fen[0].tolist() == [0, 500, 6_000]
    # one bill across both bounds: ytd 2700, 2200 kWh -> 60 | 2040 | 100 kWh:
    # 2200 x 0.4883 = 1 074.26; 2040 x 0.05 = 102.00; 100 x 0.30 = 30.00 -> 1 206.26
    b = _reg(t, [220_000], ytd_energy_ckwh=270_000)
    assert _one(b, "total_fen") == 120_626
    assert b.block_line_fen[0].tolist() == [0, 10_200, 3_000]
    # ytd already above 4800: every kWh at +0.30: 100 x (0.4883 + 0.30) = 78.83
    assert _one(_reg(t, [10_000], ytd_energy_ckwh=500_000), "total_fen") == 7_883


def test_tou_periods_and_tiers_within_periods():
    # bundled industrial TOU (periods: 0 flat 0.6512, 1 peak 1.0418, 2 valley 0.3256).
    # 1000 kWh flat + 500 peak + 800 valley, no capacity, no reactive:
    # 651.20 + 520.90 + 260.48 = 1 432.58 CNY
    t = bundled_tariff("industrial_tou_two_part")
    b = _reg(t, [100_000, 50_000, 80_000])
    assert b.energy_period_fen[0].tolist() == [65_120, 52_090, 26_048]
    assert _one(b, "total_fen") == 143_258 and _one(b, "pf_adjust_fen") == 0
    # two periods, each with its own tiers on the period's energy:
    # p0: 100 kWh at 0.40 then 0.60; p1: 50 kWh at 1.00 then 1.20.
    # [150, 80] kWh: p0 100 x 0.40 + 50 x 0.60 = 70.00; p1 50 x 1.00 + 30 x 1.20 = 86.00
    # (tiers on the total 230 kWh would give a different bill)
    t2 = Tariff(
        "pt",
        (
            (Tier(100_000, 400_000_000), Tier(None, 600_000_000)),
            (Tier(50_000, 1_000_000_000), Tier(None, 1_200_000_000)),
        ),
    )
    b = _reg(t2, [15_000, 8_000])
    assert b.energy_period_fen[0].tolist() == [7_000, 8_600]
    assert _one(b, "total_fen") == 15_600


def test_each_period_line_is_rounded_once():
    # two periods at 0.005 CNY/kWh: 1 kWh each = 0.5 fen per line -> 1 + 1 = 2 fen
    # (half-up per line; rounding the 1.0 fen sum once would give 1 fen)
    t = Tariff("r", ((Tier(None, 5_000_000),), (Tier(None, 5_000_000),)))
    b = _reg(t, [100, 100])
    assert b.energy_period_fen[0].tolist() == [1, 1] and _one(b, "total_fen") == 2


# --- demand and basic charges ------------------------------------------------------


def test_flat_demand_tiered():
    # first 50 kW at 20 CNY/kW, above at 30; max demand 80 kW:
    # 50 x 20 + 30 x 30 = 1 000 + 900 = 1 900.00 CNY
    t = Tariff(
        "d",
        FLAT,
        flat_demand=((DemandTier(50_000, 20_000_000_000), DemandTier(None, 30_000_000_000)),),
        flat_demand_months=ALL,
    )
    b = _reg(t, [0], max_demand_w=80_000)
    assert _one(b, "demand_fen") == 190_000 and _one(b, "demand_flat_fen") == 190_000
    assert _one(b, "total_fen") == 190_000
    # 12.345 kW x 20 = 246.90 CNY
    assert _one(_reg(t, [0], max_demand_w=12_345), "demand_fen") == 24_690


def test_flat_demand_by_month():
    # summer (Jun-Sep) 30 CNY/kW, winter (Dec-Feb) 10 CNY/kW, spring/autumn none.
    months = tuple(0 if m in (5, 6, 7, 8) else 1 if m in (11, 0, 1) else -1 for m in range(12))
    t = Tariff(
        "ds",
        FLAT,
        flat_demand=((DemandTier(None, 30_000_000_000),), (DemandTier(None, 10_000_000_000),)),
        flat_demand_months=months,
    )
    # 40 kW: July 40 x 30 = 1 200.00; January 40 x 10 = 400.00; April 0
    assert _one(_reg(t, [0], month=7, max_demand_w=40_000), "demand_fen") == 120_000
    assert _one(_reg(t, [0], month=1, max_demand_w=40_000), "demand_fen") == 40_000
    assert _one(_reg(t, [0], month=4, max_demand_w=40_000), "demand_fen") == 0


def test_tou_demand_tiered_plus_flat_demand():
    # demand periods: 0 off-peak: first 100 kW free, above 5 CNY/kW;
    #                 1 peak (8-11 h): first 50 kW at 10, above at 15.
    # period maxima [150 kW, 80 kW]: off-peak 50 x 5 = 250.00;
    # peak 50 x 10 + 30 x 15 = 950.00 -> TOU 1 200.00.
    # flat demand 20 CNY/kW on the month max 150 kW = 3 000.00 -> demand 4 200.00
    ds = tuple(tuple(1 if 8 <= h < 12 else 0 for h in range(24)) for _ in range(12))
    t = Tariff(
        "dt",
        FLAT,
        demand_periods=(
            (DemandTier(100_000, 0), DemandTier(None, 5_000_000_000)),
            (DemandTier(50_000, 10_000_000_000), DemandTier(None, 15_000_000_000)),
        ),
        demand_weekday_schedule=ds,
        flat_demand=((DemandTier(None, 20_000_000_000),),),
        flat_demand_months=ALL,
    )
    table = compile_tariffs([t])
    b = bill_register(
        table,
        np.array([0]),
        np.zeros((1, 1), dtype=np.int64),
        month=3,
        max_demand_w=np.array([150_000]),
        period_demand_w=np.array([[150_000, 80_000]]),
        backend="cpu",
    )
    assert _one(b, "demand_tou_fen") == 120_000
    assert _one(b, "demand_flat_fen") == 300_000
    assert _one(b, "demand_fen") == 420_000 and _one(b, "total_fen") == 420_000
    # a TOU-demand tariff without period maxima is refused, naming the argument
    with pytest.raises(ValueError, match="period_demand_w"):
        bill_register(
            table, np.array([0]), np.zeros((1, 1), dtype=np.int64), month=3, backend="cpu"
        )


def test_two_part_basic_charge_per_kva_and_per_kw():
    # 315 kVA x 28 CNY/kVA-month = 8 820.00 CNY
    t = Tariff("b", FLAT, basic_nu_per_kva=28_000_000_000)
    assert _one(_reg(t, [0], capacity_kva=315), "basic_fen") == 882_000
    # 250.5 kW max demand x 40 CNY/kW-month = 10 020.00 CNY
    t = Tariff("k", FLAT, basic_nu_per_kw=40_000_000_000)
    b = _reg(t, [0], max_demand_w=250_500)
    assert _one(b, "basic_fen") == 1_002_000 and _one(b, "demand_fen") == 0
    # both in one tariff: 100 kVA x 28 + 60 kW x 40 = 2 800 + 2 400 = 5 200.00
    t = Tariff("kk", FLAT, basic_nu_per_kva=28_000_000_000, basic_nu_per_kw=40_000_000_000)
    assert _one(_reg(t, [0], capacity_kva=100, max_demand_w=60_000), "basic_fen") == 520_000
    # 50 W x 0.10 CNY/kW = 0.005 CNY = 0.5 fen -> 1 (half-up) / 0 (half-even)
    t = Tariff("kr", FLAT, basic_nu_per_kw=100_000_000)
    assert _one(_reg(t, [0], max_demand_w=50), "basic_fen") == 1
    t = Tariff("kr", FLAT, basic_nu_per_kw=100_000_000, rounding="half_even")
    assert _one(_reg(t, [0], max_demand_w=50), "basic_fen") == 0


# --- fixed and minimum charges ---------------------------------------------------------


def test_fixed_and_monthly_minimum():
    # fixed 5.71 + energy 10 kWh x 0.50 = 5.00 -> 10.71; minimum 15.00 tops up 4.29
    t = Tariff("fm", FLAT, fixed_fen=571, min_monthly_fen=1_500)
    b = _reg(t, [1_000])
    assert _one(b, "fixed_fen") == 571 and _one(b, "minimum_fen") == 429
    assert _one(b, "total_fen") == 1_500
    # 100 kWh: 50.00 + 5.71 = 55.71 > 15.00: no top-up
    b = _reg(t, [10_000])
    assert _one(b, "minimum_fen") == 0 and _one(b, "total_fen") == 5_571
    # no consumption: fixed 5.71, top-up 9.29
    assert _one(_reg(t, [0]), "minimum_fen") == 929
    # bundled commercial: 0.6664/kWh + 5.00 fixed; 321 kWh -> 213.9144 -> 213.91 + 5 = 218.91
    assert _one(_reg(bundled_tariff("commercial_flat"), [32_100]), "total_fen") == 21_891


def test_annual_minimum_on_the_december_bill():
    # annual minimum 1 000.00; billed Jan-Nov 900.00; December energy 40 kWh x 0.50 =
    # 20.00 -> the December bill tops the year up by 1000 - 900 - 20 = 80.00 CNY.
    t = Tariff("am", FLAT, min_annual_fen=100_000)
    b = _reg(t, [4_000], month=12, ytd_billed_fen=90_000)
    assert _one(b, "annual_minimum_fen") == 8_000 and _one(b, "total_fen") == 10_000
    # billed enough already (990.00 + 20.00 >= 1000): no top-up
    b = _reg(t, [4_000], month=12, ytd_billed_fen=99_000)
    assert _one(b, "annual_minimum_fen") == 0 and _one(b, "total_fen") == 2_000
    # not in November, and not without the year's billed amount
    assert _one(_reg(t, [4_000], month=11, ytd_billed_fen=0), "annual_minimum_fen") == 0
    assert _one(_reg(t, [4_000], month=12), "annual_minimum_fen") == 0


def test_monthly_and_annual_minimum_together():
    # monthly minimum 10.00, annual 500.00; December: 4 kWh x 0.5 = 2.00 -> monthly
    # top-up 8.00 -> 10.00; billed before 450.00 -> annual top-up 500 - 460 = 40.00
    t = Tariff("ma", FLAT, min_monthly_fen=1_000, min_annual_fen=50_000)
    b = _reg(t, [400], month=12, ytd_billed_fen=45_000)
    assert _one(b, "minimum_fen") == 800 and _one(b, "annual_minimum_fen") == 4_000
    assert _one(b, "total_fen") == 5_000


# --- power-factor adjustment ----------------------------------------------------------------


def test_pf_adjustment_on_basic_plus_energy_industrial():
    # bundled industrial two-part, standard 0.90; 315 kVA; 10 000 kWh flat, 5 000 peak,
    # 8 000 valley: energy 6 512.00 + 5 209.00 + 2 604.80 = 14 325.80; basic 315 x 28 =
    # 8 820.00; basic + energy = 23 145.80 CNY = 2 314 580 fen.
    t = bundled_tariff("industrial_tou_two_part")
    e = [1_000_000, 500_000, 800_000]
    # PF 0.85 (Q = 23 000 x tan(acos 0.85) = 23 000 x 0.619744 = 14 254.11 kvarh):
    # 5 steps below 0.90 x 0.5 % = +2.5 %: 2 314 580 x 0.025 = 57 864.5 -> 57 865 fen
    b = _reg(t, e, capacity_kva=315, reactive_ckvarh=1_425_411)
    assert _one(b, "pf_hundredths") == 85
    assert _one(b, "energy_fen") == 1_432_580 and _one(b, "basic_fen") == 882_000
    assert _one(b, "pf_adjust_fen") == 57_865
    assert _one(b, "total_fen") == 2_314_580 + 57_865
    # PF 0.96 (Q = 23 000 x 0.291667 = 6 708.33 kvarh): -0.75 %:
    # -2 314 580 x 0.0075 = -17 359.35 -> -17 359 fen
    b = _reg(t, e, capacity_kva=315, reactive_ckvarh=670_833)
    assert _one(b, "pf_hundredths") == 96 and _one(b, "pf_adjust_fen") == -17_359
    assert _one(b, "total_fen") == 2_314_580 - 17_359
    # unknown reactive energy (default): no adjustment, PF reported as 1.00
    b = _reg(t, e, capacity_kva=315)
    assert _one(b, "pf_adjust_fen") == 0 and _one(b, "pf_hundredths") == 100


def test_pf_adjustment_excludes_demand_and_fixed():
    # 0.50/kWh, flat demand 20/kW, basic 30/kW of max demand, fixed 10.00, standard 0.85.
    # 1000 kWh = 500.00; 10 kW: demand 200.00, basic 300.00; fixed 10.00.
    # PF 0.70 (Q = 1000 x tan(acos 0.70) = 1 020.20 kvarh): 15 steps x 0.5 % = +7.5 %
    # of basic + energy 800.00 = 60.00 (not of 1 010.00, which would give 75.75).
    # total 500 + 200 + 300 + 10 + 60 = 1 070.00
    t = Tariff(
        "pfx",
        FLAT,
        flat_demand=((DemandTier(None, 20_000_000_000),),),
        flat_demand_months=ALL,
        basic_nu_per_kw=30_000_000_000,
        fixed_fen=1_000,
        pf_standard=85,
    )
    b = _reg(t, [100_000], max_demand_w=10_000, reactive_ckvarh=102_020)
    assert _one(b, "pf_hundredths") == 70 and _one(b, "pf_adjust_fen") == 6_000
    assert _one(b, "total_fen") == 107_000
    # agricultural (standard 0.80): 200 kWh x 0.4790 = 95.80; PF 0.95 -> -1.3 %:
    # -95.80 x 0.013 = -1.2454 -> -1.25 CNY; reactive 200 x tan(acos 0.95) = 65.74 kvarh
    b = _reg(bundled_tariff("agricultural"), [20_000], reactive_ckvarh=6_574)
    assert _one(b, "pf_hundredths") == 95 and _one(b, "pf_adjust_fen") == -125
    assert _one(b, "total_fen") == 9_580 - 125


def test_pf_adjustment_includes_block_adders():
    # energy charge = period price + block adders; PF applies to all of it.
    # 0.50 + monthly blocks (100 kWh +0, rest +0.10); 300 kWh: 150.00 + 20.00 = 170.00
    # standard 0.90, PF 0.80 -> +5 %: 8.50 CNY; total 178.50
    t = Tariff(
        "pb",
        FLAT,
        blocks=(Block(100_000, 0), Block(None, 100_000_000)),
        block_basis="monthly",
        pf_standard=90,
    )
    b = _reg(t, [30_000], reactive_ckvarh=22_500)  # 300 / sqrt(300^2 + 225^2) = 0.80
    assert _one(b, "energy_fen") == 17_000 and _one(b, "pf_adjust_fen") == 850
    assert _one(b, "total_fen") == 17_850


# --- many customers, many tariffs ---------------------------------------------------------


def test_mixed_tariffs_in_one_table_bill_like_single_tariffs():
    names = [
        "agricultural",
        "commercial_flat",
        "industrial_tou_two_part",
        "residential_annual_tiers",
    ]
    tariffs = [bundled_tariff(n) for n in names]
    table = compile_tariffs(tariffs)
    rng = np.random.default_rng(5)
    n = 40
    tid = rng.integers(0, 4, n)
    energy = rng.integers(0, 300_000, (n, table.n_periods))
    # single-period tariffs read column 0 only
    energy[tid != 2, 1:] = 0
    ytd = rng.integers(0, 600_000, n)
    cap = rng.integers(0, 400, n)
    q = rng.integers(0, 200_000, n)
    b = bill_register(
        table,
        tid,
        energy,
        month=6,
        ytd_energy_ckwh=ytd,
        capacity_kva=cap,
        reactive_ckvarh=q,
        backend="cpu",
    )
    for i in range(n):
        t = tariffs[tid[i]]
        one = _reg(
            t,
            energy[i, : t.n_energy_periods].tolist(),
            month=6,
            ytd_energy_ckwh=ytd[i],
            capacity_kva=cap[i],
            reactive_ckvarh=q[i],
        )
        np.testing.assert_array_equal(b.lines[i], one.lines[0])


# --- validation -----------------------------------------------------------------------------


def test_validation_errors_name_the_argument():
    table = compile_tariffs([Tariff("f", FLAT)])
    e = np.array([[100]])
    with pytest.raises(ValueError, match=r"tariff_id values must be in 0\.\.0"):
        bill_register(table, np.array([1]), e, month=1, backend="cpu")
    with pytest.raises(ValueError, match="tariff_id must be a 1-D integer array"):
        bill_register(table, np.array([0.0]), e, month=1, backend="cpu")
    with pytest.raises(ValueError, match="period_energy_ckwh must be an integer array"):
        bill_register(table, np.array([0]), np.array([[1.5]]), month=1, backend="cpu")
    with pytest.raises(ValueError, match=r"period_energy_ckwh must have shape \(1, 1\)"):
        bill_register(table, np.array([0]), np.array([[1, 2]]), month=1, backend="cpu")
    with pytest.raises(ValueError, match="period_energy_ckwh must be >= 0"):
        bill_register(table, np.array([0]), np.array([[-1]]), month=1, backend="cpu")
    with pytest.raises(ValueError, match=r"month must be 1\.\.12"):
        bill_register(table, np.array([0]), e, month=13, backend="cpu")
    with pytest.raises(ValueError, match=r"capacity_kva must have shape \(1,\)"):
        bill_register(
            table, np.array([0]), e, month=1, capacity_kva=np.array([1, 2]), backend="cpu"
        )
    with pytest.raises(ValueError, match="max_demand_w must be an integer array"):
        bill_register(table, np.array([0]), e, month=1, max_demand_w=np.array([1.5]), backend="cpu")
    with pytest.raises(ValueError, match="backend must be one of"):
        bill_register(table, np.array([0]), e, month=1, backend="gpu")
    # no customers: empty bills, no error
    b = bill_register(
        table, np.zeros(0, dtype=np.int64), np.zeros((0, 1), dtype=np.int64), month=1, backend="cpu"
    )
    assert b.total_fen.shape == (0,)


def test_energy_outside_the_tariffs_periods_is_refused():
    # a flat tariff in a table whose widest tariff has 3 periods: column 2 is not billed
    table = compile_tariffs(
        [bundled_tariff("commercial_flat"), bundled_tariff("industrial_tou_two_part")]
    )
    e = np.zeros((1, table.n_periods), dtype=np.int64)
    e[0, 2] = 100
    with pytest.raises(ValueError, match=r"period_energy_ckwh\[0, 2\] = 100"):
        bill_register(table, np.array([0]), e, month=3)
