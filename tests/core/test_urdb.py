"""Tests of the URDB importer (m2c.core.tariffs.urdb) on the bundled Xcel Colorado RE-TOU record."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import numpy as np
import pytest

from m2c.core import bill_interval
from m2c.core.tariffs.model import DemandTier, Tier
from m2c.core.tariffs.urdb import UrdbError, load_urdb

XCEL = Path(__file__).parent / "data" / "xcel-co-re-tou-618940545457a35a1c4097ec.json"


def _xcel_record() -> dict:
    return json.loads(XCEL.read_text(encoding="utf-8"))["items"][0]


def _flat(**extra) -> dict:
    """A minimal one-period record at 0.10 $/kWh."""
    rec = {
        "name": "flat",
        "energyratestructure": [[{"rate": 0.1, "unit": "kWh"}]],
        "energyweekdayschedule": [[0] * 24 for _ in range(12)],
        "energyweekendschedule": [[0] * 24 for _ in range(12)],
    }
    rec.update(extra)
    return rec


# --- the bundled record -----------------------------------------------------------


def test_bundled_record_imports_exactly():
    t = load_urdb(XCEL)
    assert t.name == "Residential Energy Time Of Use (Schedule RE-TOU)"
    assert t.currency == "USD"
    # rate + adj in nano-$/kWh, exact (periods 1 and 3 have 7-decimal adj):
    # 0.06387 + 0.035187  = 0.099057  -> 99 057 000
    # 0.08623 + 0.0085112 = 0.0947412 -> 94 741 200 (a micro-$ price would round it)
    # 0.10858 + 0.049546  = 0.158126  -> 158 126 000
    # 0.11816 + 0.0070699 = 0.1252299 -> 125 229 900
    # 0.17246 + 0.047412  = 0.219872  -> 219 872 000
    assert t.energy_periods == tuple(
        (Tier(None, p),) for p in (99_057_000, 94_741_200, 158_126_000, 125_229_900, 219_872_000)
    )
    assert t.fixed_fen == 571  # fixedchargefirstmeter 5.71 $/month
    assert t.weekday_schedule[6][14] == 4 and t.weekend_schedule[6][14] == 3
    assert t.weekday_schedule[0][14] == 2 and t.weekend_schedule[0][14] == 1
    assert t.demand_periods == () and t.flat_demand == ()
    assert t.min_monthly_fen == 0 and t.min_annual_fen == 0
    assert not [n for n in t.notes if "rounded half-up" in n]
    assert any("Net Metering" in n and "negative" in n for n in t.notes)


def _xcel_year_load() -> np.ndarray:
    """2025 hourly load: 1 kWh every hour, 3 kWh in hours 14..17 (2 pm - 6 pm)."""
    hours = np.arange(8760) % 24
    return np.where((hours >= 14) & (hours <= 17), 3.0, 1.0)[None, :]


def test_bundled_record_july_bill_by_hand():
    # July 2025: 1 July is a Tuesday; weekend days Sat/Sun 5-6, 12-13, 19-20, 26-27 = 8,
    # weekdays 31 - 8 = 23. Summer schedule (month index 6):
    #   weekday: 0-8 and 21-23 -> period 0 (12 h), 9-13 and 18-20 -> period 3 (8 h),
    #            14-17 -> period 4 (4 h);
    #   weekend: 0-8 and 21-23 -> period 0 (12 h), 9-20 -> period 3 (12 h).
    # Load 1 kWh/h except 3 kWh/h in hours 14-17:
    #   period 0: 31 days x 12 h x 1 kWh                         = 372 kWh
    #   period 3: weekdays 23 x 8 x 1 = 184; weekend 8 x (8 x 1 + 4 x 3) = 160 -> 344 kWh
    #   period 4: weekdays 23 x 4 x 3                            = 276 kWh
    # Charges (each period rounded once to the cent, half-up):
    #   372 x 0.099057 = 36.849204 $ -> 3685 cents
    #   344 x 0.125230 = 43.079120 $ -> 4308 cents
    #   276 x 0.219872 = 60.684672 $ -> 6068 cents
    #   energy 3685 + 4308 + 6068 = 14061; + fixed 571 = 14632 cents
    bills = bill_interval(load_urdb(XCEL), _xcel_year_load(), start="2025-01-01", step_minutes=60)
    assert bills.months[6] == "2025-07"
    assert bills.energy_wh[0, 6].tolist() == [372_000, 0, 0, 344_000, 276_000]
    assert bills.energy_period_fen[0, 6].tolist() == [3685, 0, 0, 4308, 6068]
    assert int(bills.fixed_fen[0, 6]) == 571
    assert int(bills.total_fen[0, 6]) == 14632


def test_bundled_record_january_bill_by_hand():
    # January 2025: 1 January is a Wednesday; weekend days 4-5, 11-12, 18-19, 25-26 = 8,
    # weekdays 23. Winter uses periods 1 (shoulder) and 2 (peak) instead of 3 and 4, so the
    # energy split is July's: 372 kWh in period 0, 344 in period 1, 276 in period 2.
    #   372 x 0.099057 = 36.849204 $ -> 3685 cents
    #   344 x 0.094741 = 32.590904 $ -> 3259 cents (price rounded from 0.0947412)
    #   276 x 0.158126 = 43.642776 $ -> 4364 cents
    #   3685 + 3259 + 4364 + 571 = 11879 cents
    bills = bill_interval(load_urdb(XCEL), _xcel_year_load(), start="2025-01-01", step_minutes=60)
    assert bills.energy_wh[0, 0].tolist() == [372_000, 344_000, 276_000, 0, 0]
    assert int(bills.total_fen[0, 0]) == 11879


def test_bundled_record_refuses_export():
    load = _xcel_year_load().copy()
    load[0, 100] = -0.5  # net-metered export: not modelled, must not be billed silently
    with pytest.raises(ValueError, match="net metering"):
        bill_interval(load_urdb(XCEL), load, start="2025-01-01")


def test_items_wrapper_and_bare_record_give_the_same_tariff(tmp_path):
    record = _xcel_record()
    wrapped = load_urdb(XCEL)
    assert load_urdb(record) == wrapped
    assert load_urdb({"items": [record]}) == wrapped
    bare = tmp_path / "bare.json"
    bare.write_text(json.dumps(record), encoding="utf-8")
    assert load_urdb(bare) == wrapped
    assert load_urdb(str(bare)) == wrapped


def test_several_items_need_an_index():
    two = {"items": [_flat(name="a"), _flat(name="b")]}
    with pytest.raises(UrdbError, match=r"items: expected one record, found 2"):
        load_urdb(two)
    assert load_urdb(two, index=1).name == "b"
    with pytest.raises(UrdbError, match=r"items\[2\]"):
        load_urdb(two, index=2)


# --- tiers, demand, charges ---------------------------------------------------------


def test_tiers_demand_and_charges_units():
    rec = _flat(
        energyratestructure=[
            [
                {"max": 500, "rate": 0.1, "unit": "kWh"},
                {"max": 1000.5, "rate": 0.12, "adj": 0.01},
                {"rate": 0.15},
            ]
        ],
        demandunits="kW",
        demandratestructure=[[{"rate": 4.5}], [{"max": 20, "rate": 10.25}, {"rate": 12}]],
        demandweekdayschedule=[[0] * 12 + [1] * 6 + [0] * 6 for _ in range(12)],
        demandweekendschedule=[[0] * 24 for _ in range(12)],
        flatdemandstructure=[[{"max": 10, "rate": 5}, {"rate": 7.5}], [{"rate": 1}]],
        flatdemandmonths=[0] * 6 + [1] * 6,
        fixedmonthlycharge=10,
        mincharge=20,
        minchargeunits="$/month",
        annualmincharge=300.5,
    )
    t = load_urdb(rec)
    # 500 kWh -> 50 000 centi-kWh; 1000.5 kWh -> 100 050; 0.12 + 0.01 $/kWh -> 130 000 micro-$
    assert t.energy_periods == (
        (Tier(500_000, 100_000_000), Tier(1_000_500, 130_000_000), Tier(None, 150_000_000)),
    )
    # demand: 20 kW -> 20 000 W; 10.25 $/kW -> 10 250 000 micro-$/kW
    assert t.demand_periods == (
        (DemandTier(None, 4_500_000_000),),
        (DemandTier(20_000, 10_250_000_000), DemandTier(None, 12_000_000_000)),
    )
    assert t.demand_weekday_schedule[3][12] == 1 and t.demand_weekend_schedule[3][12] == 0
    assert t.flat_demand[0] == (DemandTier(10_000, 5_000_000_000), DemandTier(None, 7_500_000_000))
    assert t.flat_demand_months == (0,) * 6 + (1,) * 6
    assert (t.fixed_fen, t.min_monthly_fen, t.min_annual_fen) == (1000, 2000, 30050)
    assert not any("rounded" in n for n in t.notes)


def test_flat_demand_bill_by_hand():
    # 0 $/kWh energy; flat demand 5 $/kW up to 10 kW then 7.5 $/kW, every month.
    # One hour of 12 kWh on 2025-01-02 -> peak 12 kW in January:
    #   10 kW x 5 $ + 2 kW x 7.5 $ = 50 + 15 = 65 $ = 6500 cents; February: no demand.
    rec = _flat(
        energyratestructure=[[{"rate": 0}]],
        flatdemandstructure=[[{"max": 10, "rate": 5}, {"rate": 7.5}]],
        flatdemandmonths=[0] * 12,
    )
    load = np.zeros((1, 24 * 59))
    load[0, 24 + 10] = 12.0
    bills = bill_interval(load_urdb(rec), load, start="2025-01-01")
    assert int(bills.demand_fen[0, 0]) == 6500
    assert int(bills.total_fen[0, 0]) == 6500
    assert int(bills.total_fen[0, 1]) == 0


def test_price_rounding_half_up_on_a_half():
    # 0.1 + 0.0000000005 = 0.1000000005 $/kWh = 100 000 000.5 nano-$ -> half-up 100 000 001
    t = load_urdb(_flat(energyratestructure=[[{"rate": 0.1, "adj": 0.0000000005}]]))
    assert t.energy_periods[0][0].price_nu == 100_000_001
    assert any("energyratestructure[0][0]" in n and "0.1000000005" in n for n in t.notes)


def test_long_decimal_price_is_rounded_with_a_note():
    # an averaged price with 17 decimals (real records carry them): 0.07076899707317352
    # -> 70 768 997.07317352 nano-$ -> 70 768 997, noted
    t = load_urdb(_flat(energyratestructure=[[{"rate": 0.07076899707317352}]]))
    assert t.energy_periods[0][0].price_nu == 70_768_997
    assert any("0.07076899707317352" in n for n in t.notes)


def test_seven_decimal_price_is_exact():
    # PSCo's 0.0481085 $/kWh: 48 108 500 nano-$, no rounding; 600 MWh in a month bills
    # 600 000 x 0.0481085 = 28 865.10 $ exactly (a micro-$ price, 0.048109, gives 28 865.40)
    t = load_urdb(_flat(energyratestructure=[[{"rate": 0.0481085}]]))
    assert t.energy_periods[0][0].price_nu == 48_108_500 and not t.notes
    load = np.zeros((1, 744))
    load[0, :600] = 1000.0
    assert int(bill_interval(t, load, backend="cpu").energy_fen[0, 0]) == 2_886_510


# --- refusals name the field ----------------------------------------------------------

UNSUPPORTED = [
    (
        {
            "energyratestructure": [
                [{"max": 200, "rate": 0.1, "unit": "kWh"}, {"rate": 0.1, "unit": "kWh/kW"}]
            ]
        },
        r"energyratestructure\[0\]\[1\]\.unit",
    ),
    (
        {"energyratestructure": [[{"rate": 0.1, "unit": "kWh/month"}]]},
        r"energyratestructure\[0\]\[0\]\.unit",
    ),
    ({"energyratestructure": [[{"rate": -0.5}]]}, r"energyratestructure\[0\]\[0\]\.rate"),
    ({"energyratestructure": [[{"rate": 1e300}]]}, r"energyratestructure\[0\]\[0\]\.rate"),
    ({"fixedchargefirstmeter": 0.5, "fixedchargeunits": "$/week"}, "fixedchargeunits"),
    ({"mincharge": 1, "minchargeunits": "$/hour"}, "minchargeunits"),
    ({"demandunits": "MW"}, "demandunits"),
    ({"flatdemandunit": "kvar"}, "flatdemandunit"),
    ({"fixedmonthlycharge": 1e300}, "fixedmonthlycharge"),
    ({"some_new_field": 1}, "some_new_field"),
]


@pytest.mark.parametrize(("extra", "field"), UNSUPPORTED)
def test_unsupported_fields_are_refused_naming_the_field(extra, field):
    with pytest.raises(UrdbError, match=rf"^<dict>: {field}: "):
        load_urdb(_flat(**extra))


UNBILLED = [
    ({"demandratchetpercentage": [0] * 11 + [0.8]}, "demandratchetpercentage"),
    ({"fueladjustmentsmonthly": [0.01] * 12}, "fueladjustmentsmonthly"),
    ({"lookbackpercent": 0.5}, "lookbackpercent"),
]


@pytest.mark.parametrize(("extra", "field"), UNBILLED)
def test_unbilled_charges_are_listed_and_strict_refuses(extra, field):
    t = load_urdb(_flat(**extra))
    assert len(t.unbilled) == 1 and t.unbilled[0].startswith(f"{field}: ")
    assert "not billed" in t.unbilled[0]
    bills = bill_interval(t, np.ones((1, 744)), backend="cpu")
    assert any(n.startswith(field) for n in bills.notes)
    with pytest.raises(ValueError, match=rf"cannot be billed in full \(strict\): {field}"):
        bill_interval(t, np.ones((1, 744)), strict=True, backend="cpu")
    with pytest.raises(UrdbError, match=rf"^<dict>: {field}: .*\(strict\)"):
        load_urdb(_flat(**extra), strict=True)


def test_unbilled_field_in_file_names_file_and_item(tmp_path):
    record = _xcel_record()
    record["demandratchetpercentage"] = [0.8] * 12
    f = tmp_path / "rate.json"
    f.write_text(json.dumps({"items": [record]}), encoding="utf-8")
    match = r"rate\.json items\[0\]: demandratchetpercentage: .*\(strict\)"
    with pytest.raises(UrdbError, match=match):
        load_urdb(f, strict=True)


def test_zero_valued_unsupported_fields_are_accepted():
    t = load_urdb(
        _flat(
            demandratchetpercentage=[0] * 12,
            fueladjustmentsmonthly=[0.0] * 12,
            energyratestructure=[[{"rate": 0.1, "sell": 0}]],
        )
    )
    assert t.energy_periods == ((Tier(None, 100_000_000),),)


@pytest.mark.parametrize(
    ("field", "bad", "match"),
    [
        (
            "energyweekdayschedule",
            [[0] * 24] * 11,
            r"energyweekdayschedule: expected 12 rows .* found 11",
        ),
        (
            "energyweekendschedule",
            [[0] * 24] * 5 + [[0] * 23] + [[0] * 24] * 6,
            r"energyweekendschedule\[5\]: expected 24 hours, found 23",
        ),
        (
            "energyweekdayschedule",
            [[0] * 23 + [1]] + [[0] * 24] * 11,
            r"energyweekdayschedule\[0\]\[23\]: expected a 0-based period index 0\.\.0, found 1",
        ),
        (
            "energyweekendschedule",
            [[0] * 24] * 2 + [[-1] + [0] * 23] + [[0] * 24] * 9,
            r"energyweekendschedule\[2\]\[0\]: .*found -1",
        ),
    ],
)
def test_bad_schedule_names_the_field(field, bad, match):
    with pytest.raises(UrdbError, match=match):
        load_urdb(_flat(**{field: bad}))


def test_missing_schedule_names_the_field():
    rec = _flat()
    del rec["energyweekendschedule"]
    with pytest.raises(UrdbError, match=r"energyweekendschedule: expected a 12x24"):
        load_urdb(rec)


def test_bundled_schedule_index_out_of_range_names_the_field():
    record = copy.deepcopy(_xcel_record())
    record["energyweekdayschedule"][6][15] = 5  # only periods 0..4 exist
    with pytest.raises(UrdbError, match=r"energyweekdayschedule\[6\]\[15\]: .*0\.\.4, found 5"):
        load_urdb(record)


def test_unbounded_tier_before_a_bounded_one_is_refused():
    # The first tier has no max but a later one has: only the last tier may be unbounded.
    rec = _flat(energyratestructure=[[{"rate": 0.1}, {"max": 500, "rate": 0.2}]])
    with pytest.raises(UrdbError, match=r"energyratestructure\[0\]\[0\]\.max: .*only the last"):
        load_urdb(rec)


def test_tier_bounds_must_increase():
    rec = _flat(
        energyratestructure=[[{"max": 500, "rate": 0.1}, {"max": 300, "rate": 0.2}, {"rate": 0.3}]]
    )
    with pytest.raises(UrdbError, match=r"energyratestructure\[0\]\[1\]\.max: .*increase"):
        load_urdb(rec)


def test_bounded_last_tier_is_refused():
    rec = _flat(
        demandratestructure=[[{"max": 50, "rate": 3}]],
        demandweekdayschedule=[[0] * 24] * 12,
        demandweekendschedule=[[0] * 24] * 12,
    )
    with pytest.raises(UrdbError, match=r"demandratestructure\[0\]\[0\]\.max: .*unbounded"):
        load_urdb(rec)


def test_tier_bound_finer_than_a_wh_is_refused():
    rec = _flat(energyratestructure=[[{"max": 100.0005, "rate": 0.1}, {"rate": 0.2}]])
    with pytest.raises(UrdbError, match=r"energyratestructure\[0\]\[0\]\.max: .*1/1000 kWh"):
        load_urdb(rec)


def test_unreadable_and_invalid_files(tmp_path):
    with pytest.raises(UrdbError, match="cannot read URDB file"):
        load_urdb(tmp_path / "missing.json")
    bad = tmp_path / "bad.json"
    bad.write_text("{not json", encoding="utf-8")
    with pytest.raises(UrdbError, match=r"bad\.json: not valid JSON"):
        load_urdb(bad)
    with pytest.raises(UrdbError, match="energyratestructure: expected energy rates"):
        load_urdb({"name": "empty"})
