"""m2c.sim: the SimPy model of a read-bill-collect year, policies, KPIs, hardware in the loop."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("m2c")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0+unknown"
