"""m2c.devices: transports, protocol codecs (DL/T 645-2007, Modbus), meter clients, emulators.

Layers (../shared/DESIGN.md "Devices"), one module each:

* :mod:`~m2c.devices.transport` - bytes over pyserial URLs, ptys, in-process;
* :mod:`~m2c.devices.dlt645` - DL/T 645-2007 frame codec (pure bytes);
* :mod:`~m2c.devices.dlt645_ids` - data-identifier table (data, extensible);
* :mod:`~m2c.devices.dlt645_client` - the master: reads, time, relay control;
* :mod:`~m2c.devices.dlt645_emulator` - a multi-drop bus of emulated meters;
* :mod:`~m2c.devices.state` - the :class:`StateProvider` protocol behind emulators;
* :mod:`~m2c.devices.faults` - fault-injecting transport wrapper;
* :mod:`~m2c.devices.modbus_meter` - Modbus meters via pymodbus (imported on demand);
* :mod:`~m2c.devices.gateway` - :class:`MeterGateway`, what the simulation uses;
* :mod:`~m2c.devices.emulate`, :mod:`~m2c.devices.readout` - behind ``m2c emulate`` / ``m2c read``.
"""

from m2c.devices.dlt645 import (
    Frame,
    Password,
    RelayAction,
    StreamDecoder,
    decode_frame,
    encode_frame,
)
from m2c.devices.dlt645_client import Dlt645Client
from m2c.devices.dlt645_emulator import Dlt645Bus, MeterSecurity, PtyServer, ReplyTiming, TcpServer
from m2c.devices.dlt645_ids import DEFAULT_TABLE, DataId, DataIdTable
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
from m2c.devices.gateway import GatewayReads, MeterGateway
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
