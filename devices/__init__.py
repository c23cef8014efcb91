"""m2c.devices: transports, protocol codecs (DL/T 645-2007, Modbus), meter clients, emulators."""
