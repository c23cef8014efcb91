"""m2c.devices: transports, meter protocols (DL/T 645-2007, Modbus), clients, emulators, gateway.

Rooms (../shared/DESIGN.md "Devices"); one folder per protocol, one module
per idea:

* :mod:`~m2c.devices.transport` - bytes over pyserial URLs, ptys, in-process;
* :mod:`~m2c.devices.protocol` - :class:`MeterProtocol` and each protocol's serial defaults;
* :mod:`~m2c.devices.dlt645` - DL/T 645-2007: ``encoding`` (BCD, addresses,
  date-times, passwords), ``framing`` (frames, checksum, stream decoder),
  ``messages`` (request/reply builders, reply checks), ``data_ids`` (the
  data-identifier table), ``client`` (:class:`Dlt645Client`), ``emulator``
  (:class:`Dlt645Bus`);
* :mod:`~m2c.devices.modbus` - Modbus meters via pymodbus: ``registers``,
  ``client``, ``emulator`` (imported on demand: ``m2c.devices`` does not load pymodbus);
* :mod:`~m2c.devices.server` - pty and TCP servers for any emulated bus;
* :mod:`~m2c.devices.state` - the :class:`StateProvider` protocol behind emulators;
* :mod:`~m2c.devices.faults` - fault-injecting transport wrapper;
* :mod:`~m2c.devices.gateway` - :class:`MeterGateway`, what the simulation uses;
* :mod:`~m2c.devices.emulate`, :mod:`~m2c.devices.readout` - behind ``m2c emulate`` / ``m2c read``;
* :mod:`~m2c.devices.errors` - the exception hierarchy.
"""

from m2c.devices.dlt645 import (
    DEFAULT_TABLE,
    DataId,
    DataIdTable,
    Dlt645Bus,
    Dlt645Client,
    Frame,
    MeterSecurity,
    Password,
    RelayAction,
    StreamDecoder,
    decode_frame,
    encode_frame,
)
from m2c.devices.errors import (
    DeviceError,
    MeterReplyError,
    ProtocolError,
    ReadFailedError,
    RelayControlRefusedError,
    SettingsError,
    TransportError,
)
from m2c.devices.faults import FaultRates, FaultyTransport
from m2c.devices.gateway import GatewayReads, MeterGateway, MeterReader
from m2c.devices.protocol import MeterProtocol
from m2c.devices.server import PtyServer, ReplyTiming, TcpServer
from m2c.devices.state import InMemoryState, Measurements, StateProvider
from m2c.devices.transport import (
    InProcessTransport,
    NullModem,
    PtyPair,
    SerialSettings,
    SerialTransport,
    Transport,
    is_real_port,
    open_transport,
    port_kind,
)

__all__ = [
    "DEFAULT_TABLE",
    "DataId",
    "DataIdTable",
    "DeviceError",
    "Dlt645Bus",
    "Dlt645Client",
    "FaultRates",
    "FaultyTransport",
    "Frame",
    "GatewayReads",
    "InMemoryState",
    "InProcessTransport",
    "Measurements",
    "MeterGateway",
    "MeterProtocol",
    "MeterReader",
    "MeterReplyError",
    "MeterSecurity",
    "NullModem",
    "Password",
    "ProtocolError",
    "PtyPair",
    "PtyServer",
    "ReadFailedError",
    "RelayAction",
    "RelayControlRefusedError",
    "ReplyTiming",
    "SerialSettings",
    "SerialTransport",
    "SettingsError",
    "StateProvider",
    "StreamDecoder",
    "TcpServer",
    "Transport",
    "TransportError",
    "decode_frame",
    "encode_frame",
    "is_real_port",
    "open_transport",
    "port_kind",
]
