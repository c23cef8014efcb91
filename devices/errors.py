"""Typed errors of the devices layer: what went wrong, on which meter, for which data item.

The hierarchy lets callers catch exactly what they can handle:

``DeviceError``
    ``ProtocolError`` - bytes that are not a valid frame or reply (codec level)
        ``FrameError`` - framing: ``TruncatedFrameError``, ``DelimiterError``,
        ``ChecksumError``, ``LengthError``, ``AddressFormatError``
        ``DataFormatError`` - a payload that does not match its data format
        ``UnexpectedReplyError`` - a valid frame that does not answer the request
            ``AddressMismatchError`` - a reply from another meter
        ``MeterReplyError`` - the meter answered with an abnormal reply (D6 = 1)
    ``TransportError`` - the port could not be opened, read or written
    ``ReplyTimeoutError`` - one attempt got no valid reply in time
    ``SettingsError`` - invalid serial settings or port URL (also a ``ValueError``)
    ``UnknownDataIdError`` - a data identifier missing from the table (also a ``KeyError``)
    ``ReadFailedError`` - no valid answer after all retries (names meter and data item)
    ``RelayControlRefusedError`` - relay control on a real port without the allow flag

The codec raises only ``ProtocolError`` subclasses, never ``IndexError`` or
``ValueError`` from deep inside (issue 5; the decoder fuzz test checks it).
"""

from __future__ import annotations

import enum


class DeviceError(Exception):
    """Base class of every error raised by ``m2c.devices``."""


class ProtocolError(DeviceError):
    """Bytes that do not form a valid frame, or a frame that is not a valid reply."""


class FrameError(ProtocolError):
    """The bytes do not form a well-framed message."""


class TruncatedFrameError(FrameError):
    """The buffer ends before the frame does."""


class DelimiterError(FrameError):
    """A start (0x68) or end (0x16) delimiter is missing."""


class ChecksumError(FrameError):
    """The checksum byte does not match the sum of the frame bytes."""


class LengthError(FrameError):
    """The length byte is out of range or disagrees with the buffer."""


class AddressFormatError(FrameError):
    """An address byte is neither BCD nor the wildcard 0xAA."""


class DataFormatError(ProtocolError):
    """A data field does not match its format (bad BCD digit, wrong size)."""


class UnexpectedReplyError(ProtocolError):
    """A valid frame that does not answer the request (control code, data identifier)."""


class AddressMismatchError(UnexpectedReplyError):
    """A reply whose address is not the one the request was sent to."""


class ErrorFlag(enum.IntFlag):
    """Bits of the error byte of an abnormal reply (DL/T 645-2007 §7.3.2, 'ERR')."""

    OTHER = 0x01
    NO_DATA = 0x02
    PASSWORD = 0x04  # wrong password or not authorised
    BAUD_FIXED = 0x08
    YEAR_ZONES = 0x10
    DAY_PERIODS = 0x20
    TARIFFS = 0x40


class MeterReplyError(ProtocolError):
    """The meter answered with an abnormal reply (control code with D6 = 1).

    Attributes
    ----------
    address : str
        Meter address, 12 digits, most significant first.
    control : int
        The request's function code (e.g. 0x11).
    error_byte : int
        The raw error byte; ``flags`` is the same as an :class:`ErrorFlag`.
    """

    def __init__(self, address: str, control: int, error_byte: int, di: int | None = None):
        self.address = address
        self.control = control
        self.error_byte = error_byte
        self.di = di
        self.flags = ErrorFlag(error_byte & 0x7F)
        names = "|".join(f.name for f in ErrorFlag if f in self.flags) or "none"
        where = f" for DI {di:08X}" if di is not None else ""
        super().__init__(
            f"meter {address} refused function {control:02X}H{where}: "
            f"error byte {error_byte:02X}H ({names})"
        )


class TransportError(DeviceError):
    """The port could not be opened, read or written."""


class PortUnavailableError(TransportError):
    """A port to serve emulated meters on cannot be used (in use, not local, no permission)."""


class ReplyTimeoutError(DeviceError):
    """No valid reply arrived before the timeout (one attempt)."""


class SettingsError(DeviceError, ValueError):
    """Invalid serial settings or port URL; the message states the expected form."""


class UnknownDataIdError(DeviceError, KeyError):
    """A data identifier that is not in the data-identifier table."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else "unknown data identifier"


class ReadFailedError(DeviceError):
    """No valid answer after every retry.

    Attributes
    ----------
    address : str
        The meter address (DL/T 645) or unit id (Modbus) as text.
    item : str
        What was asked: a data identifier such as ``"00010000"`` or a register name.
    attempts : int
        How many requests were sent.
    last_error : Exception or None
        The error of the last attempt (timeout, checksum, wrong address ...).
    """

    def __init__(self, address: str, item: str, attempts: int, last_error: Exception | None):
        self.address = address
        self.item = item
        self.attempts = attempts
        self.last_error = last_error
        why = f"{type(last_error).__name__}: {last_error}" if last_error else "no reply"
        super().__init__(
            f"meter {address}, {item}: no valid reply after {attempts} attempts ({why})"
        )


class RelayControlRefusedError(DeviceError):
    """Relay control asked for on a real port without ``allow_relay_control``."""
