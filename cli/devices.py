"""``m2c emulate`` and ``m2c read``: serve emulated meters, read one value from a meter.

``emulate`` starts :func:`~m2c.devices.emulate.start_emulator` on a state
provider (a JSON file, synthetic registers, or with ``--scenario`` a
simulated fleet from :func:`~m2c.sim.hil.feed.scenario_feed`) and serves
until a duration passes or Ctrl-C (:func:`~m2c.devices.emulate.serve_until`);
``read`` is :func:`~m2c.devices.readout.read_value`.
"""

from __future__ import annotations

import contextlib
import logging
import sys
from pathlib import Path

import typer

from m2c.cli.errors import reported
from m2c.devices.emulate import serve_until, start_emulator
from m2c.devices.protocol import MeterProtocol
from m2c.devices.readout import read_value
from m2c.devices.server import DEFAULT_IDLE_TIMEOUT_S, DEFAULT_MAX_CONNECTIONS, ReplyTiming
from m2c.devices.state import InMemoryState
from m2c.devices.transport import SerialSettings
from m2c.sim.hil.feed import scenario_feed
from m2c.sim.scenario import load_scenario


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
        None,
        help="serve the first --meters customers of this scenario's simulated fleet "
        "(meter of customer i: address i+1) instead of synthetic registers",
    ),
    days: int = typer.Option(0, min=0, help="with --scenario: simulate this many days first"),
    day_seconds: float | None = typer.Option(
        None, min=0.01, help="with --scenario: then advance one simulated day every N seconds"
    ),
    max_connections: int = typer.Option(
        DEFAULT_MAX_CONNECTIONS,
        min=1,
        help="TCP: clients served at once; one more is closed at once (logged)",
    ),
    idle_timeout: float = typer.Option(
        DEFAULT_IDLE_TIMEOUT_S,
        help="TCP: close a client after this many seconds without a byte (logged)",
    ),
) -> None:
    """Serve emulated meters; print the pty path or address, then serve until Ctrl-C."""
    feed = None
    with reported():
        if not idle_timeout > 0:
            raise typer.BadParameter(
                f"{idle_timeout}: expected seconds > 0", param_hint="'--idle-timeout'"
            )
        if scenario is not None:
            feed = scenario_feed(
                load_scenario(scenario),
                meters,
                seed_offset=seed,
                days=days,
                stepping=bool(day_seconds),
            )
            provider = feed.state
        else:
            provider = InMemoryState.load(state) if state else InMemoryState.synthetic(meters, seed)
        timing = ReplyTiming(
            delay_ms / 1000, SerialSettings(pace_baud, "8E1") if pace_baud else None
        )
        running = start_emulator(
            protocol,
            port,
            provider,
            timing=timing,
            max_connections=max_connections,
            idle_timeout_s=idle_timeout,
        )
    # refused and idle-closed connections: one line each on stderr
    server_log = logging.getLogger("m2c.devices.server")
    if not server_log.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(asctime)s %(message)s", "%H:%M:%S"))
        server_log.addHandler(handler)
        server_log.propagate = False
    # Ctrl-C is the way to stop: clean exit (status 0) wherever it lands, even before
    # serve_until is reached (a client may be served while this thread still prints)
    with running, contextlib.suppress(KeyboardInterrupt):
        typer.echo(running.where)
        typer.echo(
            f"{running.protocol}: {running.meters} meters on {running.where}; Ctrl-C to stop",
            err=True,
        )
        sys.stdout.flush()
        step = (lambda: feed.sim.advance(1)) if feed is not None else None
        serve_until(duration, every_s=day_seconds, tick=step)


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
    with reported():
        settings = MeterProtocol.parse(protocol).settings(timeout, baud, framing)
        text = read_value(port, address, di, protocol=protocol, settings=settings, retries=retries)
    typer.echo(text)
