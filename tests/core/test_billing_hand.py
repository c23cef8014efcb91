"""Hand-computed bills for every tariff element (the arithmetic is in the comments)."""

import numpy as np
import pytest

from m2c.core import bill_interval, bill_register, bundled_tariff, compile_tariffs
from m2c.core.tariffs.model import DemandTier, Tariff, Tier
from m2c.core.tariffs.powerfactor import adjustment_ppm, pf_hundredths

FLAT = ((Tier(None, 500_000_000),),)  # 0.50 CNY/kWh


def _reg(tariff, energy_ckwh, month=3, **kw):
    table = compile_tariffs([tariff])
    e = np.zeros((1, table.n_periods), dtype=np.int64)
    e[0, : len(energy_ckwh)] = energy_ckwh
    kw = {k: np.array([v], dtype=np.int64) for k, v in kw.items()}
    return bill_register(table, np.array([0]), e, month=month, **kw)


def test_flat_energy():
    # 123.45 kWh x 0.50 = 61.725 CNY -> 6 173 fen (half-up)
    assert int(_reg(Tariff("f", FLAT), [12_345]).total_fen[0]) == 6_173


def test_monthly_tiers():
    # tiers: first 200 kWh at 0.50, next 200 at 0.55, rest at 0.80; 450 kWh:
    # 200 x 0.50 + 200 x 0.55 + 50 x 0.80 = 100 + 110 + 40 = 250.00 CNY
    t = Tariff(
        "m", ((Tier(200_000, 500_000_000), Tier(400_000, 550_000_000), Tier(None, 800_000_000)),)
    )
    assert int(_reg(t, [45_000]).total_fen[0]) == 25_000


def test_annual_blocks_chinese_residential():
    # 2760 / 4800 kWh per year, +0.05 / +0.30 CNY/kWh on 0.4883.
    # ytd 2700 kWh, this bill 300 kWh: 60 kWh in block 1, 240 kWh in block 2.
    # energy 300 x 0.4883 = 146.49; adders 240 x 0.05 = 12.00 -> 158.49 CNY
    t = bundled_tariff("residential_annual_tiers")
    b = _reg(t, [30_000], ytd_energy_ckwh=270_000)
    assert int(b.total_fen[0]) == 15_849 and int(b.block_fen[0]) == 1_200
    # ytd 4700 kWh, 300 kWh: 100 kWh at +0.05, 200 kWh at +0.30 -> 146.49 + 5 + 60
    b = _reg(t, [30_000], ytd_energy_ckwh=470_000)
    assert int(b.total_fen[0]) == 21_149


def test_tou_periods_with_weekend_schedule():
    # peak 1.00 (hours 8-11 weekdays), off-peak 0.30 otherwise and on weekends.
    wk = tuple(tuple(1 if 8 <= h < 12 else 0 for h in range(24)) for _ in range(12))
    we = tuple(tuple(0 for _ in range(24)) for _ in range(12))
    t = Tariff("tou", ((Tier(None, 300_000_000),), (Tier(None, 1_000_000_000),)), wk, we)
    # March 2025: 21 weekdays, 10 weekend days; 1 kWh every hour.
    # peak 21 x 4 = 84 kWh x 1.00 = 84.00; off-peak (744 - 84) = 660 x 0.30 = 198.00
    load = np.zeros((1, 24 * 31))
    load[:] = 1.0
    b = bill_interval(t, load, start="2025-03-01")
    assert int(b.total_fen[0, 0]) == 28_200
    assert b.energy_wh[0, 0].tolist() == [660_000, 84_000]


def test_tiers_within_a_period():
    # one period with tiers 100 kWh at 0.40 then 0.60: 150 kWh -> 40 + 30 = 70.00
    t = Tariff("pt", ((Tier(100_000, 400_000_000), Tier(None, 600_000_000)),))
    assert int(_reg(t, [15_000]).total_fen[0]) == 7_000


def test_flat_demand_tiered_and_tou_demand():
    # flat demand: first 50 kW at 20 CNY/kW, above at 30; max demand 80 kW:
    # 50 x 20 + 30 x 30 = 1 900.00 CNY; plus energy 0.
    t = Tariff(
        "d",
        FLAT,
        flat_demand=((DemandTier(50_000, 20_000_000_000), DemandTier(None, 30_000_000_000)),),
        flat_demand_months=tuple([0] * 12),
    )
    b = _reg(t, [0], max_demand_w=80_000)
    assert int(b.demand_fen[0]) == 190_000 and int(b.total_fen[0]) == 190_000
    # TOU demand: peak period (hours 8-11) 10 CNY/kW; peak-hour max 40 kW -> 400.00
    ds = tuple(tuple(1 if 8 <= h < 12 else 0 for h in range(24)) for _ in range(12))
    t2 = Tariff(
        "dt",
        FLAT,
        demand_periods=((DemandTier(None, 0),), (DemandTier(None, 10_000_000_000),)),
        demand_weekday_schedule=ds,
        demand_weekend_schedule=ds,
    )
    table = compile_tariffs([t2])
    e = np.zeros((1, table.n_periods), dtype=np.int64)
    pd = np.array([[90_000, 40_000]], dtype=np.int64)
    b = bill_register(table, np.array([0]), e, month=3, period_demand_w=pd)
    assert int(b.demand_tou_fen[0]) == 40_000


def test_two_part_basic_charge_per_kva_and_per_kw():
    # 315 kVA x 28 CNY/kVA-month = 8 820.00 CNY
    t = Tariff("b", FLAT, basic_nu_per_kva=28_000_000_000)
    assert int(_reg(t, [0], capacity_kva=315).basic_fen[0]) == 882_000
    # 250.5 kW max demand x 40 CNY/kW-month = 10 020.00 CNY
    t = Tariff("k", FLAT, basic_nu_per_kw=40_000_000_000)
    assert int(_reg(t, [0], max_demand_w=250_500).basic_fen[0]) == 1_002_000


def test_fixed_and_monthly_minimum():
    # fixed 5.71 + energy 10 kWh x 0.50 = 5.00 -> 10.71; minimum 15.00 tops up 4.29
    t = Tariff("fm", FLAT, fixed_fen=571, min_monthly_fen=1_500)
    b = _reg(t, [1_000])
    assert int(b.fixed_fen[0]) == 571 and int(b.minimum_fen[0]) == 429
    assert int(b.total_fen[0]) == 1_500


def test_annual_minimum_on_the_december_bill():
    # annual minimum 1 000.00; billed Jan-Nov 900.00; December energy 20.00 -> the
    # December bill tops the year up by 1000 - 900 - 20 = 80.00 CNY.
    t = Tariff("am", FLAT, min_annual_fen=100_000)
    b = _reg(t, [4_000], month=12, ytd_billed_fen=90_000)
    assert int(b.annual_minimum_fen[0]) == 8_000 and int(b.total_fen[0]) == 10_000


@pytest.mark.parametrize(
    ("pf", "standard", "ppm"),
    [
        (95, 90, -7_500),
        (100, 90, -7_500),
        (91, 90, -1_500),
        (90, 90, 0),
        (89, 90, 5_000),
        (70, 90, 100_000),
        (69, 90, 110_000),
        (65, 90, 150_000),
        (64, 90, 170_000),
        (60, 90, 250_000),
        (94, 85, -11_000),
        (86, 85, -1_000),
        (84, 85, 5_000),
        (92, 80, -13_000),
        (81, 80, -1_000),
        (79, 80, 5_000),
    ],
)
def test_pf_table_breakpoints(pf, standard, ppm):
    assert adjustment_ppm(pf, standard) == ppm


def test_pf_from_energies_and_applied_to_basic_plus_energy():
    # P = 100 kWh, Q = 48.43 kvarh: PF = 100 / sqrt(100^2 + 48.43^2) = 0.90000.. -> 0.90
    assert pf_hundredths(10_000, 4_843) == 90
    # P = 100, Q = 75: PF = 0.8 exactly -> 80
    assert pf_hundredths(10_000, 7_500) == 80
    # industrial two-part (standard 0.90), 50 kWh at the flat price 0.6512 + basic on
    # 100 kVA x 28 = 2 800.00; PF 0.78 -> 12 steps below 0.90 = +6 %.
    t = bundled_tariff("industrial_tou_two_part")
    energy = 5_000 * 651_200 // 1_000_000  # 50 kWh x 0.6512 = 32.56 CNY = 3 256 fen
    base = energy + 280_000
    # reactive for PF 0.78: Q = P x tan(acos(0.78)) = 50 x 0.80229 = 40.11 kvarh
    b = _reg(t, [5_000], capacity_kva=100, reactive_ckvarh=4_011)
    assert int(b.pf_hundredths[0]) == 78
    assert int(b.pf_adjust_fen[0]) == round(base * 0.06)  # 283 256 x 6 % = 16 995.36 -> 16 995
