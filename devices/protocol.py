"""The meter protocols m2c speaks (:class:`MeterProtocol`) and each one's serial-line defaults.

One enum instead of the strings ``"dlt645"`` / ``"modbus"`` compared in the
gateway, the read-out, the emulator start-up and the CLI. Being a
:class:`enum.StrEnum`, a member equals its string and prints as it, so
command-line options and JSON files keep the plain names.

Example::

    >>> p = MeterProtocol.parse("dlt645")
    >>> p is MeterProtocol.DLT645, p.framing, p.settings(2.0).baudrate
    (True, '8E1', 2400)
"""

from __future__ import annotations

import enum

from m2c.devices.errors import SettingsError
from m2c.devices.transport import SerialSettings


class MeterProtocol(enum.StrEnum):
    """A meter protocol and its default serial line (baud rate, byte size, parity, stop bits).

    * ``DLT645``: DL/T 645-2007, 2400 bps 8E1 (§5: 8 data bits, even parity,
      1 stop bit; 2400 is the usual default of Chinese single-phase meters).
    * ``MODBUS``: Modbus RTU, 9600 bps 8N1 (the Eastron SDM factory setting
      served by :data:`m2c.devices.modbus.registers.SDM_MAP`).
    """

    DLT645 = "dlt645"
    MODBUS = "modbus"

    @classmethod
    def parse(cls, value: str | MeterProtocol, what: str = "--protocol") -> MeterProtocol:
        """``"dlt645"`` or ``"modbus"`` -> the member.

        Parameters
        ----------
        value : str or MeterProtocol
            The protocol name (a member is returned as is).
        what : str
            How the error names the setting (``"--protocol"`` for the CLI).

        Raises
        ------
        SettingsError
            ``"--protocol 'dlms': expected 'dlt645' or 'modbus'"`` for any other value.
        """
        try:
            return cls(value)
        except ValueError:
            raise SettingsError(f"{what} {value!r}: expected 'dlt645' or 'modbus'") from None

    @property
    def baudrate(self) -> int:
        """Default bits per second."""
        return _DEFAULTS[self][0]

    @property
    def framing(self) -> str:
        """Default ``"<bytesize><parity><stopbits>"``, e.g. ``"8E1"``."""
        return _DEFAULTS[self][1]

    @property
    def bytesize(self) -> int:
        """Default data bits per character."""
        return int(self.framing[0])

    @property
    def parity(self) -> str:
        """Default parity: ``"E"`` (even) or ``"N"`` (none)."""
        return self.framing[1]

    @property
    def stopbits(self) -> int:
        """Default stop bits."""
        return int(self.framing[2])

    def settings(
        self, timeout_s: float = 1.0, baudrate: int | None = None, framing: str | None = None
    ) -> SerialSettings:
        """Serial settings with this protocol's defaults where ``baudrate``/``framing`` are None."""
        return SerialSettings(baudrate or self.baudrate, framing or self.framing, timeout_s)


#: (baud rate, framing) per protocol; see the class docstring for the sources.
_DEFAULTS: dict[MeterProtocol, tuple[int, str]] = {
    MeterProtocol.DLT645: (2400, "8E1"),
    MeterProtocol.MODBUS: (9600, "8N1"),
}
