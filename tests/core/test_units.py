"""Units and the one rounding function: .5 boundaries, negatives, exact conversions."""

from decimal import ROUND_HALF_EVEN, ROUND_HALF_UP, Decimal, localcontext

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from m2c.core import units as u


@pytest.mark.parametrize(
    ("numer", "denom", "half_up", "half_even"),
    [
        (5, 10, 1, 0),  # 0.5: away from zero (1) vs to even (0)
        (15, 10, 2, 2),  # 1.5 -> 2 both ways (2 is even)
        (25, 10, 3, 2),  # 2.5 -> 3 half-up, 2 banker's
        (35, 10, 4, 4),  # 3.5 -> 4 both ways
        (-5, 10, -1, 0),  # refund of -0.5 fen -> -1 fen (cashier), 0 (banker's)
        (-15, 10, -2, -2),  # -1.5 -> -2 both ways
        (-25, 10, -3, -2),  # -2.5 -> -3 half-up (away from zero), -2 banker's
        (14, 10, 1, 1),  # 1.4 -> 1: below the half, no rounding up
        (16, 10, 2, 2),  # 1.6 -> 2
        (-14, 10, -1, -1),  # -1.4 -> -1 (not floor, which gives -2)
        (-16, 10, -2, -2),
        (0, 7, 0, 0),
        (1, 3, 0, 0),  # 0.333..
        (2, 3, 1, 1),  # 0.666..
        (-2, 3, -1, -1),
        (499_999, 1_000_000, 0, 0),  # 0.499999 fen -> 0: no early rounding up
        (500_000, 1_000_000, 1, 0),  # exactly half a fen
        (1_500_000, 1_000_000, 2, 2),
        (10**15 + 5, 10, 10**14 + 1, 10**14),  # large amounts stay exact (no float)
    ],
)
def test_round_div_boundaries(numer, denom, half_up, half_even):
    assert u.round_div(numer, denom, u.HALF_UP) == half_up
    assert u.round_div(numer, denom, u.HALF_EVEN) == half_even


@settings(max_examples=300, deadline=None)
@given(st.integers(-(10**17), 10**17), st.integers(1, 10**9))
def test_round_div_matches_decimal(numer, denom):
    # Decimal's quantize is the reference for both rules; the default mode is half-up.
    with localcontext() as ctx:
        ctx.prec = 60
        q = Decimal(numer) / Decimal(denom)
        up = int(q.quantize(Decimal(1), rounding=ROUND_HALF_UP))
        even = int(q.quantize(Decimal(1), rounding=ROUND_HALF_EVEN))
    assert u.round_div(numer, denom) == up
    assert u.round_div(numer, denom, u.HALF_EVEN) == even


def test_round_div_is_symmetric_for_refunds():
    # a refund rounds to the negative of the charge: -round(x) == round(-x) in half-up
    for n in range(-2_000, 2_000):
        assert u.round_div(-n, 100) == -u.round_div(n, 100)


def test_energy_charge_is_exact():
    # 123.45 kWh x 0.4883 CNY/kWh = 60.281835 CNY -> 6028.1835 fen -> 6028 fen
    assert u.energy_charge_fen(12_345, 488_300) == 6_028
    # 1.00 kWh x 0.005 CNY/kWh = 0.5 fen exactly: half-up 1, half-even 0
    assert u.energy_charge_fen(100, 5_000) == 1
    assert u.energy_charge_fen(100, 5_000, u.HALF_EVEN) == 0
    # 3.00 kWh x 0.005 = 1.5 fen: 2 both ways
    assert u.energy_charge_fen(300, 5_000) == 2
    assert u.energy_charge_fen(300, 5_000, u.HALF_EVEN) == 2
    # 0.01 kWh x 0.4883 = 0.004883 CNY = 0.4883 fen -> 0 fen
    assert u.energy_charge_fen(1, 488_300) == 0
    # refund of 123.45 kWh: -6028 fen (symmetric, not -6029 as floor would give)
    assert u.energy_charge_fen(-12_345, 488_300) == -6_028
    # 1 000 000 kWh x 1.0418 = 1 041 800.00 CNY = 104 180 000 fen exactly
    assert u.energy_charge_fen(100_000_000, 1_041_800) == 104_180_000


def test_micro_yuan_to_fen():
    # 1 micro-yuan = 1e-4 fen; 5 000 micro-yuan = 0.5 fen -> 1 (half-up) / 0 (even)
    assert u.micro_yuan_to_fen(5_000) == 1
    assert u.micro_yuan_to_fen(5_000, u.HALF_EVEN) == 0
    assert u.micro_yuan_to_fen(-15_000) == -2  # -1.5 fen -> -2
    assert u.micro_yuan_to_fen(28_000_000) == 2_800  # 28 CNY


def test_apply_ppm():
    # +6 % of 3 331.62 CNY = 199.8972 CNY -> 19 990 fen
    assert u.apply_ppm(333_162, 60_000) == 19_990
    # -1.3 % of 47.90 CNY = -0.6227 CNY -> -62 fen
    assert u.apply_ppm(4_790, -13_000) == -62
    # 0.1 %/day of 5.00 CNY = 0.5 fen -> 1 fen (half-up), 0 (half-even)
    assert u.apply_ppm(500, 1_000) == 1
    assert u.apply_ppm(500, 1_000, u.HALF_EVEN) == 0


def test_exact_conversions_refuse_finer_units():
    assert u.yuan_to_fen("12.34") == 1_234
    assert u.yuan_to_fen(0.1) == 10  # the float 0.1 means 0.10 CNY, not 0.1000000000000000055
    assert u.yuan_to_fen(-3.5) == -350  # a refund
    assert u.yuan_to_fen(7) == 700
    assert u.price_to_uy("0.4883") == 488_300
    assert u.price_to_uy(1.0418) == 1_041_800
    assert u.price_to_uy("0.000001") == 1
    with pytest.raises(ValueError, match="finer than the unit"):
        u.yuan_to_fen("0.001")
    with pytest.raises(ValueError, match="finer than the unit"):
        u.yuan_to_fen(12.345)
    with pytest.raises(ValueError, match="finer than the unit"):
        u.price_to_uy("0.00000001")
    with pytest.raises(ValueError, match="expected a number"):
        u.yuan_to_fen("twelve")
    assert u.percent_to_ppm("0.15") == 1_500
    assert u.percent_to_ppm(0.1) == 1_000  # 0.1 %/day late fee
    with pytest.raises(ValueError):
        u.percent_to_ppm("0.00001")


def test_array_conversions():
    # half-up away from zero to the 0.01 kWh register step
    assert u.kwh_to_ckwh(1.234) == 123
    assert u.kwh_to_ckwh(1.236) == 124
    assert u.kwh_to_ckwh(0.125) == 13  # 12.5 -> 13 (0.125 is exact in binary)
    assert u.kwh_to_ckwh(-0.125) == -13
    assert u.kwh_to_ckwh(np.array([0.005, 2.0])).tolist() == [1, 200]
    assert u.kw_to_w(1.2345) == 1_234  # 1234.5 -> rint (display helper, not money)
    assert u.kw_to_w(np.array([0.5, 3.0])).tolist() == [500, 3_000]
    assert u.fen_to_yuan(1_234) == 12.34
    assert u.fen_to_yuan(np.array([5, -150])).tolist() == [0.05, -1.5]
    assert u.ckwh_to_kwh(12_345) == 123.45


def test_rounding_mode_names():
    assert u.rounding_mode("half_up") == u.HALF_UP
    assert u.rounding_mode("half_even") == u.HALF_EVEN
    with pytest.raises(ValueError, match="unknown rounding mode 'bankers'"):
        u.rounding_mode("bankers")


def test_nano_prices_and_wh_energy():
    # 7-decimal URDB price exact in nano-units; finer refused; bound named
    assert u.price_to_nu("0.0481085") == 48_108_500
    assert u.price_to_nu(10_000) == u.MAX_PRICE_NU
    with pytest.raises(ValueError, match="finer than the unit 1/1000000000"):
        u.price_to_nu("0.0000000001")
    with pytest.raises(ValueError, match="beyond the bound of 10000"):
        u.price_to_nu("1e300")
    with pytest.raises(ValueError, match="expected a finite number"):
        u.price_to_nu("inf")
    # 0.001 kWh data land on whole Wh, from float32 too (half-up on exact halves)
    assert u.kwh_to_wh(np.float32(1.234)) == 1234
    assert u.kwh_to_wh(np.array([0.0005, 2.5e-3])).tolist() == [1, 3]
    # the prepaid price (micro-yuan) from a tariff price, refused when it would round
    assert u.nu_to_uy(np.array([488_300_000])).tolist() == [488_300]
    with pytest.raises(ValueError, match="whole number of micro-yuan"):
        u.nu_to_uy(np.array([48_108_500]))
    # the line bound: 2^63 - 1 pico-units
    assert u.MAX_LINE_UNITS == (2**63 - 1) // 10**12 == 9_223_372
    assert u.max_quantity(u.MAX_PRICE_NU) == (2**63 - 1) // 10**13
