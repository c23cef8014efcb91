"""Units and the one rounding function: .5 boundaries, negatives, exact conversions."""

import pytest

from m2c.core import units as u


@pytest.mark.parametrize(
    ("numer", "denom", "half_up", "half_even"),
    [
        (5, 10, 1, 0),      # 0.5: away from zero vs to even (0)
        (15, 10, 2, 2),     # 1.5 -> 2 both ways
        (25, 10, 3, 2),     # 2.5 -> 3 half-up, 2 banker's
        (-5, 10, -1, 0),    # refund of -0.5 fen -> -1 fen (cashier), 0 (banker's)
        (-25, 10, -3, -2),
        (14, 10, 1, 1),
        (-16, 10, -2, -2),
        (0, 7, 0, 0),
    ],
)
def test_round_div_boundaries(numer, denom, half_up, half_even):
    assert u.round_div(numer, denom, u.HALF_UP) == half_up
    assert u.round_div(numer, denom, u.HALF_EVEN) == half_even


def test_energy_charge_is_exact():
    # 123.45 kWh x 0.4883 CNY/kWh = 60.281835 CNY -> 6028.1835 fen -> 6028 fen
    assert u.energy_charge_fen(12_345, 488_300) == 6_028
    # 1.00 kWh x 0.005 CNY/kWh = 0.5 fen exactly: half-up 1, half-even 0
    assert u.energy_charge_fen(100, 5_000) == 1
    assert u.energy_charge_fen(100, 5_000, u.HALF_EVEN) == 0


def test_apply_ppm():
    # +6 % of 3 331.62 CNY = 199.8972 CNY -> 19 990 fen
    assert u.apply_ppm(333_162, 60_000) == 19_990
    # -1.3 % of 47.90 CNY = -0.6227 CNY -> -62 fen
    assert u.apply_ppm(4_790, -13_000) == -62


def test_exact_conversions_refuse_finer_units():
    assert u.yuan_to_fen("12.34") == 1_234
    assert u.yuan_to_fen(0.1) == 10  # the float 0.1 means 0.10 CNY, not 0.1000000000000000055
    assert u.price_to_uy("0.4883") == 488_300
    with pytest.raises(ValueError):
        u.yuan_to_fen("0.001")
    with pytest.raises(ValueError):
        u.price_to_uy("0.00000001")
    assert u.percent_to_ppm("0.15") == 1_500
