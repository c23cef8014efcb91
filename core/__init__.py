"""m2c.core: exact units, counter-based RNG, tariffs, Numba billing kernels, ledger.

Pure computation over NumPy arrays: no I/O, and no imports from ``m2c.sim``
or ``m2c.devices`` (../shared/DESIGN.md "Packages").
"""

from m2c.core import ledger, rng, units

__all__ = ["ledger", "rng", "units"]
