"""Tariffs in one import: descriptions, compiled tables, TOML and bundled tariffs.

This is the entry point the simulation uses::

    from m2c.core.tariffs import Tariff, TariffTable, compile_tariffs, bundled_tariff
"""

from m2c.core.tariff import Block, DemandTier, Tariff, Tier
from m2c.core.tariff_table import TariffArrays, TariffTable, compile_tariffs
from m2c.core.tariff_toml import (
    TariffFileError,
    bundled_tariff,
    bundled_tariff_names,
    load_tariff_toml,
    parse_tariff_toml,
)

__all__ = [
    "Block",
    "DemandTier",
    "Tariff",
    "TariffArrays",
    "TariffFileError",
    "TariffTable",
    "Tier",
    "bundled_tariff",
    "bundled_tariff_names",
    "compile_tariffs",
    "load_tariff_toml",
    "parse_tariff_toml",
]
