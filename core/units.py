"""Units of m2c and the one rounding function (../shared/DESIGN.md "Units").

Every quantity in m2c is an exact integer:

=============== ============================== ==============================
quantity        unit                           name in code
=============== ============================== ==============================
money           fen = 0.01 CNY (cent for USD)  ``*_fen``
energy (meter)  centi-kWh = 0.01 kWh           ``*_ckwh`` (DL/T 645 register step)
energy (bill)   watt-hour = 0.001 kWh          ``*_wh`` (billing kernels, tier bounds)
power           watt                           ``*_w``
tariff price    nano-units per kWh             ``*_nu`` (10^-9 yuan or dollar;
                (or per kW·month, kVA·month)   ``price_nu``, ``basic_nu_per_kva``)
prepaid price   micro-yuan per kWh             ``*_uy`` (the simulation's daily debit)
rate            parts per million (ppm)        ``*_ppm`` (0.1 %/day = 1000 ppm)
=============== ============================== ==============================

This module is the only place that converts between them. A bill line is
computed exactly in integers (nano-units/kWh x Wh = 10^-12 units) and rounded
*once* to fen by :func:`round_div`.

**Why Wh for billed energy.** A bill on interval data must equal the bill of
a register read at the end of the month: energy is summed exactly and rounded
once per bill line, never per step. Interval (AMI, Green Button) data are
published at 0.001 kWh = 1 Wh resolution, so each step is converted to an
integer number of Wh (exact for such data: ``round(x * 1000)`` recovers the
integer from a float32 or float64 value below 16 777 kWh per step) and summed
in int64. Register reads (centi-kWh) are exact multiples (x 10). The old
register-resolution reading (every step rounded to 0.01 kWh) stays available
for data that really are 0.01 kWh register deltas: ``step_resolution_wh=10``.

**Why nano-units for prices.** URDB prices carry 7 decimals ($/kWh rate +
adjustment, e.g. 0.0481085); a micro-unit price rounds them and the error
grows with volume (0.31 $ a month at 600 MWh). 10^-9 units per kWh holds any
price with up to 9 decimals exactly; longer decimals (averaged prices such as
0.07076899707317352) are rounded half-up to the nano-unit and the tariff's
notes say so.

**int64 headroom (the bound).** A line is a sum of tier products
``quantity x price``; in 10^-12 units the sum must stay below 2^63 - 1, i.e.
one bill line may not exceed :data:`MAX_LINE_UNITS` = 9 223 372 currency units
(9.2 M CNY or USD a month; a 0.10/kWh energy line of 92 GWh, a 20/kW demand
line of 461 MW). Prices are bounded at load time by :data:`MAX_PRICE_NU`
(10 000 units per kWh, kW·month or kVA·month; a larger price is refused naming
the field) and quantities at bill time by :func:`max_quantity` (the billing
wrappers refuse a bill whose quantity x price could overflow, naming the
customer, the month and the bound). Charges in fen are bounded by
:data:`MAX_FEN`. The rounding rule is a tariff setting:
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

WH_PER_KWH = 1_000
WH_PER_CKWH = 10
W_PER_KW = 1_000
#: 1 horsepower = 746 W (the URDB ``hp`` demand unit).
W_PER_HP = 746
NANO_PER_UNIT = 1_000_000_000
NANO_PER_MICRO = 1_000
#: nano-units/kWh x Wh (or nano-units/kW x W) = 1e-12 units: divide by this for fen.
NANO_WH_TO_FEN = 10_000_000_000
#: nano-units per unit (kVA, day) -> fen.
NANO_PER_FEN = 10_000_000
INT64_MAX = 2**63 - 1
#: Largest price, nano-units per kWh / kW·month / kVA·month / kvar·month / day.
MAX_PRICE_NU = 10_000 * NANO_PER_UNIT
#: Largest fixed or minimum charge, fen (10^11 units).
MAX_FEN = 10**13
#: Largest tier bound, Wh or W (10^12 kWh; above it a bound means "unbounded").
MAX_BOUND = 10**15
#: Largest value of one bill line, currency units (2^63 - 1 in 10^-12 units).
MAX_LINE_UNITS = INT64_MAX // 10**12
#: Largest energy of one interval step, kWh (so a year of steps sums in int64 Wh).
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


#: Largest month energy (Wh) a "month"-scope tiered TOU line can share out exactly:
#: :func:`share_round_div` multiplies two such energies (3.04 GWh, isqrt(2^63 - 1)).
MAX_SHARED_WH = 3_037_000_499


@njit(cache=True, nogil=True)
def share_round_div(part: int, amount: int, whole: int, denom: int, mode: int = HALF_UP) -> int:
    """``part x amount / (whole x denom)`` rounded once, without a 128-bit product.

    The share of a line that belongs to one TOU period when tiers apply to the
    month's total energy (URDB and SAM reading): ``part`` = the period's Wh,
    ``whole`` = the month's Wh (``0 < part <= whole <= MAX_SHARED_WH``),
    ``amount`` >= 0 = the month's tier charge at the period's prices (nano x
    Wh), ``denom`` = :data:`NANO_WH_TO_FEN`. Exact: ``amount = q x whole + r``
    gives ``part x q + part x r / whole``; ``part x r < whole^2`` fits int64
    and the half is decided on the remainders, never on a rounded value.
    """
    q = amount // whole
    r = amount - q * whole
    b = part * r
    n = part * q + b // whole
    br = b - (b // whole) * whole  # the value is (n + br / whole) / denom, br / whole in [0, 1)
    n1 = n // denom
    n0 = n - n1 * denom
    half = denom // 2  # denom is even (a power of ten)
    if n0 > half or (n0 == half and br > 0):
        return n1 + 1
    if n0 == half and (mode == HALF_UP or (n1 & 1) == 1):
        return n1 + 1
    return n1


@njit(cache=True, nogil=True)
def round_div_array(numer: np.ndarray, denom: int, mode: int = HALF_UP) -> np.ndarray:
    """:func:`round_div` of every element of an int64 array (same shape)."""
    flat = numer.ravel()
    out = np.empty(flat.shape[0], dtype=np.int64)
    for i in range(flat.shape[0]):
        out[i] = round_div(flat[i], denom, mode)
    return out.reshape(numer.shape)


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


def exact_scaled(value: float | int | str, scale: int, what: str) -> int:
    """Scale a decimal value to an integer unit, refusing values finer than the unit.

    ``what`` names the value in the error (file field, tariff element).
    """
    return _exact_scaled(value, scale, what)


def _exact_scaled(value: float | int | str, scale: int, what: str) -> int:
    """Scale a decimal value to an integer unit, refusing values finer than the unit."""
    from decimal import Decimal, InvalidOperation

    try:
        d = Decimal(str(value)) * scale
    except InvalidOperation:
        raise ValueError(f"{what}: expected a number, got {value!r}") from None
    if not d.is_finite():
        raise ValueError(f"{what}: expected a finite number, got {value!r}")
    q = d.to_integral_value()
    if q != d:
        raise ValueError(f"{what}: {value!r} is finer than the unit 1/{scale}")
    return int(q)


def price_to_nu(value: float | int | str, what: str = "price in units per kWh") -> int:
    """Exact price (CNY or USD per kWh, kW, kVA) -> nano-units, within :data:`MAX_PRICE_NU`.

    Refuses values finer than 1e-9 and prices above the bound (so that no bill
    product can overflow int64), naming ``what``.
    """
    nu = _exact_scaled(value, NANO_PER_UNIT, what)
    check_price_nu(nu, what)
    return nu


def check_price_nu(nu: int, what: str, *, allow_negative: bool = False) -> None:
    """Refuse a price (nano-units) beyond :data:`MAX_PRICE_NU` or below zero, naming ``what``."""
    if abs(nu) > MAX_PRICE_NU:
        raise ValueError(
            f"{what}: {nu / NANO_PER_UNIT:g} is beyond the bound of "
            f"{MAX_PRICE_NU // NANO_PER_UNIT} units per unit (int64 headroom of a bill line)"
        )
    if nu < 0 and not allow_negative:
        raise ValueError(
            f"{what}: {nu / NANO_PER_UNIT:g} is negative: a price must be >= 0 "
            "(only elements that are credits by design may be negative)"
        )


def nu_to_uy(price_nu: np.ndarray) -> np.ndarray:
    """Tariff price (nano-units per kWh) -> micro-units per kWh, refusing a loss.

    For the simulation's prepaid daily debit, which works in micro-yuan/kWh.
    """
    a = np.asarray(price_nu, dtype=np.int64)
    if (a % NANO_PER_MICRO).any():
        raise ValueError("a prepaid price must be a whole number of micro-yuan per kWh")
    return a // NANO_PER_MICRO


def max_quantity(price_nu: int) -> int:
    """Largest quantity (Wh or W) whose product with ``price_nu`` fits int64 (the line bound)."""
    p = abs(int(price_nu))
    return INT64_MAX if p == 0 else INT64_MAX // p


def kwh_to_wh(kwh: np.ndarray | float) -> np.ndarray | int:
    """kWh (float) -> watt-hours, rounded half-up (exact for 0.001 kWh data)."""
    a = np.asarray(kwh, dtype=np.float64)
    out = (np.floor(np.abs(a) * WH_PER_KWH + 0.5) * np.sign(a)).astype(np.int64)
    return out if np.ndim(kwh) else int(out)


def wh_to_kwh(wh: np.ndarray | int) -> np.ndarray | float:
    """Wh -> kWh as float, for display."""
    return np.asarray(wh, dtype=np.int64) / WH_PER_KWH if np.ndim(wh) else wh / WH_PER_KWH


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
