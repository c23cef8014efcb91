"""The ``m2c`` application: every command, registered by name from its command-group module.

Each module of :mod:`m2c.cli` holds one command group and only parses
arguments, calls a library function and prints; :mod:`m2c.cli.errors` turns
the library's exceptions into one-line messages and exit statuses.
"""

from __future__ import annotations

import typer

from m2c.cli import bench, bill, compare, devices, hil, reproduce, run

app = typer.Typer(
    name="m2c",
    help="Meter-to-cash testbed: bill fleets, simulate collection policies, talk to meters.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

app.command("bill")(bill.bill)
app.command("run")(run.run)
app.command("validate")(run.validate)
app.command("emulate")(devices.emulate)
app.command("read")(devices.read)
app.command("hil")(hil.hil)
app.command("compare")(compare.compare)
app.command("sweep")(compare.sweep)
app.command("plot")(compare.plot)
app.command("reproduce")(reproduce.reproduce)
app.command("bench")(bench.bench)


def main() -> None:
    """Entry point of the ``m2c`` console script."""
    app()
