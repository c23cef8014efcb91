"""m2c.sim: the SimPy model of a utility's read-bill-collect year, policies, KPIs and the CLI."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("m2c")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0+unknown"
