"""Units of m2c and the one rounding function (../shared/DESIGN.md "Units").

Every quantity in m2c is an exact integer:

========== ============================== ==============================
quantity   unit                           name in code
========== ============================== ==============================
money      fen = 0.01 CNY                 ``*_fen``
energy     centi-kWh = 0.01 kWh           ``*_ckwh`` (DL/T 645 register step)
power      watt                           ``*_w``
price      micro-yuan per kWh             ``*_uy_per_kwh``
           (or per kVA·month, kW·month)   ``*_uy_per_kva``, ``*_uy_per_kw``
rate       parts per million (ppm)        ``*_ppm`` (0.1 %/day = 1000 ppm)
========== ============================== ==============================

This module is the only place that converts between them. A bill line is
computed exactly in integers (e.g. micro-yuan x centi-kWh) and rounded *once*
to fen by :func:`round_div`. The rounding rule is a tariff setting:
``HALF_UP`` (default: halves go away from zero, as a cashier rounds, so a
refund of -0.5 fen becomes -1 fen) or ``HALF_EVEN`` (banker's rounding).
"""

from __future__ import annotations

import numpy as np
from numba import njit

FEN_PER_YUAN = 100
CKWH_PER_KWH = 100
MICRO_PER_YUAN = 1_000_000
PPM = 1_000_000

#: micro-yuan/kWh x centi-kWh = 1e-8 yuan = 1e-6 fen: divide by this to get fen.
PRICE_ENERGY_TO_FEN = 1_000_000
#: micro-yuan per unit -> fen.
MICRO_YUAN_PER_FEN = 10_000

#: Largest energy of one interval step, kWh (so a year of steps sums in int64).
MAX_STEP_KWH = 1e9

HALF_UP = 0
HALF_EVEN = 1
ROUNDING_MODES = {"half_up": HALF_UP, "half_even": HALF_EVEN}


@njit(cache=True, nogil=True)
def round_div(numer: int, denom: int, mode: int = HALF_UP) -> int:
    """Divide two integers and round the quotient to the nearest integer.

    ``numer`` and ``denom`` are int64; ``denom`` must be positive. Halves are
    rounded away from zero (``HALF_UP``) or to the even neighbour
    (``HALF_EVEN``). This is the one rounding function of m2c: every
    conversion to fen goes through it.
    """
    n = np.int64(numer)
    d = np.int64(denom)
    neg = n < 0
    a = -n if neg else n
    q = a // d
    r = a - q * d
    twice = 2 * r
    if twice > d or (twice == d and (mode == HALF_UP or (q & 1) == 1)):
        q += 1
    return -q if neg else q


@njit(cache=True, nogil=True)
def energy_charge_fen(energy_ckwh: int, price_uy_per_kwh: int, mode: int = HALF_UP) -> int:
    """Charge in fen for ``energy_ckwh`` centi-kWh at ``price_uy_per_kwh`` micro-yuan/kWh."""
    return round_div(np.int64(energy_ckwh) * np.int64(price_uy_per_kwh), PRICE_ENERGY_TO_FEN, mode)


@njit(cache=True, nogil=True)
def micro_yuan_to_fen(amount_uy: int, mode: int = HALF_UP) -> int:
    """Round an amount in micro-yuan to fen."""
    return round_div(amount_uy, MICRO_YUAN_PER_FEN, mode)


@njit(cache=True, nogil=True)
def apply_ppm(amount_fen: int, rate_ppm: int, mode: int = HALF_UP) -> int:
    """``amount_fen x rate_ppm / 1e6`` rounded to fen (late fees, PF adjustment)."""
    return round_div(np.int64(amount_fen) * np.int64(rate_ppm), PPM, mode)


def rounding_mode(name: str) -> int:
    """Return the rounding-mode constant for ``"half_up"`` or ``"half_even"``."""
    try:
        return ROUNDING_MODES[name]
    except KeyError:
        raise ValueError(
            f"unknown rounding mode {name!r}: expected one of {sorted(ROUNDING_MODES)}"
        ) from None


# --- conversions at the edges (user input, reports) ------------------------


def _exact_scaled(value: float | int | str, scale: int, what: str) -> int:
    """Scale a decimal value to an integer unit, refusing values finer than the unit."""
    from decimal import Decimal, InvalidOperation

    try:
        d = Decimal(str(value)) * scale
    except InvalidOperation:
        raise ValueError(f"{what}: expected a number, got {value!r}") from None
    q = d.to_integral_value()
    if q != d:
        raise ValueError(f"{what}: {value!r} is finer than the unit 1/{scale}")
    return int(q)


def yuan_to_fen(yuan: float | int | str) -> int:
    """Exact CNY -> fen for user input; refuses fractions of a fen."""
    return _exact_scaled(yuan, FEN_PER_YUAN, "amount in yuan")


def price_to_uy(yuan_per_unit: float | int | str) -> int:
    """Exact price in CNY per kWh (or kVA, kW) -> micro-yuan per unit."""
    return _exact_scaled(yuan_per_unit, MICRO_PER_YUAN, "price in yuan per unit")


def percent_to_ppm(percent: float | int | str) -> int:
    """Exact percentage (e.g. 0.1 for 0.1 %/day) -> parts per million."""
    return _exact_scaled(percent, PPM // 100, "percentage")


def fen_to_yuan(fen: np.ndarray | int) -> np.ndarray | float:
    """fen -> CNY as float, for display and reports only (never for arithmetic)."""
    return np.asarray(fen, dtype=np.int64) / FEN_PER_YUAN if np.ndim(fen) else fen / FEN_PER_YUAN


def kwh_to_ckwh(kwh: np.ndarray | float) -> np.ndarray | int:
    """kWh (float, e.g. interval data) -> centi-kWh, rounded half-up to the register step."""
    a = np.asarray(kwh, dtype=np.float64)
    out = np.floor(np.abs(a) * CKWH_PER_KWH + 0.5) * np.sign(a)
    out = out.astype(np.int64)
    return out if np.ndim(kwh) else int(out)


def ckwh_to_kwh(ckwh: np.ndarray | int) -> np.ndarray | float:
    """centi-kWh -> kWh as float, for display."""
    return np.asarray(ckwh, dtype=np.int64) / CKWH_PER_KWH if np.ndim(ckwh) else ckwh / CKWH_PER_KWH


def kw_to_w(kw: np.ndarray | float) -> np.ndarray | int:
    """kW (float) -> watts, rounded to the nearest watt."""
    a = np.rint(np.asarray(kw, dtype=np.float64) * 1000).astype(np.int64)
    return a if np.ndim(kw) else int(a)
