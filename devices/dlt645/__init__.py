"""DL/T 645-2007 (the Chinese national meter protocol), one module per layer.

* :mod:`~m2c.devices.dlt645.encoding` - value encodings: BCD, addresses,
  date-times, DI bytes, passwords and operator codes;
* :mod:`~m2c.devices.dlt645.framing` - :class:`Frame`, checksum,
  encode/decode, :class:`StreamDecoder` (pure bytes, no I/O);
* :mod:`~m2c.devices.dlt645.messages` - request and reply builders,
  :func:`check_reply`;
* :mod:`~m2c.devices.dlt645.data_ids` - the data-identifier table (data, extensible);
* :mod:`~m2c.devices.dlt645.client` - :class:`Dlt645Client`, the master:
  reads, time, relay control, with timeouts and retries;
* :mod:`~m2c.devices.dlt645.emulator` - :class:`Dlt645Bus`, many emulated
  meters on one bus (serve it with :mod:`m2c.devices.server`).

The names below are re-exported, so ``from m2c.devices import dlt645`` then
``dlt645.encode_frame(dlt645.read_request(address, di))`` reads naturally.
"""

from m2c.devices.dlt645.client import (
    Dlt645Client,
)
from m2c.devices.dlt645.data_ids import (
    DEFAULT_TABLE,
    DataId,
    DataIdTable,
    parse_di,
)
from m2c.devices.dlt645.emulator import (
    Dlt645Bus,
    MeterSecurity,
)
from m2c.devices.dlt645.encoding import (
    BROADCAST,
    WILDCARD,
    Password,
    address_from_wire,
    address_matches,
    address_to_wire,
    bcd_to_int,
    datetime_from_bcd,
    datetime_to_bcd,
    di_from_bytes,
    di_to_bytes,
    int_to_bcd,
    normalize_address,
    operator_to_bytes,
)
from m2c.devices.dlt645.framing import (
    ABNORMAL,
    DIR_REPLY,
    END,
    FOLLOW,
    FUNCTION_MASK,
    HEADER_LEN,
    MAX_DATA_LEN,
    OFFSET,
    PREAMBLE,
    START,
    Frame,
    Function,
    StreamDecoder,
    checksum,
    decode_frame,
    encode_frame,
    split_frames,
)
from m2c.devices.dlt645.messages import (
    RelayAction,
    ack_reply,
    address_reply,
    broadcast_time_request,
    check_reply,
    control_request,
    error_reply,
    follow_reply,
    read_address_request,
    read_follow_request,
    read_reply,
    read_request,
    write_request,
)

__all__ = [
    "ABNORMAL",
    "BROADCAST",
    "DEFAULT_TABLE",
    "DIR_REPLY",
    "END",
    "FOLLOW",
    "FUNCTION_MASK",
    "HEADER_LEN",
    "MAX_DATA_LEN",
    "OFFSET",
    "PREAMBLE",
    "START",
    "WILDCARD",
    "DataId",
    "DataIdTable",
    "Dlt645Bus",
    "Dlt645Client",
    "Frame",
    "Function",
    "MeterSecurity",
    "Password",
    "RelayAction",
    "StreamDecoder",
    "ack_reply",
    "address_from_wire",
    "address_matches",
    "address_reply",
    "address_to_wire",
    "bcd_to_int",
    "broadcast_time_request",
    "check_reply",
    "checksum",
    "control_request",
    "datetime_from_bcd",
    "datetime_to_bcd",
    "decode_frame",
    "di_from_bytes",
    "di_to_bytes",
    "encode_frame",
    "error_reply",
    "follow_reply",
    "int_to_bcd",
    "normalize_address",
    "operator_to_bytes",
    "parse_di",
    "read_address_request",
    "read_follow_request",
    "read_reply",
    "read_request",
    "split_frames",
    "write_request",
]
