"""m2c.cli: the ``m2c`` command line (../shared/DESIGN.md "CLI"); nothing imports it.

One module per command group: :mod:`~m2c.cli.run` (run, validate),
:mod:`~m2c.cli.compare` (compare, sweep, plot), :mod:`~m2c.cli.bill` (bill),
:mod:`~m2c.cli.devices` (emulate, read), :mod:`~m2c.cli.hil` (hil),
:mod:`~m2c.cli.bench` (bench); :mod:`~m2c.cli.app` registers them and
:mod:`~m2c.cli.errors` maps exceptions to messages and exit statuses.
"""

from m2c.cli.app import app, main

__all__ = ["app", "main"]
