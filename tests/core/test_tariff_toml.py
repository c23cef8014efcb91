"""The TOML tariff format: bundled tariffs, exact unit conversion, errors naming file and key."""

import numpy as np
import pytest

from m2c.core import bill_interval
from m2c.core.tariffs import (
    TariffFileError,
    bundled_tariff,
    bundled_tariff_names,
    compile_tariffs,
    load_tariff_toml,
    parse_tariff_toml,
)
from m2c.core.tariffs.model import Block, DemandTier, Tier

BUNDLED = ["agricultural", "commercial_flat", "industrial_tou_two_part", "residential_annual_tiers"]


def test_bundled_names():
    assert bundled_tariff_names() == BUNDLED
    with pytest.raises(KeyError, match="no bundled tariff 'nope'"):
        bundled_tariff("nope")


@pytest.mark.parametrize("name", BUNDLED)
def test_each_bundled_tariff_loads_and_compiles(name):
    t = bundled_tariff(name)
    assert t.name == name and t.notes  # the description is kept
    table = compile_tariffs([t])
    assert table.n_tariffs == 1


def test_bundled_figures_are_converted_exactly():
    a = bundled_tariff("agricultural")
    assert a.energy_periods == ((Tier(None, 479_000_000),),) and a.pf_standard == 80
    c = bundled_tariff("commercial_flat")
    assert c.energy_periods == ((Tier(None, 666_400_000),),) and c.fixed_fen == 500
    r = bundled_tariff("residential_annual_tiers")
    # 2760 kWh = 276 000 centi-kWh, 4800 kWh = 480 000; +0.05 = 50 000 micro-yuan/kWh
    assert r.blocks == (Block(2_760_000, 0), Block(4_800_000, 50_000_000), Block(None, 300_000_000))
    assert r.block_basis == "annual" and r.energy_periods == ((Tier(None, 488_300_000),),)
    i = bundled_tariff("industrial_tou_two_part")
    assert [p[0].price_nu for p in i.energy_periods] == [651_200_000, 1_041_800_000, 325_600_000]
    assert i.basic_nu_per_kva == 28_000_000_000 and i.pf_standard == 90
    # schedule: peak 8-10 and 18-20 h, valley 23 and 0-6 h, flat the rest, every month
    row = i.weekday_schedule[6]
    assert [h for h in range(24) if row[h] == 1] == [8, 9, 10, 18, 19, 20]
    assert [h for h in range(24) if row[h] == 2] == [0, 1, 2, 3, 4, 5, 6, 23]
    assert sum(row.count(0) for row in i.weekday_schedule) == 12 * 10
    assert i.weekend_schedule is None


FULL = """
name = "full"
description = "every section"
rounding = "half_even"

[[periods]]
name = "flat"
tiers = [{ upto_kwh = 100, price = 0.6 }, { price = 0.7 }]

[[periods]]
name = "summer peak"
hours = [14, 15]
months = [7, 8]
tiers = [{ price = 1.2 }]

[blocks]
basis = "monthly"
tiers = [{ upto_kwh = 200, adder = 0 }, { adder = 0.1 }]

[[demand_periods]]
name = "off"
tiers = [{ price = 0 }]

[[demand_periods]]
name = "peak"
hours = [14, 15]
tiers = [{ upto_kw = 50, price = 10 }, { price = 12.5 }]

[flat_demand]
months = [6, 7, 8, 9]
tiers = [{ price = 3.5 }]

[basic]
per_kva_month = 28
per_kw_month = 42.5

[charges]
fixed_monthly = 5.71
min_monthly = 15
min_annual = 1000

[power_factor]
standard = 0.85
"""


def test_every_section_converts():
    t = parse_tariff_toml(FULL, "full.toml")
    # 100 kWh = 100 000 Wh; 0.6 CNY/kWh = 600 000 000 nano-yuan/kWh
    assert t.energy_periods == (
        (Tier(100_000, 600_000_000), Tier(None, 700_000_000)),
        (Tier(None, 1_200_000_000),),
    )
    assert t.weekday_schedule[6][14] == 1 and t.weekday_schedule[7][15] == 1
    assert t.weekday_schedule[5][14] == 0 and t.weekday_schedule[6][13] == 0
    assert t.blocks == (Block(200_000, 0), Block(None, 100_000_000)) and t.block_basis == "monthly"
    # 50 kW = 50 000 W; 12.5 CNY/kW = 12 500 000 000 nano-yuan
    assert t.demand_periods == (
        (DemandTier(None, 0),),
        (DemandTier(50_000, 10_000_000_000), DemandTier(None, 12_500_000_000)),
    )
    assert t.demand_weekday_schedule[0][14] == 1 and t.demand_weekday_schedule[0][16] == 0
    assert t.flat_demand == ((DemandTier(None, 3_500_000_000),),)
    assert t.flat_demand_months == (-1, -1, -1, -1, -1, 0, 0, 0, 0, -1, -1, -1)
    assert t.basic_nu_per_kva == 28_000_000_000 and t.basic_nu_per_kw == 42_500_000_000
    assert (t.fixed_fen, t.min_monthly_fen, t.min_annual_fen) == (571, 1_500, 100_000)
    assert t.pf_standard == 85 and t.rounding == "half_even"


def test_loaded_file_bills(tmp_path):
    p = tmp_path / "shop.toml"
    p.write_text(
        'name = "shop"\n[[periods]]\nname = "all"\ntiers = [{ price = 0.8 }]\n'
        "[charges]\nfixed_monthly = 10.0\n",
        encoding="utf-8",
    )
    t = load_tariff_toml(p)
    # 2 kWh every hour of January: 1 488 kWh x 0.80 = 1 190.40 + 10.00 = 1 200.40 CNY
    b = bill_interval(t, np.full((1, 744), 2.0), backend="cpu")
    assert int(b.total_fen[0, 0]) == 120_040


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        # unknown keys, at the top level and nested
        (
            'name = "x"\ncolour = "red"\n[[periods]]\nname = "a"\ntiers = [{ price = 0.5 }]\n',
            "colour: Extra inputs are not permitted",
        ),
        (
            'name = "x"\n[[periods]]\nname = "a"\ntiers = [{ price = 0.5, unit = "kWh" }]\n',
            "periods.0.tiers.0.unit: Extra inputs are not permitted",
        ),
        (
            'name = "x"\n[[periods]]\nname = "a"\ntiers = [{ price = 0.5 }]\n'
            "[charges]\nfixed = 5\n",
            "charges.fixed: Extra inputs are not permitted",
        ),
        # wrong types and values
        (
            'name = "x"\n[[periods]]\nname = "a"\ntiers = [{ price = "cheap" }]\n',
            "periods.0.tiers.0.price: Input should be a valid number",
        ),
        (
            'name = "x"\n[[periods]]\nname = "a"\ntiers = [{ price = -0.5 }]\n',
            "periods.0.tiers.0.price: Input should be greater than or equal to 0",
        ),
        (
            'name = "x"\n[[periods]]\nname = "a"\ntiers = [{ price = 0.5 }]\n'
            "[power_factor]\nstandard = 0.95\n",
            "power_factor.standard",
        ),
        (
            'name = "x"\n[[periods]]\nname = "a"\ntiers = [{ price = 0.5 }]\n'
            '[blocks]\nbasis = "weekly"\ntiers = [{ adder = 0 }]\n',
            "blocks.basis",
        ),
        (
            'name = "x"\n[[periods]]\nname = "a"\nhours = [25]\ntiers = [{ price = 0.5 }]\n'
            '[[periods]]\nname = "b"\ntiers = [{ price = 0.5 }]\n',
            "periods.0: Value error",
        ),
        ('name = "x"\nperiods = []\n', "periods: List should have at least 1 item"),
        ('[[periods]]\nname = "a"\ntiers = [{ price = 0.5 }]\n', "name: Field required"),
    ],
)
def test_errors_name_file_and_key_path(text, fragment):
    with pytest.raises(TariffFileError) as err:
        parse_tariff_toml(text, "tariffs/bad.toml")
    msg = str(err.value)
    assert msg.startswith("tariffs/bad.toml: invalid tariff")
    assert fragment in msg, msg


def test_other_errors_name_the_file(tmp_path):
    with pytest.raises(TariffFileError, match=r"bad\.toml: not valid TOML"):
        parse_tariff_toml("name = ", "bad.toml")
    with pytest.raises(TariffFileError, match=r"missing\.toml: cannot read tariff file"):
        load_tariff_toml(tmp_path / "missing.toml")
    # two periods without hours: which one takes the other hours is ambiguous
    two = (
        'name = "x"\n[[periods]]\nname = "a"\ntiers = [{ price = 0.5 }]\n'
        '[[periods]]\nname = "b"\ntiers = [{ price = 0.6 }]\n'
    )
    with pytest.raises(TariffFileError, match=r"two\.toml: periods: exactly one period"):
        parse_tariff_toml(two, "two.toml")
    # a price finer than a nano-yuan, a charge finer than a fen: refused, not rounded
    fine = 'name = "x"\n[[periods]]\nname = "a"\ntiers = [{ price = 0.00000000015 }]\n'
    with pytest.raises(TariffFileError, match=r"fine\.toml: periods\[0\]\.tiers\[0\]\.price"):
        parse_tariff_toml(fine, "fine.toml")
    fen = (
        'name = "x"\n[[periods]]\nname = "a"\ntiers = [{ price = 0.5 }]\n'
        "[charges]\nfixed_monthly = 5.001\n"
    )
    with pytest.raises(TariffFileError, match=r"fen\.toml: amount in yuan: 5.001 is finer"):
        parse_tariff_toml(fen, "fen.toml")
    # tier bounds must increase (checked by Tariff), reported with the file name
    dec = (
        'name = "x"\n[[periods]]\nname = "a"\n'
        "tiers = [{ upto_kwh = 200, price = 0.5 }, { upto_kwh = 100, price = 0.6 }, "
        "{ price = 0.7 }]\n"
    )
    with pytest.raises(TariffFileError, match=r"dec\.toml: tariff 'x': energy period 0, tier 1"):
        parse_tariff_toml(dec, "dec.toml")
