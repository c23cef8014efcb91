"""DL/T 645-2007 meter emulator: many meters on one multi-drop bus (the protocol logic only).

:class:`Dlt645Bus` is pure and synchronous: a request frame in, the reply
frames of every addressed meter out (none for broadcasts). Meter values come
from a :class:`~m2c.devices.state.StateProvider`; the bus adds what a meter
keeps for itself: password levels (:class:`MeterSecurity`), the control state
of the relay (trip commanded, hold, alarm) and follow-up frames.

Put a bus on a byte stream with :class:`~m2c.devices.server.PtyServer` or
:class:`~m2c.devices.server.TcpServer` (they call :meth:`Dlt645Bus.session`),
or on no stream at all with
:class:`~m2c.devices.transport.InProcessTransport` and
:meth:`Dlt645Bus.handle_bytes`.

Example::

    >>> from m2c.devices.state import InMemoryState
    >>> from m2c.devices.dlt645.messages import read_request
    >>> bus = Dlt645Bus(InMemoryState.synthetic(2, seed=3))
    >>> [r.control for r in bus.handle(read_request("000000000001", 0x00010000))]
    [145]
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from m2c.devices.dlt645.data_ids import (
    DEFAULT_TABLE,
    STATUS3_ALARM,
    STATUS3_HOLD,
    STATUS3_RELAY_OPEN,
    STATUS3_TRIP_COMMANDED,
    DataIdTable,
)
from m2c.devices.dlt645.encoding import (
    BROADCAST,
    Password,
    address_matches,
    datetime_from_bcd,
    di_from_bytes,
    normalize_address,
)
from m2c.devices.dlt645.framing import MAX_DATA_LEN, Frame, Function, StreamDecoder, encode_frame
from m2c.devices.dlt645.messages import (
    RelayAction,
    ack_reply,
    address_reply,
    error_reply,
    follow_reply,
    read_reply,
)
from m2c.devices.errors import ErrorFlag, ProtocolError, SettingsError, UnknownDataIdError
from m2c.devices.state import StateProvider


@dataclass(frozen=True)
class MeterSecurity:
    """Password levels of the emulated meters (same for every meter on a bus).

    DL/T 645-2007 §7.4: level 0 is the highest privilege, 9 the lowest; a
    request carries ``PA`` (its level) and three password bytes. A request is
    accepted when the password matches the one stored for its level and that
    level is privileged enough (number <= the required level).

    Parameters
    ----------
    passwords : dict[int, str]
        Level -> 6-digit password. Never printed: ``repr`` masks them.
    write_level : int
        Least privileged level that may write data (14H, e.g. the clock).
    control_level : int
        Least privileged level that may operate the relay (1CH).
    """

    passwords: dict[int, str] = field(default_factory=lambda: {2: "000000", 4: "000000"})
    write_level: int = 4
    control_level: int = 2

    def __repr__(self) -> str:
        return (
            f"MeterSecurity(levels={sorted(self.passwords)}, write_level={self.write_level}, "
            f"control_level={self.control_level})"
        )

    def allows(self, password: Password, required_level: int) -> bool:
        """True when ``password`` is right for its level and that level suffices."""
        stored = self.passwords.get(password.level)
        return stored is not None and stored == password.digits and password.level <= required_level


@dataclass
class _MeterControl:
    trip_commanded: bool = False
    close_permitted: bool = False
    hold: bool = False
    alarm: bool = False


class _NoDataError(Exception):
    """The meter has no value for a data identifier (error byte NO_DATA)."""


class Dlt645Bus:
    """Many DL/T 645 meters on one bus, answering by address.

    Parameters
    ----------
    state : StateProvider
        Where register values come from and relay actions go.
    table : DataIdTable
        Data identifiers served; an entry's ``source`` names the state value
        (``energy_fwd:T``, ``energy_rev:T``, ``energy_fwd_block``,
        ``energy_rev_block``, ``voltage:P``, ``voltage_block``, ``current:P``,
        ``current_block``, ``power:0..3``, ``pf:0..3``, ``frequency``, ``date``,
        ``time``, ``address``, ``status1..7``, ``balance``, ``overdraft``).
    security : MeterSecurity
        Password levels.
    permit_closes : bool
        Whether "close permit" (1BH) closes the relay at once, standing in
        for the customer pressing the button; otherwise only 1CH closes it.
    max_payload : int
        Largest payload of one reply frame after the DI; longer values are
        sent in follow-up frames (D5 = 1, read with 12H). 196 = 200 - 4.

    Notes
    -----
    A wildcard request (``AA`` bytes) is answered by every matching meter,
    in address order. On a real bus several answers would collide: use
    wildcards on one-meter buses only, as in the field.
    """

    def __init__(
        self,
        state: StateProvider,
        table: DataIdTable = DEFAULT_TABLE,
        security: MeterSecurity | None = None,
        permit_closes: bool = False,
        max_payload: int = MAX_DATA_LEN - 4,
    ):
        self.state = state
        self.table = table
        self.security = security or MeterSecurity()
        self.permit_closes = permit_closes
        if not 1 <= max_payload <= MAX_DATA_LEN - 4:
            raise SettingsError(f"max_payload {max_payload}: expected 1..196")
        self.max_payload = max_payload
        self.index = {normalize_address(state.address(m)): m for m in range(state.meter_count())}
        if len(self.index) != state.meter_count():
            raise SettingsError("two meters on the bus share an address")
        self.control = {m: _MeterControl() for m in range(state.meter_count())}
        self.requests = 0
        self.lock = threading.Lock()
        self._decoder = StreamDecoder()

    # --- dispatch ------------------------------------------------------------------

    def meters_for(self, address: str) -> list[int]:
        """Meters selected by ``address`` (exact, wildcard or broadcast)."""
        if address == BROADCAST:
            return sorted(self.index.values())
        if "AA" not in address:
            m = self.index.get(address)
            return [] if m is None else [m]
        return sorted(m for a, m in self.index.items() if address_matches(address, a))

    def handle(self, request: Frame) -> list[Frame]:
        """Replies of the addressed meters to ``request`` (empty for broadcasts)."""
        if request.is_reply:
            return []  # another meter's answer, or an echo: meters do not answer replies
        with self.lock:
            self.requests += 1
            if request.address == BROADCAST:
                if request.function == Function.BROADCAST_TIME:
                    self._broadcast_time(request)
                return []
            return [r for m in self.meters_for(request.address) for r in self._one(m, request)]

    def session(self) -> Callable[[bytes], Iterator[bytes]]:
        """A reply function for one byte stream (a pty or one TCP connection).

        The function takes the bytes a read returned and yields the encoded
        reply frames (4 FE preamble) one at a time, each request handled just
        before its replies are yielded; it has its own frame decoder, so
        connections do not share half-received frames. This is what
        :mod:`m2c.devices.server` serves.
        """
        decoder = StreamDecoder()

        def replies(chunk: bytes) -> Iterator[bytes]:
            for frame in decoder.feed(chunk):
                for reply in self.handle(frame):
                    yield encode_frame(reply)

        return replies

    def handle_bytes(self, data: bytes) -> bytes:
        """Stream interface: request bytes in, encoded replies out (4 FE preamble)."""
        out = bytearray()
        for frame in self._decoder.feed(data):
            for reply in self.handle(frame):
                out += encode_frame(reply)
        return bytes(out)

    def _one(self, m: int, req: Frame) -> list[Frame]:
        addr = self.state.address(m)
        fn = req.function
        try:
            if fn == Function.READ:
                return self._read(m, addr, req)
            if fn == Function.READ_FOLLOW:
                return self._read_follow(m, addr, req)
            if fn == Function.READ_ADDRESS:
                return [address_reply(addr)]
            if fn == Function.WRITE:
                return [self._write(m, addr, req)]
            if fn == Function.CONTROL:
                return [self._control(m, addr, req)]
            return [error_reply(addr, fn, ErrorFlag.OTHER)]
        except _NoDataError:
            return [error_reply(addr, fn, ErrorFlag.NO_DATA)]
        except (ProtocolError, ValueError):
            return [error_reply(addr, fn, ErrorFlag.OTHER)]

    # --- services --------------------------------------------------------------------

    def _payload(self, m: int, di: int) -> bytes:
        try:
            entry = self.table.get(di)
        except UnknownDataIdError:
            raise _NoDataError from None
        if entry.source is None:
            raise _NoDataError
        return entry.fmt.encode(self.value(m, entry.source))

    def _read(self, m: int, addr: str, req: Frame) -> list[Frame]:
        if len(req.data) < 4:
            return [error_reply(addr, Function.READ, ErrorFlag.OTHER)]
        di = di_from_bytes(req.data)
        payload = self._payload(m, di)
        first = payload[: self.max_payload]
        return [read_reply(addr, di, first, follow=len(payload) > self.max_payload)]

    def _read_follow(self, m: int, addr: str, req: Frame) -> list[Frame]:
        if len(req.data) != 5:
            return [error_reply(addr, Function.READ_FOLLOW, ErrorFlag.OTHER)]
        di, seq = di_from_bytes(req.data), req.data[4]
        payload = self._payload(m, di)
        start = seq * self.max_payload
        if seq == 0 or start >= len(payload):
            raise _NoDataError
        chunk = payload[start : start + self.max_payload]
        more = start + self.max_payload < len(payload)
        return [follow_reply(addr, di, chunk, seq, follow=more)]

    def _write(self, m: int, addr: str, req: Frame) -> Frame:
        d = req.data
        if len(d) < 12:
            return error_reply(addr, Function.WRITE, ErrorFlag.OTHER)
        di = di_from_bytes(d)
        password = Password.from_bytes(d[4:8])
        if not self.security.allows(password, self.security.write_level):
            return error_reply(addr, Function.WRITE, ErrorFlag.PASSWORD)
        try:
            entry = self.table.get(di)
        except UnknownDataIdError:
            raise _NoDataError from None
        if not entry.writable:
            return error_reply(addr, Function.WRITE, ErrorFlag.PASSWORD)
        value = entry.fmt.decode(d[12:])
        now = self.state.clock(m)
        if entry.source == "date":
            self.state.set_clock(m, dt.datetime.combine(value, now.time()))  # type: ignore[arg-type]
        elif entry.source == "time":
            self.state.set_clock(m, dt.datetime.combine(now.date(), value))  # type: ignore[arg-type]
        else:
            raise _NoDataError
        return ack_reply(addr, Function.WRITE)

    def _control(self, m: int, addr: str, req: Frame) -> Frame:
        d = req.data
        if len(d) != 16:
            return error_reply(addr, Function.CONTROL, ErrorFlag.OTHER)
        password = Password.from_bytes(d[0:4])
        if not self.security.allows(password, self.security.control_level):
            return error_reply(addr, Function.CONTROL, ErrorFlag.PASSWORD)
        try:
            action = RelayAction(d[8])
        except ValueError:
            return error_reply(addr, Function.CONTROL, ErrorFlag.OTHER)
        valid_until = datetime_from_bcd(d[10:16])
        if valid_until < self.state.clock(m).replace(microsecond=0):
            return error_reply(addr, Function.CONTROL, ErrorFlag.OTHER)  # expired
        c = self.control[m]
        if action == RelayAction.TRIP:
            if c.hold:
                return error_reply(addr, Function.CONTROL, ErrorFlag.OTHER)  # held on
            c.trip_commanded, c.close_permitted = True, False
            self.state.set_relay(m, False)
        elif action == RelayAction.CLOSE_PERMIT:
            c.trip_commanded, c.close_permitted = False, True
            if self.permit_closes:
                self.state.set_relay(m, True)
        elif action == RelayAction.CLOSE_DIRECT:
            c.trip_commanded, c.close_permitted = False, False
            self.state.set_relay(m, True)
        elif action in (RelayAction.ALARM, RelayAction.ALARM_CLEAR):
            c.alarm = action == RelayAction.ALARM
        else:
            c.hold = action == RelayAction.HOLD
        return ack_reply(addr, Function.CONTROL)

    def _broadcast_time(self, req: Frame) -> None:
        try:
            when = datetime_from_bcd(req.data)
        except ProtocolError:
            return
        for m in self.index.values():
            self.state.set_clock(m, when)

    # --- values ------------------------------------------------------------------------

    def value(self, m: int, source: str) -> object:
        """The value of ``source`` (see the class docstring) for meter ``m``."""
        s = self.state
        kind, _, arg = source.partition(":")
        k = int(arg) if arg else 0
        if kind in ("energy_fwd", "energy_rev"):
            return s.energy_ckwh(m, k, reverse=kind == "energy_rev")
        if kind in ("energy_fwd_block", "energy_rev_block"):
            rev = kind == "energy_rev_block"
            return tuple(s.energy_ckwh(m, t, reverse=rev) for t in range(5))
        meas = s.measurements(m)
        if kind == "voltage":
            return meas.voltage_dv[k - 1]
        if kind == "voltage_block":
            return tuple(meas.voltage_dv)
        if kind == "current":
            return meas.current_ma[k - 1]
        if kind == "current_block":
            return tuple(meas.current_ma)
        if kind == "power":  # register step 0.1 W; phases share the total equally
            return meas.power_w * 10 if k == 0 else meas.power_w * 10 // 3
        if kind == "pf":
            return meas.pf_milli
        if kind == "frequency":
            return meas.frequency_chz
        if kind == "date":
            return s.clock(m).date()
        if kind == "time":
            return s.clock(m).time().replace(microsecond=0)
        if kind == "address":
            return int(s.address(m))
        if kind == "status3":
            c = self.control[m]
            return (
                (0 if s.relay_closed(m) else STATUS3_RELAY_OPEN)
                | (STATUS3_TRIP_COMMANDED if c.trip_commanded else 0)
                | (STATUS3_ALARM if c.alarm else 0)
                | (STATUS3_HOLD if c.hold else 0)
            )
        if kind.startswith("status"):
            return 0
        if kind in ("balance", "overdraft"):
            b = s.balance_fen(m)
            if b is None:
                raise _NoDataError
            return max(b, 0) if kind == "balance" else max(-b, 0)
        raise _NoDataError
