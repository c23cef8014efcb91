"""The URDB fields real records use, on the 13 real records of ``data/urdb/`` and by hand.

``data/urdb/`` is a copy of ``../shared/data/urdb`` (SOURCES.csv says where each
record comes from), so these tests do not depend on the shared folder.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from m2c.core import bill_interval
from m2c.core.tariffs.urdb import UrdbError, load_urdb

DATA = Path(__file__).parent / "data" / "urdb"
FLAT24 = [[0] * 24 for _ in range(12)]


def _rec(**extra) -> dict:
    rec = {
        "name": "t",
        "energyratestructure": [[{"rate": 0.1, "unit": "kWh"}]],
        "energyweekdayschedule": FLAT24,
        "energyweekendschedule": FLAT24,
    }
    rec.update(extra)
    return rec


def _january(n_hours: int = 744) -> np.ndarray:
    return np.zeros((1, n_hours))


# --- the corpus ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name", sorted(p.name for p in DATA.glob("*.json") if not p.name.startswith("seward"))
)
def test_every_real_record_imports_and_bills(name):
    t = load_urdb(DATA / name)
    assert t.currency == "USD" and t.unbilled == ()
    b = bill_interval(t, np.full((1, 8760), 1.234), start="2018-01-01", backend="cpu")
    assert (b.total_fen[0] > 0).all()
    assert b.notes[0].startswith("energy: each step converted to whole Wh")


def test_invalid_record_is_refused_naming_the_field():
    # Seward County D28: the schedules point at period 1 of a one-period structure
    with pytest.raises(
        UrdbError,
        match=r"seward-d28.*: energyweekdayschedule\[0\]\[0\]: "
        r"expected a 0-based period index 0\.\.0, found 1",
    ):
        load_urdb(DATA / "seward-d28-539fb6c7ec4f024bc1dc0445.json")


def test_camelcase_and_schema_metadata_are_accepted():
    # SMUD's record carries demandRateUnits, flatDemandUnits, dgRules, sourceReference,
    # serviceMax, maxdemand and supercedes (misspelt, as URDB publishes it)
    t = load_urdb(DATA / "smud-ci-tod3-68c0ca32d7afaa668b0dc6fb.json")
    assert t.demand_unit_w == 1000
    t2 = load_urdb(
        _rec(
            usenetmetering=False,
            supercedes="x",
            sourceReference="y",
            energytoulabels=["a"],
            demandRateUnits="kW",
            flatDemandUnits="kW",
            dgRules="Net Metering",
        )
    )
    assert t2.energy_periods[0][0].price_nu == 100_000_000
    with pytest.raises(
        UrdbError,
        match=r"^<dict>: demandRateUnits: expected the same value as "
        r"'demandrateunit'",
    ):
        load_urdb(_rec(demandrateunit="kW", demandRateUnits="hp"))


# --- units and charges, by hand ------------------------------------------------------------


def test_fixed_charge_per_day_times_the_days_of_the_month():
    # 0.32854 $/day: January 31 x 0.32854 = 10.18474 -> 10.18 $; February 28 x = 9.19912
    # -> 9.20 $ (one rounding per line, not 0.33 $ x days)
    t = load_urdb(_rec(fixedchargefirstmeter=0.32854, fixedchargeunits="$/day"))
    b = bill_interval(t, np.zeros((1, 24 * 59)), start="2025-01-01", backend="cpu")
    assert b.fixed_fen[0, :2].tolist() == [1018, 920]


def test_minimum_charge_per_day():
    # 1.5 $/day minimum, no load: January 31 x 1.5 = 46.50 $ of minimum; monthly and
    # annual minimum fields left out: no other minimum is invented
    t = load_urdb(_rec(mincharge=1.5, minchargeunits="$/day"))
    b = bill_interval(t, np.zeros((1, 24 * 31)), start="2025-01-01", backend="cpu")
    assert int(b.minimum_fen[0, 0]) == 4650 and int(b.total_fen[0, 0]) == 4650
    assert int(b.annual_minimum_fen[0, 0]) == 0


def test_demand_in_horsepower():
    # 5 $/hp flat demand; one hour of 7.46 kWh = 7.46 kW = 10 hp -> 50.00 $
    # (energy 7.46 kWh x 0.1 = 0.746 -> 0.75 $)
    t = load_urdb(
        _rec(flatdemandunit="hp", flatdemandstructure=[[{"rate": 5}]], flatdemandmonths=[0] * 12)
    )
    load = _january()
    load[0, 10] = 7.46
    b = bill_interval(t, load, backend="cpu")
    assert int(b.demand_fen[0, 0]) == 5000 and int(b.energy_fen[0, 0]) == 75
    assert any("746 W" in n for n in t.notes)


def test_demand_in_kva_at_an_assumed_power_factor():
    # 10 $/kVA; a 9 kW peak at the default power factor 0.90 = 10 kVA -> 100.00 $;
    # at a given power factor of 1.0: 9 kVA -> 90.00 $
    rec = _rec(
        flatdemandunit="kVA", flatdemandstructure=[[{"rate": 10}]], flatdemandmonths=[0] * 12
    )
    load = _january()
    load[0, 10] = 9.0
    assert int(bill_interval(load_urdb(rec), load, backend="cpu").demand_fen[0, 0]) == 10_000
    t1 = load_urdb(rec, kva_power_factor=1.0)
    assert int(bill_interval(t1, load, backend="cpu").demand_fen[0, 0]) == 9_000
    assert any("0.90" in n and "default" in n for n in load_urdb(rec).notes)


def test_hours_use_tiers_kwh_per_kw():
    # 0.10 $/kWh for the first 100 kWh per kW of the month's peak, 0.05 above.
    # Peak 2 kW (one hour of 2 kWh) -> bound 200 kWh; energy 300 kWh:
    # 200 x 0.10 + 100 x 0.05 = 25.00 $
    t = load_urdb(
        _rec(
            energyratestructure=[
                [{"max": 100, "rate": 0.1, "unit": "kWh/kW"}, {"rate": 0.05, "unit": "kWh/kW"}]
            ]
        )
    )
    load = _january()
    load[0, 0] = 2.0
    load[0, 1:300] = 298.0 / 299
    load = np.round(load, 3)
    e = float(load.sum())
    b = bill_interval(t, load, backend="cpu")
    assert int(b.max_demand_w[0, 0]) == 2000
    assert int(b.energy_fen[0, 0]) == round((200 * 0.10 + (e - 200) * 0.05) * 100)
    assert abs(e - 300) < 0.2


def test_daily_tiers_kwh_daily():
    # 10 kWh a day at 0.10 $, then 0.20 $: January's bound 31 x 10 = 310 kWh;
    # 400 kWh -> 310 x 0.10 + 90 x 0.20 = 31.00 + 18.00 = 49.00 $
    t = load_urdb(
        _rec(
            energyratestructure=[
                [{"max": 10, "rate": 0.1, "unit": "kWh daily"}, {"rate": 0.2, "unit": "kWh daily"}]
            ]
        )
    )
    load = _january()
    load[0, :400] = 1.0
    assert int(bill_interval(t, load, backend="cpu").energy_fen[0, 0]) == 4900


def test_demand_window_from_15_minute_data():
    # 10 $/kW; 4 kWh in the first quarter of an hour, then nothing: a 15-minute demand
    # of 16 kW (160.00 $), a 60-minute window's demand of 4 kW (40.00 $)
    rec = _rec(flatdemandstructure=[[{"rate": 10}]], flatdemandmonths=[0] * 12)
    load = np.zeros((1, 744 * 4))
    load[0, 40] = 4.0
    b15 = bill_interval(load_urdb(rec), load, step_minutes=15, backend="cpu")
    assert int(b15.demand_fen[0, 0]) == 16_000
    b60 = bill_interval(
        load_urdb({**rec, "demandwindow": 60}), load, step_minutes=15, backend="cpu"
    )
    assert int(b60.demand_fen[0, 0]) == 4_000
    assert any("60-minute windows" in n for n in b60.notes)


def test_reactive_demand_billed_when_reactive_data_are_given():
    # 0.51 $/kvar of the month's maximum reactive demand: 20 kvarh in one hour -> 10.20 $
    t = load_urdb(_rec(demandreactivepowercharge=0.51))
    q = _january()
    q[0, 5] = 20.0
    b = bill_interval(t, _january(), reactive_kvarh=q, backend="cpu")
    assert int(b.demand_reactive_fen[0, 0]) == 1020 and int(b.total_fen[0, 0]) == 1020
    assert int(b.max_reactive_var[0, 0]) == 20_000
    # without reactive data: not billed, said in the notes; strict refuses
    b = bill_interval(t, _january(), backend="cpu")
    assert int(b.total_fen[0, 0]) == 0
    assert any("reactive demand charge: not billed" in n for n in b.notes)
    with pytest.raises(ValueError, match="strict"):
        bill_interval(t, _january(), strict=True, backend="cpu")


def test_coincident_demand_billed_on_the_system_peak_hours():
    # 8 $/kW of coincident demand in period 1 (summer afternoons 14-17), 0 in period 0.
    # System peak: 2025-07-15 16:00 (hour index 4720) and 2025-01-10 18:00 (period 0).
    # The customer draws 3 kWh at 16:00 on 07-15 (its July max elsewhere is 9 kWh at
    # 03:00, not coincident): July coincident demand 3 kW x 8 = 24.00 $; January 0.
    sched = [[1 if (5 <= m <= 8 and 14 <= h <= 17) else 0 for h in range(24)] for m in range(12)]
    t = load_urdb(
        _rec(
            energyratestructure=[[{"rate": 0}]],
            coincidentratestructure=[[{"rate": 0}], [{"rate": 8}]],
            coincidentrateschedule=sched,
            coincidentrateunit="kW",
        )
    )
    load = np.zeros((1, 8760))
    july15_16 = (31 + 28 + 31 + 30 + 31 + 30 + 14) * 24 + 16
    load[0, july15_16] = 3.0
    load[0, july15_16 - 13] = 9.0
    load[0, 9 * 24 + 18] = 5.0
    peak = np.zeros(8760, dtype=bool)
    peak[[july15_16, 9 * 24 + 18]] = True
    b = bill_interval(t, load, system_peak_steps=peak, backend="cpu")
    assert int(b.demand_coincident_fen[0, 6]) == 2400 and int(b.demand_fen[0, 6]) == 2400
    assert int(b.total_fen[0, 6]) == 2400 and int(b.total_fen[0, 0]) == 0
    assert any("2 system-peak step(s)" in n for n in b.notes)
    # without the system-peak hours: not billed, said in the notes; strict refuses
    b = bill_interval(t, load, backend="cpu")
    assert int(b.total_fen[0, 6]) == 0
    assert any(n.startswith("coincident demand charge: not billed") for n in b.notes)
    with pytest.raises(ValueError, match="strict"):
        bill_interval(t, load, strict=True, backend="cpu")


def test_sell_rates_are_ignored_with_a_note():
    t = load_urdb(_rec(energyratestructure=[[{"rate": 0.1, "sell": 0.05}]]))
    assert any("sell (export) rates ignored" in n for n in t.notes)
    assert t.energy_periods[0][0].price_nu == 100_000_000


def test_tiered_tou_tiers_apply_to_the_month_total():
    # peak (hour 12) 0.20 / 0.30, off-peak 0.10 / 0.15 $/kWh, tier bound 100 kWh.
    # January: 50 kWh peak + 150 kWh off-peak = 200 kWh: tier 1 100 kWh, tier 2 100 kWh.
    # Peak share 1/4: 25 x 0.20 + 25 x 0.30 = 12.50 $; off-peak 3/4: 75 x 0.10 + 75 x 0.15
    # = 18.75 $ (tiers per period would give 10.00 $ and 17.50 $)
    sched = [[1 if h == 12 else 0 for h in range(24)] for _ in range(12)]
    t = load_urdb(
        _rec(
            energyratestructure=[
                [{"max": 100, "rate": 0.1}, {"rate": 0.15}],
                [{"max": 100, "rate": 0.2}, {"rate": 0.3}],
            ],
            energyweekdayschedule=sched,
            energyweekendschedule=sched,
        )
    )
    load = _january()
    load[0, 12] = 50.0
    load[0, 0] = 150.0
    b = bill_interval(t, load, backend="cpu")
    assert b.energy_period_fen[0, 0, :2].tolist() == [1875, 1250]


def test_records_in_the_api_wrapper_and_file_errors(tmp_path):
    f = tmp_path / "r.json"
    f.write_text(json.dumps({"items": [_rec()]}), encoding="utf-8")
    assert load_urdb(f).name == "t"
    g = tmp_path / "g.json"
    g.write_bytes(b"\xff\xfe\x00\x01 binary")
    with pytest.raises(UrdbError, match=r"g\.json: not a URDB JSON file"):
        load_urdb(g)


def test_hours_use_tiers_per_kw_per_day():
    # 5 kWh per kW of peak per day at 0.10 $, then 0.05 $: peak 2 kW, January (31 days)
    # -> bound 5 x 2 x 31 = 310 kWh; 200 hours of 2 kWh = 400 kWh:
    # 310 x 0.10 + 90 x 0.05 = 31.00 + 4.50 = 35.50 $
    t = load_urdb(
        _rec(
            energyratestructure=[
                [
                    {"max": 5, "rate": 0.1, "unit": "kWh/kW daily"},
                    {"rate": 0.05, "unit": "kWh/kW daily"},
                ]
            ]
        )
    )
    load = _january()
    load[0, :200] = 2.0
    assert int(bill_interval(t, load, backend="cpu").energy_fen[0, 0]) == 3550


def test_register_bills_need_the_days_of_a_daily_charge():
    from m2c.core import bill_register, compile_tariffs

    # PG&E A-1: fixed 0.32854 $/day (the record's figure) x 31 days = 10.18474 -> 10.18 $
    t = load_urdb(DATA / "pge-a-1-tou-5e162d795457a3223473e3af.json")
    rec = json.loads((DATA / "pge-a-1-tou-5e162d795457a3223473e3af.json").read_text())
    rec = rec["items"][0] if "items" in rec else rec
    per_day = rec["fixedchargefirstmeter"]
    table = compile_tariffs([t])
    e = np.zeros((1, table.n_periods), dtype=np.int64)
    b = bill_register(table, np.array([0]), e, month=1, days=31, backend="cpu")
    assert int(b.fixed_fen[0]) == round(per_day * 31 * 100)
    with pytest.raises(ValueError, match="per day: pass days"):
        bill_register(table, np.array([0]), e, month=1, backend="cpu")
