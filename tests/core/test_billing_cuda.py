"""GPU billing backend (core/billing/cuda_*.py) == CPU kernels, to the fen.

The default run has no GPU: the checks run in one subprocess with Numba's CUDA
simulator (``NUMBA_ENABLE_CUDASIM=1`` must be set before numba is imported,
so it cannot be switched on inside this pytest process). Each ``_check_*``
function bills the same inputs with ``backend="cpu"`` and ``backend="cuda"``
and compares every output array element by element. ``test_gpu_*`` (marker
``gpu``) runs the same checks, larger, on a real GPU.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import traceback

import numpy as np
import pytest

from m2c.core import bill_interval, bill_register, compile_tariffs
from m2c.core.billing.cuda_runtime import cuda  # None without numba's CUDA target
from m2c.core.tariffs import bundled_tariff, bundled_tariff_names
from m2c.core.tariffs.model import TIER_BASES, Block, DemandTier, Tariff, Tier

_INTERVAL_FIELDS = (
    "lines",
    "energy_wh",
    "energy_period_fen",
    "block_line_fen",
    "max_demand_w",
    "period_demand_w",
    "reactive_varh",
    "max_reactive_var",
)
#: The one float64 load that a fused multiply-add (x*100 + 0.5 rounded once)
#: converts differently from the CPU's two roundings: 1 centi-kWh vs 0.
_FMA_TRAP_KWH = 0.004999999999999999


def _rich_tariff(rounding: str = "half_up") -> Tariff:
    """TOU (3 periods, tiers in the peak) + annual blocks + flat and TOU demand +
    basic per kVA and per kW + fixed + monthly and annual minimum + PF 0.85."""
    wk = tuple(
        tuple(1 if 8 <= h < 12 or 17 <= h < 21 else 2 if h < 6 else 0 for h in range(24))
        for _ in range(12)
    )
    we = tuple(tuple(2 if h < 8 else 0 for h in range(24)) for _ in range(12))
    dwk = tuple(tuple(1 if 8 <= h < 21 else 0 for h in range(24)) for _ in range(12))
    return Tariff(
        name=f"rich_{rounding}",
        energy_periods=(
            (Tier(None, 612_345_000),),
            (Tier(200_000, 987_654_000), Tier(600_000, 1_111_111_000), Tier(None, 1_333_337_000)),
            (Tier(None, 305_555_000),),
        ),
        weekday_schedule=wk,
        weekend_schedule=we,
        blocks=(Block(2_160_000, 0), Block(4_200_000, 50_000_000), Block(None, 300_000_000)),
        block_basis="annual",
        demand_periods=(
            (DemandTier(None, 3_333_333_000),),
            (DemandTier(2_000, 9_876_543_000), DemandTier(None, 12_345_678_000)),
        ),
        demand_weekday_schedule=dwk,
        flat_demand=(
            (DemandTier(1_500, 1_234_567_000), DemandTier(None, 2_345_671_000)),
            (DemandTier(None, 4_444_447_000),),
        ),
        flat_demand_months=(0, 0, 0, 0, 0, 1, 1, 1, 0, 0, -1, 0),
        basic_nu_per_kva=28_123_457_000,
        basic_nu_per_kw=1_777_777_000,
        fixed_fen=1_234,
        min_monthly_fen=40_000,
        min_annual_fen=2_000_000,
        pf_standard=85,
        rounding=rounding,
    )


def _tie_tariff() -> Tariff:
    """Half-even prices that put exact halves of a fen everywhere: 0.5 CNY/kWh on odd
    centi-kWh, 5 CNY/kW on odd watts, 0.5 CNY/kVA on odd kVA (ties go to even)."""
    return Tariff(
        name="ties_half_even",
        energy_periods=((Tier(None, 500_000_000),),),
        blocks=(Block(100_010, 0), Block(None, 500_000_000)),
        block_basis="monthly",
        flat_demand=((DemandTier(None, 5_000_000_000),),),
        flat_demand_months=(0,) * 12,
        basic_nu_per_kva=5_000_000,
        pf_standard=90,
        rounding="half_even",
    )


def _paths_tariff(scope: str = "period", rounding: str = "half_up") -> Tariff:
    """The bill paths the rich tariff leaves out: tier bounds per day ("kWh daily",
    5 kWh a day), per kW of the month's peak ("kWh/kW", 40 kWh per kW) and per kW per
    day ("kWh/kW daily", 1.5 kWh per kW a day), tiers on the month's total (``scope``
    "month": each period bills its share), monthly blocks, demand in horsepower
    (746 W), 30-minute demand windows, a reactive demand charge, a fixed charge and
    a minimum per day, PF standard 0.80."""
    wk = tuple(tuple(1 if 9 <= h < 17 else 2 if h < 7 else 0 for h in range(24)) for _ in range(12))
    dwk = tuple(tuple(1 if 9 <= h < 17 else 0 for h in range(24)) for _ in range(12))
    return Tariff(
        name=f"paths_{scope}_{rounding}",
        energy_periods=(
            (Tier(5_000, 512_345_000), Tier(None, 777_777_000)),
            (Tier(40_000, 911_111_000), Tier(None, 1_234_567_000)),
            (Tier(1_500, 301_234_000), Tier(3_000, 402_345_000), Tier(None, 503_456_000)),
        ),
        weekday_schedule=wk,
        energy_tier_basis=("kWh daily", "kWh/kW", "kWh/kW daily"),
        tier_scope=scope,
        blocks=(Block(150_000, 0), Block(None, 40_000_000)),
        block_basis="monthly",
        demand_periods=((DemandTier(None, 1_111_111_000),), (DemandTier(None, 7_654_321_000),)),
        demand_weekday_schedule=dwk,
        flat_demand=((DemandTier(2_000, 3_456_789_000), DemandTier(None, 4_567_891_000)),),
        flat_demand_months=(0,) * 12,
        demand_unit_w=746,
        demand_window_min=30,
        reactive_demand_nu_per_kvar=2_345_678_000,
        fixed_daily_nu=123_456_789,
        min_daily_nu=1_987_654_321,
        min_annual_fen=900_000,
        pf_standard=80,
        rounding=rounding,
    )


def _random_tariff(rng: np.random.Generator, k: int) -> Tariff:
    """A seeded random tariff using any subset of the billed elements (as the
    hypothesis strategy of tests/core/test_billing_fast.py draws them)."""

    def tiers(cls, n, top, price_top):
        bounds = sorted(int(b) for b in rng.choice(np.arange(1, top), n - 1, replace=False))
        prices = rng.integers(0, price_top, n)
        return tuple(cls(b, int(p)) for b, p in zip([*bounds, None], prices, strict=True))

    def schedule(n_periods):
        return tuple(tuple(int(x) for x in row) for row in rng.integers(0, n_periods, (12, 24)))

    P = int(rng.integers(1, 4))
    kw = {
        "weekday_schedule": schedule(P),
        "tier_scope": ("period", "month")[int(rng.integers(0, 2))],
        "demand_unit_w": (1000, 746)[int(rng.integers(0, 2))],
        "pf_standard": int(rng.choice([0, 80, 85, 90])),
        "rounding": ("half_up", "half_even")[int(rng.integers(0, 2))],
        "demand_window_min": int(rng.choice([0, 15, 30, 60])),
    }
    if rng.random() < 0.5:
        kw["energy_tier_basis"] = tuple(str(b) for b in rng.choice(TIER_BASES, P))
    if rng.random() < 0.5:
        kw["weekend_schedule"] = schedule(P)
    bb = ("none", "monthly", "annual")[int(rng.integers(0, 3))]
    if bb != "none":
        kw["block_basis"] = bb
        kw["blocks"] = tiers(Block, int(rng.integers(1, 4)), 3_000_000, 500_000_000)
    PD = int(rng.integers(0, 3))
    if PD:
        kw["demand_periods"] = tuple(
            tiers(DemandTier, int(rng.integers(1, 3)), 100_000, 30_000_000_000) for _ in range(PD)
        )
        kw["demand_weekday_schedule"] = schedule(PD)
    PF = int(rng.integers(0, 3))
    if PF:
        kw["flat_demand"] = tuple(
            tiers(DemandTier, int(rng.integers(1, 3)), 100_000, 30_000_000_000) for _ in range(PF)
        )
        kw["flat_demand_months"] = tuple(int(x) for x in rng.integers(-1, PF, 12))
    for name, top in (
        ("basic_nu_per_kva", 40_000_000_000),
        ("basic_nu_per_kw", 40_000_000_000),
        ("fixed_fen", 5_000),
        ("fixed_daily_nu", 500_000_000),
        ("min_monthly_fen", 50_000),
        ("min_daily_nu", 2_000_000_000),
        ("min_annual_fen", 500_000),
        ("reactive_demand_nu_per_kvar", 5_000_000_000),
    ):
        if rng.random() < 0.5:
            kw[name] = int(rng.integers(0, top))
    energy = tuple(tiers(Tier, int(rng.integers(1, 4)), 400_000, 2_000_000_000) for _ in range(P))
    return Tariff(name=f"random_{k}", energy_periods=energy, **kw)


def _loads(seed: int, n: int, S: int, dtype) -> np.ndarray:
    """Gamma loads with exact and near half-centi-kWh values, zero days and spikes."""
    rng = np.random.default_rng(seed)
    x = rng.gamma(1.5, 0.35, size=(n, S))
    k = rng.integers(0, S, size=(n, S // 7))
    x[np.arange(n)[:, None], k] = np.round(x[np.arange(n)[:, None], k], 2) + 0.005
    x[:, 5:17] = (
        0.0,
        0.005,
        0.015,
        0.125,
        1.005,
        2.675,
        0.004999,
        0.995,
        3.0,
        12.345,
        _FMA_TRAP_KWH,
        0.025,
    )
    x[0, 300:400] = 0.0  # a quiet stretch (monthly minimum, demand ties)
    x[-1, S // 2] = 57.3  # a demand spike
    return x.astype(dtype)


def _assert_same(cpu, gpu, fields, what: str) -> int:
    for f in fields:
        a, b = np.asarray(getattr(cpu, f)), np.asarray(getattr(gpu, f))
        assert a.shape == b.shape, f"{what}: {f} shape {a.shape} != {b.shape}"
        if not np.array_equal(a, b):
            idx = tuple(np.argwhere(a != b)[0])
            raise AssertionError(f"{what}: {f}{list(idx)} cpu {a[idx]} != cuda {b[idx]}")
    return int(np.asarray(cpu.total_fen).size)


def _interval_case(
    tariff, n, days, step_minutes, dtype, start, reactive, seed=1, extra=0, kwh_scale=1.0
) -> int:
    """Bill ``days`` whole days (+ ``extra`` steps of a partial day) on both backends;
    every output equal, or the same ValueError from both."""
    S = days * 24 * 60 // step_minutes + extra
    load = _loads(seed, n, S, dtype) * dtype(kwh_scale)
    kw = {"start": start, "step_minutes": step_minutes, "capacity_kva": np.arange(1, n + 1) * 315}
    if reactive:
        q = _loads(seed + 1, n, S, np.float64) * 0.6
        q[:, 0] = -0.25  # reactive is billed by magnitude
        kw["reactive_kvarh"] = q
    try:
        cpu = bill_interval(tariff, load, backend="cpu", **kw)
    except ValueError as e:  # e.g. a bound the tariff's prices cannot bill within int64
        with pytest.raises(ValueError) as g:
            bill_interval(tariff, load, backend="cuda", **kw)
        assert str(g.value) == str(e)
        return 1
    gpu = bill_interval(tariff, load, backend="cuda", **kw)
    assert cpu.months == gpu.months
    assert int(np.count_nonzero(cpu.total_fen)) > 0
    return _assert_same(cpu, gpu, _INTERVAL_FIELDS, f"{tariff.name} {step_minutes}min {dtype}")


# --- checks (run in the simulator subprocess, and on a real GPU) ------------


def _check_hand() -> int:
    """Flat 0.5 CNY/kWh, January at a constant 0.005 kWh per hour (half a centi-kWh)."""
    t = Tariff("flat", ((Tier(None, 500_000_000),),))
    # register resolution: each hour rounds half-up to 1 centi-kWh (10 Wh):
    # 744 ckWh = 7.44 kWh x 0.5 = 3.72 CNY
    bills = bill_interval(t, np.full((1, 744), 0.005), step_resolution_wh=10, backend="cuda")
    assert int(bills.energy_wh[0, 0, 0]) == 7_440
    assert int(bills.total_fen[0, 0]) == 372
    trap = bill_interval(t, np.full((1, 744), _FMA_TRAP_KWH), step_resolution_wh=10, backend="cuda")
    assert int(trap.energy_wh[0, 0, 0]) == 7_440  # a fused x*100+0.5 would give 0
    # exact Wh: 744 x 5 Wh = 3.72 kWh x 0.5 = 1.86 CNY
    exact = bill_interval(t, np.full((1, 744), 0.005), backend="cuda")
    assert int(exact.energy_wh[0, 0, 0]) == 3_720 and int(exact.total_fen[0, 0]) == 186
    return 3


def _check_rich_hourly(n: int = 3) -> int:
    """n customers x one year hourly, TOU + tiers + blocks + demand + PF, float64."""
    return _interval_case(_rich_tariff(), n, 365, 60, np.float64, "2025-01-01", True)


def _check_rich_15min(n: int = 2) -> int:
    """n customers x 15-minute, Nov-Dec (year end: annual minimum), float32, half-even."""
    return _interval_case(
        _rich_tariff("half_even"), n, 61, 15, np.float32, "2025-11-01", True, seed=7
    )


def _check_year_crossing(n: int = 2) -> int:
    """A customer-year from July: annual blocks restart in January; no reactive data."""
    return _interval_case(_rich_tariff(), n, 365, 60, np.float64, "2025-07-01", False, seed=3)


def _check_ties(n: int = 3) -> int:
    """Half-even ties in every line (odd centi-kWh, watts and kVA), hourly, float64."""
    return _interval_case(_tie_tariff(), n, 365, 60, np.float64, "2025-01-01", True, seed=9)


def _check_bundled(n: int = 2, days: int = 365) -> int:
    """Every bundled TOML tariff, hourly from March (float32 loads, with reactive)."""
    count = 0
    for name in bundled_tariff_names():
        count += _interval_case(
            bundled_tariff(name), n, days, 60, np.float32, "2025-03-01", True, seed=11
        )
    return count


def _check_paths_leap_15min(n: int = 2) -> int:
    """Tier bounds per day / per kW / per kW-day on the month's total, 15-minute float64
    data from 1 Feb 2024 (leap: 29 days, so 29 x 5 kWh of day tiers), 30-minute demand
    windows, reactive demand, daily fixed charge and minimum, and a partial last day."""
    t = _paths_tariff("month")
    return _interval_case(t, n, 60, 15, np.float64, "2024-02-01", True, seed=13, extra=37)


def _check_paths_leap_hourly(n: int = 2) -> int:
    """The same paths per period (half-even), a leap year of hourly float32 data (a
    30-minute window cannot be formed from hourly steps: one-step demand)."""
    t = _paths_tariff("period", "half_even")
    return _interval_case(t, n, 366, 60, np.float32, "2024-01-01", True, seed=17)


def _check_random_interval(k: int = 14, n: int = 2) -> int:
    """Seeded random tariffs (any subset of the billed elements), short spans that
    cross a leap day or a year end, hourly and 15-minute, float32 and float64."""
    rng = np.random.default_rng(2026)
    count = 0
    for j in range(k):
        step = (60, 15)[j % 2]
        start = ("2024-02-20", "2023-12-20", "2025-03-01", "2024-01-01")[j % 4]
        count += _interval_case(
            _random_tariff(rng, j),
            n,
            int(rng.choice([3, 20, 45])),
            step,
            (np.float32, np.float64)[(j // 2) % 2],
            start,
            bool(j % 3),
            seed=100 + j,
            extra=int(rng.choice([0, 5])),
            kwh_scale=float(rng.choice([0.1, 1.0, 30.0])) * step / 60,
        )
    return count


def _register_case(table, n: int, seed: int, top_ckwh: int) -> int:
    """Register bills on both backends for n customers over ``table``: months 2
    (29 days: 2024), 3, 7 and 12 (the annual minimum), every output equal."""
    rng = np.random.default_rng(seed)
    P, PD = table.n_periods, table.n_demand_periods
    tid = rng.integers(0, table.n_tariffs, size=n)
    energy = rng.integers(0, top_ckwh, size=(n, P))
    energy[0] = 0
    energy[1::3] |= 1  # odd centi-kWh: exact half-fen ties on the 0.5 CNY/kWh tariff
    # only the tariff's own periods carry energy (other columns are refused as unbilled)
    energy[np.arange(P)[None, :] >= table.arrays.n_eperiods[tid][:, None]] = 0
    reactive = rng.integers(0, top_ckwh * 7 // 9, size=n)
    reactive[::5] = -1  # unknown: no PF adjustment
    qmax = rng.integers(0, 300_000, size=n)
    qmax[::7] = -1  # unknown: no reactive demand charge
    kw = {
        "ytd_energy_ckwh": rng.integers(0, top_ckwh * 5, size=n),
        "max_demand_w": rng.integers(0, 400_000, size=n),
        "capacity_kva": rng.integers(0, 2_000, size=n),
        "reactive_ckvarh": reactive,
        "period_demand_w": rng.integers(0, 400_000, size=(n, PD)),
        "ytd_billed_fen": rng.integers(0, 3_000_000, size=n),
        "max_reactive_var": qmax,
    }
    count = 0
    for month, days in ((2, 29), (3, 31), (7, 31), (12, 31)):
        cpu = bill_register(table, tid, energy, month=month, days=days, backend="cpu", **kw)
        gpu = bill_register(table, tid, energy, month=month, days=days, backend="cuda", **kw)
        count += _assert_same(
            cpu, gpu, ("lines", "energy_period_fen", "block_line_fen"), f"register month {month}"
        )
    return count


def _check_register(n: int = 40) -> int:
    """Register-read bills over a multi-tariff table (the rich, tie, paths and bundled
    tariffs), then over seeded random tariffs."""
    tariffs = [_rich_tariff(), _rich_tariff("half_even"), _tie_tariff()]
    tariffs += [_paths_tariff("period"), _paths_tariff("month", "half_even")]
    tariffs += [bundled_tariff(name) for name in bundled_tariff_names()]
    count = _register_case(compile_tariffs(tariffs), n, 5, 900_000)
    rng = np.random.default_rng(77)
    randoms = compile_tariffs([_random_tariff(rng, k) for k in range(12)])
    return count + _register_case(randoms, n, 6, 90_000)


def _check_bad_load() -> int:
    """A NaN load is reported at the same customer and step by both backends."""
    t = Tariff("flat", ((Tier(None, 500_000_000),),))
    load = np.full((3, 1000), 0.5)
    load[1, 777] = np.nan
    load[1, 900] = -1.0
    msgs = []
    for backend in ("cpu", "cuda"):
        with pytest.raises(ValueError, match=r"load_kwh\[1, 777\]") as e:
            bill_interval(t, load, backend=backend)
        msgs.append(str(e.value))
    assert msgs[0] == msgs[1]
    return 1


def _check_pf_twin() -> int:
    """The device power factor (every float operation rounded on its own) equals
    pf_hundredths: random pairs, exact 3-4-5 triangles (0.60, 0.80: the epsilon
    decides the half-up) and the zero cases."""
    from m2c.core.billing import cuda_kernels
    from m2c.core.tariffs.powerfactor import pf_hundredths

    rng = np.random.default_rng(3)
    pairs = [(int(a), int(b)) for a, b in rng.integers(0, 10**9, (2000, 2))]
    pairs += [(int(a), int(b)) for a, b in rng.integers(0, 300, (2000, 2))]
    pairs += [(3 * k, 4 * k) for k in range(1, 300)] + [(4 * k, 3 * k) for k in range(1, 300)]
    pairs += [(0, 5), (5, 0), (0, 0), (-7, 7)]
    pairs += [(300, 400)]
    a, b = (np.array(x, dtype=np.int64) for x in zip(*pairs, strict=True))
    got = _pf_on_device(cuda_kernels, a, b)
    want = np.array([pf_hundredths(int(x), int(y)) for x, y in pairs], dtype=np.int64)
    bad = np.flatnonzero(got != want)
    assert bad.size == 0, [(pairs[k], int(got[k]), int(want[k])) for k in bad[:5]]
    assert got[-1] == 60  # 3-4-5: exactly 0.60
    return len(pairs)


def _pf_on_device(cuda_kernels, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``_pf_hundredths_rn`` of each pair, computed by a kernel (a device function
    cannot be called from the host on a real GPU)."""
    pf = cuda_kernels._pf_hundredths_rn

    @cuda.jit
    def kernel(a, b, out):
        i = cuda.grid(1)
        if i < out.shape[0]:
            out[i] = pf(a[i], b[i])

    out = np.zeros(a.shape[0], dtype=np.int64)
    d_out = cuda.to_device(out)
    kernel[(a.shape[0] + 127) // 128, 128](cuda.to_device(a), cuda.to_device(b), d_out)
    return d_out.copy_to_host()


SIM_CHECKS = (
    "_check_hand",
    "_check_rich_hourly",
    "_check_rich_15min",
    "_check_year_crossing",
    "_check_ties",
    "_check_bundled",
    "_check_paths_leap_15min",
    "_check_paths_leap_hourly",
    "_check_random_interval",
    "_check_register",
    "_check_bad_load",
    "_check_pf_twin",
)


def _run_checks(names=SIM_CHECKS, **kwargs) -> None:
    """Run checks, printing one ``CHECK name OK count`` / ``CHECK name FAIL`` line each."""
    for name in names:
        try:
            count = globals()[name](**kwargs.get(name, {}))
            print(f"CHECK {name} OK {count}", flush=True)
        except Exception:
            print(f"CHECK {name} FAIL", flush=True)
            traceback.print_exc(file=sys.stdout)


# --- default suite: the simulator, in a subprocess ---------------------------


@pytest.fixture(scope="module")
def sim_output() -> str:
    env = dict(os.environ, NUMBA_ENABLE_CUDASIM="1")
    env.pop("M2C_CUDA_ALLOW_SIM", None)
    code = (
        "import importlib.util as u\n"
        f"s = u.spec_from_file_location('_m2c_cuda_checks', {os.path.abspath(__file__)!r})\n"
        "m = u.module_from_spec(s); s.loader.exec_module(m)\n"
        "from m2c.core.billing import cuda_runtime as bc\n"
        "print('AVAILABLE', bc.cuda_available(), bc.cuda_available(allow_simulator=True))\n"
        "m._run_checks()\n"
    )
    r = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=600
    )
    assert r.returncode == 0, r.stdout + r.stderr
    return r.stdout


@pytest.mark.parametrize("name", SIM_CHECKS)
def test_simulator_matches_cpu(sim_output: str, name: str) -> None:
    lines = [ln for ln in sim_output.splitlines() if ln.startswith(f"CHECK {name} ")]
    assert lines, sim_output
    assert lines[0].split()[2] == "OK", sim_output
    assert int(lines[0].split()[3]) > 0


def test_simulator_not_auto_selected(sim_output: str) -> None:
    """Under the simulator cuda_available() is False unless tests allow it explicitly."""
    assert "AVAILABLE False True" in sim_output


def test_backend_selection_without_gpu() -> None:
    from m2c.core.billing import cuda_runtime

    t = Tariff("flat", ((Tier(None, 500_000_000),),))
    load = np.full((1, 744), 0.25)
    with pytest.raises(ValueError, match="backend must be one of"):
        bill_interval(t, load, backend="gpu")
    with pytest.raises(ValueError, match="backend must be one of"):
        bill_register(compile_tariffs([t]), np.array([0]), np.array([[1]]), month=1, backend="GPU")
    if cuda_runtime.cuda_available():
        pytest.skip("a GPU is present: 'auto' selects it")
    # 744 h x 25 ckWh = 186 kWh x 0.5 CNY = 93 CNY, on the CPU
    assert int(bill_interval(t, load, backend="auto").total_fen[0, 0]) == 9_300
    if not cuda_runtime.simulator_enabled():
        with pytest.raises(RuntimeError, match="needs"):
            bill_interval(t, load, backend="cuda")


# --- the device code as NVVM compiles it (no GPU needed) ---------------------


def _fma_probe(x, y):
    return x * y + 0.5


def _check_ptx() -> None:
    """Print ``PTX name fma=N local=M shared=BYTES`` for the register kernel, three
    interval step kernels and the interval bill kernel compiled to PTX for compute
    capability 9.0, or ``PTX SKIP why`` when numba-cuda (the ``[cuda]`` extra) or
    NVVM is missing. Needs no GPU."""
    from types import SimpleNamespace

    from numba import typeof, types

    from m2c.core.billing import cuda_kernels
    from m2c.core.billing.cuda_runtime import cuda

    if cuda is None or "numba_cuda" not in str(cuda.__file__):
        print("PTX SKIP numba-cuda (the [cuda] extra) is not installed", flush=True)
        return
    try:  # the toolchain, and a proof that the scan below sees a contraction
        probe, _ = cuda.compile_ptx(_fma_probe, (types.float64,) * 2, device=True, cc=(9, 0))
    except Exception as exc:  # no NVVM / libdevice here: nothing to check
        print(f"PTX SKIP NVVM unavailable: {type(exc).__name__}", flush=True)
        return
    assert "fma.rn.f64" in probe, "NVVM did not contract x * y + 0.5: the scan proves nothing"
    if not cuda.is_available():  # device functions ask the current device for its cc
        from numba.cuda import dispatcher

        dispatcher.get_current_device = lambda: SimpleNamespace(compute_capability=(9, 0))
    table = compile_tariffs([_rich_tariff(), *map(bundled_tariff, bundled_tariff_names())])
    A = table.arrays
    tA = typeof(type(A)(*(np.ascontiguousarray(a, dtype=np.int64) for a in A)))
    i1, i2 = types.Array(types.int64, 1, "C"), types.Array(types.int64, 2, "C")
    s32 = types.Array(types.int32, 1, "C")
    n64, b = types.int64, types.boolean
    sig = (tA, i1, i2, n64, n64, n64, i1, i1, i2, i1, i1, i1, i1, b, i2, i2, i2)
    kernels = [("register", cuda_kernels.register_kernel.py_func, sig)]
    P, PD = table.n_periods, table.n_demand_periods
    for lt, have_q, p, pd, w in (
        (types.float32, False, P, PD, 1),
        (types.float64, True, P, PD, 4),
        # the shared-memory budget's worst case: reactive data, most periods
        (types.float64, True, cuda_kernels.MAX_EPERIODS, cuda_kernels.MAX_DPERIODS, 2),
    ):
        k = cuda_kernels.interval_step_kernel(lt, p, pd, w, have_q)
        sig = (types.Array(lt, 2, "C"), types.Array(types.float64, 2, "C"), i1, s32, n64, n64)
        sig += (i2, i2, i2, i2, i2, i1)
        kernels.append((f"steps_{lt}_q{int(have_q)}_p{p}_{pd}_w{w}", k.py_func, sig))
    sig = (tA, n64, i1, i1, i1, i1, i2, i2, i2, i2, i2, i2, i2, i2)
    kernels.append(("bills", cuda_kernels.interval_bill_kernel.py_func, sig))
    for name, fn, sig in kernels:
        ptx, _ = cuda.compile_ptx(fn, sig, cc=(9, 0))
        shared = sum(
            map(int, re.findall(r"\.shared\s+\.align\s+\d+\s+\.b8\s+[^\[]+\[(\d+)\]", ptx))
        )
        print(
            f"PTX {name} fma={ptx.count('fma.')} local={ptx.count('.local')} shared={shared}",
            flush=True,
        )


def test_device_code_compiles_without_fma() -> None:
    """The shared bill arithmetic compiles for the GPU, with no fused multiply-add
    anywhere (a contraction would round differently from the CPU), and the register
    kernel uses no local memory (no per-thread array)."""
    env = {k: v for k, v in os.environ.items() if k != "NUMBA_ENABLE_CUDASIM"}
    code = (
        "import importlib.util as u\n"
        f"s = u.spec_from_file_location('_m2c_cuda_checks', {os.path.abspath(__file__)!r})\n"
        "m = u.module_from_spec(s); s.loader.exec_module(m)\n"
        "m._check_ptx()\n"
    )
    r = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=600
    )
    assert r.returncode == 0, r.stdout + r.stderr
    lines = [ln.split() for ln in r.stdout.splitlines() if ln.startswith("PTX ")]
    if lines and lines[0][1] == "SKIP":
        pytest.skip(" ".join(lines[0][2:]))
    got = {ln[1]: dict(kv.split("=") for kv in ln[2:]) for ln in lines}
    assert len(got) == 5 and "register" in got and "bills" in got, r.stdout
    assert all(v["fma"] == "0" for v in got.values()), r.stdout
    assert all(v["local"] == "0" for v in got.values()), r.stdout
    assert all(int(v["shared"]) <= 48 * 1024 for v in got.values()), r.stdout


def test_shared_device_code_is_the_cpu_code() -> None:
    """The device bill functions are fast_register.bill_row and its helpers (the same
    code objects), and all of them are integer-only: NVVM contracts float a * b + c,
    so any float operation must be spelled in cuda_kernels (the power factor is)."""
    from m2c.core.billing import cuda_kernels
    from m2c.core.billing.fast_register import bill_row
    from m2c.core.tariffs.powerfactor import pf_hundredths

    if cuda_kernels.cuda is None:
        pytest.skip("numba's CUDA target is not installed")
    shared = cuda_kernels.SHARED
    assert bill_row.py_func in shared
    assert pf_hundredths.py_func not in shared  # the libdevice spelling replaces it
    floats = {"float", "float32", "float64", "math", "sqrt", "floor", "fma"}
    for py, dev in shared.items():
        assert getattr(dev, "py_func", dev).__code__ is py.__code__, py.__name__
        assert not any(isinstance(c, float) for c in py.__code__.co_consts), py.__name__
        assert not floats & set(py.__code__.co_names), py.__name__
    assert len(shared) >= 3  # bill_row, _rdiv, share_round_div at least


# --- real GPU ----------------------------------------------------------------


@pytest.mark.gpu
def test_gpu_matches_cpu() -> None:
    from m2c.core.billing import cuda_runtime

    if cuda_runtime.simulator_enabled() or not cuda_runtime.cuda_available():
        pytest.skip("needs a real NVIDIA GPU")
    big = {
        "_check_rich_hourly": {"n": 2_000},
        "_check_rich_15min": {"n": 500},
        "_check_year_crossing": {"n": 700},
        "_check_ties": {"n": 700},
        "_check_bundled": {"n": 300, "days": 365},
        "_check_register": {"n": 100_000},
    }
    for name in SIM_CHECKS:
        globals()[name](**big.get(name, {}))


@pytest.mark.gpu
def test_gpu_chunked_matches_cpu() -> None:
    """Many small chunks through both streams == one CPU pass."""
    from m2c.core.billing import cuda_backend

    if cuda_backend.simulator_enabled() or not cuda_backend.cuda_available():
        pytest.skip("needs a real NVIDIA GPU")
    t = _rich_tariff()
    n, S = 1_000, 8_760
    load = _loads(21, n, S, np.float32)
    cpu = bill_interval(t, load, backend="cpu", capacity_kva=np.full(n, 400))
    orig = cuda_backend.bill_interval_cuda
    try:
        cuda_backend.bill_interval_cuda = lambda *a, **k: orig(*a, chunk_customers=130)
        gpu = bill_interval(t, load, backend="cuda", capacity_kva=np.full(n, 400))
    finally:
        cuda_backend.bill_interval_cuda = orig
    _assert_same(cpu, gpu, _INTERVAL_FIELDS, "chunked")
