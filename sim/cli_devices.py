"""``m2c emulate`` and ``m2c read``: serve emulated meters, read one value from a meter.

Each command parses its options, calls one function of ``m2c.devices``
(:func:`~m2c.devices.emulate.start_emulator`,
:func:`~m2c.devices.readout.read_value`) and prints. Errors a user can fix
exit with status 2 and one clear line.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import typer

from m2c.devices.dlt645_emulator import ReplyTiming
from m2c.devices.emulate import start_emulator
from m2c.devices.errors import DeviceError
from m2c.devices.readout import read_value
from m2c.devices.state import InMemoryState
from m2c.devices.transport import SerialSettings
from m2c.sim.model import Simulation
from m2c.sim.scenario import ScenarioError, load_scenario
from m2c.sim.sim_meters import scenario_meters


def _fail(message: str) -> None:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(2)


def emulate(
    protocol: str = typer.Option("dlt645", help="dlt645 or modbus"),
    port: str = typer.Option(
        "pty", help='"pty", "tcp:PORT" or "tcp:HOST:PORT" (HOST defaults to 127.0.0.1)'
    ),
    meters: int = typer.Option(
        10, min=1, help="meters on the bus (addresses 000000000001.., unit ids 1..)"
    ),
    state: Path | None = typer.Option(
        None, help="JSON state file (see m2c.devices.state.InMemoryState.load)"
    ),
    seed: int = typer.Option(0, help="seed of the synthetic registers when no --state is given"),
    delay_ms: float = typer.Option(0.0, help="reply turnaround delay, milliseconds (DL/T 645)"),
    pace_baud: int | None = typer.Option(
        None, help="also hold each reply for its wire time at this baud (8E1)"
    ),
    duration: float | None = typer.Option(
        None, help="stop after this many seconds (default: until Ctrl-C)"
    ),
    scenario: str | None = typer.Option(
        None, help="serve the first --meters customers of this scenario's simulated fleet "
        "(meter of customer i: address i+1) instead of synthetic registers"
    ),
    days: int = typer.Option(0, min=0, help="with --scenario: simulate this many days first"),
    day_seconds: float | None = typer.Option(
        None, min=0.01, help="with --scenario: then advance one simulated day every N seconds"
    ),
) -> None:
    """Serve emulated meters; print the pty path or address, then serve until Ctrl-C."""
    sim = None
    try:
        if scenario is not None:
            provider, sim = _scenario_provider(scenario, meters, seed, days, day_seconds)
        else:
            provider = InMemoryState.load(state) if state else InMemoryState.synthetic(meters, seed)
        timing = ReplyTiming(
            delay_ms / 1000, SerialSettings(pace_baud, "8E1") if pace_baud else None
        )
        running = start_emulator(protocol, port, provider, timing=timing)
    except (DeviceError, ScenarioError, ValueError) as exc:
        _fail(str(exc))
        return
    with running:
        typer.echo(running.where)
        typer.echo(
            f"{running.protocol}: {running.meters} meters on {running.where}; Ctrl-C to stop",
            err=True,
        )
        sys.stdout.flush()
        deadline = None if duration is None else time.monotonic() + duration
        next_day = time.monotonic() + (day_seconds or 0)
        try:
            while deadline is None or time.monotonic() < deadline:
                time.sleep(0.05 if day_seconds else 0.2)
                if sim is not None and day_seconds and time.monotonic() >= next_day:
                    next_day += day_seconds
                    sim.advance(1)
        except KeyboardInterrupt:
            pass


def _scenario_provider(name: str, meters: int, seed: int, days: int,
                       day_seconds: float | None) -> tuple[InMemoryState, Simulation]:
    """A simulation of scenario ``name`` whose first ``meters`` customers are served."""
    sc = load_scenario(name)
    total = max(days + 1, sc.run.days) if day_seconds else days + 1
    sim = Simulation(sc, max(meters, sc.run.customers), total, sc.run.seed + seed)
    return scenario_meters(sim, meters, days).state, sim


def read(
    port: str = typer.Option(
        ..., help="serial path, loop://, socket://HOST:PORT, rfc2217://HOST:PORT or tcp:HOST:PORT"
    ),
    address: str = typer.Option(..., help="DL/T 645 meter address (12 digits) or Modbus unit id"),
    di: str = typer.Option(
        "00010000", help="DL/T 645 data identifier (8 hex digits) or Modbus register name"
    ),
    protocol: str = typer.Option("dlt645", help="dlt645 or modbus"),
    baud: int | None = typer.Option(
        None, help="baud rate (default 2400 for DL/T 645, 9600 for Modbus)"
    ),
    framing: str | None = typer.Option(None, help="8E1 (DL/T 645 default) or 8N1 (Modbus default)"),
    timeout: float = typer.Option(1.0, help="reply timeout per attempt, seconds"),
    retries: int = typer.Option(2, min=0, help="retries after the first attempt"),
) -> None:
    """Read one value from one meter and print it with its unit."""
    dl = protocol == "dlt645"
    try:
        settings = SerialSettings(
            baud or (2400 if dl else 9600), framing or ("8E1" if dl else "8N1"), timeout
        )
        text = read_value(port, address, di, protocol=protocol, settings=settings, retries=retries)
    except DeviceError as exc:
        _fail(str(exc))
        return
    typer.echo(text)


def register(app: typer.Typer) -> None:
    """Add ``emulate`` and ``read`` to the ``m2c`` app."""
    app.command("emulate")(emulate)
    app.command("read")(read)
