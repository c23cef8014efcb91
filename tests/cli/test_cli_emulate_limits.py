"""Issue 13: ``m2c emulate`` on a port it cannot use, and its connection limits.

A busy TCP port used to end in an ``OSError`` traceback (exit 1); it must be
one line on stderr naming the port, exit status 2.
"""

from __future__ import annotations

import errno
import socket
import subprocess
import sys

import pytest
from typer.testing import CliRunner

from m2c.cli import app
from m2c.devices.emulate import start_emulator
from m2c.devices.errors import PortUnavailableError
from m2c.devices.state import InMemoryState

runner = CliRunner()


@pytest.fixture
def busy_port():
    """A local TCP port that is bound and listening (so nobody else can bind it)."""
    with socket.create_server(("127.0.0.1", 0)) as s:
        yield s.getsockname()[1]


def _emulate(*options: str) -> subprocess.CompletedProcess:
    cmd = [sys.executable, "-c", "from m2c.cli import main; main()", "emulate", *options]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120)


def test_emulate_on_a_busy_tcp_port_is_one_line_exit_2(busy_port):
    res = _emulate("--port", f"tcp:{busy_port}", "--duration", "5")
    assert res.returncode == 2, res.stderr
    assert "Traceback" not in res.stderr
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1, res.stderr
    assert f"127.0.0.1:{busy_port}" in lines[0] and "in use" in lines[0]
    assert res.stdout == ""  # no address printed for clients to connect to


def test_emulate_modbus_on_a_busy_tcp_port_is_one_line_exit_2(busy_port):
    res = _emulate("--protocol", "modbus", "--port", f"tcp:{busy_port}", "--duration", "5")
    assert res.returncode == 2, res.stderr
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1, res.stderr  # pymodbus's own log line does not leak
    assert f"127.0.0.1:{busy_port}" in lines[0] and "Traceback" not in res.stderr


def test_emulate_on_an_address_that_is_not_local_is_one_line_exit_2():
    # 192.0.2.1 (TEST-NET-1, RFC 5737) is never an address of this machine
    res = runner.invoke(app, ["emulate", "--port", "tcp:192.0.2.1:5000", "--duration", "1"])
    assert res.exit_code == 2, res.output
    assert "192.0.2.1:5000" in res.output and "Traceback" not in res.output


def test_emulate_on_a_serial_path_is_refused_naming_it():
    # emulate serves on a pty or TCP only: a serial path is refused up front
    res = runner.invoke(app, ["emulate", "--port", "/dev/ttyS99", "--duration", "1"])
    assert res.exit_code == 2 and "/dev/ttyS99" in res.output


def test_start_emulator_raises_a_typed_error(busy_port):
    with pytest.raises(PortUnavailableError, match=f"tcp:{busy_port}.*in use"):
        start_emulator("dlt645", f"tcp:{busy_port}", InMemoryState.synthetic(1))


@pytest.mark.parametrize(
    ("option", "value", "words"),
    [("--max-connections", "0", "max-connections"), ("--idle-timeout", "0", "idle-timeout")],
)
def test_emulate_limits_are_checked(option, value, words):
    res = runner.invoke(app, ["emulate", "--port", "tcp:0", option, value, "--duration", "0.1"])
    assert res.exit_code == 2 and words in res.output


def test_emulate_passes_its_limits_to_the_server():
    with start_emulator(
        "dlt645", "tcp:0", InMemoryState.synthetic(1), max_connections=3, idle_timeout_s=7.5
    ) as emu:
        server = emu.server
        assert (server.max_connections, server.idle_timeout_s) == (3, 7.5)


@pytest.mark.parametrize("protocol", ["dlt645", "modbus"])
def test_emulate_when_no_pty_can_be_opened_is_one_line_exit_2(monkeypatch, protocol):
    # Out of pseudo-terminals (or /dev/ptmx not accessible): os.openpty fails.
    import os

    from m2c.devices import transport

    def no_pty():
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(transport.os, "openpty", no_pty)
    res = runner.invoke(app, ["emulate", "--protocol", protocol, "--duration", "0.1"])
    assert res.exit_code == 2, res.output
    assert "'pty'" in res.output and "no space left on device" in res.output.lower()
    assert "Traceback" not in res.output
