"""Import of U.S. Utility Rate Database (URDB) records as :class:`~m2c.core.tariffs.model.Tariff`.

:func:`load_urdb` reads one URDB rate record as the OpenEI API publishes it
(``{"items": [record, ...]}``) or as a bare record, from a JSON file or an
already parsed ``dict``. The fields that make a bill are mapped exactly:

============================================== ===============================================
URDB field                                     Tariff field
============================================== ===============================================
``energyratestructure`` (rate + adj, $/kWh)    ``energy_periods`` (micro-$/kWh; tier bounds in
                                               centi-kWh per month)
``energyweekday/weekendschedule`` (12x24)      ``weekday_schedule`` / ``weekend_schedule``
``demandratestructure`` ($/kW, max in kW)      ``demand_periods`` (micro-$/kW, bounds in W)
``demandweekday/weekendschedule``              ``demand_weekday/weekend_schedule``
``flatdemandstructure`` + ``flatdemandmonths`` ``flat_demand`` + ``flat_demand_months``
``fixedchargefirstmeter`` ($/month),           ``fixed_fen`` (cents)
``fixedmonthlycharge``
``mincharge`` ($/month or $/year),             ``min_monthly_fen`` / ``min_annual_fen``
``minmonthlycharge``, ``annualmincharge``
============================================== ===============================================

Money stays in m2c's integer units with ``currency="USD"``: "fen" are cents
and "micro-yuan" micro-dollars. URDB adjustments often carry 7 decimals
(e.g. ``adj = 0.0085112``); rate + adj is then rounded half-up to the
micro-dollar (the semantics of :func:`m2c.core.units.round_div`) and the
rounding is recorded in ``Tariff.notes`` period by period, never silently.

Anything that would change a bill and that m2c does not model (coincident
demand, demand ratchets, look-back minimums, monthly fuel adjustments, sell
rates, energy tiers per kW or per day, demand in units other than kW, charges
per day...) raises :class:`UrdbError`, whose message names the file and the
field path (``energyratestructure[0][1].unit``) and says what was expected and
what was found. Pure metadata (label, name, utility, dates, comments...) is
ignored; a field the loader does not know is refused, so that a new URDB
field can never silently change a bill. Net-metering rules (``dgrules``) are
accepted with a note: m2c bills imports only and refuses negative load.

Example::

    >>> from m2c.core.tariffs.urdb import load_urdb
    >>> t = load_urdb({"name": "flat", "energyratestructure": [[{"rate": 0.1, "unit": "kWh"}]],
    ...                "energyweekdayschedule": [[0] * 24] * 12,
    ...                "energyweekendschedule": [[0] * 24] * 12})
    >>> t.energy_periods[0][0].price_uy, t.currency
    (100000, 'USD')
"""

from __future__ import annotations

import json
import os
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from m2c.core.tariffs.model import DemandTier, Tariff, Tier
from m2c.core.units import CKWH_PER_KWH, FEN_PER_YUAN, HALF_UP, MICRO_PER_YUAN, round_div


class UrdbError(ValueError):
    """A URDB record cannot be billed exactly; the message names the file and field path."""


#: Fields that describe the rate but do not enter a bill (URDB API v7/v8 docs).
_METADATA = frozenset(
    {
        "label",
        "uri",
        "name",
        "utility",
        "utility_info",
        "eiaid",
        "startdate",
        "enddate",
        "supersedes",
        "sector",
        "servicetype",
        "description",
        "source",
        "sourceparent",
        "country",
        "revisions",
        "approved",
        "is_default",
        "isdefault",
        "latest_update",
        "basicinformationcomments",
        "energycomments",
        "demandcomments",
        "fixedchargecomments",
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
        "energyattrs",
        "demandattrs",
        "fixedattrs",
        "owner",
        "zipcodes",
        "country_code",
        "state",
        "sourcereference",
        "lookbackcomments",
    }
)

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
    }
)

#: Fields that change a bill and that m2c does not model: refused unless zero / empty.
_UNSUPPORTED = {
    "coincidentratestructure": "coincident (system-peak) demand charges are not modelled",
    "coincidentrateschedule": "coincident (system-peak) demand charges are not modelled",
    "coincidentrateunit": "coincident (system-peak) demand charges are not modelled",
    "demandratchetpercentage": "demand ratchets are not modelled",
    "demandreactivepowercharge": "reactive-power demand charges are not modelled",
    "fueladjustmentsmonthly": "monthly fuel adjustments are not modelled",
    "lookbackpercent": "look-back (ratchet) minimum demand is not modelled",
    "lookbackmonths": "look-back (ratchet) minimum demand is not modelled",
    "lookbackrange": "look-back (ratchet) minimum demand is not modelled",
}

_TIER_KEYS = frozenset({"max", "rate", "adj", "unit", "sell"})


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

    def scaled(self, value: Decimal, scale: int, path: str, what: str, *, exact: bool) -> int:
        """``value x scale`` as an integer; rounded half-up (noted) or refused when inexact."""
        d = value * scale
        q = d.to_integral_value()
        if q == d:
            return int(q)
        if exact:
            raise self.fail(path, f"expected a multiple of 1/{scale} {what}, found {value}")
        # Exact fraction numer/denom -> the one rounding function of m2c (half-up).
        _, _, exp = d.as_tuple()
        denom = 10 ** (-exp)
        numer = int(d.scaleb(-exp))
        if abs(numer) >= 2**62 or denom >= 2**62:
            raise self.fail(path, f"expected at most 18 decimals, found {value}")
        return int(round_div(numer, denom, HALF_UP))

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
        """rate + adj ($ per ``per``) -> micro-dollars per ``per``, half-up; notes rounding."""
        if "rate" not in tier:
            raise self.fail(f"{path}.rate", f"expected a price in $/{per}, found no 'rate'")
        total = self.decimal(tier["rate"], f"{path}.rate")
        if tier.get("adj") is not None:
            total += self.decimal(tier["adj"], f"{path}.adj")
        uy = self.scaled(total, MICRO_PER_YUAN, path, f"$/{per}", exact=False)
        if Decimal(uy) != total * MICRO_PER_YUAN:
            rounded.append(f"{path}: rate+adj = {total} $/{per} -> {Decimal(uy) / MICRO_PER_YUAN}")
        return uy

    def tiers(self, field: str, scale: int, bound_unit: str, per: str):
        """A URDB structure (list of periods, each a list of tiers) -> tuples of (upto, price)."""
        periods = self.record[field]
        if not isinstance(periods, list) or not periods:
            raise self.fail(field, f"expected a non-empty list of periods, found {periods!r}")
        out, rounded = [], []
        for p, tiers in enumerate(periods):
            ppath = f"{field}[{p}]"
            if not isinstance(tiers, list) or not tiers:
                raise self.fail(ppath, f"expected a non-empty list of tiers, found {tiers!r}")
            row, last = [], None
            for k, tier in enumerate(tiers):
                tpath = f"{ppath}[{k}]"
                if not isinstance(tier, dict):
                    raise self.fail(tpath, f"expected a tier object, found {tier!r}")
                extra = sorted(set(tier) - _TIER_KEYS)
                if extra:
                    raise self.fail(f"{tpath}.{extra[0]}", "unknown tier key, not supported")
                if not self.is_zero(tier.get("sell")):
                    raise self.fail(
                        f"{tpath}.sell",
                        f"expected no sell rate (export is not billed), found {tier['sell']!r}",
                    )
                if "unit" in tier:
                    self.unit(tier["unit"], f"{tpath}.unit", (per,))
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
                        self.decimal(tier["max"], mpath), scale, mpath, bound_unit, exact=True
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
        if rounded:
            self.notes.append(
                f"{field}: prices rounded half-up to the micro-dollar (URDB gives more "
                "decimals): " + "; ".join(rounded)
            )
        return out

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

    def money_fen(self, field: str) -> int:
        """A charge in $ -> cents, rounded half-up (and noted) when finer than a cent."""
        d = self.decimal(self.record[field], field)
        if d < 0:
            raise self.fail(field, f"expected a charge >= 0, found {self.record[field]!r}")
        fen = self.scaled(d, FEN_PER_YUAN, field, "$", exact=False)
        if Decimal(fen) != d * FEN_PER_YUAN:
            self.notes.append(f"{field}: {d} $ rounded half-up to {Decimal(fen) / FEN_PER_YUAN} $")
        return fen


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


def load_urdb(source: str | os.PathLike | dict, index: int | None = None) -> Tariff:
    """Load one URDB rate record as a :class:`Tariff` in USD (see the module docstring).

    Parameters
    ----------
    source : path of a JSON file, or the parsed JSON: either the API's
        ``{"items": [record, ...]}`` wrapper or a bare record.
    index : which record of ``items`` to load; required when there are several.

    Returns
    -------
    Tariff with ``currency="USD"``: prices in micro-dollars per kWh (per kW
    for demand), tier bounds in centi-kWh per month (W for demand), charges in
    cents. ``notes`` records every rounding and every caveat (net metering).

    Raises
    ------
    UrdbError
        ``"<file>: <field path>: <expected, found>"`` for anything that cannot
        be billed exactly.
    """
    name, record = _read_record(source, index)
    r = _Reader(name, record)

    for key in record:
        if key in _UNSUPPORTED:
            if not r.is_zero(record[key]):
                raise r.fail(
                    key,
                    f"{_UNSUPPORTED[key]}; expected none or zero, found "
                    f"{json.dumps(record[key])[:80]}",
                )
        elif key not in _METADATA and key not in _SUPPORTED:
            raise r.fail(
                key,
                "unknown URDB field: m2c does not know whether it changes the "
                "bill, so it refuses it (remove it if it is metadata)",
            )

    # --- energy -----------------------------------------------------------------
    if "energyratestructure" not in record:
        raise r.fail("energyratestructure", "expected energy rates, found none")
    periods = r.tiers("energyratestructure", CKWH_PER_KWH, "kWh", "kWh")
    energy = tuple(tuple(Tier(u, p) for u, p in row) for row in periods)
    wd = r.schedule("energyweekdayschedule", len(energy))
    we = r.schedule("energyweekendschedule", len(energy))
    if len(energy) > 1 and any(len(row) > 1 for row in energy):
        r.notes.append(
            "energyratestructure: tier bounds are applied to the month's energy in each "
            "period separately (m2c's URDB reading); tools that apply them to the month's "
            "total energy (e.g. SAM) may bill tiered TOU rates differently"
        )

    # --- demand -----------------------------------------------------------------
    for key in ("demandunits", "demandrateunit", "flatdemandunit"):
        if key in record:
            r.unit(record[key], key, ("kW",))
    dperiods, dwd, dwe = (), None, None
    if "demandratestructure" in record:
        rows = r.tiers("demandratestructure", 1000, "kW", "kW")
        dperiods = tuple(tuple(DemandTier(u, p) for u, p in row) for row in rows)
        dwd = r.schedule("demandweekdayschedule", len(dperiods))
        dwe = r.schedule("demandweekendschedule", len(dperiods))
    else:
        for key in ("demandweekdayschedule", "demandweekendschedule"):
            if key in record and not r.is_zero(record[key]):
                raise r.fail(key, "expected demandratestructure with a demand schedule, found none")
    flat, flat_months = (), ()
    if "flatdemandstructure" in record:
        rows = r.tiers("flatdemandstructure", 1000, "kW", "kW")
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
    if (dperiods or flat) and record.get("demandwindow") not in (None, 0, 60):
        r.notes.append(
            f"demandwindow: demand is averaged over {record['demandwindow']} minutes: bill "
            f"interval data with step_minutes={record['demandwindow']}"
        )

    # --- fixed and minimum charges -------------------------------------------
    fixed = 0
    if "fixedchargefirstmeter" in record:
        r.unit(record.get("fixedchargeunits", "$/month"), "fixedchargeunits", ("$/month",))
        fixed = r.money_fen("fixedchargefirstmeter")
    if "fixedmonthlycharge" in record:
        legacy = r.money_fen("fixedmonthlycharge")
        if "fixedchargefirstmeter" in record and legacy != fixed:
            raise r.fail(
                "fixedmonthlycharge",
                f"expected the same charge as "
                f"fixedchargefirstmeter ({fixed} cents), found {legacy} cents",
            )
        fixed = legacy
    if not r.is_zero(record.get("fixedchargeeaaddl")):
        r.notes.append(
            "fixedchargeeaaddl: the charge per additional meter is not billed "
            "(one meter per customer)"
        )
    min_monthly = min_annual = 0
    if "mincharge" in record:
        units = record.get("minchargeunits", "$/month")
        r.unit(units, "minchargeunits", ("$/month", "$/year"))
        if units == "$/month":
            min_monthly = r.money_fen("mincharge")
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
            demand_periods=dperiods,
            demand_weekday_schedule=dwd,
            demand_weekend_schedule=dwe,
            flat_demand=flat,
            flat_demand_months=flat_months,
            fixed_fen=fixed,
            min_monthly_fen=min_monthly,
            min_annual_fen=min_annual,
            rounding="half_up",
            currency="USD",
            notes=tuple(r.notes),
        )
    except ValueError as exc:
        raise UrdbError(f"{name}: {exc}") from None


__all__ = ["UrdbError", "load_urdb"]
