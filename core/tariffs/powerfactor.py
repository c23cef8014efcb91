"""Power-factor adjustment (力调电费) per the 1983 table, as data.

The adjustment is a percentage of the month's basic + energy charge, looked up
by the month's power factor rounded to two decimals against the customer's
standard (0.90, 0.85 or 0.80). Source: the 1983 "功率因数调整电费办法" table as
summarised in issue 3:

* at or above the standard, a discount: 0.1 % per 0.01 up to PF 0.90 (only
  for the 0.85 / 0.80 standards), then 0.15 % per 0.01 above 0.90, capped at
  -0.75 % (standard 0.90), -1.1 % (0.85), -1.3 % (0.80);
* below the standard, a surcharge: 0.5 % per 0.01 for 20 steps (to +10 %),
  then 1 % per 0.01 for 5 steps (to +15 %), then 2 % per 0.01.

Rates are parts per million of the charge (0.15 % = 1500 ppm); a negative
value is a discount. :data:`PF_TABLE_PPM` has one row per standard (index by
:func:`standard_row`) and one column per PF in hundredths (0..100).
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

#: Standards in hundredths, in the row order of PF_TABLE_PPM.
STANDARDS = (90, 85, 80)
#: Discount caps (ppm) per standard: -0.75 %, -1.1 %, -1.3 %.
_CAPS_PPM = {90: 7_500, 85: 11_000, 80: 13_000}


def adjustment_ppm(pf_hundredths: int, standard: int) -> int:
    """Adjustment rate (ppm of basic + energy charge) for a PF in hundredths."""
    if standard not in _CAPS_PPM:
        raise ValueError(f"power-factor standard must be one of 0.90, 0.85, 0.80, got {standard}")
    if not 0 <= pf_hundredths <= 100:
        raise ValueError(f"power factor must be 0.00..1.00, got {pf_hundredths / 100}")
    x, s = pf_hundredths, standard
    if x >= s:
        steps_to_90 = max(0, min(x, 90) - s)  # 0.1 % per 0.01 up to 0.90
        steps_above_90 = max(0, x - max(s, 90))  # 0.15 % per 0.01 above 0.90
        return -min(steps_to_90 * 1_000 + steps_above_90 * 1_500, _CAPS_PPM[s])
    below = s - x
    band1 = min(below, 20)  # +0.5 % per 0.01
    band2 = min(max(below - 20, 0), 5)  # +1 % per 0.01
    band3 = max(below - 25, 0)  # +2 % per 0.01
    return band1 * 5_000 + band2 * 10_000 + band3 * 20_000


def _build_table() -> np.ndarray:
    table = np.zeros((len(STANDARDS), 101), dtype=np.int64)
    for r, s in enumerate(STANDARDS):
        for x in range(101):
            table[r, x] = adjustment_ppm(x, s)
    return table


PF_TABLE_PPM = _build_table()


def standard_row(standard: int) -> int:
    """Row of PF_TABLE_PPM for a standard in hundredths; -1 for no adjustment (0)."""
    if standard == 0:
        return -1
    try:
        return STANDARDS.index(standard)
    except ValueError:
        raise ValueError(
            f"power-factor standard must be 0 (none), 90, 85 or 80 hundredths, got {standard}"
        ) from None


@njit(cache=True, nogil=True)
def pf_hundredths(active_ckwh: int, reactive_ckvarh: int) -> int:
    """Power factor P / sqrt(P^2 + Q^2) in hundredths, rounded half-up.

    Returns 100 when there is no reactive energy and 0 when there is no
    active energy. Float arithmetic is exact enough here: the ratio is
    irrational except on measure-zero inputs, and the tiny epsilon makes the
    exact-half cases (e.g. 3-4-5 triangles giving 0.60, 0.80) round as decimals do.
    """
    p = float(abs(active_ckwh))
    q = float(abs(reactive_ckvarh))
    if p == 0.0:
        return 0
    if q == 0.0:
        return 100
    pf = p / math.sqrt(p * p + q * q)
    return int(math.floor(pf * 100.0 + 0.5 + 1e-9))
