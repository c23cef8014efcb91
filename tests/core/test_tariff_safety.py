"""Tariffs that cannot bill wrong (issue 14): each case billed wrong without a word before.

* a bounded last tier (usage above it billed at zero) is refused by every loader;
* a negative price is refused (no element of m2c's tariffs is a credit by design);
* every price is bounded (units.MAX_PRICE_NU) and every bill's quantity x price is
  checked against int64 before a bill is returned (a clear error naming the field
  or customer and the bound; 1e300 is a one-line error, not an OverflowError);
* a minimum charge is billed only when the tariff has one;
* a TOML tariff whose periods claim the same hour, or a binary file, is refused.
"""

from __future__ import annotations

from decimal import Decimal

import numpy as np
import pytest

from m2c.core import bill_interval, bill_register, compile_tariffs
from m2c.core.billing.kernels import L_MINIMUM, N_LINES, bill_register_kernel
from m2c.core.tariffs import TariffFileError, load_tariff_toml, parse_tariff_toml
from m2c.core.tariffs.model import DemandTier, Tariff, Tier
from m2c.core.tariffs.urdb import UrdbError, load_urdb
from m2c.core.units import MAX_LINE_UNITS, MAX_PRICE_NU, share_round_div

FLAT24 = [[0] * 24 for _ in range(12)]


def _urdb(tiers) -> dict:
    return {
        "name": "u",
        "energyratestructure": [tiers],
        "energyweekdayschedule": FLAT24,
        "energyweekendschedule": FLAT24,
    }


def _toml(tiers: str) -> str:
    return f'name = "t"\n[[periods]]\nname = "flat"\ntiers = [{tiers}]\n'


# --- bounded last tier: refused by all three loaders -------------------------------------


def test_bounded_last_tier_refused_everywhere():
    with pytest.raises(
        ValueError,
        match=r"energy period 0, tier 1: the last tier must be "
        r"unbounded \(upto_wh=None\), got 200000",
    ):
        Tariff("t", ((Tier(100_000, 500_000_000), Tier(200_000, 600_000_000)),))
    with pytest.raises(ValueError, match=r"demand period 0, tier 0: the last tier"):
        Tariff(
            "t",
            ((Tier(None, 1),),),
            demand_periods=((DemandTier(5_000, 1),),),
            demand_weekday_schedule=tuple(tuple(r) for r in FLAT24),
        )
    # the file: 660.00 CNY for 9 242.87 kWh (everything above 20 kWh free)
    with pytest.raises(
        TariffFileError,
        match=r"t\.toml: .*tier 1: the last tier must be "
        r"unbounded",
    ):
        parse_tariff_toml(_toml("{upto_kwh=10,price=0.5},{upto_kwh=20,price=0.6}"), "t.toml")
    with pytest.raises(
        UrdbError,
        match=r"energyratestructure\[0\]\[1\]\.max: expected the "
        r"last tier to be unbounded",
    ):
        load_urdb(_urdb([{"max": 10, "rate": 0.5}, {"max": 20, "rate": 0.6}]))


# --- negative prices ----------------------------------------------------------------------


def test_negative_prices_refused_everywhere():
    with pytest.raises(ValueError, match=r"tier 0: price: -0\.5 is negative"):
        Tariff("t", ((Tier(None, -500_000_000),),))
    with pytest.raises(ValueError, match=r"basic_nu_per_kva: -1 is negative"):
        Tariff("t", ((Tier(None, 1),),), basic_nu_per_kva=-1_000_000_000)
    with pytest.raises(TariffFileError, match=r"n\.toml: invalid tariff"):
        parse_tariff_toml(_toml("{price=-0.5}"), "n.toml")
    # the record with every rate -0.5 billed energy -4 400.44 and a "minimum"
    with pytest.raises(
        UrdbError,
        match=r"energyratestructure\[0\]\[0\]\.rate: expected a "
        r"price >= 0",
    ):
        load_urdb(_urdb([{"rate": -0.5}]))


def test_a_minimum_is_never_invented():
    # A credit line (here a negative price put straight into the compiled table, as a
    # credit-by-design element would be) makes the subtotal negative: with no minimum
    # charge in the tariff, the minimum line stays 0 and the bill is the credit.
    table = compile_tariffs([Tariff("t", ((Tier(None, 500_000_000),),))])
    A = table.arrays._replace(e_price=-table.arrays.e_price)
    lines = np.zeros((1, N_LINES), dtype=np.int64)
    # 100 kWh = 100 000 Wh x -0.5 = -50.00
    bill_register_kernel(
        A,
        np.zeros(1, np.int64),
        np.array([[100_000]]),
        1,
        0,
        0,
        np.zeros(1, np.int64),
        np.zeros(1, np.int64),
        np.zeros((1, 1), np.int64),
        np.zeros(1, np.int64),
        np.full(1, -1, np.int64),
        np.full(1, -1, np.int64),
        np.zeros(1, np.int64),
        False,
        np.zeros((1, 1), np.int64),
        np.zeros((1, 1), np.int64),
        lines,
    )
    assert int(lines[0, L_MINIMUM]) == 0 and int(lines[0, 7]) == -5_000


# --- bounded prices and quantities ----------------------------------------------------


@pytest.mark.parametrize("price", ["1e9", "1e300", "10000.000000001"])
def test_huge_prices_refused_naming_the_field_and_bound(price):
    msg = r"beyond the bound of 10000"
    with pytest.raises(
        TariffFileError, match=r"h\.toml: periods\[0\]\.tiers\[0\]\.price: .*" + msg
    ):
        parse_tariff_toml(_toml(f"{{price={price}}}"), "h.toml")
    with pytest.raises(UrdbError, match=r"energyratestructure\[0\]\[0\]\.rate: .*" + msg):
        load_urdb(_urdb([{"rate": float(price)}]))
    with pytest.raises(ValueError, match=msg):
        Tariff("t", ((Tier(None, int(Decimal(price) * 10**9)),),))


def test_the_largest_price_bills_exactly_up_to_the_line_bound():
    # 10 000 /kWh (MAX_PRICE_NU) is accepted; a line may reach 9 223 372 units:
    # 922 kWh x 10 000 = 9 220 000.00 bills, 923 kWh (9 230 000) is refused by name
    t = Tariff("max", ((Tier(None, MAX_PRICE_NU),),))
    assert MAX_LINE_UNITS == 9_223_372
    ok = bill_register(
        compile_tariffs([t]), np.array([0]), np.array([[92_200]]), month=1, backend="cpu"
    )
    assert int(ok.total_fen[0]) == 922_000_000
    with pytest.raises(
        ValueError,
        match=r"bill_register: customer 0: energy_wh = 923000 times "
        r"the price .* would leave int64",
    ):
        bill_register(
            compile_tariffs([t]), np.array([0]), np.array([[92_300]]), month=1, backend="cpu"
        )
    load = np.zeros((1, 744))
    load[0, :2] = 461.5
    with pytest.raises(ValueError, match=r"bill_interval: customer 0: energy_wh = 923000"):
        bill_interval(t, load, backend="cpu")


def test_a_huge_step_is_refused_not_overflowed():
    t = Tariff("f", ((Tier(None, 100_000_000),),))
    load = np.zeros((1, 24))
    load[0, 3] = 1e12
    with pytest.raises(ValueError, match=r"load_kwh\[0, 3\] = 1000000000000\.0: .*below 1e\+09"):
        bill_interval(t, load, backend="cpu")


def test_share_of_a_month_line_is_exact():
    from fractions import Fraction

    rng = np.random.default_rng(5)
    for _ in range(2000):
        whole = int(rng.integers(1, 3_037_000_499))
        part = int(rng.integers(1, whole + 1))
        amount = int(rng.integers(0, 2**62))
        for mode in (0, 1):
            exact = Fraction(part * amount, whole * 10**10)
            fl = exact.numerator // exact.denominator
            rem = exact - fl
            up = rem > Fraction(1, 2) or (rem == Fraction(1, 2) and (mode == 0 or fl % 2 == 1))
            assert share_round_div(part, amount, whole, 10**10, mode) == fl + up
    # exact halves: 1 x 5e9 / 1 / 1e10 = 0.5 -> 1 (half-up), 0 (half-even)
    assert share_round_div(1, 5 * 10**9, 1, 10**10, 0) == 1
    assert share_round_div(1, 5 * 10**9, 1, 10**10, 1) == 0


# --- TOML files -----------------------------------------------------------------------------


def test_overlapping_tou_hours_refused_naming_periods_and_hours():
    text = (
        'name = "o"\n'
        '[[periods]]\nname = "peak"\nhours = [8, 9, 10, 11]\ntiers = [{price = 1.0}]\n'
        '[[periods]]\nname = "shoulder"\nhours = [11, 12]\ntiers = [{price = 0.7}]\n'
        '[[periods]]\nname = "flat"\ntiers = [{price = 0.5}]\n'
    )
    with pytest.raises(
        TariffFileError,
        match=r"o\.toml: periods: periods 'peak' and 'shoulder' "
        r"both claim hours \[11\] \(month 1\)",
    ):
        parse_tariff_toml(text, "o.toml")


def test_binary_tariff_file_names_the_file(tmp_path):
    p = tmp_path / "blob.toml"
    p.write_bytes(bytes(range(256)) * 4)
    with pytest.raises(TariffFileError, match=r"blob\.toml: not a TOML tariff file"):
        load_tariff_toml(p)
    q = tmp_path / "nul.toml"
    q.write_bytes(b'name = "x"\x00\x00')
    with pytest.raises(TariffFileError, match=r"nul\.toml: not a TOML tariff file"):
        load_tariff_toml(q)
