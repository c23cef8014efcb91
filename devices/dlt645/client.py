"""DL/T 645-2007 master (client): read registers, energy and time, set time, operate the relay.

:class:`Dlt645Client` sends requests over any
:class:`~m2c.devices.transport.Transport` and waits for the matching reply:
same address (a reply from another meter is rejected), same function, same
data identifier. A lost, late or corrupt reply is retried with exponential
backoff; when every attempt fails, :class:`~m2c.devices.errors.ReadFailedError`
names the meter, the data identifier and the last error. A meter's abnormal
reply (wrong password, no such data) is a definite answer and is raised at
once as :class:`~m2c.devices.errors.MeterReplyError`.

Relay control on a *real* port (see
:func:`m2c.devices.transport.port_kind`) is refused unless
``allow_relay_control=True``. Passwords are never logged: requests that carry
one (write 14H, control 1CH) are logged without their data field, and
:class:`~m2c.devices.dlt645.encoding.Password` masks itself in ``repr``.
"""

from __future__ import annotations

import datetime as dt
import logging
import time

from m2c.devices.dlt645.data_ids import DEFAULT_TABLE, STATUS3_RELAY_OPEN, DataIdTable, Value
from m2c.devices.dlt645.encoding import (
    Password,
    address_from_wire,
    di_from_bytes,
    normalize_address,
    operator_to_bytes,
)
from m2c.devices.dlt645.framing import Frame, Function, StreamDecoder, encode_frame
from m2c.devices.dlt645.messages import (
    RelayAction,
    broadcast_time_request,
    check_reply,
    control_request,
    read_address_request,
    read_follow_request,
    read_request,
    write_request,
)
from m2c.devices.errors import (
    DataFormatError,
    MeterReplyError,
    ProtocolError,
    ReadFailedError,
    RelayControlRefusedError,
    ReplyTimeoutError,
    SettingsError,
    UnexpectedReplyError,
)
from m2c.devices.transport import Transport, is_real_port

log = logging.getLogger("m2c.devices.dlt645")

DI_DATE = 0x04000101
DI_TIME = 0x04000102
DI_STATUS3 = 0x04000503


def describe(frame: Frame) -> str:
    """One-line description for logs; never shows the data of writes or control (passwords)."""
    head = f"{frame.control:02X}H to/from {frame.address}"
    if frame.function in (Function.WRITE, Function.CONTROL) and not frame.is_reply:
        di = f" DI {di_from_bytes(frame.data):08X}" if frame.function == Function.WRITE else ""
        return f"{head}{di} ({len(frame.data)} data bytes, not shown)"
    return f"{head} data {frame.data.hex(' ')}"


class Dlt645Client:
    """Talk DL/T 645-2007 to meters on one bus.

    Parameters
    ----------
    transport : Transport
        Port to the bus (real, pty, socket, in-process, or a fault wrapper).
    table : DataIdTable
        Formats of the data identifiers read and written.
    timeout_s : float
        Wait for a reply per attempt, seconds.
    retries : int
        Extra attempts after the first (so ``retries + 1`` requests at most).
    backoff_s, backoff_factor : float
        Sleep ``backoff_s * backoff_factor**(k-1)`` before retry ``k``.
    password : Password or None
        For writes and relay control; ``None`` makes them raise SettingsError.
    operator : str
        8-digit operator code sent with writes and control (C0..C3).
    allow_relay_control : bool
        Required for relay control on a real port (never needed for emulators).

    Examples
    --------
    >>> from m2c.devices.dlt645.emulator import Dlt645Bus
    >>> from m2c.devices.state import InMemoryState
    >>> from m2c.devices.transport import InProcessTransport
    >>> state = InMemoryState.synthetic(2, seed=7)
    >>> client = Dlt645Client(InProcessTransport(Dlt645Bus(state).handle_bytes))
    >>> client.read_energy_ckwh("000000000002") == state.energy_ckwh(1)
    True
    """

    def __init__(
        self,
        transport: Transport,
        *,
        table: DataIdTable = DEFAULT_TABLE,
        timeout_s: float = 1.0,
        retries: int = 2,
        backoff_s: float = 0.05,
        backoff_factor: float = 2.0,
        password: Password | None = None,
        operator: str = "00000000",
        allow_relay_control: bool = False,
    ):
        if not timeout_s > 0:
            raise SettingsError(f"timeout_s {timeout_s!r}: expected seconds > 0")
        if retries < 0:
            raise SettingsError(f"retries {retries!r}: expected >= 0")
        if backoff_s < 0 or backoff_factor < 1:
            raise SettingsError("backoff: expected backoff_s >= 0 and backoff_factor >= 1")
        operator_to_bytes(operator)  # validates
        self.transport = transport
        self.table = table
        self.timeout_s = timeout_s
        self.retries = retries
        self.backoff_s = backoff_s
        self.backoff_factor = backoff_factor
        self.password = password
        self.operator = operator
        self.allow_relay_control = allow_relay_control
        self.decoder = StreamDecoder()
        self.stats = {"requests": 0, "retries": 0, "rejected": 0, "failed": 0}

    def __repr__(self) -> str:
        return f"Dlt645Client(url={self.transport.url!r}, password={self.password!r})"

    @property
    def relay_allowed(self) -> bool:
        """Whether relay control may be sent on this transport."""
        return self.allow_relay_control or not is_real_port(self.transport.url)

    # --- exchange --------------------------------------------------------------------

    def exchange(self, request: Frame, di: int | None = None, item: str | None = None) -> Frame:
        """Send ``request`` and return the checked reply, retrying on faults.

        Raises
        ------
        MeterReplyError
            The meter refused (not retried).
        ReadFailedError
            No valid reply after ``retries + 1`` attempts.
        """
        item = item or (f"DI {di:08X}" if di is not None else f"function {request.function:02X}H")
        wire = encode_frame(request)
        last: Exception | None = None
        delay = self.backoff_s
        for attempt in range(self.retries + 1):
            if attempt:
                self.stats["retries"] += 1
                if delay > 0:
                    time.sleep(delay)
                delay *= self.backoff_factor
            self.transport.reset_input()
            self.decoder.reset()
            self.stats["requests"] += 1
            log.debug("send %s (attempt %d)", describe(request), attempt + 1)
            self.transport.write(wire)
            try:
                return self._await(request, di)
            except MeterReplyError:
                raise
            except (ProtocolError, ReplyTimeoutError) as exc:
                log.debug(
                    "meter %s, %s: attempt %d failed: %s", request.address, item, attempt + 1, exc
                )
                last = exc
        self.stats["failed"] += 1
        raise ReadFailedError(request.address, item, self.retries + 1, last)

    def _await(self, request: Frame, di: int | None) -> Frame:
        deadline = time.monotonic() + self.timeout_s
        rejected: ProtocolError | None = None
        while True:
            remaining = deadline - time.monotonic()
            chunk = self.transport.read(max(remaining, 0.0)) if remaining > 0 else b""
            for frame in self.decoder.feed(chunk):
                if not frame.is_reply:
                    continue  # our own echo on a half-duplex adapter
                try:
                    check_reply(frame, request.address, request.function, di)
                except MeterReplyError:
                    raise
                except UnexpectedReplyError as exc:  # wrong address, function or DI
                    self.stats["rejected"] += 1
                    rejected = exc
                    continue
                return frame
            if not chunk and (self.transport.synchronous or time.monotonic() >= deadline):
                if rejected is not None:
                    raise rejected
                errors = self.decoder.errors
                if errors:
                    err = errors[-1]
                    errors.clear()
                    raise err
                raise ReplyTimeoutError(
                    f"meter {request.address}: no reply to {request.function:02X}H "
                    f"within {self.timeout_s} s"
                )

    # --- reads -------------------------------------------------------------------------

    def read_payload(self, address: str, di: int) -> bytes:
        """Raw payload of ``di`` (after the DI), follow-up frames (12H) joined."""
        address = normalize_address(address)
        frame = self.exchange(read_request(address, di), di)
        payload = frame.data[4:]
        seq = 1
        while frame.has_follow:
            if seq > 255:
                raise UnexpectedReplyError(
                    f"meter {address}, DI {di:08X}: more than 255 follow-up frames"
                )
            frame = self.exchange(read_follow_request(address, di, seq), di)
            if len(frame.data) < 5 or frame.data[-1] != seq:
                raise UnexpectedReplyError(
                    f"meter {address}, DI {di:08X}: follow-up {seq} out of order"
                )
            payload += frame.data[4:-1]
            seq += 1
        return payload

    def read(self, address: str, di: int) -> Value:
        """Read ``di`` and decode it with the table (see :mod:`m2c.devices.dlt645.data_ids`)."""
        entry = self.table.get(di)
        payload = self.read_payload(address, di)
        try:
            return entry.fmt.decode(payload)
        except DataFormatError as exc:
            raise DataFormatError(f"meter {address}, DI {di:08X} ({entry.name}): {exc}") from None

    def read_text(self, address: str, di: int) -> str:
        """Read ``di`` and format it with its unit, e.g. ``"1206.42 kWh"``."""
        return self.table.text(di, self.read(address, di))

    def read_energy_ckwh(self, address: str, tariff: int = 0, reverse: bool = False) -> int:
        """Active energy register in centi-kWh (m2c's energy unit, core/units.py)."""
        if not 0 <= tariff <= 4:
            raise SettingsError(f"tariff {tariff}: expected 0 (total) .. 4")
        di = (0x00020000 if reverse else 0x00010000) | tariff << 8
        return int(self.read(address, di))  # type: ignore[arg-type]

    def read_energy_block_ckwh(self, address: str) -> tuple[int, int, int, int, int]:
        """Forward active energy block 00 01 FF 00: (total, T1..T4), centi-kWh.

        One request, so the five registers come from the same instant.
        """
        values = self.read(address, 0x0001FF00)
        return tuple(int(v) for v in values)  # type: ignore[union-attr,return-value]

    def read_time(self, address: str) -> dt.datetime:
        """Meter clock: date (04 00 01 01) then time (04 00 01 02).

        Two reads, so a read straddling midnight can be off by a day; read
        again if the time is within seconds of 00:00:00.
        """
        date = self.read(address, DI_DATE)
        clock = self.read(address, DI_TIME)
        return dt.datetime.combine(date, clock)  # type: ignore[arg-type]

    def relay_closed(self, address: str) -> bool:
        """Relay state from status word 3 (04 00 05 03, bit 4: 1 = open)."""
        return not int(self.read(address, DI_STATUS3)) & STATUS3_RELAY_OPEN  # type: ignore[arg-type]

    def read_address(self) -> str:
        """Address of the single meter on the bus (13H to AAAAAAAAAAAA)."""
        frame = self.exchange(read_address_request(), item="read address")
        return address_from_wire(frame.data)

    # --- writes ---------------------------------------------------------------------------

    def _need_password(self) -> Password:
        if self.password is None:
            raise SettingsError(
                "this request needs a meter password: pass password=Password(level, digits)"
            )
        return self.password

    def write(self, address: str, di: int, value: Value) -> None:
        """Write ``value`` to ``di`` (14H) with the client's password and operator code."""
        address = normalize_address(address)
        payload = self.table.encode(di, value)
        req = write_request(address, di, payload, self._need_password(), self.operator)
        self.exchange(req, item=f"write DI {di:08X}")

    def set_time(self, address: str, when: dt.datetime) -> None:
        """Set the meter clock: write date (04 00 01 01), then time (04 00 01 02)."""
        self.write(address, DI_DATE, when.date())
        self.write(address, DI_TIME, when.time().replace(microsecond=0))

    def broadcast_time(self, when: dt.datetime) -> None:
        """Broadcast time sync 08H to every meter on the bus (no reply)."""
        req = broadcast_time_request(when)
        self.transport.reset_input()
        log.debug("send %s", describe(req))
        self.transport.write(encode_frame(req))

    # --- relay ------------------------------------------------------------------------------

    def relay(
        self,
        address: str,
        action: RelayAction,
        valid_for: dt.timedelta = dt.timedelta(minutes=5),
        now: dt.datetime | None = None,
    ) -> None:
        """Send control 1CH ``action`` valid until ``now + valid_for``.

        Raises
        ------
        RelayControlRefusedError
            On a real port without ``allow_relay_control``.
        MeterReplyError
            Wrong password, command expired, relay held (保电) ...
        """
        if not self.relay_allowed:
            raise RelayControlRefusedError(
                f"relay control on real port {self.transport.url!r} refused for meter {address}: "
                "pass allow_relay_control=True (m2c: --allow-relay-control)"
            )
        address = normalize_address(address)
        until = (now or dt.datetime.now()).replace(microsecond=0) + valid_for
        req = control_request(address, action, self._need_password(), self.operator, until)
        log.info("relay %s -> meter %s", RelayAction(action).name, address)
        self.exchange(req, item=f"relay {RelayAction(action).name}")

    def trip(self, address: str) -> None:
        """Open the relay (N1 = 1AH)."""
        self.relay(address, RelayAction.TRIP)

    def close(self, address: str, direct: bool = True) -> None:
        """Close the relay (1CH direct close) or only permit closing (1BH)."""
        self.relay(address, RelayAction.CLOSE_DIRECT if direct else RelayAction.CLOSE_PERMIT)
