"""Read one value from one meter and format it with its unit (behind ``m2c read``)."""

from __future__ import annotations

from m2c.devices.dlt645.client import Dlt645Client
from m2c.devices.dlt645.data_ids import DEFAULT_TABLE, parse_di
from m2c.devices.errors import SettingsError
from m2c.devices.protocol import MeterProtocol
from m2c.devices.transport import SerialSettings, open_transport


def read_value(
    port: str,
    address: str,
    item: str = "00010000",
    *,
    protocol: MeterProtocol | str = MeterProtocol.DLT645,
    settings: SerialSettings | None = None,
    retries: int = 2,
) -> str:
    """Read ``item`` from the meter at ``address`` on ``port``; return ``"<value> <unit>"``.

    Parameters
    ----------
    port : str
        Path or URL (see :func:`m2c.devices.transport.open_transport`).
    address : str
        DL/T 645: 12-digit meter address; Modbus: unit id.
    item : str
        DL/T 645: data identifier, 8 hex digits (``00010000``); Modbus: a
        register name of the map (``import_energy``) - a DI of ``00010000``
        is taken to mean ``import_energy``.
    protocol : MeterProtocol or str
        ``"dlt645"`` or ``"modbus"``.
    settings : SerialSettings, optional
        Baud rate, framing and timeout (defaults: 2400 8E1 for DL/T 645,
        9600 8N1 for Modbus RTU; 1 s).
    """
    protocol = MeterProtocol.parse(protocol)
    if protocol is MeterProtocol.DLT645:
        di = parse_di(item)
        DEFAULT_TABLE.get(di)  # unknown identifiers fail before the port is opened
        s = settings or protocol.settings(1.0)
        with open_transport(port, s) as transport:
            client = Dlt645Client(transport, timeout_s=s.timeout_s, retries=retries)
            return client.read_text(address, di)
    # MeterProtocol.MODBUS; pymodbus is imported on demand
    from m2c.devices.modbus import SDM_MAP, ModbusMeterClient

    name = "import_energy" if item in ("00010000", "0x00010000") else item
    reg = SDM_MAP.get(name)
    try:
        unit = int(address)
    except ValueError:
        raise SettingsError(f"Modbus unit id {address!r}: expected an integer 1..247") from None
    s = settings or protocol.settings(1.0)
    with ModbusMeterClient.open(port, s, timeout_s=s.timeout_s, retries=retries) as client:
        return f"{client.read(unit, name):.{reg.decimals}f} {reg.unit}".rstrip()
