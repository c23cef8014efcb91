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
import subprocess
import sys
import traceback

import numpy as np
import pytest

from m2c.core import bill_interval, bill_register, compile_tariffs
from m2c.core.tariffs import bundled_tariff, bundled_tariff_names
from m2c.core.tariffs.model import Block, DemandTier, Tariff, Tier

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


def _interval_case(tariff, n, days, step_minutes, dtype, start, reactive, seed=1) -> int:
    S = days * 24 * 60 // step_minutes
    load = _loads(seed, n, S, dtype)
    kw = {"start": start, "step_minutes": step_minutes, "capacity_kva": np.arange(1, n + 1) * 315}
    if reactive:
        q = _loads(seed + 1, n, S, np.float64) * 0.6
        q[:, 0] = -0.25  # reactive is billed by magnitude
        kw["reactive_kvarh"] = q
    cpu = bill_interval(tariff, load, backend="cpu", **kw)
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


def _check_register(n: int = 40) -> int:
    """Register-read bills over a multi-tariff table, December with the annual minimum."""
    tariffs = [_rich_tariff(), _rich_tariff("half_even"), _tie_tariff()]
    tariffs += [bundled_tariff(name) for name in bundled_tariff_names()]
    table = compile_tariffs(tariffs)
    rng = np.random.default_rng(5)
    P, PD = table.n_periods, table.n_demand_periods
    tid = rng.integers(0, table.n_tariffs, size=n)
    energy = rng.integers(0, 900_000, size=(n, P))
    energy[0] = 0
    energy[1::3] |= 1  # odd centi-kWh: exact half-fen ties on the 0.5 CNY/kWh tariff
    # only the tariff's own periods carry energy (other columns are refused as unbilled)
    energy[np.arange(P)[None, :] >= table.arrays.n_eperiods[tid][:, None]] = 0
    reactive = rng.integers(0, 700_000, size=n)
    reactive[::5] = -1  # unknown: no PF adjustment
    kw = {
        "ytd_energy_ckwh": rng.integers(0, 5_000_000, size=n),
        "max_demand_w": rng.integers(0, 400_000, size=n),
        "capacity_kva": rng.integers(0, 2_000, size=n),
        "reactive_ckvarh": reactive,
        "period_demand_w": rng.integers(0, 400_000, size=(n, PD)),
        "ytd_billed_fen": rng.integers(0, 3_000_000, size=n),
    }
    count = 0
    for month in (3, 7, 12):
        cpu = bill_register(table, tid, energy, month=month, backend="cpu", **kw)
        gpu = bill_register(table, tid, energy, month=month, backend="cuda", **kw)
        count += _assert_same(
            cpu, gpu, ("lines", "energy_period_fen", "block_line_fen"), f"register month {month}"
        )
    return count


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


SIM_CHECKS = (
    "_check_hand",
    "_check_rich_hourly",
    "_check_rich_15min",
    "_check_year_crossing",
    "_check_ties",
    "_check_bundled",
    "_check_register",
    "_check_bad_load",
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
