"""The ``m2c`` command line: one command per use (../shared/DESIGN.md "CLI").

Each area registers its commands from its own module (``cli_bill``,
``cli_run``, ``cli_devices``, ``cli_hil``, ``cli_compare``, ``cli_bench``); a
command parses arguments, calls one function and prints. Errors that a user can fix (a bad scenario,
a missing file) are printed as one clear message and exit with status 2.
"""

from __future__ import annotations

import importlib

import typer

app = typer.Typer(
    name="m2c",
    help="Meter-to-cash testbed: bill fleets, simulate collection policies, talk to meters.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

#: Modules that define ``register(app)``; each adds its own commands.
COMMAND_MODULES = ("cli_bill", "cli_run", "cli_devices", "cli_hil", "cli_compare", "cli_bench")


def _register_all() -> None:
    for name in COMMAND_MODULES:
        try:
            module = importlib.import_module(f"m2c.sim.{name}")
        except ModuleNotFoundError as exc:
            if exc.name == f"m2c.sim.{name}":
                continue
            raise
        module.register(app)


_register_all()


def main() -> None:
    """Entry point of the ``m2c`` console script."""
    app()
