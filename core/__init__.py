"""m2c.core: exact units, counter-based RNG, tariffs, Numba billing kernels, ledger.

Rooms: ``units`` (the one place that converts and rounds), ``rng``
(counter-based draws), ``calendar`` (weekday/weekend of day numbers),
``tariffs/`` (model, compiled table, TOML and URDB loaders), ``billing/``
(public API, CPU kernels, optional CUDA backend), ``prepaid``, ``latefee``,
``ledger``.

Pure computation over NumPy arrays: no I/O beyond reading tariff files, and no
imports from ``m2c.sim`` or ``m2c.devices`` (../shared/DESIGN.md "Packages").
"""

# ruff: noqa: E402 - the kernel cache is chosen before any kernel module is imported

# first, before any @njit(cache=True) runs: compiled kernels are keyed by the source
from m2c.core.kernel_cache import use_source_keyed_cache

use_source_keyed_cache()

from m2c.core import ledger, rng, units
from m2c.core.billing import MonthlyBills, RegisterBills, bill_interval, bill_register
from m2c.core.ledger import Ledger
from m2c.core.tariffs import (
    Tariff,
    TariffTable,
    UrdbError,
    bundled_tariff,
    compile_tariffs,
    load_tariff_toml,
    load_urdb,
)

__all__ = [
    "Ledger",
    "MonthlyBills",
    "RegisterBills",
    "Tariff",
    "TariffTable",
    "UrdbError",
    "bill_interval",
    "bill_register",
    "bundled_tariff",
    "compile_tariffs",
    "ledger",
    "load_tariff_toml",
    "load_urdb",
    "rng",
    "units",
]
