"""Package surface, state files, emulator start-up errors."""

from __future__ import annotations

import importlib

import pytest
from typer.testing import CliRunner

import m2c.devices as devices
from m2c.cli import app
from m2c.devices.emulate import parse_port, start_emulator
from m2c.devices.errors import SettingsError
from m2c.devices.state import InMemoryState, StateProvider


def test_all_is_sorted_unique_and_importable():
    assert devices.__all__ == sorted(devices.__all__)
    assert len(set(devices.__all__)) == len(devices.__all__)
    for name in devices.__all__:
        assert getattr(importlib.import_module("m2c.devices"), name) is not None


@pytest.mark.parametrize("package", ["m2c.devices.dlt645", "m2c.devices.modbus"])
def test_protocol_packages_export_each_name_once_and_it_imports(package):
    mod = importlib.import_module(package)
    assert len(set(mod.__all__)) == len(mod.__all__)
    for name in mod.__all__:
        assert getattr(mod, name) is not None
    # the names the rest of m2c reaches through the package, not a submodule
    if package.endswith("dlt645"):
        assert {"Frame", "Dlt645Client", "Dlt645Bus", "read_request", "check_reply"} <= set(
            mod.__all__
        )


def test_in_memory_state_is_a_state_provider_and_round_trips(tmp_path):
    s = InMemoryState.synthetic(3, seed=2)
    assert isinstance(s, StateProvider)
    s.balance[1] = 12345
    s.relay[2] = False
    s.save(tmp_path / "state.json")
    t = InMemoryState.load(tmp_path / "state.json")
    assert t.addresses == s.addresses and (t.energy == s.energy).all()
    assert (t.balance_fen(0), t.balance_fen(1), t.relay_closed(2)) == (None, 12345, False)


def test_state_file_errors_name_file_and_field(tmp_path):
    p = tmp_path / "bad.json"
    p.write_text('{"meters": [{"address": "1", "energy_ckwh": ["x"]}]}')
    with pytest.raises(SettingsError, match=r"bad.json: meters\[0\]"):
        InMemoryState.load(p)
    p.write_text("[]")
    with pytest.raises(SettingsError, match='"meters" list'):
        InMemoryState.load(p)


def test_parse_port():
    assert parse_port("pty") == ("pty", "", 0)
    assert parse_port("tcp:5020") == ("tcp", "127.0.0.1", 5020)
    assert parse_port("tcp:localhost:5020") == ("tcp", "localhost", 5020)
    with pytest.raises(SettingsError, match='"tcp:PORT"'):
        parse_port("udp:1")


def test_emulate_from_state_file_over_tcp(tmp_path):
    path = tmp_path / "fleet.json"
    path.write_text('{"meters": [{"address": "000102030425", "energy_kwh": 1206.42}]}')
    state = InMemoryState.load(path)
    with start_emulator("dlt645", "tcp:0", state) as emu:
        res = CliRunner().invoke(app, ["read", "--port", emu.where, "--address", "000102030425"])
    assert res.output.strip() == "1206.42 kWh"


def test_emulate_bad_options_exit_2():
    res = CliRunner().invoke(app, ["emulate", "--port", "serial"])
    assert res.exit_code == 2 and "expected" in res.output
    res = CliRunner().invoke(app, ["emulate", "--protocol", "dlms"])
    assert res.exit_code == 2 and "dlt645" in res.output
