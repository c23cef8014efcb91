"""Public billing API: register-read bills and interval (hourly / 15-minute) bills.

Thin Python functions that validate input, convert units, allocate outputs
and call the kernels in :mod:`m2c.core.billing.kernels`:

* :func:`bill_register` — one bill per customer for a billing period, from
  register deltas per TOU period (what a utility's billing run does);
* :func:`bill_interval` — a customer-year of interval data -> 12 monthly
  bills with every line item.

Bills carry their line items (energy by period, block adders, demand, basic,
fixed, PF adjustment, minimum), so a user can see why a bill is what it is.
All money is int64 fen; ``total`` gives CNY as float for display.

Example::

    >>> import numpy as np
    >>> from m2c.core import bill_register, compile_tariffs
    >>> from m2c.core.tariffs.model import Tariff, Tier
    >>> table = compile_tariffs([Tariff("flat", ((Tier(None, 500_000),),))])
    >>> bills = bill_register(table, np.array([0]), np.array([[12_345]]), month=3)
    >>> int(bills.total_fen[0])  # 123.45 kWh x 0.5 CNY/kWh = 61.725 -> 61.73 CNY
    6173
"""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass

import numpy as np

from m2c.core.billing.kernels import (
    L_ANNUAL_MIN,
    L_BASIC,
    L_BLOCKS,
    L_DEMAND,
    L_DEMAND_FLAT,
    L_DEMAND_TOU,
    L_ENERGY,
    L_FIXED,
    L_MINIMUM,
    L_PF,
    L_PF_HUNDREDTHS,
    L_TOTAL,
    N_LINES,
    bill_interval_kernel,
    bill_register_kernel,
)
from m2c.core.calendar import is_weekend
from m2c.core.tariffs.compiled import TariffTable, compile_tariffs
from m2c.core.tariffs.model import Tariff
from m2c.core.units import FEN_PER_YUAN


class _Lines:
    """Named views on a ``lines`` array whose last axis is the L_* columns."""

    lines: np.ndarray

    @property
    def energy_fen(self) -> np.ndarray:
        """Energy charge (periods + block adders), fen."""
        return self.lines[..., L_ENERGY]

    @property
    def block_fen(self) -> np.ndarray:
        """Block (tier) adders on total consumption, part of energy_fen, fen."""
        return self.lines[..., L_BLOCKS]

    @property
    def demand_fen(self) -> np.ndarray:
        """Demand charges (flat + TOU), fen."""
        return self.lines[..., L_DEMAND]

    @property
    def demand_flat_fen(self) -> np.ndarray:
        return self.lines[..., L_DEMAND_FLAT]

    @property
    def demand_tou_fen(self) -> np.ndarray:
        return self.lines[..., L_DEMAND_TOU]

    @property
    def basic_fen(self) -> np.ndarray:
        """Two-part basic charge (per kVA capacity or per kW max demand), fen."""
        return self.lines[..., L_BASIC]

    @property
    def fixed_fen(self) -> np.ndarray:
        return self.lines[..., L_FIXED]

    @property
    def pf_adjust_fen(self) -> np.ndarray:
        """Power-factor adjustment, fen (negative = discount)."""
        return self.lines[..., L_PF]

    @property
    def minimum_fen(self) -> np.ndarray:
        """Top-up to the monthly minimum charge, fen."""
        return self.lines[..., L_MINIMUM]

    @property
    def annual_minimum_fen(self) -> np.ndarray:
        """Top-up to the annual minimum charge (last bill of the year), fen."""
        return self.lines[..., L_ANNUAL_MIN]

    @property
    def total_fen(self) -> np.ndarray:
        return self.lines[..., L_TOTAL]

    @property
    def pf_hundredths(self) -> np.ndarray:
        """The period's power factor in hundredths (100 when reactive energy is unknown)."""
        return self.lines[..., L_PF_HUNDREDTHS]

    @property
    def total(self) -> np.ndarray:
        """Total in CNY (float, for display only)."""
        return self.total_fen / FEN_PER_YUAN


@dataclass
class RegisterBills(_Lines):
    """Bills of one billing period, shape (n,) per line; ``energy_period_fen`` (n, P)."""

    lines: np.ndarray
    energy_period_fen: np.ndarray
    block_line_fen: np.ndarray


@dataclass
class MonthlyBills(_Lines):
    """Twelve monthly bills per customer: lines (n, 12); by-period arrays (n, 12, P).

    ``months`` labels the bills ('YYYY-MM'); months not covered by the data
    are all zero. ``energy_ckwh`` is the billed energy per period,
    ``max_demand_w`` the month's maximum demand, ``period_demand_w`` the
    maximum per TOU demand period, ``reactive_ckvarh`` -1 where unknown.
    """

    months: list[str]
    lines: np.ndarray
    energy_ckwh: np.ndarray
    energy_period_fen: np.ndarray
    block_line_fen: np.ndarray
    max_demand_w: np.ndarray
    period_demand_w: np.ndarray
    reactive_ckvarh: np.ndarray
    tariff: Tariff


def _int_array(x, name: str, shape: tuple[int, ...]) -> np.ndarray:
    a = np.asarray(x)
    if a.dtype.kind not in "iu":
        raise ValueError(f"{name} must be an integer array (exact units), got dtype {a.dtype}")
    if a.shape != shape:
        raise ValueError(f"{name} must have shape {shape}, got {a.shape}")
    return np.ascontiguousarray(a, dtype=np.int64)


def _optional(x, name: str, shape: tuple[int, ...], default: int) -> np.ndarray:
    if x is None:
        return np.full(shape, default, dtype=np.int64)
    return _int_array(x, name, shape)


BACKENDS = ("auto", "cpu", "cuda")


def _use_cuda(backend: str) -> bool:
    """Resolve ``backend``: "cpu", "cuda" (GPU, error if none) or "auto" (GPU when present)."""
    if backend not in BACKENDS:
        raise ValueError(f"backend must be one of {BACKENDS}, got {backend!r}")
    if backend == "cpu":
        return False
    from m2c.core.billing import cuda_runtime  # lazy: m2c.core works without numba's CUDA

    return backend == "cuda" or cuda_runtime.cuda_available()


def bill_register(
    table: TariffTable,
    tariff_id: np.ndarray,
    period_energy_ckwh: np.ndarray,
    *,
    month: int,
    ytd_energy_ckwh: np.ndarray | None = None,
    max_demand_w: np.ndarray | None = None,
    capacity_kva: np.ndarray | None = None,
    reactive_ckvarh: np.ndarray | None = None,
    period_demand_w: np.ndarray | None = None,
    ytd_billed_fen: np.ndarray | None = None,
    backend: str = "auto",
) -> RegisterBills:
    """Bill n customers for one billing period from register reads.

    Parameters
    ----------
    table : compiled tariffs (:func:`~m2c.core.tariffs.compiled.compile_tariffs`).
    tariff_id : int (n,), tariff of each customer.
    period_energy_ckwh : int64 (n, table.n_periods), energy of the period per
        TOU energy period index, centi-kWh (flat tariffs use column 0).
    month : 1..12, calendar month of the bill (seasonal rates, demand months).
    ytd_energy_ckwh : int64 (n,), energy already billed this calendar year
        before this bill, centi-kWh (annual blocks); default 0.
    max_demand_w : int64 (n,), the period's maximum demand, W (flat demand,
        basic charge per kW); default 0.
    capacity_kva : int64 (n,), contracted capacity, kVA (basic per kVA).
    reactive_ckvarh : int64 (n,), reactive energy, centi-kvarh; without it
        no power-factor adjustment is made.
    period_demand_w : int64 (n, table.n_demand_periods), maximum demand per
        TOU demand period, W; required when a customer's tariff has TOU demand.
    ytd_billed_fen : int64 (n,), fen billed this year before this bill; when
        given with ``month == 12`` the annual minimum is settled on this bill.
    backend : "auto" (GPU when one is present, else CPU), "cpu" or "cuda"
        (:mod:`m2c.core.billing.cuda_backend`; the bills are identical to the fen).
    """
    use_cuda = _use_cuda(backend)
    A = table.arrays
    tid = np.asarray(tariff_id)
    if tid.ndim != 1 or tid.dtype.kind not in "iu":
        raise ValueError(f"tariff_id must be a 1-D integer array, got {tid.dtype} {tid.shape}")
    n = tid.shape[0]
    tid = np.ascontiguousarray(tid, dtype=np.int64)
    if n and (tid.min() < 0 or tid.max() >= table.n_tariffs):
        raise ValueError(f"tariff_id values must be in 0..{table.n_tariffs - 1}")
    if not 1 <= int(month) <= 12:
        raise ValueError(f"month must be 1..12, got {month}")
    P, PD, KB = table.n_periods, table.n_demand_periods, table.n_blocks
    energy = _int_array(period_energy_ckwh, "period_energy_ckwh", (n, P))
    if n and energy.min() < 0:
        raise ValueError("period_energy_ckwh must be >= 0 (export/net metering is not billed)")
    if n and P > 1:
        # energy in a column beyond the customer's tariff's periods would go unbilled
        stray = (energy != 0) & (np.arange(P)[None, :] >= A.n_eperiods[tid][:, None])
        if stray.any():
            i, p = (int(x[0]) for x in np.nonzero(stray))
            raise ValueError(
                f"period_energy_ckwh[{i}, {p}] = {int(energy[i, p])}: tariff "
                f"{table.names[tid[i]]!r} has {int(A.n_eperiods[tid[i]])} energy period(s); "
                "energy in other columns would not be billed"
            )
    if period_demand_w is None and n and (A.n_dperiods[tid] > 0).any():
        i = int(np.flatnonzero(A.n_dperiods[tid] > 0)[0])
        raise ValueError(
            f"customer {i} has tariff {table.names[tid[i]]!r} with TOU demand charges: "
            f"period_demand_w of shape ({n}, {PD}) is required"
        )
    lines = np.zeros((n, N_LINES), dtype=np.int64)
    out_period = np.zeros((n, P), dtype=np.int64)
    out_block = np.zeros((n, KB), dtype=np.int64)
    kernel = bill_register_kernel
    if use_cuda:
        from m2c.core.billing.cuda_backend import bill_register_cuda as kernel
    kernel(
        A,
        tid,
        energy,
        int(month) - 1,
        _optional(ytd_energy_ckwh, "ytd_energy_ckwh", (n,), 0),
        _optional(max_demand_w, "max_demand_w", (n,), 0),
        _optional(period_demand_w, "period_demand_w", (n, PD), 0),
        _optional(capacity_kva, "capacity_kva", (n,), 0),
        _optional(reactive_ckvarh, "reactive_ckvarh", (n,), -1),
        _optional(ytd_billed_fen, "ytd_billed_fen", (n,), 0),
        ytd_billed_fen is not None and int(month) == 12,
        out_period,
        out_block,
        lines,
    )
    return RegisterBills(lines=lines, energy_period_fen=out_period, block_line_fen=out_block)


def _step_calendar(start: str, n_steps: int, step_minutes: int):
    """Bill index, calendar month, hour and weekend flag of every step."""
    try:
        t0 = np.datetime64(_dt.datetime.fromisoformat(str(start)), "m")
    except ValueError:
        raise ValueError(f"start must be an ISO date like '2025-01-01', got {start!r}") from None
    times = t0 + np.arange(n_steps, dtype=np.int64) * np.timedelta64(step_minutes, "m")
    months = times.astype("datetime64[M]").astype(np.int64)  # months since 1970-01
    idx = months - months[0]
    if idx[-1] > 11:
        raise ValueError(
            f"{n_steps} steps of {step_minutes} min from {start} span {idx[-1] + 1} months; "
            "bill_interval bills at most 12 months (one customer-year)"
        )
    cal_month = (months % 12).astype(np.int64)
    minutes = (times - times.astype("datetime64[D]")).astype(np.int64)
    hour = minutes // 60
    weekend = is_weekend(times.astype("datetime64[D]"))
    return idx, cal_month, hour, weekend


def bill_interval(
    tariff: Tariff | TariffTable,
    load_kwh: np.ndarray,
    start: str = "2025-01-01",
    step_minutes: int = 60,
    *,
    reactive_kvarh: np.ndarray | None = None,
    capacity_kva: np.ndarray | None = None,
    backend: str = "auto",
) -> MonthlyBills:
    """Bill a customer-year of interval data: 12 monthly bills per customer.

    Parameters
    ----------
    tariff : the tariff (or a one-tariff TariffTable).
    load_kwh : float (n_customers, n_steps), energy per step in kWh, e.g.
        8760 hourly or 35040 15-minute values; each value is rounded once to
        centi-kWh (the register resolution). Must be >= 0 and finite.
    start : ISO date of the first step; bills are calendar months from
        start's month (at most 12).
    step_minutes : 60 or 15 (any divisor of 60). A step's demand is its
        average power: kWh x 60 / step_minutes, in W.
    reactive_kvarh : optional float (n, n_steps), reactive energy per step;
        without it no power-factor adjustment is made.
    capacity_kva : optional int (n,), capacity for a basic charge per kVA.
    backend : "auto" (GPU when one is present, else CPU), "cpu" or "cuda"
        (:mod:`m2c.core.billing.cuda_backend`; the bills are identical to the fen).
    """
    use_cuda = _use_cuda(backend)
    if isinstance(tariff, TariffTable):
        if tariff.n_tariffs != 1:
            raise ValueError("bill_interval bills one tariff: pass a Tariff or a one-tariff table")
        table = tariff
    elif isinstance(tariff, Tariff):
        table = compile_tariffs([tariff])
    else:
        raise TypeError(f"tariff must be a Tariff or TariffTable, got {type(tariff).__name__}")
    load = np.asarray(load_kwh)
    if load.ndim != 2:
        raise ValueError(f"load_kwh must have shape (n_customers, n_steps), got {load.shape}")
    if load.dtype not in (np.float32, np.float64):
        load = load.astype(np.float64)
    n, S = load.shape
    if S == 0:
        raise ValueError("load_kwh has no steps")
    if step_minutes <= 0 or 60 % step_minutes:
        raise ValueError(f"step_minutes must divide 60 (e.g. 60 or 15), got {step_minutes}")
    idx, cal_month, hour, weekend = _step_calendar(start, S, step_minutes)
    A = table.arrays
    eperiod = A.sched[0, weekend.astype(np.int64), cal_month, hour]
    dperiod = A.dsched[0, weekend.astype(np.int64), cal_month, hour]
    month0 = np.zeros(12, dtype=np.int64)
    covered = np.zeros(12, dtype=bool)
    covered[np.unique(idx)] = True
    first = int(cal_month[0])
    month0[:] = (first + np.arange(12)) % 12
    year_end = (month0 == 11).astype(np.int64)
    if reactive_kvarh is None:
        q = np.zeros((0, 0), dtype=np.float64)
    else:
        q = np.asarray(reactive_kvarh, dtype=np.float64)
        if q.shape != load.shape:
            raise ValueError(f"reactive_kvarh must have shape {load.shape}, got {q.shape}")
    cap = _optional(capacity_kva, "capacity_kva", (n,), 0)
    P, PD, KB = table.n_periods, table.n_demand_periods, table.n_blocks
    energy = np.zeros((n, 12, P), dtype=np.int64)
    dmax = np.zeros((n, 12), dtype=np.int64)
    dper = np.zeros((n, 12, PD), dtype=np.int64)
    qm = np.zeros((n, 12), dtype=np.int64)
    out_period = np.zeros((n, 12, P), dtype=np.int64)
    out_block = np.zeros((n, 12, KB), dtype=np.int64)
    lines = np.zeros((n, 12, N_LINES), dtype=np.int64)
    bad = np.zeros(n, dtype=np.int64)
    kernel = bill_interval_kernel
    if use_cuda:
        from m2c.core.billing.cuda_backend import bill_interval_cuda as kernel
    kernel(
        A,
        0,
        load,
        idx,
        eperiod,
        dperiod,
        month0,
        np.int64(10 * 60 // step_minutes),
        q,
        cap,
        year_end,
        energy,
        dmax,
        dper,
        qm,
        out_period,
        out_block,
        lines,
        bad,
    )
    if (bad >= 0).any():
        i = int(np.flatnonzero(bad >= 0)[0])
        raise ValueError(
            f"load_kwh[{i}, {bad[i]}] = {float(load[i, bad[i]])!r}: loads must be finite and >= 0 "
            "(net metering / export is not supported)"
        )
    for arr in (lines, out_period, out_block, energy, dmax, dper):
        arr[:, ~covered] = 0
    qm[:, ~covered] = -1 if reactive_kvarh is None else 0
    y0, m0 = int(start[:4]), first
    labels = [f"{y0 + (m0 + k) // 12:04d}-{(m0 + k) % 12 + 1:02d}" for k in range(12)]
    return MonthlyBills(
        months=labels,
        lines=lines,
        energy_ckwh=energy,
        energy_period_fen=out_period,
        block_line_fen=out_block,
        max_demand_w=dmax,
        period_demand_w=dper,
        reactive_ckvarh=qm,
        tariff=table.tariffs[0],
    )
