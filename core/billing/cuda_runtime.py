"""Whether the optional GPU billing backend can run here (numba's CUDA target).

Optional (``pip install -e '.[cuda]'``): importing this module never fails.
When numba's CUDA target cannot be imported, :data:`cuda` is None,
:func:`cuda_available` is False and :func:`require_cuda` raises
``RuntimeError`` with the install hint. Under Numba's CUDA simulator
(``NUMBA_ENABLE_CUDASIM=1``) :func:`cuda_available` is False unless explicitly
allowed, so that ``backend="auto"`` never picks the (very slow) simulator.
"""

from __future__ import annotations

import functools
import os
import warnings

try:  # the CUDA target is optional: any failure here just means "no GPU backend"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from numba import config as _numba_config
        from numba import cuda
    _IMPORT_ERROR: Exception | None = None
except Exception as exc:  # pragma: no cover - depends on the installation
    cuda = None
    _IMPORT_ERROR = exc

#: Environment variable that lets cuda_available() report True under the simulator.
ALLOW_SIM_ENV = "M2C_CUDA_ALLOW_SIM"


def simulator_enabled() -> bool:
    """True when Numba's CUDA simulator is on (``NUMBA_ENABLE_CUDASIM=1``)."""
    if cuda is None:
        return False
    return bool(getattr(_numba_config, "ENABLE_CUDASIM", 0))


@functools.cache
def _driver_available() -> bool:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return bool(cuda.is_available())
    except Exception:
        return False


def cuda_available(allow_simulator: bool | None = None) -> bool:
    """Whether the GPU backend can run here; never raises.

    False when numba's CUDA target cannot be imported, when there is no
    driver or no device, and under the CUDA simulator unless
    ``allow_simulator`` is True (default: the environment variable
    ``M2C_CUDA_ALLOW_SIM=1``, for tests), so that ``backend="auto"`` never
    picks the (very slow) simulator by accident.
    """
    try:
        if cuda is None:
            return False
        if simulator_enabled():
            if allow_simulator is None:
                allow_simulator = os.environ.get(ALLOW_SIM_ENV, "") == "1"
            return bool(allow_simulator)
        return _driver_available()
    except Exception:
        return False


def require_cuda() -> None:
    """Raise ``RuntimeError`` (saying what to install or set) unless the backend can run."""
    if cuda is None:
        raise RuntimeError(
            f"backend='cuda' needs numba's CUDA target (pip install -e '.[cuda]'): {_IMPORT_ERROR}"
        )
    if not simulator_enabled() and not _driver_available():
        raise RuntimeError(
            "backend='cuda' needs an NVIDIA GPU with a working driver (none found); "
            "use backend='cpu' or 'auto', or set NUMBA_ENABLE_CUDASIM=1 to run the simulator"
        )
