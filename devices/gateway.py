"""MeterGateway: how the simulation reads meters and sends relay actions through the real driver.

The simulation normally reads its own arrays (the fast path). In gateway
mode a configured subset of customers is read through a meter client over
a transport instead - emulators on a pty or TCP, or real meters on an
RS-485 adapter - so the driver that reads a simulated meter is the one that
reads a real one (issue 5, hardware in the loop).

API (all energies in centi-kWh, int64, core/units.py)::

    gw = MeterGateway.open("/dev/pts/3", {0: "000000000001", 7: "000000000008"},
                           password=Password(2, "000000"), allow_relay_control=False)
    result = gw.read_energies([0, 7])     # GatewayReads: ckwh, ok, errors
    result = gw.read_energies([0, 7], tariffs=True)  # + .tariff_ckwh (k, 4), T1..T4
    gw.trip(7)                           # RelayOutcome: "sent" / "would_send" / "failed"
    gw.close(7)
    gw.actions                           # every relay decision, in order
    gw.shutdown()

Relay actions are sent only when the gateway was built with
``allow_relay_control=True``; otherwise they are logged as "would send" and
recorded in :attr:`MeterGateway.actions`. (The client separately refuses
relay control on a real port without its own allow flag; the gateway passes
its flag down.) Passwords are never logged.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from m2c.devices.dlt645.client import Dlt645Client
from m2c.devices.dlt645.encoding import Password, normalize_address
from m2c.devices.errors import DeviceError, SettingsError
from m2c.devices.protocol import MeterProtocol
from m2c.devices.transport import SerialSettings, Transport, open_transport

log = logging.getLogger("m2c.devices.gateway")


class MeterReader(Protocol):
    """What the gateway needs from a client (DL/T 645 or Modbus): an extension point."""

    def read_energy_ckwh(self, address: str) -> int:
        """Total forward (import) active energy, centi-kWh."""
        ...


@dataclass(frozen=True)
class GatewayReads:
    """Result of :meth:`MeterGateway.read_energies`.

    Attributes
    ----------
    meters : ndarray, shape (k,), int64
        Customer (meter) indices read, in the order asked.
    ckwh : ndarray, shape (k,), int64
        Energy register in centi-kWh; -1 where the read failed.
    ok : ndarray, shape (k,), bool
        True where the read succeeded.
    errors : dict[int, str]
        Failure message per meter index that failed.
    tariff_ckwh : ndarray, shape (k, 4), int64, or None
        Tariff registers T1..T4 (sharp, peak, flat, valley), centi-kWh, when
        read with ``tariffs=True``; -1 where the read failed.
    """

    meters: np.ndarray
    ckwh: np.ndarray
    ok: np.ndarray
    errors: dict[int, str]
    tariff_ckwh: np.ndarray | None = None


@dataclass(frozen=True)
class RelayRecord:
    """One relay decision of the gateway, for the run's log."""

    meter: int
    address: str
    action: str  # "trip" or "close"
    outcome: str  # "sent", "would_send", "failed", "unsupported"
    detail: str = ""


@dataclass
class MeterGateway:
    """Read a subset of meters and forward relay actions through a client.

    Parameters
    ----------
    client : MeterReader
        Anything with ``read_energy_ckwh(address)`` (a Dlt645Client, a
        Modbus client behind an adapter); relay actions need
        ``trip(address)`` and ``close(address)`` (DL/T 645).
    addresses : Mapping[int, str]
        Customer (meter) index -> meter address (DL/T 645: 12 digits;
        Modbus: unit id as text). Only these meters are read through the gateway.
    allow_relay_control : bool
        Send trip/close for real; otherwise log "would send".
    """

    client: MeterReader
    addresses: Mapping[int, str]
    allow_relay_control: bool = False
    actions: list[RelayRecord] = field(default_factory=list)

    @classmethod
    def open(
        cls,
        url: str,
        addresses: Mapping[int, str],
        *,
        protocol: MeterProtocol | str = MeterProtocol.DLT645,
        settings: SerialSettings | None = None,
        password: Password | None = None,
        operator: str = "00000000",
        allow_relay_control: bool = False,
        timeout_s: float = 1.0,
        retries: int = 2,
        transport: Transport | None = None,
    ) -> MeterGateway:
        """Open a port (or use ``transport``) and build the client for ``protocol``."""
        protocol = MeterProtocol.parse(protocol, "protocol")
        if protocol is MeterProtocol.DLT645:
            addrs = {int(m): normalize_address(a) for m, a in addresses.items()}
            t = transport or open_transport(url, settings or protocol.settings(timeout_s))
            client: MeterReader = Dlt645Client(
                t,
                timeout_s=timeout_s,
                retries=retries,
                password=password,
                operator=operator,
                allow_relay_control=allow_relay_control,
            )
        else:  # MeterProtocol.MODBUS; pymodbus is imported on demand
            from m2c.devices.modbus.client import ModbusMeterClient

            addrs = {int(m): str(int(a)) for m, a in addresses.items()}
            client = _ModbusAdapter(
                ModbusMeterClient.open(url, settings, timeout_s=timeout_s, retries=retries)
            )
        return cls(client, addrs, allow_relay_control)

    @property
    def meters(self) -> np.ndarray:
        """Meter indices served by the gateway, sorted, int64."""
        return np.array(sorted(self.addresses), dtype=np.int64)

    def address(self, meter: int) -> str:
        """Address of ``meter``; raises SettingsError if it is not on the gateway."""
        try:
            return self.addresses[int(meter)]
        except KeyError:
            raise SettingsError(f"meter {meter} is not read through the gateway") from None

    def read_energy_ckwh(self, meter: int) -> int:
        """Read one meter's total forward energy, centi-kWh (raises DeviceError on failure)."""
        return int(self.client.read_energy_ckwh(self.address(meter)))

    @property
    def reads_tariffs(self) -> bool:
        """Whether the protocol gives tariff registers (DL/T 645 yes, Modbus map: total only)."""
        return hasattr(self.client, "read_energy_block_ckwh")

    def read_energies(
        self, meters: Iterable[int] | None = None, *, tariffs: bool = False
    ) -> GatewayReads:
        """Read many meters; failures are reported, never raised (the caller estimates).

        Parameters
        ----------
        meters : iterable of int, optional
            Meter indices (default: every meter on the gateway).
        tariffs : bool
            Also read the tariff registers T1..T4 (one block request per
            meter); raises SettingsError if the protocol has none.
        """
        if tariffs and not self.reads_tariffs:
            raise SettingsError("this protocol's meters report total energy only (no T1..T4)")
        idx = self.meters if meters is None else np.asarray(list(meters), dtype=np.int64)
        ckwh = np.full(idx.shape[0], -1, dtype=np.int64)
        per_tariff = np.full((idx.shape[0], 4), -1, dtype=np.int64) if tariffs else None
        ok = np.zeros(idx.shape[0], dtype=bool)
        errors: dict[int, str] = {}
        for i, m in enumerate(idx):
            try:
                if per_tariff is not None:
                    block = self.client.read_energy_block_ckwh(self.address(m))  # type: ignore[attr-defined]
                    ckwh[i] = block[0]
                    per_tariff[i] = block[1:5]
                else:
                    ckwh[i] = self.read_energy_ckwh(int(m))
                ok[i] = True
            except DeviceError as exc:
                errors[int(m)] = str(exc)
                log.warning("meter %d read failed: %s", m, exc)
        return GatewayReads(idx, ckwh, ok, errors, per_tariff)

    def _relay(self, meter: int, action: str) -> RelayRecord:
        address = self.address(meter)
        if not self.allow_relay_control:
            rec = RelayRecord(int(meter), address, action, "would_send")
            log.info(
                "would send %s to meter %s (customer %d): relay control not allowed",
                action,
                address,
                meter,
            )
        elif not hasattr(self.client, action):
            rec = RelayRecord(
                int(meter), address, action, "unsupported", "protocol has no relay control"
            )
        else:
            try:
                getattr(self.client, action)(address)
                rec = RelayRecord(int(meter), address, action, "sent")
                log.info("sent %s to meter %s (customer %d)", action, address, meter)
            except DeviceError as exc:
                rec = RelayRecord(int(meter), address, action, "failed", str(exc))
                log.warning("%s to meter %s failed: %s", action, address, exc)
        self.actions.append(rec)
        return rec

    def trip(self, meter: int) -> RelayRecord:
        """Disconnect: trip the relay of ``meter`` (or log that it would)."""
        return self._relay(meter, "trip")

    def close(self, meter: int) -> RelayRecord:
        """Reconnect: close the relay of ``meter`` (or log that it would)."""
        return self._relay(meter, "close")

    def shutdown(self) -> None:
        """Close the underlying port."""
        c = self.client
        if isinstance(c, Dlt645Client):
            c.transport.close()
        elif hasattr(c, "close_port"):
            c.close_port()


class _ModbusAdapter:
    """Gives a ModbusMeterClient the gateway's address-as-text interface (no relay)."""

    def __init__(self, client: object):
        self.modbus = client

    def read_energy_ckwh(self, address: str) -> int:
        return self.modbus.read_energy_ckwh(int(address))  # type: ignore[attr-defined]

    def close_port(self) -> None:
        self.modbus.close()  # type: ignore[attr-defined]
