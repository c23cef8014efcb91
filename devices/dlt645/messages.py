"""DL/T 645-2007 messages: request builders (master -> meter), reply builders, reply checks.

A message is a :class:`~m2c.devices.dlt645.framing.Frame` whose data field
has a meaning per function (DL/T 645-2007 §7.3): read 11H ``DI0..DI3``,
read follow-up 12H ``DI0..DI3 SEQ``, read address 13H, write 14H
``DI PA P0..P2 C0..C3 DATA``, broadcast time 08H ``ss mm hh DD MM YY`` and
control 1CH ``PA P0..P2 C0..C3 N1 N2 N3..N8`` (:class:`RelayAction` is N1).

Clients use the request builders (:func:`read_request`, :func:`write_request`,
:func:`control_request`, :func:`broadcast_time_request` ...) and
:func:`check_reply`; emulators use the reply builders (:func:`read_reply`,
:func:`follow_reply`, :func:`ack_reply`, :func:`address_reply`,
:func:`error_reply`).

Example::

    >>> read_request("000102030425", 0x00010000).data.hex(" ")
    '00 00 01 00'
"""

from __future__ import annotations

import datetime as dt
import enum

from m2c.devices.dlt645.encoding import (
    BROADCAST,
    WILDCARD,
    Password,
    address_matches,
    address_to_wire,
    datetime_to_bcd,
    di_from_bytes,
    di_to_bytes,
    normalize_address,
    operator_to_bytes,
)
from m2c.devices.dlt645.framing import ABNORMAL, DIR_REPLY, FOLLOW, Frame, Function
from m2c.devices.errors import (
    AddressMismatchError,
    DataFormatError,
    LengthError,
    MeterReplyError,
    UnexpectedReplyError,
)


class RelayAction(enum.IntEnum):
    """N1 of the control command 1CH (DL/T 645-2007 amendment, remote control)."""

    TRIP = 0x1A
    CLOSE_PERMIT = 0x1B
    CLOSE_DIRECT = 0x1C
    ALARM = 0x2A
    ALARM_CLEAR = 0x2B
    HOLD = 0x3A
    HOLD_CLEAR = 0x3B


# --- requests (master -> meter) -----------------------------------------------


def read_request(address: str, di: int) -> Frame:
    """Read data 11H: ``DI0..DI3``."""
    return Frame(normalize_address(address), Function.READ, di_to_bytes(di))


def read_follow_request(address: str, di: int, seq: int) -> Frame:
    """Read follow-up data 12H: ``DI0..DI3 SEQ``."""
    return Frame(
        normalize_address(address), Function.READ_FOLLOW, di_to_bytes(di) + bytes((seq & 0xFF,))
    )


def read_address_request() -> Frame:
    """Read communication address 13H, sent to the wildcard address, no data."""
    return Frame(WILDCARD, Function.READ_ADDRESS)


def write_request(
    address: str, di: int, payload: bytes, password: Password, operator: str
) -> Frame:
    """Write data 14H: ``DI0..DI3 PA P0 P1 P2 C0..C3 DATA`` (L <= 50, §7.1)."""
    data = di_to_bytes(di) + password.to_bytes() + operator_to_bytes(operator) + payload
    if len(data) > 50:
        raise LengthError(f"write of {len(data)} bytes: at most 50")
    return Frame(normalize_address(address), Function.WRITE, data)


def broadcast_time_request(when: dt.datetime) -> Frame:
    """Broadcast time sync 08H to 999999999999: ``ss mm hh DD MM YY``; no reply."""
    return Frame(BROADCAST, Function.BROADCAST_TIME, datetime_to_bcd(when))


def control_request(
    address: str,
    action: RelayAction,
    password: Password,
    operator: str,
    valid_until: dt.datetime,
) -> Frame:
    """Control 1CH: ``PA P0 P1 P2 C0..C3 N1 N2 N3..N8`` (N2 reserved = 0, N3..N8 valid-until)."""
    data = (
        password.to_bytes()
        + operator_to_bytes(operator)
        + bytes((RelayAction(action), 0))
        + datetime_to_bcd(valid_until)
    )
    return Frame(normalize_address(address), Function.CONTROL, data)


# --- replies (meter -> master) -------------------------------------------------


def read_reply(address: str, di: int, payload: bytes, follow: bool = False) -> Frame:
    """Normal reply to 11H: control 91H (B1H with follow-up), ``DI0..DI3 DATA``."""
    control = DIR_REPLY | Function.READ | (FOLLOW if follow else 0)
    return Frame(address, control, di_to_bytes(di) + payload)


def follow_reply(address: str, di: int, payload: bytes, seq: int, follow: bool = False) -> Frame:
    """Normal reply to 12H: control 92H/B2H, ``DI0..DI3 DATA SEQ``."""
    control = DIR_REPLY | Function.READ_FOLLOW | (FOLLOW if follow else 0)
    return Frame(address, control, di_to_bytes(di) + payload + bytes((seq & 0xFF,)))


def ack_reply(address: str, function: int) -> Frame:
    """Normal reply without data (94H for writes, 9CH for control)."""
    return Frame(address, DIR_REPLY | function)


def address_reply(address: str) -> Frame:
    """Reply to 13H: control 93H, the 6 address bytes as data."""
    return Frame(address, DIR_REPLY | Function.READ_ADDRESS, address_to_wire(address))


def error_reply(address: str, function: int, error: int) -> Frame:
    """Abnormal reply: control ``function | 0xC0`` and one error byte."""
    return Frame(address, DIR_REPLY | ABNORMAL | function, bytes((error & 0xFF,)))


# --- reply checks used by clients ---------------------------------------------


def check_reply(frame: Frame, address: str, function: int, di: int | None = None) -> None:
    """Check that ``frame`` answers a request ``function`` sent to ``address``.

    Raises
    ------
    AddressMismatchError
        The reply comes from another meter (a wildcard request accepts any).
    MeterReplyError
        The meter answered with an abnormal reply.
    UnexpectedReplyError
        Not a reply, another function, or (for reads) another data identifier.
    """
    if not frame.is_reply:
        raise UnexpectedReplyError(f"frame {frame.control:02X}H from {frame.address} is a request")
    if frame.address != address and not address_matches(address, frame.address):
        raise AddressMismatchError(f"reply from meter {frame.address}, request went to {address}")
    if frame.function != function:
        raise UnexpectedReplyError(
            f"meter {frame.address} answered function {frame.function:02X}H to {function:02X}H"
        )
    if frame.is_abnormal:
        if len(frame.data) != 1:
            raise DataFormatError(f"abnormal reply with {len(frame.data)} data bytes: expected 1")
        raise MeterReplyError(frame.address, function, frame.data[0], di)
    if di is not None:
        got = di_from_bytes(frame.data)
        if got != di:
            raise UnexpectedReplyError(
                f"meter {frame.address} answered DI {got:08X}, request was DI {di:08X}"
            )
