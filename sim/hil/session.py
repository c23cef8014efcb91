"""A hardware-in-the-loop run: named customers are meters on a real or emulated bus.

:class:`HilSession` builds the simulation, gives the customers named by
``--address`` options their meters (:func:`assign_meters`), opens the
:class:`~m2c.devices.gateway.MeterGateway` and installs a
:class:`~m2c.sim.hil.link.MeterLink`; :meth:`HilSession.run` runs the year
and writes the run folder of ``m2c run`` plus ``meter_reads.csv``,
``relay_actions.csv`` and ``hil.json``. Disconnections and reconnections
become trip and close commands, sent only with ``allow_relay_control``,
otherwise logged as what would have been sent. The meter password is never
printed, logged or written.

Example::

    with HilSession.open(load_scenario("smoke"), HilOptions("/dev/pts/3", ["000000000001"])) as s:
        outcome = s.run()
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa

from m2c.devices.dlt645 import Password
from m2c.devices.gateway import MeterGateway
from m2c.devices.protocol import MeterProtocol
from m2c.sim import rules as R
from m2c.sim.atomic import write_json, write_table, write_text
from m2c.sim.fleet import PREPAID
from m2c.sim.hil.link import MeterLink
from m2c.sim.model import Simulation
from m2c.sim.run import INCOMPLETE, RunFolder, RunResult, run_built
from m2c.sim.scenario import Scenario


class AssignmentError(ValueError):
    """An ``--address`` option names a customer or address that cannot be used."""


class HilInterrupted(Exception):  # noqa: N818 - it is an event, not a failure
    """The run was cut short (Ctrl-C); the meter reads and relay actions so far are kept.

    ``folder`` holds ``meter_reads.csv``, ``relay_actions.csv`` and ``hil.json``.
    """

    def __init__(self, folder: Path, day: int):
        super().__init__(
            f"interrupted on day {day}: meter reads and relay actions written to {folder}"
        )
        self.folder = folder
        self.day = day


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
                raise AssignmentError(
                    f"--address {opt!r}: expected CUSTOMER=ADDRESS with CUSTOMER an integer"
                ) from None
            if not 0 <= c < meter_kind.shape[0]:
                raise AssignmentError(
                    f"--address {opt!r}: customer {c} is not in the fleet "
                    f"(0..{meter_kind.shape[0] - 1})"
                )
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


@dataclass(frozen=True)
class HilOptions:
    """The bus and how to talk to it (the options of ``m2c hil``).

    ``baud`` and ``framing`` default to the protocol's (2400 8E1 for DL/T 645,
    9600 8N1 for Modbus); ``timeout`` is per attempt, seconds;
    ``tariff_registers`` gives the DL/T 645 tariff register (1..4) of each TOU
    period of the tariffs.
    """

    port: str
    addresses: list[str]
    protocol: MeterProtocol | str = MeterProtocol.DLT645
    baud: int | None = None
    framing: str | None = None
    timeout: float = 1.0
    retries: int = 2
    password: str | None = field(default=None, repr=False)
    password_level: int = 2
    operator: str = "00000000"
    allow_relay_control: bool = False
    tariff_registers: tuple[int, ...] = (1, 2, 3, 4)


@dataclass(frozen=True)
class HilOutcome:
    """A finished session: the run, its folder, and the link's read/relay counts."""

    result: RunResult
    folder: Path
    summary: dict[str, int]


class HilSession:
    """A simulation joined to a meter bus; open with :meth:`open`, then :meth:`run` once.

    Use it as a context manager: leaving it shuts the gateway down.
    """

    def __init__(
        self,
        sim: Simulation,
        options: HilOptions,
        mapping: dict[int, str],
        gateway: MeterGateway,
        link: MeterLink,
        setup_s: float,
        day_seconds: float | None = None,
    ):
        self.sim = sim
        self.day_seconds = day_seconds
        self.options = options
        self.mapping = mapping
        self.gateway = gateway
        self.link = link
        self.setup_s = setup_s

    @classmethod
    def open(
        cls,
        scenario: Scenario,
        options: HilOptions,
        *,
        customers: int | None = None,
        days: int | None = None,
        seed: int | None = None,
        day_seconds: float | None = None,
    ) -> HilSession:
        """Build the simulation, assign the meters, open the gateway and install the link.

        Raises
        ------
        AssignmentError
            For an unusable ``--address`` or relay control without a password.
        m2c.devices.errors.DeviceError
            When the bus cannot be opened or a meter does not answer.
        """
        sim = Simulation(
            scenario,
            customers or scenario.run.customers,
            days or scenario.run.days,
            scenario.run.seed if seed is None else seed,
            seconds_per_day=day_seconds or None,
        )
        o = options
        protocol = MeterProtocol.parse(o.protocol)
        dl = protocol is MeterProtocol.DLT645
        mapping = assign_meters(o.addresses, sim.state.cs[:, R.F_METER])
        if o.allow_relay_control and dl and not o.password:
            raise AssignmentError(
                "--allow-relay-control needs the meter password: "
                "set M2C_METER_PASSWORD (or --password)"
            )
        gateway = MeterGateway.open(
            o.port,
            mapping,
            protocol=protocol,
            settings=protocol.settings(o.timeout, o.baud, o.framing),
            password=Password(o.password_level, o.password) if o.password else None,
            operator=o.operator,
            allow_relay_control=o.allow_relay_control,
            timeout_s=o.timeout,
            retries=o.retries,
        )
        try:
            t0 = time.perf_counter()
            link = MeterLink(sim, gateway, list(o.tariff_registers)).install()
            setup_s = time.perf_counter() - t0
        except BaseException:
            gateway.shutdown()
            raise
        return cls(sim, options, mapping, gateway, link, setup_s, day_seconds)

    def __enter__(self) -> HilSession:
        return self

    def __exit__(self, *exc: object) -> None:
        self.gateway.shutdown()

    @property
    def days(self) -> int:
        """Simulated days of the run."""
        return self.sim.cal.days

    def meters(self) -> str:
        """``customer=address`` of every meter on the bus, by customer."""
        return ", ".join(f"{c}={a}" for c, a in sorted(self.gateway.addresses.items()))

    def run(self, folder: RunFolder, progress: Callable[[int], None] | None = None) -> HilOutcome:
        """Run the year; write the run folder with the hil logs inside (manifest last).

        ``folder`` is reserved (checked and locked) before the session opens, so an
        unusable ``--out`` is refused before any meter is read. The gateway is shut
        down whatever happens.

        Raises
        ------
        HilInterrupted
            On Ctrl-C: the logs so far are written to ``folder.path`` first, marked
            ``INCOMPLETE`` (logs of an interrupted run, no ledger).
        """
        o = self.options
        info = {
            "port": o.port,
            "protocol": o.protocol,
            "allow_relay_control": o.allow_relay_control,
        }
        try:
            result = run_built(self.sim, progress, self.setup_s)
        except KeyboardInterrupt:
            # what the meters said and what was sent to them is kept, even from a cut-short run
            day = int(self.sim.env.now)
            path = folder.path
            path.mkdir(parents=True, exist_ok=True)
            write_text(
                path / INCOMPLETE,
                f"m2c hil interrupted on day {day}: meter logs only, no ledger\n",
            )
            write_hil_logs(path, self.link, self.mapping, {**info, "interrupted_at_day": day})
            raise HilInterrupted(path, day) from None
        finally:
            self.gateway.shutdown()
        info["seconds_per_day"] = self.day_seconds
        summary: dict[str, int] = {}

        def logs(tmp: Path) -> list[str]:
            summary.update(write_hil_logs(tmp, self.link, self.mapping, info))
            return list(HIL_FILES)

        path = folder.commit(result, logs)
        return HilOutcome(result, path, summary)


def _reads_table(link: MeterLink) -> pa.Table:
    cols = ("day", "customer", "address", "outcome", "total_ckwh", "billed_ckwh", "detail")
    return pa.table(
        {c: [getattr(r, c) for r in link.reads] for c in cols},
        schema=pa.schema(
            [
                ("day", pa.int64()),
                ("customer", pa.int64()),
                ("address", pa.string()),
                ("outcome", pa.string()),
                ("total_ckwh", pa.int64()),
                ("billed_ckwh", pa.int64()),
                ("detail", pa.string()),
            ]
        ),
    )


def _relay_table(link: MeterLink) -> pa.Table:
    rows = [
        (
            e.day,
            e.record.meter,
            e.record.address,
            e.record.action,
            e.record.outcome,
            e.record.detail,
        )
        for e in link.relay
    ]
    names = ("day", "customer", "address", "action", "outcome", "detail")
    types = (pa.int64(), pa.int64(), pa.string(), pa.string(), pa.string(), pa.string())
    return pa.table(
        [pa.array([r[k] for r in rows], type=t) for k, t in enumerate(types)], names=list(names)
    )


#: The files :func:`write_hil_logs` writes.
HIL_FILES = ("meter_reads.csv", "relay_actions.csv", "hil.json")


def write_hil_logs(
    folder: Path, link: MeterLink, mapping: dict[int, str], info: dict
) -> dict[str, int]:
    """``meter_reads.csv``, ``relay_actions.csv`` and ``hil.json`` (no password); the summary."""
    write_table(_reads_table(link), folder / "meter_reads.csv")
    write_table(_relay_table(link), folder / "relay_actions.csv")
    summary = link.summary()
    write_json(
        folder / "hil.json",
        {
            **info,
            "meters": {str(c): a for c, a in mapping.items()},
            "tariff_registers": link.tariff_registers,
            "summary": summary,
        },
    )
    return summary
