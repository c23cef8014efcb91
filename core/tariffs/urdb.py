"""Import of U.S. Utility Rate Database (URDB) records as :class:`~m2c.core.tariffs.model.Tariff`.

:func:`load_urdb` reads one URDB rate record as the OpenEI API publishes it
(``{"items": [record, ...]}``) or as a bare record, from a JSON file or an
already parsed ``dict``. The fields that make a bill are mapped exactly:

================================================ ==========================================
URDB field                                       Tariff field
================================================ ==========================================
``energyratestructure`` (rate + adj, $/kWh;      ``energy_periods`` (nano-$/kWh; bounds in
tier ``unit`` kWh, kWh daily, kWh/kW,            Wh per month, per day, per kW of the
kWh/kW daily)                                    month's peak, per kW per day:
                                                 ``energy_tier_basis``)
``energyweekday/weekendschedule`` (12x24)        ``weekday_schedule`` / ``weekend_schedule``
``demandratestructure``, ``flatdemandstructure`` ``demand_periods``, ``flat_demand``
+ ``flatdemandmonths`` (tiers in the demand      (nano-$ per unit; bounds in W;
unit: kW, hp = 746 W, kVA at an assumed power    ``demand_unit_w`` = 1000, 746 or
factor, default 0.90)                            1000 x power factor)
``demandweekday/weekendschedule``                ``demand_weekday/weekend_schedule``
``demandwindow`` (15, 30, 60 minutes)            ``demand_window_min`` (sub-hourly data are
                                                 averaged over the window)
``demandreactivepowercharge`` ($/kvar)           ``reactive_demand_nu_per_kvar`` (billed
                                                 when reactive data are given)
``coincidentratestructure`` +                    ``coincident_periods`` +
``coincidentrateschedule`` (12x24)               ``coincident_schedule`` (billed when the
                                                 system-peak hours are given)
``fixedchargefirstmeter`` + ``fixedchargeunits`` ``fixed_fen`` ($/month; $/year / 12,
($/month, $/day, $/year), ``fixedmonthlycharge`` noted) or ``fixed_daily_nu`` ($/day)
``mincharge`` + ``minchargeunits`` ($/month,     ``min_monthly_fen``, ``min_daily_nu``,
$/day, $/year), ``minmonthlycharge``,            ``min_annual_fen``
``annualmincharge``
================================================ ==========================================

Money stays in m2c's integer units with ``currency="USD"``: "fen" are cents
and prices nano-dollars, so every price with up to 9 decimals is exact
(URDB adjustments carry 7). Longer decimals (averaged prices such as
0.07076899707317352) are rounded half-up to the nano-dollar and the rounding
is recorded in ``Tariff.notes``, never silently.

Charges that m2c does not model (demand ratchets and look-back minimums,
monthly fuel adjustments) are listed in ``Tariff.unbilled`` with the reason:
``load_urdb(strict=True)`` refuses them, and ``bill_interval`` states them in
the bill's notes (``strict=True`` refuses), as it does for charges that need
data the caller did not give (reactive energy, system-peak hours). Sell (export) rates are ignored
with a note: m2c bills imported energy and refuses negative load.
Every metadata field of the URDB schema (API v3 to v8, camelCase variants
such as ``demandRateUnits``, ``flatDemandUnits``, ``dgRules``,
``sourceReference`` included) is accepted and does not enter the bill; a
field the loader does not know is refused, so that a new URDB field can
never silently change a bill. A record that is invalid (a schedule pointing
at a period the structure does not have, as Seward County D28 does) raises
:class:`UrdbError`, whose message names the file and the field path
(``energyweekdayschedule[0][0]``) and says what was expected and found.

Example::

    >>> from m2c.core.tariffs.urdb import load_urdb
    >>> t = load_urdb({"name": "flat", "energyratestructure": [[{"rate": 0.1, "unit": "kWh"}]],
    ...                "energyweekdayschedule": [[0] * 24] * 12,
    ...                "energyweekendschedule": [[0] * 24] * 12})
    >>> t.energy_periods[0][0].price_nu, t.currency
    (100000000, 'USD')
"""

from __future__ import annotations

import json
import os
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from m2c.core.tariffs.model import DemandTier, Tariff, Tier
from m2c.core.units import (
    FEN_PER_YUAN,
    MAX_FEN,
    MAX_PRICE_NU,
    NANO_PER_UNIT,
    W_PER_HP,
    W_PER_KW,
    WH_PER_KWH,
)


class UrdbError(ValueError):
    """A URDB record cannot be billed exactly; the message names the file and field path."""


#: Fields that describe the rate but do not enter a bill (URDB API v3-v8 docs and real
#: records), lower-cased: ``load_urdb`` compares field names case-insensitively.
_METADATA = frozenset(
    {
        "label",
        "uri",
        "name",
        "utility",
        "utility_info",
        "utilityname",
        "eiaid",
        "startdate",
        "enddate",
        "supersedes",
        "supercedes",
        "sector",
        "servicetype",
        "description",
        "source",
        "sourceparent",
        "sourcereference",
        "country",
        "country_code",
        "state",
        "zipcodes",
        "revisions",
        "approved",
        "is_default",
        "isdefault",
        "latest_update",
        "owner",
        "basicinformationcomments",
        "energycomments",
        "demandcomments",
        "fixedchargecomments",
        "lookbackcomments",
        "voltagecategory",
        "voltageminimum",
        "voltagemaximum",
        "phasewiring",
        "peakkwcapacitymin",
        "peakkwcapacitymax",
        "peakkwcapacityhistory",
        "peakkwhusagemin",
        "peakkwhusagemax",
        "peakkwhusagehistory",
        "demandmin",
        "demandmax",
        "mindemand",
        "maxdemand",
        "servicemin",
        "servicemax",
        "energyattrs",
        "demandattrs",
        "fixedattrs",
        "usenetmetering",
        "energytoulabels",
        "demandtoulabels",
        "energyratestrings",
        "is_latest",
        "id",
        "_id",
        "rateid",
    }
)

#: Supported fields whose camelCase (or plural) spelling differs beyond case.
_ALIASES = {
    "demandrateunits": "demandrateunit",
    "flatdemandunits": "flatdemandunit",
    "coincidentrateunits": "coincidentrateunit",
}

#: Fields read by the loader (see the module docstring).
_SUPPORTED = frozenset(
    {
        "energyratestructure",
        "energyweekdayschedule",
        "energyweekendschedule",
        "demandratestructure",
        "demandweekdayschedule",
        "demandweekendschedule",
        "flatdemandstructure",
        "flatdemandmonths",
        "demandunits",
        "demandrateunit",
        "flatdemandunit",
        "demandwindow",
        "fixedchargefirstmeter",
        "fixedchargeunits",
        "fixedmonthlycharge",
        "fixedchargeeaaddl",
        "mincharge",
        "minchargeunits",
        "minmonthlycharge",
        "annualmincharge",
        "dgrules",
        "demandreactivepowercharge",
        "coincidentratestructure",
        "coincidentrateschedule",
        "coincidentrateunit",
    }
)

#: Fields that change a bill and that m2c does not bill: listed in ``Tariff.unbilled``
#: (``strict=True`` refuses them) unless zero / empty.
_UNBILLED = {
    "demandratchetpercentage": "demand ratchet: not billed, m2c does not carry billing "
    "demand from month to month",
    "lookbackpercent": "look-back (ratchet) minimum demand: not billed, m2c does not carry "
    "billing demand from month to month",
    "lookbackmonths": None,
    "lookbackrange": None,
    "fueladjustmentsmonthly": "monthly fuel adjustments: not billed, m2c bills the tariff's "
    "fixed prices",
}

_TIER_KEYS = frozenset({"max", "rate", "adj", "unit", "sell"})
_ENERGY_UNITS = ("kWh", "kWh daily", "kWh/kW", "kWh/kW daily")
_DEMAND_UNITS = ("kW", "hp", "kVA")
#: Power factor assumed for demand in kVA when the caller does not give one.
DEFAULT_KVA_POWER_FACTOR = Decimal("0.90")


class _Reader:
    """Field access that knows the file name, so every error names file + field path."""

    def __init__(self, source: str, record: dict[str, Any]):
        self.source = source
        self.record = record
        self.notes: list[str] = []

    def fail(self, path: str, msg: str) -> UrdbError:
        return UrdbError(f"{self.source}: {path}: {msg}")

    # -- scalars -------------------------------------------------------------

    def decimal(self, value: Any, path: str) -> Decimal:
        if isinstance(value, bool) or not isinstance(value, (int, float, str)):
            raise self.fail(path, f"expected a number, found {value!r}")
        try:
            d = Decimal(str(value))
        except InvalidOperation:
            raise self.fail(path, f"expected a number, found {value!r}") from None
        if not d.is_finite():
            raise self.fail(path, f"expected a finite number, found {value!r}")
        return d

    def scaled(
        self, value: Decimal, scale: int, path: str, what: str, *, exact: bool, bound: int
    ) -> int:
        """``value x scale`` as an integer within +-``bound``; rounded half-up (when not
        ``exact``) or refused when inexact."""
        d = value * scale
        if abs(d) > bound:
            raise self.fail(
                path,
                f"{value} {what} is beyond the bound of {Decimal(bound) / scale} {what} "
                "(int64 headroom of a bill line)",
            )
        q = d.to_integral_value(rounding=ROUND_HALF_UP)  # half away from zero, as round_div
        if q != d and exact:
            raise self.fail(path, f"expected a multiple of 1/{scale} {what}, found {value}")
        return int(q)

    def unit(self, value: Any, path: str, allowed: tuple[str, ...]) -> None:
        if value not in allowed:
            want = " or ".join(repr(a) for a in allowed)
            raise self.fail(path, f"expected unit {want}, found {value!r} (not supported)")

    def is_zero(self, value: Any) -> bool:
        if value is None or value == "" or value == [] or value == {}:
            return True
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return value == 0
        if isinstance(value, list):
            return all(self.is_zero(v) for v in value)
        if isinstance(value, dict):
            return all(self.is_zero(v) for v in value.values())
        return False

    # -- structures ----------------------------------------------------------

    def price(self, tier: dict, path: str, per: str, rounded: list[str]) -> int:
        """rate + adj ($ per ``per``) -> nano-dollars per ``per``, half-up; notes rounding."""
        if "rate" not in tier:
            raise self.fail(f"{path}.rate", f"expected a price in $/{per}, found no 'rate'")
        total = self.decimal(tier["rate"], f"{path}.rate")
        if tier.get("adj") is not None:
            total += self.decimal(tier["adj"], f"{path}.adj")
        nu = self.scaled(
            total, NANO_PER_UNIT, f"{path}.rate", f"$/{per}", exact=False, bound=MAX_PRICE_NU
        )
        if nu < 0:
            raise self.fail(
                f"{path}.rate",
                f"expected a price >= 0 (rate + adj), found {total} $/{per}: "
                "a negative price would bill a credit that the tariff does not define as one",
            )
        if Decimal(nu) != total * NANO_PER_UNIT:
            rounded.append(f"{path}: rate+adj = {total} $/{per} -> {Decimal(nu) / NANO_PER_UNIT}")
        return nu

    def tiers(
        self,
        field: str,
        scale: int,
        bound_unit: str,
        per: str,
        units: tuple[str, ...] | None = None,
    ):
        """A URDB structure (list of periods, each a list of tiers) -> rows of (upto, price)
        and the tier unit of each period (``units`` = the allowed tier units, else ``per``)."""
        periods = self.record[field]
        if not isinstance(periods, list) or not periods:
            raise self.fail(field, f"expected a non-empty list of periods, found {periods!r}")
        out, bases, rounded, sells = [], [], [], []
        for p, tiers in enumerate(periods):
            ppath = f"{field}[{p}]"
            if not isinstance(tiers, list) or not tiers:
                raise self.fail(ppath, f"expected a non-empty list of tiers, found {tiers!r}")
            row, last, basis = [], None, None
            for k, tier in enumerate(tiers):
                tpath = f"{ppath}[{k}]"
                if not isinstance(tier, dict):
                    raise self.fail(tpath, f"expected a tier object, found {tier!r}")
                extra = sorted(set(tier) - _TIER_KEYS)
                if extra:
                    raise self.fail(f"{tpath}.{extra[0]}", "unknown tier key, not supported")
                if not self.is_zero(tier.get("sell")):
                    self.decimal(tier["sell"], f"{tpath}.sell")
                    sells.append(tpath)
                u = tier.get("unit", units[0] if units else per)
                self.unit(u, f"{tpath}.unit", units or (per,))
                if basis is None:
                    basis = u
                elif u != basis:
                    raise self.fail(
                        f"{tpath}.unit",
                        f"expected the unit of the period's "
                        f"other tiers ({basis!r}), found {u!r} (not supported)",
                    )
                upto = None
                if tier.get("max") is not None:
                    mpath = f"{tpath}.max"
                    if k == len(tiers) - 1:
                        # A bounded last tier would leave energy above it unbilled.
                        raise self.fail(
                            mpath,
                            f"expected the last tier to be unbounded (no 'max'), found "
                            f"{tier['max']!r}: usage above it would not be billed",
                        )
                    upto = self.scaled(
                        self.decimal(tier["max"], mpath),
                        scale,
                        mpath,
                        bound_unit,
                        exact=True,
                        bound=10**15,
                    )
                    if upto <= 0 or (last is not None and upto <= last):
                        raise self.fail(
                            mpath,
                            f"expected tier bounds to increase, found {tier['max']!r} "
                            f"{bound_unit} after {Decimal(last or 0) / scale} {bound_unit}",
                        )
                    last = upto
                elif k != len(tiers) - 1:
                    raise self.fail(
                        f"{tpath}.max",
                        "expected a 'max' on every tier but the last (only the last tier "
                        "may be unbounded), found none",
                    )
                row.append((upto, self.price(tier, tpath, per, rounded)))
            out.append(row)
            bases.append(basis)
        if rounded:
            self.notes.append(
                f"{field}: prices rounded half-up to the nano-dollar (URDB gives more "
                "decimals): " + "; ".join(rounded)
            )
        if sells:
            self.notes.append(
                f"{field}: sell (export) rates ignored ({', '.join(sells)}): m2c bills imported "
                "energy only and refuses negative (exported) load"
            )
        return out, bases

    def schedule(self, field: str, n_periods: int) -> tuple[tuple[int, ...], ...]:
        if field not in self.record:
            raise self.fail(field, "expected a 12x24 schedule of period indices, found none")
        s = self.record[field]
        if not isinstance(s, list) or len(s) != 12:
            n = len(s) if isinstance(s, list) else type(s).__name__
            raise self.fail(field, f"expected 12 rows (months), found {n}")
        rows = []
        for m, row in enumerate(s):
            if not isinstance(row, list) or len(row) != 24:
                n = len(row) if isinstance(row, list) else type(row).__name__
                raise self.fail(f"{field}[{m}]", f"expected 24 hours, found {n}")
            for h, p in enumerate(row):
                if isinstance(p, bool) or not isinstance(p, int) or not 0 <= p < n_periods:
                    raise self.fail(
                        f"{field}[{m}][{h}]",
                        f"expected a 0-based period index 0..{n_periods - 1}, found {p!r}",
                    )
            rows.append(tuple(row))
        return tuple(rows)

    def money_fen(self, field: str, divisor: int = 1) -> int:
        """A charge in $ (divided by ``divisor``) -> cents, half-up (noted) when finer."""
        d = self.decimal(self.record[field], field)
        if d < 0:
            raise self.fail(field, f"expected a charge >= 0, found {self.record[field]!r}")
        d = d / divisor
        fen = self.scaled(d, FEN_PER_YUAN, field, "$", exact=False, bound=MAX_FEN)
        if Decimal(fen) != d * FEN_PER_YUAN:
            self.notes.append(f"{field}: {d} $ rounded half-up to {Decimal(fen) / FEN_PER_YUAN} $")
        return fen

    def money_nu(self, field: str) -> int:
        """A charge in $ per day -> nano-dollars per day (half-up, noted, beyond 9 decimals)."""
        d = self.decimal(self.record[field], field)
        if d < 0:
            raise self.fail(field, f"expected a charge >= 0, found {self.record[field]!r}")
        nu = self.scaled(d, NANO_PER_UNIT, field, "$", exact=False, bound=MAX_PRICE_NU)
        if Decimal(nu) != d * NANO_PER_UNIT:
            self.notes.append(f"{field}: {d} $ rounded half-up to {Decimal(nu) / NANO_PER_UNIT} $")
        return nu


def _read_record(source: str | os.PathLike | dict, index: int | None) -> tuple[str, dict]:
    if isinstance(source, dict):
        name, data = "<dict>", source
    else:
        p = Path(source)
        name = str(p)
        try:
            data = json.loads(p.read_text(encoding="utf-8"))
        except OSError as exc:
            raise UrdbError(f"{name}: cannot read URDB file: {exc.strerror}") from None
        except UnicodeDecodeError as exc:
            raise UrdbError(
                f"{name}: not a URDB JSON file: not UTF-8 text (byte {exc.start}: {exc.reason})"
            ) from None
        except json.JSONDecodeError as exc:
            raise UrdbError(f"{name}: not valid JSON: {exc}") from None
    if not isinstance(data, dict):
        raise UrdbError(f"{name}: (top level): expected a JSON object, found {type(data).__name__}")
    if "items" in data:
        items = data["items"]
        if not isinstance(items, list) or not items:
            raise UrdbError(f"{name}: items: expected a non-empty list of rate records")
        if index is None:
            if len(items) > 1:
                raise UrdbError(
                    f"{name}: items: expected one record, found {len(items)}: pass index=0.."
                    f"{len(items) - 1} to choose"
                )
            index = 0
        if not 0 <= index < len(items):
            raise UrdbError(f"{name}: items[{index}]: index out of range 0..{len(items) - 1}")
        record = items[index]
        if not isinstance(record, dict):
            raise UrdbError(f"{name}: items[{index}]: expected a rate record object")
        return f"{name} items[{index}]", record
    if index not in (None, 0):
        raise UrdbError(f"{name}: a bare record has no items: index must be None or 0")
    return name, data


def _canonical(r: _Reader) -> dict[str, Any]:
    """The record with lower-cased (and de-aliased) keys; a key given twice must agree."""
    out: dict[str, Any] = {}
    spelled: dict[str, str] = {}
    for key, value in r.record.items():
        k = _ALIASES.get(key.lower(), key.lower())
        if k in out and out[k] != value:
            raise r.fail(
                key,
                f"expected the same value as {spelled[k]!r} "
                f"({json.dumps(out[k])[:40]}), found {json.dumps(value)[:40]}",
            )
        out[k] = value
        spelled[k] = key
    return out


def load_urdb(
    source: str | os.PathLike | dict,
    index: int | None = None,
    *,
    strict: bool = False,
    kva_power_factor: float | str | None = None,
) -> Tariff:
    """Load one URDB rate record as a :class:`Tariff` in USD (see the module docstring).

    Parameters
    ----------
    source : path of a JSON file, or the parsed JSON: either the API's
        ``{"items": [record, ...]}`` wrapper or a bare record.
    index : which record of ``items`` to load; required when there are several.
    strict : refuse a record with charges m2c does not bill (demand
        ratchets, look-back minimums, fuel adjustments) instead of listing
        them in ``Tariff.unbilled``.
    kva_power_factor : power factor that converts kW of demand to kVA for
        demand charges in ``kVA`` (default 0.90, stated in the notes).

    Returns
    -------
    Tariff with ``currency="USD"``: prices in nano-dollars per kWh (per
    demand unit for demand), tier bounds in Wh (W for demand), charges in
    cents. ``notes`` records every rounding and every caveat.

    Raises
    ------
    UrdbError
        ``"<file>: <field path>: <expected, found>"`` for anything that cannot
        be billed exactly.
    """
    name, raw = _read_record(source, index)
    r = _Reader(name, raw)
    record = _canonical(r)
    r.record = record

    unbilled: list[str] = []
    for key in record:
        if key in _UNBILLED:
            if not r.is_zero(record[key]):
                reason = _UNBILLED[key]
                if reason is None:
                    continue
                if strict:
                    raise r.fail(key, f"{reason} (strict); found {json.dumps(record[key])[:80]}")
                unbilled.append(f"{key}: {reason}")
        elif key not in _METADATA and key not in _SUPPORTED:
            raise r.fail(
                key,
                "unknown URDB field: m2c does not know whether it changes the "
                "bill, so it refuses it (remove it if it is metadata)",
            )

    # --- energy -----------------------------------------------------------------
    if "energyratestructure" not in record:
        raise r.fail("energyratestructure", "expected energy rates, found none")
    periods, bases = r.tiers("energyratestructure", WH_PER_KWH, "kWh", "kWh", _ENERGY_UNITS)
    energy = tuple(tuple(Tier(u, p) for u, p in row) for row in periods)
    wd = r.schedule("energyweekdayschedule", len(energy))
    we = r.schedule("energyweekendschedule", len(energy))
    basis = tuple(bases) if any(b != "kWh" for b in bases) else ()
    if len(energy) > 1 and any(len(row) > 1 for row in energy):
        r.notes.append(
            "energyratestructure: tier bounds apply to the month's total energy; each "
            "period bills its share of every tier at its own prices (as SAM bills them)"
        )
    if basis:
        r.notes.append(
            "energyratestructure: tier bounds in "
            + ", ".join(sorted(set(bases)))
            + ": per day = x days of the month, per kW = x the month's peak demand (kW)"
        )

    # --- demand -----------------------------------------------------------------
    units = {
        k: record[k] for k in ("demandunits", "demandrateunit", "flatdemandunit") if k in record
    }
    for k, v in units.items():
        r.unit(v, k, _DEMAND_UNITS)
    used = set()
    if "demandratestructure" in record:
        used.add(units.get("demandrateunit", units.get("demandunits", "kW")))
    if "flatdemandstructure" in record:
        used.add(units.get("flatdemandunit", units.get("demandunits", "kW")))
    if len(used) > 1:
        raise r.fail(
            "flatdemandunit",
            f"expected one demand unit for TOU and flat demand, "
            f"found {sorted(used)} (not supported)",
        )
    dunit = used.pop() if used else "kW"
    unit_w = Decimal(W_PER_KW)
    if dunit == "hp":
        unit_w = Decimal(W_PER_HP)
        r.notes.append("demand in hp: 1 hp = 746 W")
    elif dunit == "kVA":
        pf = (
            DEFAULT_KVA_POWER_FACTOR if kva_power_factor is None else Decimal(str(kva_power_factor))
        )
        if not Decimal("0.5") <= pf <= 1:
            raise UrdbError(f"{name}: kva_power_factor must be 0.5..1, got {kva_power_factor}")
        unit_w = W_PER_KW * pf
        if unit_w != unit_w.to_integral_value():
            raise UrdbError(f"{name}: kva_power_factor must have at most 3 decimals")
        r.notes.append(
            f"demand in kVA: kVA = kW / {pf} (assumed power factor"
            f"{' (default)' if kva_power_factor is None else ''})"
        )
    dperiods, dwd, dwe = (), None, None
    if "demandratestructure" in record:
        rows, _ = r.tiers("demandratestructure", unit_w, dunit, dunit)
        dperiods = tuple(tuple(DemandTier(u, p) for u, p in row) for row in rows)
        dwd = r.schedule("demandweekdayschedule", len(dperiods))
        dwe = r.schedule("demandweekendschedule", len(dperiods))
    else:
        for key in ("demandweekdayschedule", "demandweekendschedule"):
            if key in record and not r.is_zero(record[key]):
                raise r.fail(key, "expected demandratestructure with a demand schedule, found none")
    flat, flat_months = (), ()
    if "flatdemandstructure" in record:
        rows, _ = r.tiers("flatdemandstructure", unit_w, dunit, dunit)
        flat = tuple(tuple(DemandTier(u, p) for u, p in row) for row in rows)
        fm = record.get("flatdemandmonths")
        if not isinstance(fm, list) or len(fm) != 12:
            raise r.fail("flatdemandmonths", f"expected 12 period indices (Jan..Dec), found {fm!r}")
        for m, p in enumerate(fm):
            if isinstance(p, bool) or not isinstance(p, int) or not 0 <= p < len(flat):
                raise r.fail(
                    f"flatdemandmonths[{m}]",
                    f"expected a 0-based period index 0..{len(flat) - 1}, found {p!r}",
                )
        flat_months = tuple(fm)
    elif "flatdemandmonths" in record and not r.is_zero(record["flatdemandmonths"]):
        raise r.fail("flatdemandmonths", "expected flatdemandstructure with it, found none")
    window = 0
    if record.get("demandwindow") not in (None, 0):
        w = record["demandwindow"]
        if (
            isinstance(w, bool)
            or not isinstance(w, (int, float))
            or w not in (5, 10, 15, 20, 30, 60)
        ):
            raise r.fail("demandwindow", f"expected 5, 10, 15, 20, 30 or 60 minutes, found {w!r}")
        window = int(w)
    reactive = 0
    if not r.is_zero(record.get("demandreactivepowercharge")):
        reactive = r.scaled(
            r.decimal(record["demandreactivepowercharge"], "demandreactivepowercharge"),
            NANO_PER_UNIT,
            "demandreactivepowercharge",
            "$/kvar",
            exact=False,
            bound=MAX_PRICE_NU,
        )
        if reactive < 0:
            raise r.fail("demandreactivepowercharge", "expected a price >= 0 $/kvar")
        r.notes.append(
            "demandreactivepowercharge: billed per kvar of the month's maximum "
            "reactive demand when reactive energy is given, else stated as not billed"
        )

    cperiods, csched = (), None
    if not r.is_zero(record.get("coincidentratestructure")):
        cunit = record.get("coincidentrateunit", dunit)
        r.unit(cunit, "coincidentrateunit", (dunit,))
        rows, _ = r.tiers("coincidentratestructure", unit_w, dunit, dunit)
        cperiods = tuple(tuple(DemandTier(u, p) for u, p in row) for row in rows)
        csched = r.schedule("coincidentrateschedule", len(cperiods))
        r.notes.append(
            "coincidentratestructure: billed on the customer's demand in the system-peak hours "
            "when they are given (bill_interval(system_peak_steps=...)), else stated as not billed"
        )
    elif not r.is_zero(record.get("coincidentrateschedule")):
        raise r.fail(
            "coincidentrateschedule", "expected coincidentratestructure with it, found none"
        )

    # --- fixed and minimum charges -------------------------------------------
    fixed = fixed_daily = 0
    if "fixedchargefirstmeter" in record:
        units_f = record.get("fixedchargeunits", "$/month")
        r.unit(units_f, "fixedchargeunits", ("$/month", "$/day", "$/year"))
        if units_f == "$/day":
            fixed_daily = r.money_nu("fixedchargefirstmeter")
            r.notes.append("fixedchargefirstmeter: $/day x the days of the month")
        elif units_f == "$/year":
            fixed = r.money_fen("fixedchargefirstmeter", 12)
            r.notes.append("fixedchargefirstmeter: $/year billed as 1/12 each month")
        else:
            fixed = r.money_fen("fixedchargefirstmeter")
    if "fixedmonthlycharge" in record:
        legacy = r.money_fen("fixedmonthlycharge")
        if "fixedchargefirstmeter" in record and legacy != fixed:
            raise r.fail(
                "fixedmonthlycharge",
                f"expected the same charge as "
                f"fixedchargefirstmeter ({fixed} cents/month), found {legacy} cents",
            )
        fixed = legacy
    if not r.is_zero(record.get("fixedchargeeaaddl")):
        r.notes.append(
            "fixedchargeeaaddl: the charge per additional meter is not billed "
            "(one meter per customer)"
        )
    min_monthly = min_annual = min_daily = 0
    if "mincharge" in record:
        units_m = record.get("minchargeunits", "$/month")
        r.unit(units_m, "minchargeunits", ("$/month", "$/day", "$/year"))
        if units_m == "$/month":
            min_monthly = r.money_fen("mincharge")
        elif units_m == "$/day":
            min_daily = r.money_nu("mincharge")
            r.notes.append("mincharge: $/day x the days of the month")
        else:
            min_annual = r.money_fen("mincharge")
    for key, current in (("minmonthlycharge", "min_monthly"), ("annualmincharge", "min_annual")):
        if key in record:
            v = r.money_fen(key)
            prev = min_monthly if current == "min_monthly" else min_annual
            if prev and prev != v:
                raise r.fail(
                    key, f"expected the same minimum as mincharge ({prev} cents), found {v} cents"
                )
            if current == "min_monthly":
                min_monthly = v
            else:
                min_annual = v

    # --- net metering -------------------------------------------------------------
    if record.get("dgrules"):
        r.notes.append(
            f"dgrules: {record['dgrules']!r} is not modelled: only imported energy is billed "
            "and negative (exported) load is refused by bill_interval and bill_register"
        )

    try:
        return Tariff(
            name=str(record.get("name") or record.get("label") or name),
            energy_periods=energy,
            weekday_schedule=wd,
            weekend_schedule=we,
            energy_tier_basis=basis,
            tier_scope="month",
            demand_periods=dperiods,
            demand_weekday_schedule=dwd,
            demand_weekend_schedule=dwe,
            flat_demand=flat,
            flat_demand_months=flat_months,
            demand_unit_w=int(unit_w),
            demand_window_min=window,
            coincident_periods=cperiods,
            coincident_schedule=csched,
            reactive_demand_nu_per_kvar=reactive,
            fixed_fen=fixed,
            fixed_daily_nu=fixed_daily,
            min_monthly_fen=min_monthly,
            min_daily_nu=min_daily,
            min_annual_fen=min_annual,
            rounding="half_up",
            currency="USD",
            notes=tuple(r.notes),
            unbilled=tuple(unbilled),
        )
    except ValueError as exc:
        raise UrdbError(f"{name}: {exc}") from None


__all__ = ["DEFAULT_KVA_POWER_FACTOR", "UrdbError", "load_urdb"]
