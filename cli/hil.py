"""``m2c hil``: run a scenario in which named customers are meters on a real or emulated bus.

The work is :class:`~m2c.sim.hil.session.HilSession`: the named customers
are read through the device driver on their reading day, and their
disconnections and reconnections become trip and close commands - sent only
with ``--allow-relay-control``, otherwise logged. The meter password comes
from ``--password`` or, better, ``M2C_METER_PASSWORD``; it is never printed,
logged or written.
"""

from __future__ import annotations

import contextlib
from pathlib import Path

import typer
from rich.console import Console

from m2c.cli.errors import reported
from m2c.cli.run import SCENARIO_HELP, day_progress
from m2c.sim.hil.session import HilOptions, HilSession
from m2c.sim.kpi_catalog import BY_NAME, RUN_SUMMARY
from m2c.sim.run import reserve_run_folder
from m2c.sim.scenario import load_scenario


def hil(
    scenario: str = typer.Argument(..., help=SCENARIO_HELP),
    port: str = typer.Option(..., help="Serial path or URL of the meter bus (as m2c read)."),
    address: list[str] = typer.Option(
        ...,
        help='A meter on the bus: "CUSTOMER=ADDRESS", or "ADDRESS" for the next postpaid '
        "customer. Repeat for several meters.",
    ),
    protocol: str = typer.Option("dlt645", help="dlt645 or modbus"),
    baud: int | None = typer.Option(None, help="Baud (default 2400 DL/T 645, 9600 Modbus)."),
    framing: str | None = typer.Option(None, help="8E1 (DL/T 645 default) or 8N1 (Modbus)."),
    timeout: float = typer.Option(1.0, help="Reply timeout per attempt, seconds."),
    retries: int = typer.Option(2, min=0, help="Retries after the first attempt."),
    password: str | None = typer.Option(
        None,
        envvar="M2C_METER_PASSWORD",
        show_default=False,
        show_envvar=True,
        help="Meter password digits for relay control (prefer the environment variable).",
    ),
    password_level: int = typer.Option(2, min=0, max=9, help="Password level (DL/T 645)."),
    operator: str = typer.Option("00000000", help="Operator code sent with relay control."),
    allow_relay_control: bool = typer.Option(
        False,
        "--allow-relay-control",
        help="Really send trip/close to the meters; without it they are only logged.",
    ),
    tariff_registers: str = typer.Option(
        "1,2,3,4", help="DL/T 645 tariff register (T1..T4) of each TOU period of the tariffs."
    ),
    customers: int | None = typer.Option(None, min=1, help="Fleet size (default: scenario)."),
    days: int | None = typer.Option(None, min=1, help="Days to simulate (default: scenario)."),
    seed: int | None = typer.Option(None, min=0, help="Seed (default: scenario)."),
    day_seconds: float | None = typer.Option(
        None, min=0.0, help="Pace the run: wall-clock seconds per simulated day (simpy.rt)."
    ),
    out: Path | None = typer.Option(None, help="Run folder (default runs/<scenario>-<time>)."),
    force: bool = typer.Option(
        False, "--force", help="Replace an existing run folder --out (atomically)."
    ),
) -> None:
    """Simulate a scenario with some customers' meters on a real or emulated bus."""
    console = Console()
    with contextlib.ExitStack() as stack, reported():
        sc = load_scenario(scenario)
        # the folder is checked and locked before any meter is read, not after the year
        folder = stack.enter_context(reserve_run_folder(out, sc.name, force=force))
        options = HilOptions(
            port=port,
            addresses=list(address),
            protocol=protocol,
            baud=baud,
            framing=framing,
            timeout=timeout,
            retries=retries,
            password=password,
            password_level=password_level,
            operator=operator,
            allow_relay_control=allow_relay_control,
            tariff_registers=tuple(int(t) for t in tariff_registers.split(",") if t.strip()),
        )
        with HilSession.open(
            sc, options, customers=customers, days=days, seed=seed, day_seconds=day_seconds
        ) as session:
            console.print(
                f"{len(session.mapping)} meter(s) on {port} ({protocol}): "
                f"customer=address {session.meters()}"
            )
            if not allow_relay_control:
                console.print("relay control not allowed: trip/close are logged, not sent")
            with day_progress(console) as bar:
                task = bar.add_task(f"{sc.name} (hil)", total=session.days)
                outcome = session.run(folder, lambda d: bar.update(task, completed=d))
    for name in RUN_SUMMARY[:5]:
        kpi = BY_NAME[name]
        console.print(f"{kpi.label}: {kpi.format(outcome.result.summary[name])}")
    console.print(", ".join(f"{k} {v}" for k, v in outcome.summary.items()))
    console.print(
        f"ledger balanced to the fen ({len(outcome.result.ledger):,} entries); "
        f"wrote {outcome.folder}"
    )
