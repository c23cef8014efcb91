"""m2c.core: exact units, counter-based RNG, tariffs, Numba billing kernels, ledger.

Pure computation over NumPy arrays: no I/O beyond reading tariff files, and no
imports from ``m2c.sim`` or ``m2c.devices`` (../shared/DESIGN.md "Packages").
"""

from m2c.core import ledger, rng, units
from m2c.core.billing import MonthlyBills, RegisterBills, bill_interval, bill_register
from m2c.core.ledger import Ledger
from m2c.core.tariffs import (
    Tariff,
    TariffTable,
    bundled_tariff,
    compile_tariffs,
    load_tariff_toml,
)
from m2c.core.urdb import UrdbError, load_urdb

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
