"""Public billing API: register-read bills and interval (hourly / 15-minute) bills.

Thin Python functions that validate input, convert units, allocate outputs
and call the kernels in :mod:`m2c.core.billing.kernels`:

* :func:`bill_register` — one bill per customer for a billing period, from
  register deltas per TOU period (what a utility's billing run does);
* :func:`bill_interval` — a customer-year of interval data -> 12 monthly
  bills with every line item.

Bills carry their line items (energy by period, block adders, demand, basic,
fixed, PF adjustment, minimum), so a user can see why a bill is what it is.
All money is int64 fen; ``total`` gives CNY as float for display. Billed
energy is summed exactly in Wh and rounded once per line (core/units.py);
both wrappers refuse a bill whose quantity x price could leave int64.

Example::

    >>> import numpy as np
    >>> from m2c.core import bill_register, compile_tariffs
    >>> from m2c.core.tariffs.model import Tariff, Tier
    >>> table = compile_tariffs([Tariff("flat", ((Tier(None, 500_000_000),),))])
    >>> bills = bill_register(table, np.array([0]), np.array([[12_345]]), month=3)
    >>> int(bills.total_fen[0])  # 123.45 kWh x 0.5 CNY/kWh = 61.725 -> 61.73 CNY
    6173
"""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass

import numpy as np

from m2c.core.billing.fast_interval import interval_kernel
from m2c.core.billing.fast_register import CHUNK as REGISTER_CHUNK
from m2c.core.billing.fast_register import (
    register_kernel,
    register_limits,
    register_plan,
    register_totals_kernel,
)
from m2c.core.billing.kernels import (
    L_ANNUAL_MIN,
    L_BASIC,
    L_BLOCKS,
    L_DEMAND,
    L_DEMAND_COINCIDENT,
    L_DEMAND_FLAT,
    L_DEMAND_REACTIVE,
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
from m2c.core.units import (
    FEN_PER_YUAN,
    INT64_MAX,
    MAX_LINE_UNITS,
    MAX_SHARED_WH,
    MAX_STEP_KWH,
    NANO_PER_FEN,
    ROUNDING_MODES,
    WH_PER_CKWH,
    round_div_array,
)


class _Lines:
    """Named views on a ``lines`` array whose last axis is the L_* columns."""

    lines: np.ndarray

    def _col(self, c: int) -> np.ndarray:
        if self.lines is None:
            raise ValueError(
                "these bills were made with line_items=False: only total_fen was computed"
            )
        return self.lines[..., c]

    @property
    def energy_fen(self) -> np.ndarray:
        """Energy charge (periods + block adders), fen."""
        return self._col(L_ENERGY)

    @property
    def block_fen(self) -> np.ndarray:
        """Block (tier) adders on total consumption, part of energy_fen, fen."""
        return self._col(L_BLOCKS)

    @property
    def demand_fen(self) -> np.ndarray:
        """Demand charges (flat + TOU), fen."""
        return self._col(L_DEMAND)

    @property
    def demand_flat_fen(self) -> np.ndarray:
        return self._col(L_DEMAND_FLAT)

    @property
    def demand_tou_fen(self) -> np.ndarray:
        return self._col(L_DEMAND_TOU)

    @property
    def demand_coincident_fen(self) -> np.ndarray:
        """Coincident (system-peak) demand charge, part of demand_fen."""
        return self._col(L_DEMAND_COINCIDENT)

    @property
    def demand_reactive_fen(self) -> np.ndarray:
        """Reactive demand charge (per kvar of the month's maximum), part of demand_fen."""
        return self._col(L_DEMAND_REACTIVE)

    @property
    def basic_fen(self) -> np.ndarray:
        """Two-part basic charge (per kVA capacity or per kW max demand), fen."""
        return self._col(L_BASIC)

    @property
    def fixed_fen(self) -> np.ndarray:
        return self._col(L_FIXED)

    @property
    def pf_adjust_fen(self) -> np.ndarray:
        """Power-factor adjustment, fen (negative = discount)."""
        return self._col(L_PF)

    @property
    def minimum_fen(self) -> np.ndarray:
        """Top-up to the monthly minimum charge, fen."""
        return self._col(L_MINIMUM)

    @property
    def annual_minimum_fen(self) -> np.ndarray:
        """Top-up to the annual minimum charge (last bill of the year), fen."""
        return self._col(L_ANNUAL_MIN)

    @property
    def total_fen(self) -> np.ndarray:
        return self._col(L_TOTAL)

    @property
    def pf_hundredths(self) -> np.ndarray:
        """The period's power factor in hundredths (100 when reactive energy is unknown)."""
        return self._col(L_PF_HUNDREDTHS)

    @property
    def total(self) -> np.ndarray:
        """Total in CNY (float, for display only)."""
        return self.total_fen / FEN_PER_YUAN


@dataclass
class RegisterBills(_Lines):
    """Bills of one billing period: ``total_fen`` (n,); line items (n,) per line.

    ``totals`` (n,) int64 fen is always there (``total_fen`` reads it);
    ``lines`` (n, N_LINES), ``energy_period_fen`` (n, P) and ``block_line_fen``
    (n, KB) are None when the bill was made with ``line_items=False``.
    """

    lines: np.ndarray | None
    energy_period_fen: np.ndarray | None
    block_line_fen: np.ndarray | None
    totals: np.ndarray | None = None

    def __post_init__(self) -> None:
        if self.totals is None:
            if self.lines is None:
                raise ValueError("RegisterBills needs lines or totals")
            self.totals = self.lines[:, L_TOTAL]

    @property
    def total_fen(self) -> np.ndarray:
        return self.totals


@dataclass
class MonthlyBills(_Lines):
    """Twelve monthly bills per customer: lines (n, 12); by-period arrays (n, 12, P).

    ``months`` labels the bills ('YYYY-MM'); months not covered by the data
    are all zero. ``energy_wh`` is the billed energy per period (Wh),
    ``max_demand_w`` the month's maximum demand, ``period_demand_w`` the
    maximum per TOU demand period, ``reactive_varh`` the reactive energy and
    ``max_reactive_var`` the maximum reactive demand (-1 where unknown).
    ``notes`` says how energy was summed and which charges were not billed.
    """

    months: list[str]
    lines: np.ndarray
    energy_wh: np.ndarray
    energy_period_fen: np.ndarray
    block_line_fen: np.ndarray
    max_demand_w: np.ndarray
    period_demand_w: np.ndarray
    reactive_varh: np.ndarray
    max_reactive_var: np.ndarray
    tariff: Tariff
    notes: tuple[str, ...] = ()


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


def _max_abs(a: np.ndarray, tid: np.ndarray) -> np.ndarray:
    """Largest |price| per customer over the trailing axes of a (T, ...) price array."""
    m = np.abs(a).reshape(a.shape[0], -1).max(axis=1) if a.ndim > 1 else np.abs(a)
    return m[tid]


def _check_headroom(table: TariffTable, tid: np.ndarray, what: str, **qty) -> None:
    """Refuse a bill whose quantity x price could leave int64 (core/units.py, the line bound).

    ``qty`` maps a quantity name (``energy_wh``: Wh of a month's energy;
    ``demand_w``: W of a demand; ``capacity_kva``) to ``(bound, per_customer)``:
    an upper bound over all customers (one ``max`` pass) and a function giving
    the (n, k) per-customer quantities, called only when the bound does not
    clear the table's largest price (so the common case costs no extra pass).
    """
    A = table.arrays
    prices = {
        "energy_wh": (A.e_price, A.b_adder),
        "demand_w": (A.fd_price, A.d_price, A.basic_kw, A.q_price),
        "capacity_kva": (A.basic_kva,),
    }
    n = tid.shape[0]
    if n == 0:
        return
    for name, (bound, per_customer) in qty.items():
        arrays = prices[name]
        p_all = max(int(np.abs(a).max()) for a in arrays)
        if name == "energy_wh" and (A.e_scope == 1).any() and bound > MAX_SHARED_WH:
            e = per_customer()
            big = (A.e_scope[tid] == 1) & (e.max(axis=1) > MAX_SHARED_WH)
            if big.any():
                i = int(np.flatnonzero(big)[0])
                raise ValueError(
                    f"{what}: customer {i}: a month of more than {MAX_SHARED_WH:,} Wh cannot be "
                    "shared exactly between TOU periods whose tiers apply to the month's total"
                )
        if p_all == 0 or bound <= INT64_MAX // p_all:
            continue
        q = np.abs(per_customer()).max(axis=1)
        p = np.max([_max_abs(a, tid) for a in arrays], axis=0)
        limit = np.where(p > 0, INT64_MAX // np.maximum(p, 1), INT64_MAX)
        over = q > limit
        if over.any():
            i = int(np.flatnonzero(over)[0])
            raise ValueError(
                f"{what}: customer {i}: {name} = {int(q[i])} times the price "
                f"{int(p[i])} nano-units would leave int64 (a bill line may not exceed "
                f"{MAX_LINE_UNITS:,} currency units): at most {int(limit[i])} can be billed"
            )


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
    days: int | None = None,
    max_reactive_var: np.ndarray | None = None,
    backend: str = "auto",
    line_items: bool = True,
    out: np.ndarray | None = None,
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
    days : days of the billing period; required by tariffs with charges or
        tier bounds per day (URDB ``$/day``, ``kWh daily``).
    max_reactive_var : int64 (n,), the period's maximum reactive demand, var
        (reactive demand charges); without it they are not billed.
    backend : "auto" or "cpu" (the CPU kernels), or "cuda"
        (:mod:`m2c.core.billing.cuda_backend`; the bills are identical to the
        fen). "auto" stays on the CPU: a register bill reads ~100 bytes and does
        ~100 ns of arithmetic, so the GPU's copies over PCIe cost more than the
        bills (measured on an H200 with 16 CPU cores, 10 M bills with line
        items: 11 M bills/s through the GPU, 86 M on the CPU).
    line_items : also return the line items (default). With ``False`` only
        ``total_fen`` is computed and written (8 bytes per bill instead of
        8 x (N_LINES + P + KB)); ``lines`` is then None and the line
        properties raise.
    out : int64 (n,), C-contiguous and writeable, sharing no memory with the inputs:
        receives ``total_fen`` (which is then this array). A billing run that reuses
        it from period to period spares the first write to fresh pages (the OS
        zero-fills them: 15-20 ms for 10 M bills on the 2-core test machine).

    Returns
    -------
    RegisterBills
        ``total_fen`` (n,) int64 fen, always; with ``line_items``: ``lines``
        (n, N_LINES) int64, one row of line items per bill (columns: the
        ``L_*`` constants of :mod:`m2c.core.billing.kernels`, also named
        properties), ``energy_period_fen`` (n, P) and ``block_line_fen`` (n, KB).

    Notes
    -----
    The CPU path is :func:`m2c.core.billing.fast_register.register_kernel`
    (with line items) or :func:`~m2c.core.billing.fast_register.register_totals_kernel`
    (totals only: vectorised per-tariff plans, ``bill_row`` for the tariffs and
    inputs they do not cover), which check their inputs as they bill; when a
    customer's inputs fail a check, the inputs go through the full validation of
    :func:`_bill_register_checked` (the reference kernel), which raises the
    error naming the argument.
    """
    use_cuda = _use_cuda(backend) and backend == "cuda"  # "auto": the CPU (docstring)
    tid = np.asarray(tariff_id)
    e = np.asarray(period_energy_ckwh)
    n = tid.shape[0] if tid.ndim == 1 else -1
    P, PD, KB = table.n_periods, table.n_demand_periods, table.n_blocks
    args = {
        "ytd_energy_ckwh": ytd_energy_ckwh,
        "max_demand_w": max_demand_w,
        "capacity_kva": capacity_kva,
        "reactive_ckvarh": reactive_ckvarh,
        "period_demand_w": period_demand_w,
        "ytd_billed_fen": ytd_billed_fen,
        "days": days,
        "max_reactive_var": max_reactive_var,
    }

    if out is not None and n >= 0:  # (a tariff_id not 1-D: refused by the checked path)
        _check_out(out, n, tid, e, args)

    def checked() -> RegisterBills:
        bills = _bill_register_checked(
            table, tariff_id, period_energy_ckwh, month=month, backend=backend, **args
        )
        totals = bills.totals
        if out is not None:
            out[:] = totals
            totals = out
        if not line_items:
            return RegisterBills(
                lines=None, energy_period_fen=None, block_line_fen=None, totals=totals
            )
        bills.totals = totals
        return bills

    fast = (
        not use_cuda
        and tid.ndim == 1
        and tid.dtype.kind in "iu"
        and e.dtype.kind in "iu"
        and e.shape == (n, P)
        and isinstance(month, (int, np.integer))
        and 1 <= int(month) <= 12
        and (days is None or (isinstance(days, (int, np.integer)) and 0 <= int(days) <= 366))
    )
    opt = {}
    if fast:
        for name, shape in (
            ("ytd_energy_ckwh", (n,)),
            ("max_demand_w", (n,)),
            ("capacity_kva", (n,)),
            ("reactive_ckvarh", (n,)),
            ("period_demand_w", (n, PD)),
            ("ytd_billed_fen", (n,)),
            ("max_reactive_var", (n,)),
        ):
            x = args[name]
            if x is None:
                opt[name] = np.zeros((0,) * len(shape), dtype=np.int64)
                continue
            x = np.asarray(x)
            if x.dtype.kind not in "iu" or x.shape != shape:
                fast = False
                break
            opt[name] = np.ascontiguousarray(x, dtype=np.int64)
    if not fast:
        return checked()
    A = table.arrays
    limits, refuse_t = _register_setup(table, period_demand_w is not None, days is not None)
    out_total = np.empty(n, dtype=np.int64) if out is None else out
    flags = np.empty(-(-n // REGISTER_CHUNK), dtype=np.int64)
    month0, n_days = int(month) - 1, 0 if days is None else int(days)
    inputs = (
        np.ascontiguousarray(tid, dtype=np.int64),
        np.ascontiguousarray(e, dtype=np.int64),
        np.int64(WH_PER_CKWH),
        month0,
        np.int64(n_days),
        opt["ytd_energy_ckwh"],
        opt["max_demand_w"],
        opt["period_demand_w"],
        opt["capacity_kva"],
        opt["reactive_ckvarh"],
        opt["max_reactive_var"],
        opt["ytd_billed_fen"],
        ytd_billed_fen is not None and int(month) == 12,
        limits,
        refuse_t,
        out_total,
    )
    if line_items:
        lines = np.zeros((n, N_LINES), dtype=np.int64)
        out_period = np.zeros((n, P), dtype=np.int64)
        out_block = np.zeros((n, KB), dtype=np.int64)
        register_kernel(A, *inputs, lines, out_period, out_block, flags)
    else:
        # totals only: the per-tariff plan's vectorised passes (bill_row for the rest)
        key = ("plan", month0, n_days, refuse_t.tobytes())
        if key not in table.setup:
            table.setup[key] = register_plan(A, month0, n_days, WH_PER_CKWH, limits, refuse_t)
        plan, pf_table, kb = table.setup[key]
        register_totals_kernel(A, plan, pf_table, np.int64(kb), *inputs, flags)
    if n and flags.max() >= 0:
        return checked()  # raises naming the argument (or confirms a bound that held)
    if not line_items:
        return RegisterBills(
            lines=None, energy_period_fen=None, block_line_fen=None, totals=out_total
        )
    return RegisterBills(
        lines=lines, energy_period_fen=out_period, block_line_fen=out_block, totals=out_total
    )


def _check_out(out, n: int, tid: np.ndarray, e: np.ndarray, args: dict) -> None:
    """Refuse an ``out`` of :func:`bill_register` that cannot receive the n totals."""
    if not (
        isinstance(out, np.ndarray)
        and out.dtype == np.int64
        and out.shape == (n,)
        and out.flags.c_contiguous
        and out.flags.writeable
    ):
        got = f"{out.dtype} {out.shape}" if isinstance(out, np.ndarray) else type(out).__name__
        raise ValueError(
            f"out must be a writeable C-contiguous int64 array of shape ({n},), got {got}"
        )
    inputs = [tid, e, *(x for x in args.values() if isinstance(x, np.ndarray))]
    if any(np.may_share_memory(out, x) for x in inputs):
        raise ValueError("out must not share memory with the inputs")


def _register_setup(table: TariffTable, demand_per_period: bool, with_days: bool):
    """The fast register kernels' bounds (:func:`register_limits`) and per-tariff
    refusals for ``table``, computed once per table and kept in ``table.setup``.

    A tariff is refused (its customers take the checked path) when it has
    coincident demand, TOU demand without ``period_demand_w``, or daily charges or
    daily tier bounds without ``days``.
    """
    key = ("register", demand_per_period, with_days)
    if key not in table.setup:
        A = table.arrays
        refuse = np.array([bool(t.coincident_periods) for t in table.tariffs])
        if not demand_per_period:
            refuse |= A.n_dperiods > 0
        if not with_days:
            refuse |= (A.fixed_daily != 0) | (A.min_daily != 0) | (A.e_basis % 2 == 1).any(axis=1)
        table.setup[key] = (register_limits(A), refuse.astype(np.int64))
    return table.setup[key]


def _bill_register_checked(
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
    days: int | None = None,
    max_reactive_var: np.ndarray | None = None,
    backend: str = "auto",
) -> RegisterBills:
    """:func:`bill_register` through the reference kernel, every input validated first.

    The CUDA backend's path and the fast path's fallback: each check in turn,
    with an error naming the argument, then
    :func:`~m2c.core.billing.kernels.bill_register_kernel` (or its GPU twin).
    """
    use_cuda = _use_cuda(backend) and backend == "cuda"  # "auto": the CPU (bill_register)
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
    coincident = np.array([bool(t.coincident_periods) for t in table.tariffs])
    if n and coincident.any() and coincident[tid].any():
        i = int(np.flatnonzero(coincident[tid])[0])
        raise ValueError(
            f"customer {i} has tariff {table.names[tid[i]]!r} with a coincident (system-peak) "
            "demand charge, which needs interval data: bill it with bill_interval"
        )
    if period_demand_w is None and n and (A.n_dperiods[tid] > 0).any():
        i = int(np.flatnonzero(A.n_dperiods[tid] > 0)[0])
        raise ValueError(
            f"customer {i} has tariff {table.names[tid[i]]!r} with TOU demand charges: "
            f"period_demand_w of shape ({n}, {PD}) is required"
        )
    needs_days = (A.fixed_daily != 0) | (A.min_daily != 0) | (A.e_basis % 2 == 1).any(axis=1)
    if days is None:
        if n and needs_days.any() and needs_days[tid].any():
            i = int(np.flatnonzero(needs_days[tid])[0])
            raise ValueError(
                f"customer {i} has tariff {table.names[tid[i]]!r} with charges or tier bounds "
                "per day: pass days (the days of the billing period)"
            )
        days = 0
    if not 0 <= int(days) <= 366:
        raise ValueError(f"days must be 0..366, got {days}")
    # register centi-kWh -> Wh: the kernel multiplies by 10 (no copy); refuse overflow
    ckwh_cap = INT64_MAX // (WH_PER_CKWH * 8)
    ytd = _optional(ytd_energy_ckwh, "ytd_energy_ckwh", (n,), 0)
    react = _optional(reactive_ckvarh, "reactive_ckvarh", (n,), -1)
    e_top = int(energy.max()) if n else 0
    for name, top in (
        ("period_energy_ckwh", e_top),
        ("ytd_energy_ckwh", int(np.abs(ytd).max()) if n else 0),
        ("reactive_ckvarh", int(np.abs(react).max()) if n else 0),
    ):
        if top > ckwh_cap:
            raise ValueError(f"{name} must be at most {ckwh_cap} centi-kWh, got {top}")
    dmax = _optional(max_demand_w, "max_demand_w", (n,), 0)
    dper = _optional(period_demand_w, "period_demand_w", (n, PD), 0)
    cap = _optional(capacity_kva, "capacity_kva", (n,), 0)
    qmax = _optional(max_reactive_var, "max_reactive_var", (n,), -1)
    if n:
        d_top = max(int(np.abs(dmax).max()), int(np.abs(dper).max()) if PD else 0, int(qmax.max()))
        _check_headroom(
            table,
            tid,
            "bill_register",
            energy_wh=(
                e_top * P * WH_PER_CKWH,
                lambda: energy.sum(axis=1, keepdims=True) * WH_PER_CKWH,
            ),
            demand_w=(d_top, lambda: np.concatenate([dmax[:, None], dper, qmax[:, None]], 1)),
            capacity_kva=(int(np.abs(cap).max()), lambda: cap[:, None]),
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
        np.int64(WH_PER_CKWH),
        int(month) - 1,
        np.int64(days),
        ytd,
        dmax,
        dper,
        cap,
        react,
        qmax,
        _optional(ytd_billed_fen, "ytd_billed_fen", (n,), 0),
        ytd_billed_fen is not None and int(month) == 12,
        out_period,
        out_block,
        lines,
    )
    return RegisterBills(
        lines=lines,
        energy_period_fen=out_period,
        block_line_fen=out_block,
        totals=lines[:, L_TOTAL],
    )


def _coincident_fen(
    tariff: Tariff, load, peak_steps, idx, cal_month, hour, res_wh: int, step_minutes: int
) -> np.ndarray:
    """Coincident demand charges (n, 12), fen.

    A customer's coincident demand in a month and coincident period is its
    largest step demand (each step converted to Wh as the kernel does) among
    the system-peak steps of that period; each period's charge is tiered and
    rounded once (demand unit ``tariff.demand_unit_w``).
    """
    mask = np.asarray(peak_steps)
    S = load.shape[1]
    if mask.shape != (S,) or mask.dtype != bool:
        raise ValueError(
            f"system_peak_steps must be a bool array of shape ({S},), got {mask.dtype} {mask.shape}"
        )
    n = load.shape[0]
    PC = len(tariff.coincident_periods)
    steps = np.flatnonzero(mask)
    sched = np.asarray(tariff.coincident_schedule, dtype=np.int64)
    per = sched[cal_month[steps], hour[steps]]
    x = np.asarray(load[:, steps], dtype=np.float64)
    # the kernel's conversion: int64(x * (1000 / res) + 0.5) * res (x >= 0, checked there)
    ok = (x >= 0) & (x < MAX_STEP_KWH)
    wh = np.floor(np.where(ok, x, 0.0) * (1000.0 / res_wh) + 0.5).astype(np.int64) * res_wh
    w = wh * (60 // step_minutes)
    cw = np.zeros((n, 12, PC), dtype=np.int64)
    for m in np.unique(idx[steps]):
        for p in range(PC):
            sel = (idx[steps] == m) & (per == p)
            if sel.any():
                cw[:, m, p] = w[:, sel].max(axis=1)
    mode = ROUNDING_MODES[tariff.rounding]
    fen = np.zeros((n, 12), dtype=np.int64)
    d_div = tariff.demand_unit_w * NANO_PER_FEN
    for p, tiers in enumerate(tariff.coincident_periods):
        top = max(abs(t.price_nu) for t in tiers)
        if top and int(cw[:, :, p].max()) > INT64_MAX // top:
            raise ValueError(
                f"bill_interval: a coincident demand of {int(cw[:, :, p].max())} W times the "
                f"price {top} nano-units would leave int64 (a bill line may not exceed "
                f"{MAX_LINE_UNITS:,} currency units)"
            )
        nu = np.zeros((n, 12), dtype=np.int64)
        lo = 0
        for t in tiers:
            hi = INT64_MAX if t.upto_w is None else t.upto_w
            nu += np.clip(cw[:, :, p] - lo, 0, hi - lo) * t.price_nu
            lo = hi
        fen += round_div_array(nu, d_div, mode)
    return fen


#: Bill interval data with the reference kernel (tests compare the two through this switch).
_REFERENCE_INTERVAL = False
#: Largest step (kWh) the day-block kernel converts itself: its per-step sums over a slot
#: (at most 31 days) are uint32, 31 x (1e5 x 1000 + 1) < 2^32; a customer with a larger,
#: negative, -0.0 or non-finite value goes through the reference loop.
_FAST_MAX_KWH = 100_000.0


#: Weights of the day-pattern hash in :func:`_day_blocks` (odd 64-bit integers; products wrap).
_ROW_HASH = np.random.default_rng(17).integers(0, 2**62, 2 * 24 * 60, dtype=np.int64) * 2 + 1


def _day_blocks(idx, eperiod, dperiod, spd: int, win: int, P: int, PD: int, bits):
    """The calendar's day structure for :func:`~m2c.core.billing.fast_interval.interval_kernel`.

    Returns (spd, day_slot, slot_month, slot_pat, emask, dmask, pat_has, pat_dw) for the
    whole days of the data (steps after the last whole day, or every step when
    days do not fall within one bill, are billed by the reference loop);
    ``bits`` is the unsigned dtype of the load's floats (dmask's dtype).
    """
    S = idx.shape[0]
    nd = S // spd if spd % 8 == 0 else 0  # the kernel reads days 8 steps at a time
    if nd and (idx[: nd * spd].reshape(nd, spd) != idx[: nd * spd : spd, None]).any():
        nd = 0  # a start that is not midnight: no day lies in one bill
    e = eperiod[: nd * spd].reshape(nd, spd)
    d = dperiod[: nd * spd].reshape(nd, spd)
    rows = np.concatenate([e, d], axis=1)
    # the day patterns: unique rows, by a 64-bit hash of each row (np.unique(axis=0) sorts
    # rows as bytes: 10 ms a call for 15-minute days), checked, with that as the fallback
    h = rows @ _ROW_HASH[: rows.shape[1]]
    _, first, day_pat = np.unique(h, return_index=True, return_inverse=True)
    day_pat = day_pat.reshape(-1)
    pats = rows[first]
    if (pats[day_pat] != rows).any():  # a collision (never seen): sort the rows themselves
        pats, day_pat = np.unique(rows, axis=0, return_inverse=True)
        day_pat = day_pat.reshape(-1)
    n_p = max(len(pats), 1)
    key = idx[: nd * spd : spd] * n_p + day_pat
    slots, day_slot, days = np.unique(key, return_inverse=True, return_counts=True)
    assert days.max(initial=0) <= 31  # uint32 slot sums (_FAST_MAX_KWH)
    pe = pats[:, :spd]
    pd = pats[:, spd:]
    emask = np.zeros((len(pats), P, spd), dtype=np.uint32)
    dmask = np.zeros((len(pats), PD + 1, spd), dtype=bits)
    # typed all-ones scalars: NumPy >= 2.5 refuses a Python int above int64 in np.where
    e_ones, d_ones = np.uint32(np.iinfo(np.uint32).max), np.dtype(bits).type(np.iinfo(bits).max)
    for p in range(P):
        emask[:, p] = np.where(pe == p, e_ones, np.uint32(0))
    for p in range(PD):
        dmask[:, p] = np.where(pd == p, d_ones, d_ones.dtype.type(0))
    dmask[:, PD] = d_ones
    pat_dw = pd.reshape(len(pats), spd // win, win)[:, :, -1]
    pat_has = np.concatenate([emask.any(axis=2), dmask[:, :PD].any(axis=2)], axis=1)
    return (
        np.int64(spd),
        day_slot.reshape(-1).astype(np.int64),
        (slots // n_p).astype(np.int64),
        (slots % n_p).astype(np.int64),
        emask,
        dmask,
        pat_has.astype(np.uint8),
        np.ascontiguousarray(pat_dw, dtype=np.int64),
    )


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
    step_resolution_wh: int = 1,
    strict: bool = False,
    system_peak_steps: np.ndarray | None = None,
    backend: str = "auto",
) -> MonthlyBills:
    """Bill a customer-year of interval data: 12 monthly bills per customer.

    Parameters
    ----------
    tariff : the tariff (or a one-tariff TariffTable).
    load_kwh : float (n_customers, n_steps), energy per step in kWh, e.g.
        8760 hourly or 35040 15-minute values; each value is converted once to
        an integer number of ``step_resolution_wh`` Wh and the month's energy
        is summed exactly, then rounded once per bill line (as a register read
        at the end of the month is). Must be >= 0, finite and below
        :data:`m2c.core.units.MAX_STEP_KWH`.
    start : ISO date of the first step; bills are calendar months from
        start's month (at most 12).
    step_minutes : 60 or 15 (any divisor of 60). A step's demand is its
        average power: kWh x 60 / step_minutes, in W.
    reactive_kvarh : optional float (n, n_steps), reactive energy per step;
        without it no power-factor adjustment is made.
    capacity_kva : optional int (n,), capacity for a basic charge per kVA.
    step_resolution_wh : 1 (default: exact for data at 0.001 kWh resolution)
        or 10 (register resolution: each step rounded half-up to 0.01 kWh, for
        data that really are 0.01 kWh register deltas). The bill's notes state it.
    strict : refuse (ValueError) instead of billing without a charge that
        needs data not given (reactive demand without ``reactive_kvarh``,
        coincident demand without ``system_peak_steps``) or that m2c does not
        bill (``tariff.unbilled``, e.g. demand ratchets).
    system_peak_steps : optional bool (n_steps,), the steps in the system's
        peak (the utility's coincident peak hours): a tariff's coincident
        demand charge bills each customer's largest step demand among them,
        per coincident period of the month (CPU backend).
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
    if step_resolution_wh not in (1, 10):
        raise ValueError(
            f"step_resolution_wh must be 1 (0.001 kWh data) or 10 (0.01 kWh registers), "
            f"got {step_resolution_wh}"
        )
    tariff0 = table.tariffs[0]
    notes = [
        "energy: each step converted to whole Wh and summed exactly, rounded once per line"
        if step_resolution_wh == 1
        else "energy: register resolution, each step rounded half-up to 0.01 kWh before summing"
    ]
    unbilled = list(tariff0.unbilled)
    if tariff0.coincident_periods and system_peak_steps is None:
        unbilled.append(
            "coincident demand charge: not billed, no system-peak hours given (system_peak_steps)"
        )
    if tariff0.reactive_demand_nu_per_kvar and reactive_kvarh is None:
        unbilled.append("reactive demand charge: not billed, no reactive_kvarh given")
    if unbilled:
        if strict:
            raise ValueError(
                f"tariff {tariff0.name!r} cannot be billed in full (strict): " + "; ".join(unbilled)
            )
        notes.extend(unbilled)
    window = step_minutes
    if tariff0.demand_window_min:
        w = tariff0.demand_window_min
        if w > step_minutes and w % step_minutes == 0 and 60 % w == 0:
            window = w
            notes.append(f"demand: averaged over {w}-minute windows of {step_minutes}-minute steps")
        elif w != step_minutes:
            notes.append(
                f"demand: the tariff's {w}-minute demand window cannot be formed from "
                f"{step_minutes}-minute steps: demand is the average of each step"
            )
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
    y_first = int(np.datetime64(_dt.datetime.fromisoformat(str(start)), "M").astype(np.int64))
    mfirst = np.arange(y_first, y_first + 13).astype("datetime64[M]").astype("datetime64[D]")
    month_days = np.diff(mfirst).astype(np.int64)
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
    qmax = np.zeros((n, 12), dtype=np.int64)
    out_period = np.zeros((n, 12, P), dtype=np.int64)
    out_block = np.zeros((n, 12, KB), dtype=np.int64)
    lines = np.zeros((n, 12, N_LINES), dtype=np.int64)
    bad = np.zeros(n, dtype=np.int64)
    top = None
    coinc = np.zeros((0, 0), dtype=np.int64)
    if tariff0.coincident_periods and system_peak_steps is not None:
        coinc = _coincident_fen(
            tariff0,
            load,
            system_peak_steps,
            idx,
            cal_month,
            hour,
            step_resolution_wh,
            step_minutes,
        )
        notes.append(
            f"coincident demand: billed on {int(np.count_nonzero(system_peak_steps))} "
            "system-peak step(s)"
        )
        if backend == "auto":
            use_cuda = False  # the coincident line is billed by the CPU kernel
    args = (
        idx,
        eperiod,
        dperiod,
        month0,
        month_days,
        np.int64(step_resolution_wh),
        np.int64(window // step_minutes),
        np.int64(60 // window),
        q,
        coinc,
        cap,
        year_end,
    )
    if use_cuda or _REFERENCE_INTERVAL:
        kernel = bill_interval_kernel
        if use_cuda:
            from m2c.core.billing.cuda_backend import bill_interval_cuda as kernel
        kernel(A, 0, load, *args, energy, dmax, dper, qm, qmax, out_period, out_block, lines, bad)
    else:
        utype = np.uint32 if load.dtype == np.float32 else np.uint64
        blocks = _day_blocks(
            idx, eperiod, dperiod, 24 * 60 // step_minutes, window // step_minutes, P, PD, utype
        )
        top = np.empty((n, 2), dtype=np.int64)
        interval_kernel(
            A,
            0,
            np.ascontiguousarray(load),  # rows are read as vectors
            load.dtype.type(_FAST_MAX_KWH).view(utype),
            *blocks,
            *args,
            energy.reshape(n * 12, P),
            dmax,
            dper.reshape(n * 12, PD),
            qm,
            qmax,
            out_period.reshape(n * 12, P),
            out_block.reshape(n * 12, KB),
            lines.reshape(n * 12, N_LINES),
            bad,
            top,
        )
    if (bad >= 0).any():
        i = int(np.flatnonzero(bad >= 0)[0])
        v = float(load[i, bad[i]])
        what = "load_kwh"
        if v >= 0 and v < MAX_STEP_KWH and reactive_kvarh is not None:
            what, v = "reactive_kvarh", float(q[i, bad[i]])
        raise ValueError(
            f"{what}[{i}, {bad[i]}] = {v!r}: values must be finite, >= 0 and below "
            f"{MAX_STEP_KWH:g} kWh per step (net metering / export is not supported)"
        )
    zero = np.zeros(n, dtype=np.int64)
    if top is None:  # the fast kernel gives the bounds; others: one pass over the outputs
        top = np.zeros((n, 2), dtype=np.int64)
        if n:
            top[:, 0] = energy.sum(axis=2).max(axis=1)
            top[:, 1] = np.concatenate([dmax, dper.reshape(n, -1), qmax], axis=1).max(axis=1)
    top_max = top.max(axis=0) if n else np.zeros(2, dtype=np.int64)
    _check_headroom(
        table,
        zero,
        "bill_interval",
        energy_wh=(int(top_max[0]), lambda: energy.sum(axis=2)),
        demand_w=(
            int(top_max[1]),
            lambda: np.concatenate([dmax, dper.reshape(n, -1), qmax], axis=1),
        ),
        capacity_kva=(int(np.abs(cap).max()) if n else 0, lambda: cap[:, None]),
    )
    if not covered.all():
        for arr in (lines, out_period, out_block, energy, dmax, dper):
            arr[:, ~covered] = 0
        qm[:, ~covered] = -1 if reactive_kvarh is None else 0
        qmax[:, ~covered] = -1 if reactive_kvarh is None else 0
    y0, m0 = int(start[:4]), first
    labels = [f"{y0 + (m0 + k) // 12:04d}-{(m0 + k) % 12 + 1:02d}" for k in range(12)]
    return MonthlyBills(
        months=labels,
        lines=lines,
        energy_wh=energy,
        energy_period_fen=out_period,
        block_line_fen=out_block,
        max_demand_w=dmax,
        period_demand_w=dper,
        reactive_varh=qm,
        max_reactive_var=qmax,
        tariff=tariff0,
        notes=tuple(notes),
    )
