"""``m2c read`` against emulators, and ``m2c emulate`` as a separate process."""

from __future__ import annotations

from typer.testing import CliRunner

from m2c.cli import app
from m2c.devices.dlt645.client import Dlt645Client
from m2c.devices.modbus import ModbusEmulator
from m2c.devices.transport import SerialSettings, open_transport

runner = CliRunner()


def test_read_over_a_pty(pty_bus):
    res = runner.invoke(
        app, ["read", "--port", pty_bus.where, "--address", "000000000001", "--di", "00010000"]
    )
    assert res.exit_code == 0, res.output
    assert res.output.strip() == "1206.42 kWh"


def test_read_over_tcp_other_di(tcp_bus, state):
    res = runner.invoke(
        app, ["read", "--port", tcp_bus.where, "--address", "1", "--di", "02020100"]
    )
    assert res.exit_code == 0, res.output
    ma = state.current_ma[0, 0]  # XXX.XXX A
    assert res.output.strip() == f"{ma // 1000}.{ma % 1000:03d} A"


def test_read_errors_exit_2_with_one_line(pty_bus):
    res = runner.invoke(
        app,
        [
            "read",
            "--port",
            pty_bus.where,
            "--address",
            "000000000099",
            "--timeout",
            "0.1",
            "--retries",
            "0",
        ],
    )
    assert res.exit_code == 2 and "000000000099" in res.output and "00010000" in res.output
    res = runner.invoke(app, ["read", "--port", pty_bus.where, "--address", "1", "--di", "zz"])
    assert res.exit_code == 2 and "8 hex digits" in res.output
    res = runner.invoke(app, ["read", "--port", "loop://", "--address", "1", "--baud", "1234"])
    assert res.exit_code == 2 and "baud" in res.output


def test_read_modbus(state):
    with ModbusEmulator(state).serve_tcp() as emu:
        res = runner.invoke(
            app,
            [
                "read",
                "--protocol",
                "modbus",
                "--port",
                emu.url,
                "--address",
                "1",
                "--di",
                "import_energy",
            ],
        )
    assert res.exit_code == 0, res.output
    assert res.output.strip() == "1206.42 kWh"


def test_emulate_in_another_process_then_read_it(emulator_process):
    with emulator_process(
        "--port", "pty", "--meters", "3", "--seed", "4", "--duration", "60"
    ) as path:
        reads = []
        for _ in range(2):  # a second client opens the same pty (8E1 once failed: EINVAL)
            with open_transport(path, SerialSettings(2400, "8E1", 1.0)) as t:
                client = Dlt645Client(t, timeout_s=1.0)
                reads.append([client.read_energy_ckwh(f"00000000000{k}") for k in (1, 2, 3)])
    values = reads[0]
    assert all(0 <= v < 2_000_000 for v in values) and len(set(values)) == 3
    assert reads[1] == values
