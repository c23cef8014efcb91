"""One table maps library exceptions to ``m2c`` messages and exit statuses."""

from __future__ import annotations

from pathlib import Path

import pytest
import typer

from m2c.cli.errors import REFUSALS, refusal, reported
from m2c.core.ledger import LedgerImbalanceError
from m2c.core.tariffs import TariffFileError
from m2c.devices.errors import ReplyTimeoutError, SettingsError
from m2c.sim.hil.session import AssignmentError, HilInterrupted
from m2c.sim.loadfile import LoadFileError
from m2c.sim.scenario import ScenarioError


@pytest.mark.parametrize(
    ("exc", "expected"),
    [
        (
            LedgerImbalanceError("customer 3 off by 1 fen"),
            ("money is not conserved:", " customer 3 off by 1 fen", 1),
        ),
        (
            ScenarioError("a.toml: run.days: expected > 0"),
            ("invalid scenario\n", "a.toml: run.days: expected > 0", 2),
        ),
        (TariffFileError("t.toml: x"), ("error:", " t.toml: x", 2)),
        (LoadFileError("l.csv:3: field 'kwh'"), ("error:", " l.csv:3: field 'kwh'", 2)),
        (AssignmentError("--address 'x'"), ("error:", " --address 'x'", 2)),
        # a settings error is also a DeviceError: the more specific row wins
        (SettingsError("--baud 1234"), ("error:", " --baud 1234", 2)),
        (ReplyTimeoutError("meter 000000000042"), ("meter error:", " meter 000000000042", 2)),
        (
            HilInterrupted(Path("runs/x"), 40),
            ("", "interrupted on day 40: meter reads and relay actions written to runs/x", 130),
        ),
        (KeyboardInterrupt(), ("interrupted", "", 130)),
    ],
)
def test_each_listed_exception_has_its_message_and_status(exc, expected):
    assert refusal(exc) == expected


def test_bugs_are_not_listed():
    assert refusal(RuntimeError("bug")) is None
    assert refusal(KeyError("k")) is None
    with pytest.raises(RuntimeError, match="bug"), reported():
        raise RuntimeError("bug")


def test_subclasses_come_before_their_bases():
    # a row shadowed by an earlier, more general row would never be used
    kinds = [k for k, _, _ in REFUSALS]
    for i, k in enumerate(kinds):
        assert not any(issubclass(k, earlier) for earlier in kinds[:i]), k


def test_reported_exits_with_the_status_and_prints_brackets_literally(capsys):
    with pytest.raises(typer.Exit) as info, reported():
        raise AssignmentError("--tariff-registers [1, 5]: expected 1..4")
    assert info.value.exit_code == 2
    assert "error: --tariff-registers [1, 5]: expected 1..4" in capsys.readouterr().err
