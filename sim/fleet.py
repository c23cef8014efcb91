"""Fleet generation: a county's customers as a structure of arrays.

Each customer's attributes are drawn from the counter-based RNG keyed by
(seed, customer id, day -1, purpose), so customer ``i`` is the same customer
in every policy and at every fleet size (growing the fleet appends
customers, it does not reshuffle them). Prepaid meters and AMI follow the
scenario's meter policy, so two policies on one seed see the same people
with different meters.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numba import njit

from m2c.core import rng
from m2c.core.tariffs import TariffTable, bundled_tariff, compile_tariffs
from m2c.core.units import NANO_PER_FEN, energy_charge_fen, nu_to_uy
from m2c.sim.consumption import CLASS_NAMES, HOURLY_SHAPES, LEVEL_SIGMA, levels
from m2c.sim.scenario import CLASSES, SEGMENTS, Scenario

MANUAL, AMI, PREPAID = 0, 1, 2
METER_NAMES = ("manual", "ami", "prepaid")
RESIDENTIAL, CRITICAL = CLASSES.index("residential"), CLASSES.index("critical")
INDUSTRIAL = CLASSES.index("industrial")

P_STATION = rng.purpose("fleet.station")
P_CLASS = rng.purpose("fleet.class")
P_CAPACITY = rng.purpose("fleet.capacity")
P_METER = rng.purpose("fleet.meter")
P_SEGMENT = rng.purpose("fleet.segment")
P_PREPAYER = rng.purpose("fleet.prepayer")
P_CHANNEL = rng.purpose("fleet.channel")
P_SCORE = rng.purpose("fleet.score")
P_PF = rng.purpose("fleet.pf")


@dataclass
class Fleet:
    """Customer attributes (shape (n,) unless noted), fixed for a run except ``meter``."""

    station: np.ndarray  # int64 station index
    urban: np.ndarray  # bool (n_stations,) urban station?
    reading_day: np.ndarray  # int64 (n_stations,) day of month the station reads
    klass: np.ndarray  # int64 index into CLASSES
    tariff_id: np.ndarray  # int64 index into ``table``
    capacity_kva: np.ndarray  # int64
    meter: np.ndarray  # int64 MANUAL / AMI / PREPAID (credit policy may change it)
    segment: np.ndarray  # int64 index into SEGMENTS
    prepayer: np.ndarray  # bool: pays ahead when paying
    channel: np.ndarray  # int64 preferred payment channel
    score0: np.ndarray  # int64 initial credit score
    base_kwh: np.ndarray  # float64 mean kWh per day of the class
    level: np.ndarray  # float64 customer's consumption level (mean-one lognormal)
    q_ratio_ppm: np.ndarray  # int64 reactive/active energy ratio, ppm (PF)
    typical_daily_fen: np.ndarray  # int64 expected daily energy charge
    prepaid_price_uy: np.ndarray  # int64 price of the prepaid daily debit, micro-yuan/kWh
    basic_month_fen: np.ndarray  # int64 monthly basic charge (two-part, prepaid debit)
    table: TariffTable
    season: np.ndarray  # float64 (n_classes, 12)
    shape_max: np.ndarray  # float64 (n_classes,) peak hourly share of a day's energy
    period_share: np.ndarray  # float64 (n_tariffs, 2, 12, n_periods) day energy split

    @property
    def n(self) -> int:
        return int(self.station.shape[0])

    @property
    def n_stations(self) -> int:
        return int(self.urban.shape[0])


def _pick(u: np.ndarray, shares: list[float]) -> np.ndarray:
    edges = np.cumsum(shares)
    edges[-1] = 1.0 + 1e-12
    return np.searchsorted(edges, u, side="right").astype(np.int64)


def _u(seed: int, ids: np.ndarray, purpose: int) -> np.ndarray:
    return rng.uniform_array(seed, ids, -1, purpose)


def _period_share(table: TariffTable, klass_of_tariff: list[int]) -> np.ndarray:
    """Share of a day's energy in each TOU period, by tariff, day type and month."""
    A = table.arrays
    shapes = np.array([HOURLY_SHAPES[c] for c in CLASS_NAMES], dtype=np.float64)
    shapes /= shapes.sum(axis=1, keepdims=True)
    out = np.zeros((table.n_tariffs, 2, 12, table.n_periods))
    w, m, _ = np.indices((2, 12, 24))
    for t in range(table.n_tariffs):
        shp = np.broadcast_to(shapes[klass_of_tariff[t]], (2, 12, 24))
        # unbuffered, in (w, m, h) order: each period's shares add up hour by hour
        np.add.at(out[t], (w, m, A.sched[t]), shp)
    return out


@njit(cache=True)
def _typical_fen(ckwh, price_uy, out):
    """Expected daily energy charge (fen) of each customer, int64 (n,)."""
    for i in range(out.shape[0]):
        out[i] = energy_charge_fen(ckwh[i], price_uy[i])


def build_fleet(sc: Scenario, n: int, seed: int) -> Fleet:
    """Draw ``n`` customers for scenario ``sc`` from ``seed``."""
    ids = np.arange(n, dtype=np.int64)
    st = sc.stations
    n_st = st.urban + st.rural
    is_urban = (
        _u(seed, ids, P_STATION) < st.urban_share
        if st.urban and st.rural
        else (np.full(n, st.urban > 0))
    )
    pos = _u(seed, ids, P_STATION + 1)
    station = np.where(
        is_urban, (pos * st.urban).astype(np.int64), st.urban + (pos * st.rural).astype(np.int64)
    )
    station = np.clip(station, 0, n_st - 1)
    urban = np.arange(n_st) < st.urban
    spread = st.reading_day_spread + 1
    reading_day = np.where(
        urban,
        st.reading_day_urban + np.arange(n_st) % spread,
        st.reading_day_rural + np.arange(n_st) % spread,
    )
    reading_day = np.minimum(reading_day, 28).astype(np.int64)

    classes = list(sc.classes.values())
    klass = _pick(_u(seed, ids, P_CLASS), [c.share for c in classes])
    cap_u = _u(seed, ids, P_CAPACITY)
    capacity = np.zeros(n, dtype=np.int64)
    for k, c in enumerate(classes):
        sel = klass == k
        opts = np.array(c.capacity_kva, dtype=np.int64)
        capacity[sel] = opts[np.minimum((cap_u[sel] * len(opts)).astype(np.int64), len(opts) - 1)]

    names = sorted({c.tariff for c in classes})
    tariffs = [bundled_tariff(t) for t in names]
    table = compile_tariffs(tariffs)
    tariff_id = np.array([names.index(c.tariff) for c in classes], dtype=np.int64)[klass]
    klass_of_tariff = [next(k for k, c in enumerate(classes) if c.tariff == t) for t in names]

    # Segment shares per customer class (behaviour.class_segments; issue 15: a city
    # government or a hospital is not a "malicious" payer); one uniform per customer,
    # so a class without its own shares draws as before.
    u_seg = _u(seed, ids, P_SEGMENT)
    segment = _pick(u_seg, [s.share for s in sc.behaviour.segments.values()])
    for name, shares in sc.behaviour.class_segments.items():
        sel = klass == CLASSES.index(name)
        segment[sel] = _pick(u_seg[sel], shares)
    meter = np.where(_u(seed, ids, P_METER) < sc.meters.ami_share, AMI, MANUAL).astype(np.int64)
    if sc.meters.prepaid_min_kva > 0:
        meter[(capacity >= sc.meters.prepaid_min_kva) & (klass != CRITICAL)] = PREPAID
    prepayer = (segment == 0) & (_u(seed, ids, P_PREPAYER) < sc.behaviour.prepayer_share)
    channel = _pick(_u(seed, ids, P_CHANNEL), [c.share for c in sc.channels.values()])
    # Ratings start from a neutral prior with a +/-10 spread; the utility never sees
    # the segment (issue 15: no oracle), only payment history moves the score.
    score0 = np.clip(
        sc.credit.initial_score + (_u(seed, ids, P_SCORE) * 21).astype(np.int64) - 10, 0, 100
    )
    base_kwh = np.array([c.kwh_per_day for c in classes])[klass]
    # Power factor of two-part customers 0.80..0.98 (default): q/p = tan(acos(pf)).
    pf = 0.80 + 0.18 * _u(seed, ids, P_PF)
    q_ratio_ppm = np.where(klass == INDUSTRIAL, np.round(np.tan(np.arccos(pf)) * 1e6), 0)
    A = table.arrays
    # Expected daily charge at the first tier of the tariff's first period (the
    # prepaid debit itself uses each TOU period's price: sim.rules.day.consume).
    prepaid_price = nu_to_uy(A.e_price[:, 0, 0])[tariff_id]
    typical = np.empty(n, dtype=np.int64)
    _typical_fen(np.round(base_kwh * 100).astype(np.int64), prepaid_price, typical)
    # nano-units per kVA-month x kVA -> fen, half-up (all terms >= 0)
    basic_month = (A.basic_kva[tariff_id] * capacity + NANO_PER_FEN // 2) // NANO_PER_FEN
    season = np.array([c.season for c in classes], dtype=np.float64)
    shapes = np.array([HOURLY_SHAPES[c] for c in CLASS_NAMES], dtype=np.float64)
    shape_max = shapes.max(axis=1) / shapes.sum(axis=1)
    return Fleet(
        station=station.astype(np.int64),
        urban=urban,
        reading_day=reading_day,
        klass=klass,
        tariff_id=tariff_id,
        capacity_kva=capacity,
        meter=meter,
        segment=segment,
        prepayer=prepayer,
        channel=channel,
        score0=score0,
        base_kwh=base_kwh,
        level=levels(seed, n, LEVEL_SIGMA),
        q_ratio_ppm=q_ratio_ppm.astype(np.int64),
        typical_daily_fen=typical,
        prepaid_price_uy=prepaid_price,
        basic_month_fen=basic_month,
        table=table,
        season=season,
        shape_max=shape_max,
        period_share=_period_share(table, klass_of_tariff),
    )


__all__ = ["AMI", "MANUAL", "METER_NAMES", "PREPAID", "SEGMENTS", "Fleet", "build_fleet"]
