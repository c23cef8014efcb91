"""Fault injection: a read campaign over 1 000 emulated meters never accepts a corrupt value."""

from __future__ import annotations

import pytest

from m2c.devices import dlt645
from m2c.devices.dlt645.client import Dlt645Client
from m2c.devices.dlt645.emulator import Dlt645Bus
from m2c.devices.errors import ReadFailedError, SettingsError
from m2c.devices.faults import FaultRates, FaultyTransport
from m2c.devices.server import PtyServer
from m2c.devices.state import InMemoryState
from m2c.devices.transport import InProcessTransport, SerialSettings, open_transport


def _campaign(n: int, rates: FaultRates, seed: int, retries: int = 5):
    state = InMemoryState.synthetic(n, seed=3)
    faulty = FaultyTransport(InProcessTransport(Dlt645Bus(state).handle_bytes), rates, seed=seed)
    client = Dlt645Client(faulty, timeout_s=0.05, retries=retries, backoff_s=0)
    correct = failed = wrong = 0
    for m in range(n):
        try:
            value = client.read_energy_ckwh(state.address(m))
        except ReadFailedError:
            failed += 1
            continue
        if value == state.energy_ckwh(m):
            correct += 1
        else:
            wrong += 1
    return correct, failed, wrong, faulty.counts, client.stats


def test_campaign_1000_meters_10pct_drop_1pct_corrupt():
    correct, failed, wrong, counts, stats = _campaign(
        1000, FaultRates(drop=0.10, corrupt=0.01), seed=1
    )
    assert wrong == 0  # never a corrupt value accepted
    assert correct + failed == 1000  # every read correct or reported failed
    # An attempt survives with p = (0.9 * 0.99)**2 = 0.794 (request and reply each
    # risk a drop or a corruption); six attempts all fail with p = 0.206**6 = 7.6e-5,
    # so over 1000 meters the expected number of failures is 0.08.
    assert failed <= 1
    # the faults really happened: ~2 frames per attempt, ~1 260 attempts,
    # so ~2 520 frames, ~10 % (about 250) dropped and ~1 % (about 25) corrupted.
    assert 2300 < counts["frames"] < 2800
    assert 180 < counts["drop"] < 330
    assert 10 < counts["corrupt"] < 50
    assert stats["retries"] > 150


def test_campaign_with_every_fault_kind():
    rates = FaultRates(drop=0.05, corrupt=0.05, garbage=0.05, wrong_address=0.05, delay=0.05)
    correct, failed, wrong, counts, stats = _campaign(300, rates, seed=7)
    assert wrong == 0 and correct + failed == 300 and failed <= 1
    assert min(counts[k] for k in ("drop", "corrupt", "garbage", "wrong_address", "delay")) > 0
    assert stats["rejected"] >= counts["wrong_address"] - counts["drop"]


def test_without_retries_failures_are_reported_not_hidden():
    correct, failed, wrong, _, _ = _campaign(500, FaultRates(drop=0.5), seed=2, retries=0)
    assert wrong == 0 and correct + failed == 500
    # an attempt survives only if request and reply both survive: 0.5 * 0.5 = 25 %
    assert 90 < correct < 160


def test_faults_are_reproducible_by_seed():
    a = _campaign(200, FaultRates(drop=0.1, corrupt=0.02), seed=5)
    b = _campaign(200, FaultRates(drop=0.1, corrupt=0.02), seed=5)
    c = _campaign(200, FaultRates(drop=0.1, corrupt=0.02), seed=6)
    assert a[3] == b[3] and a[3] != c[3]


def test_corruption_of_every_byte_position_is_caught():
    # Exhaustive: flip each byte of a reply in each of 8 ways; the decoder
    # must either reject it or return exactly the original frame (FE preamble).
    reply = dlt645.encode_frame(dlt645.read_reply("000000000001", 0x00010000, b"\x42\x06\x12\x00"))
    original = dlt645.decode_frame(reply)
    for pos in range(len(reply)):
        for mask in (1, 2, 4, 8, 16, 32, 64, 128):
            raw = bytearray(reply)
            raw[pos] ^= mask
            got = dlt645.StreamDecoder().feed(bytes(raw))
            assert got in ([], [original])
            if pos >= 4:  # past the preamble the frame itself changed
                assert got == []


def test_fault_rates_validated():
    with pytest.raises(SettingsError, match="probability"):
        FaultRates(drop=1.5)


def test_faults_over_a_pty(bus, state):
    with PtyServer(bus) as server, open_transport(server.path, SerialSettings(2400, "8E1")) as t:
        faulty = FaultyTransport(t, FaultRates(drop=0.2, garbage=0.2), seed=3)
        client = Dlt645Client(faulty, timeout_s=0.1, retries=6, backoff_s=0)
        for m in range(5):
            assert client.read_energy_ckwh(state.address(m)) == state.energy_ckwh(m)
        assert faulty.counts["drop"] + faulty.counts["garbage"] > 0
