"""Tariffs in one import: the model, the compiled table, the TOML and URDB loaders.

Modules of this package, one idea each:

* :mod:`~m2c.core.tariffs.model` — the tariff description (:class:`Tariff`,
  :class:`Tier`, :class:`Block`, :class:`DemandTier`), plain frozen dataclasses;
* :mod:`~m2c.core.tariffs.compiled` — :func:`compile_tariffs` turns tariffs
  into the flat :class:`TariffTable` arrays the billing kernels index;
* :mod:`~m2c.core.tariffs.powerfactor` — the power-factor adjustment table
  (力调电费) that compiled tables carry;
* :mod:`~m2c.core.tariffs.toml_file` — the TOML tariff format and the bundled
  tariffs (``core/tariffs/data/*.toml``);
* :mod:`~m2c.core.tariffs.urdb` — import of U.S. Utility Rate Database records.

This is the entry point the simulation uses::

    from m2c.core.tariffs import Tariff, TariffTable, compile_tariffs, bundled_tariff
"""

from m2c.core.tariffs.compiled import TariffArrays, TariffTable, compile_tariffs
from m2c.core.tariffs.model import Block, DemandTier, Tariff, Tier
from m2c.core.tariffs.toml_file import (
    TariffFileError,
    bundled_tariff,
    bundled_tariff_names,
    load_tariff_toml,
    parse_tariff_toml,
)
from m2c.core.tariffs.urdb import UrdbError, load_urdb

__all__ = [
    "Block",
    "DemandTier",
    "Tariff",
    "TariffArrays",
    "TariffFileError",
    "TariffTable",
    "Tier",
    "UrdbError",
    "bundled_tariff",
    "bundled_tariff_names",
    "compile_tariffs",
    "load_tariff_toml",
    "load_urdb",
    "parse_tariff_toml",
]
