"""``m2c hil``: run a scenario in which named customers are meters on a real or emulated bus.

The named customers are read through the device driver on their reading
day (:class:`~m2c.sim.meter_link.MeterLink`), their reads feed billing, and
their disconnections and reconnections become trip and close commands -
sent only with ``--allow-relay-control``, otherwise logged as what would
have been sent. The run folder is the one of ``m2c run`` plus
``meter_reads.csv``, ``relay_actions.csv`` and ``hil.json``. The meter
password comes from ``--password`` or, better, ``M2C_METER_PASSWORD``; it is
never printed, logged or written.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import typer
from rich.console import Console

from m2c.core.ledger import LedgerImbalanceError
from m2c.devices.dlt645 import Password
from m2c.devices.errors import DeviceError
from m2c.devices.gateway import MeterGateway
from m2c.devices.transport import SerialSettings
from m2c.sim import rules as R
from m2c.sim.atomic import write_json, write_table
from m2c.sim.cli_run import SCENARIO_HELP, SUMMARY_LINES, _fmt, _load_or_exit, day_progress
from m2c.sim.fleet import PREPAID
from m2c.sim.meter_link import MeterLink
from m2c.sim.model import Simulation
from m2c.sim.run import run_built, write_run


class AssignmentError(ValueError):
    """An ``--address`` option names a customer or address that cannot be used."""


def assign_meters(options: list[str], meter_kind: np.ndarray) -> dict[int, str]:
    """``--address`` options -> {customer: address}.

    ``CUSTOMER=ADDRESS`` names the customer; a bare ``ADDRESS`` goes to the
    next postpaid customer (by index) not already named, so its reads feed
    bills. Addresses are kept as given (DL/T 645 digits or a Modbus unit id).
    """
    named: dict[int, str] = {}
    bare: list[str] = []
    for opt in options:
        if "=" in opt:
            left, right = opt.split("=", 1)
            try:
                c = int(left)
            except ValueError:
                raise AssignmentError(f"--address {opt!r}: expected CUSTOMER=ADDRESS "
                                      "with CUSTOMER an integer") from None
            if not 0 <= c < meter_kind.shape[0]:
                raise AssignmentError(f"--address {opt!r}: customer {c} is not in the fleet "
                                      f"(0..{meter_kind.shape[0] - 1})")
            if c in named:
                raise AssignmentError(f"--address {opt!r}: customer {c} is named twice")
            named[c] = right.strip()
        else:
            bare.append(opt.strip())
    free = (c for c in np.flatnonzero(meter_kind != PREPAID).tolist() if c not in named)
    for a in bare:
        c = next(free, None)
        if c is None:
            raise AssignmentError(f"--address {a!r}: no postpaid customer left to assign it to")
        named[c] = a
    if len(set(named.values())) != len(named):
        raise AssignmentError("--address: each meter address may be used once")
    return named


def _reads_table(link: MeterLink) -> pa.Table:
    cols = ("day", "customer", "address", "outcome", "total_ckwh", "billed_ckwh", "detail")
    return pa.table({c: [getattr(r, c) for r in link.reads] for c in cols},
                    schema=pa.schema([("day", pa.int64()), ("customer", pa.int64()),
                                      ("address", pa.string()), ("outcome", pa.string()),
                                      ("total_ckwh", pa.int64()), ("billed_ckwh", pa.int64()),
                                      ("detail", pa.string())]))


def _relay_table(link: MeterLink) -> pa.Table:
    rows = [(e.day, e.record.meter, e.record.address, e.record.action, e.record.outcome,
             e.record.detail) for e in link.relay]
    names = ("day", "customer", "address", "action", "outcome", "detail")
    types = (pa.int64(), pa.int64(), pa.string(), pa.string(), pa.string(), pa.string())
    return pa.table([pa.array([r[k] for r in rows], type=t) for k, t in enumerate(types)],
                    names=list(names))


def hil(
    scenario: str = typer.Argument(..., help=SCENARIO_HELP),
    port: str = typer.Option(..., help="Serial path or URL of the meter bus (as m2c read)."),
    address: list[str] = typer.Option(
        ..., help='A meter on the bus: "CUSTOMER=ADDRESS", or "ADDRESS" for the next postpaid '
                  "customer. Repeat for several meters."),
    protocol: str = typer.Option("dlt645", help="dlt645 or modbus"),
    baud: int | None = typer.Option(None, help="Baud (default 2400 DL/T 645, 9600 Modbus)."),
    framing: str | None = typer.Option(None, help="8E1 (DL/T 645 default) or 8N1 (Modbus)."),
    timeout: float = typer.Option(1.0, help="Reply timeout per attempt, seconds."),
    retries: int = typer.Option(2, min=0, help="Retries after the first attempt."),
    password: str | None = typer.Option(
        None, envvar="M2C_METER_PASSWORD", show_default=False, show_envvar=True,
        help="Meter password digits for relay control (prefer the environment variable)."),
    password_level: int = typer.Option(2, min=0, max=9, help="Password level (DL/T 645)."),
    operator: str = typer.Option("00000000", help="Operator code sent with relay control."),
    allow_relay_control: bool = typer.Option(
        False, "--allow-relay-control",
        help="Really send trip/close to the meters; without it they are only logged."),
    tariff_registers: str = typer.Option(
        "1,2,3,4", help="DL/T 645 tariff register (T1..T4) of each TOU period of the tariffs."),
    customers: int | None = typer.Option(None, min=1, help="Fleet size (default: scenario)."),
    days: int | None = typer.Option(None, min=1, help="Days to simulate (default: scenario)."),
    seed: int | None = typer.Option(None, min=0, help="Seed (default: scenario)."),
    day_seconds: float | None = typer.Option(
        None, min=0.0, help="Pace the run: wall-clock seconds per simulated day (simpy.rt)."),
    out: Path | None = typer.Option(None, help="Run folder (default runs/<scenario>-<time>)."),
) -> None:
    """Simulate a scenario with some customers' meters on a real or emulated bus."""
    console = Console()
    sc = _load_or_exit(console, scenario)
    n = customers or sc.run.customers
    n_days = days or sc.run.days
    sim = Simulation(sc, n, n_days, sc.run.seed if seed is None else seed,
                     seconds_per_day=day_seconds or None)
    dl = protocol == "dlt645"
    try:
        mapping = assign_meters(address, sim.state.cs[:, R.F_METER])
        if allow_relay_control and dl and not password:
            raise AssignmentError("--allow-relay-control needs the meter password: "
                                  "set M2C_METER_PASSWORD (or --password)")
        regs = [int(t) for t in tariff_registers.split(",") if t.strip()]
        gateway = MeterGateway.open(
            port, mapping, protocol=protocol,
            settings=SerialSettings(baud or (2400 if dl else 9600),
                                    framing or ("8E1" if dl else "8N1"), timeout),
            password=Password(password_level, password) if password else None,
            operator=operator, allow_relay_control=allow_relay_control, timeout_s=timeout,
            retries=retries)
    except (AssignmentError, DeviceError, ValueError) as exc:
        console.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(2) from None
    link: MeterLink | None = None
    try:
        t0 = time.perf_counter()
        link = MeterLink(sim, gateway, regs).install()
        setup_s = time.perf_counter() - t0
        where = ", ".join(f"{c}={a}" for c, a in sorted(gateway.addresses.items()))
        console.print(f"{len(mapping)} meter(s) on {port} ({protocol}): customer=address {where}")
        if not allow_relay_control:
            console.print("relay control not allowed: trip/close are logged, not sent")
        with day_progress(console) as bar:
            task = bar.add_task(f"{sc.name} (hil)", total=n_days)
            result = run_built(sim, lambda d: bar.update(task, completed=d), setup_s)
    except DeviceError as exc:
        console.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(2) from None
    except LedgerImbalanceError as exc:
        console.print(f"[red]money is not conserved:[/red] {exc}")
        raise typer.Exit(1) from None
    except KeyboardInterrupt:
        if link is None:
            raise typer.Exit(130) from None
        # what the meters said and what was sent to them is kept, even from a cut-short run
        folder = Path(out or f"runs/{sc.name}-hil-interrupted-{time.strftime('%Y%m%d-%H%M%S')}")
        folder.mkdir(parents=True, exist_ok=True)
        info = {"port": port, "protocol": protocol, "allow_relay_control": allow_relay_control,
                "interrupted_at_day": int(sim.env.now)}
        write_hil_logs(folder, link, mapping, info)
        console.print(f"interrupted on day {int(sim.env.now)}: meter reads and relay actions "
                      f"written to {folder}")
        raise typer.Exit(130) from None
    finally:
        gateway.shutdown()
    folder = write_run(result, out)
    info = {"port": port, "protocol": protocol, "allow_relay_control": allow_relay_control,
            "seconds_per_day": day_seconds}
    summary = write_hil_logs(folder, link, mapping, info)
    for key, label, fmt in SUMMARY_LINES[:5]:
        console.print(f"{label}: {_fmt(result.summary[key], fmt)}")
    console.print(", ".join(f"{k} {v}" for k, v in summary.items()))
    console.print(f"ledger balanced to the fen ({len(result.ledger):,} entries); wrote {folder}")


def write_hil_logs(folder: Path, link: MeterLink, mapping: dict[int, str],
                   info: dict) -> dict[str, int]:
    """``meter_reads.csv``, ``relay_actions.csv`` and ``hil.json`` (no password); the summary."""
    write_table(_reads_table(link), folder / "meter_reads.csv")
    write_table(_relay_table(link), folder / "relay_actions.csv")
    summary = link.summary()
    write_json(folder / "hil.json", {**info, "meters": {str(c): a for c, a in mapping.items()},
                                     "tariff_registers": link.tariff_registers,
                                     "summary": summary})
    return summary


def register(app: typer.Typer) -> None:
    """Add ``m2c hil``."""
    app.command("hil")(hil)

