"""Power-factor adjustment: the 1983 table (standards 0.90 / 0.85 / 0.80) and PF from energies.

The expected table below is written out from the 1983 功率因数调整电费办法 as
summarised in issue 3, row by row, independently of the formula in
core/tariffs/powerfactor.py:

* standard 0.90: 0.91..0.95 -0.15 % per 0.01 (0.95 and above -0.75 %);
  0.89..0.70 +0.5 % per 0.01 (0.70 = +10 %); 0.69..0.65 +1 % per 0.01
  (0.65 = +15 %); 0.64 and below +2 % per 0.01;
* standard 0.85: 0.86..0.90 -0.1 % per 0.01 (0.90 = -0.5 %), then -0.15 % per
  0.01 (0.91 -0.65, 0.92 -0.80, 0.93 -0.95), 0.94 and above -1.1 % (cap);
  below 0.85 the same +0.5 / +1 / +2 % bands shifted by 0.05;
* standard 0.80: 0.81..0.90 -0.1 % per 0.01 (0.90 = -1.0 %), 0.91 -1.15 %,
  0.92 and above -1.3 % (cap); below 0.80 the bands shifted by 0.10.
"""

from decimal import ROUND_HALF_UP, Decimal, localcontext

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from m2c.core.tariffs.powerfactor import (
    PF_TABLE_PPM,
    STANDARDS,
    adjustment_ppm,
    pf_hundredths,
    standard_row,
)


def _ppm(percent: str) -> int:
    return int(Decimal(percent) * 10_000)


# (pf in hundredths, percent) for each standard: every breakpoint and both sides of it.
TABLE = {
    90: [
        (100, "-0.75"),
        (96, "-0.75"),
        (95, "-0.75"),
        (94, "-0.60"),
        (93, "-0.45"),
        (92, "-0.30"),
        (91, "-0.15"),
        (90, "0"),
        (89, "0.5"),
        (88, "1.0"),
        (80, "5.0"),
        (71, "9.5"),
        (70, "10"),
        (69, "11"),
        (68, "12"),
        (66, "14"),
        (65, "15"),
        (64, "17"),
        (63, "19"),
        (60, "25"),
        (50, "45"),
        (0, "145"),
    ],
    85: [
        (100, "-1.1"),
        (95, "-1.1"),
        (94, "-1.1"),
        (93, "-0.95"),
        (92, "-0.80"),
        (91, "-0.65"),
        (90, "-0.5"),
        (89, "-0.4"),
        (88, "-0.3"),
        (87, "-0.2"),
        (86, "-0.1"),
        (85, "0"),
        (84, "0.5"),
        (75, "5.0"),
        (65, "10"),
        (64, "11"),
        (60, "15"),
        (59, "17"),
        (58, "19"),
        (50, "35"),
    ],
    80: [
        (100, "-1.3"),
        (93, "-1.3"),
        (92, "-1.3"),
        (91, "-1.15"),
        (90, "-1.0"),
        (89, "-0.9"),
        (85, "-0.5"),
        (81, "-0.1"),
        (80, "0"),
        (79, "0.5"),
        (70, "5.0"),
        (60, "10"),
        (59, "11"),
        (55, "15"),
        (54, "17"),
        (50, "25"),
    ],
}
CASES = [(s, pf, _ppm(pct)) for s, rows in TABLE.items() for pf, pct in rows]


@pytest.mark.parametrize(("standard", "pf", "ppm"), CASES)
def test_table_breakpoints(standard, pf, ppm):
    assert adjustment_ppm(pf, standard) == ppm
    # the compiled table the kernels read holds the same figure
    assert PF_TABLE_PPM[standard_row(standard), pf] == ppm


def test_table_shape_and_monotone():
    assert PF_TABLE_PPM.shape == (3, 101) and STANDARDS == (90, 85, 80)
    # a better power factor never costs more
    assert np.all(np.diff(PF_TABLE_PPM, axis=1) <= 0)
    # zero exactly at the standard
    for r, s in enumerate(STANDARDS):
        assert PF_TABLE_PPM[r, s] == 0


def test_standard_and_range_errors():
    assert standard_row(0) == -1
    with pytest.raises(ValueError, match="standard"):
        standard_row(95)
    with pytest.raises(ValueError, match="standard"):
        adjustment_ppm(90, 75)
    with pytest.raises(ValueError, match=r"power factor must be 0\.00\.\.1\.00"):
        adjustment_ppm(101, 90)


@pytest.mark.parametrize(
    ("p", "q", "pf"),
    [
        (10_000, 0, 100),  # no reactive energy: PF 1.00
        (0, 5_000, 0),  # no active energy: PF 0
        (0, 0, 0),
        (400, 300, 80),  # 3-4-5: 400 / 500 = 0.80 exactly
        (300, 400, 60),  # 300 / 500 = 0.60
        (10_000, 4_843, 90),  # 100 / sqrt(100^2 + 48.43^2) = 100 / 111.1101 = 0.90000 -> 0.90
        (10_000, 4_900, 90),  # 100 / 111.3597 = 0.89799 -> 0.90 (2 decimals, half-up)
        (10_000, 4_950, 90),  # 100 / sqrt(10 000 + 2 450.25) = 100 / 111.5807 = 0.89621 -> 0.90
        (10_000, 5_100, 89),  # 100 / sqrt(10 000 + 2 601) = 100 / 112.2542 = 0.89083 -> 0.89
        (10_000, 3_287, 95),  # 100 / 105.2636 = 0.94999.. -> 0.95
        (-10_000, 4_843, 90),  # sign of the registers does not matter
        (10_000, -4_843, 90),
        (5_000, 4_011, 78),  # 50 / sqrt(2500 + 1608.81) = 50 / 64.1000 = 0.78003 -> 0.78
        (1_000_000_000, 1, 100),
    ],
)
def test_pf_hundredths_examples(p, q, pf):
    assert pf_hundredths(p, q) == pf


def _pf_ref(p: int, q: int) -> tuple[int, Decimal]:
    """PF rounded half-up to 2 decimals, in 50-digit decimal arithmetic."""
    with localcontext() as ctx:
        ctx.prec = 50
        x = Decimal(abs(p)) / (Decimal(p) ** 2 + Decimal(q) ** 2).sqrt()
        return int((x * 100).quantize(Decimal(1), rounding=ROUND_HALF_UP)), x


@settings(max_examples=400, deadline=None)
@given(st.integers(1, 10**9), st.integers(0, 10**9))
def test_pf_hundredths_matches_decimal(p, q):
    ref, x = _pf_ref(p, q)
    # skip the (measure-zero) inputs within 1e-10 of a rounding half
    frac = (x * 100) % 1
    assume(abs(frac - Decimal("0.5")) > Decimal("1e-10"))
    assert pf_hundredths(p, q) == ref


def test_pf_hundredths_at_rounding_edges():
    # Q chosen so that PF straddles 0.895: P = 100 kWh, Q = P x tan(acos(0.895)).
    # tan(acos(0.895)) = sqrt(1 - 0.895^2) / 0.895 = 0.446053 / 0.895 = 0.49838
    # Q = 49.83 kvarh -> PF 0.895024 -> 0.90; Q = 49.85 kvarh -> PF 0.894944 -> 0.89
    assert pf_hundredths(10_000, 4_983) == 90
    assert pf_hundredths(10_000, 4_985) == 89
    assert _pf_ref(10_000, 4_983)[0] == 90 and _pf_ref(10_000, 4_985)[0] == 89
