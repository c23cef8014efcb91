"""The one place that turns library exceptions into what ``m2c`` prints and its exit status.

Commands run their work inside :func:`reported`; an exception listed in
:data:`REFUSALS` becomes one message on stderr (the exception's text, which
names the file, field and expected value) and the exit status next to it.
Anything else is a bug and keeps its traceback.

Exit statuses: 1 when the work ran and found something wrong (money not
conserved, a ledger that differs from the fast path), 2 when the input was
refused (a bad scenario, tariff, load file, option or meter address, a
meter that does not answer), 130 after Ctrl-C.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import typer
from rich.console import Console
from rich.text import Text

from m2c.core.ledger import LedgerImbalanceError
from m2c.core.tariffs import TariffFileError
from m2c.devices.errors import DeviceError, PortUnavailableError, SettingsError
from m2c.sim.hil.session import AssignmentError, HilInterrupted
from m2c.sim.loadfile import LoadFileError
from m2c.sim.scenario import ScenarioError

#: (exception type, prefix of the message, exit status), most specific first.
REFUSALS: tuple[tuple[type[BaseException], str, int], ...] = (
    (LedgerImbalanceError, "money is not conserved:", 1),
    (ScenarioError, "invalid scenario\n", 2),
    (TariffFileError, "error:", 2),
    (LoadFileError, "error:", 2),
    (AssignmentError, "error:", 2),
    (SettingsError, "error:", 2),
    (PortUnavailableError, "error:", 2),
    (DeviceError, "meter error:", 2),
    (FileNotFoundError, "error:", 2),
    (ValueError, "error:", 2),
    (HilInterrupted, "", 130),
    (KeyboardInterrupt, "interrupted", 130),
)

_LISTED = tuple(kind for kind, _, _ in REFUSALS)


def refusal(exc: BaseException) -> tuple[str, str, int] | None:
    """``(prefix, text, exit status)`` for a listed exception, None for anything else."""
    for kind, prefix, code in REFUSALS:
        if isinstance(exc, kind):
            text = str(exc)
            sep = "" if not prefix or prefix.endswith("\n") or not text else " "
            return prefix, sep + text, code
    return None


@contextmanager
def reported(console: Console | None = None) -> Iterator[None]:
    """Run a command's work; print a listed exception as one message and exit with its status.

    Example::

        with reported():
            scenario = load_scenario(name)
    """
    try:
        yield
    except _LISTED as exc:
        prefix, text, code = refusal(exc)
        out = console or Console(stderr=True)
        # Text, not markup: messages quote user input such as "[1, 4]" literally
        out.print(Text.assemble((prefix, "red"), text), soft_wrap=True)
        raise typer.Exit(code) from None
