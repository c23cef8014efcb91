"""``m2c bill``'s library: tariff specs, billing a load file, the monthly totals."""

from __future__ import annotations

import pytest

from m2c.core.tariffs import TariffFileError, bundled_tariff
from m2c.sim.interval_billing import bill_load, monthly_totals, resolve_tariff


def test_unknown_tariff_names_what_was_expected():
    with pytest.raises(TariffFileError, match="neither a bundled tariff"):
        resolve_tariff("nope")


def test_monthly_totals_of_a_small_load_file(tmp_path):
    # 3 hours of 1.5 kWh in March: 4 500 Wh, one month, then the year row (equal)
    p = tmp_path / "load.csv"
    p.write_text(
        "customer,timestamp,kwh\n" + "".join(f"A,2025-03-01T0{h}:00,1.5\n" for h in range(3))
    )
    billed = bill_load("commercial_flat", p)
    labels, rows = monthly_totals(billed)
    price = bundled_tariff("commercial_flat").energy_periods[0][0].price_nu
    energy_fen = (4_500 * price + 5 * 10**9) // 10**10  # nano/kWh x Wh / 1e10, half-up
    assert [m for m, _ in rows] == ["2025-03", "year"]
    assert rows[0][1] == rows[1][1]
    assert rows[0][1][0] == 4_500
    assert rows[0][1][1 + labels.index("energy")] == energy_fen
    # lines shown: energy, the fixed charge, the total (all-zero lines are left out);
    # 4 500 Wh x 666 400 000 nano/kWh / 1e10 = 299.88 -> 300 fen; total = energy + fixed
    assert labels == ["energy", "fixed", "total"]
    assert rows[0][1][1] + rows[0][1][2] == rows[0][1][3]
