"""Device benchmarks: DL/T 645 codec frames/s, emulator reads/s over a pty, vs the RS-485 limit.

Each figure goes into ``benchmark.extra_info`` next to a baseline measured in
the same run: the codec against a plain byte copy of the same frames, pty
reads against in-process reads (same client, same bus, no OS I/O). The
physical limit of an RS-485 bus is computed from the frame sizes (no timing).
"""

from __future__ import annotations

import time

import pytest

from m2c.devices import dlt645
from m2c.devices.dlt645.client import Dlt645Client
from m2c.devices.dlt645.emulator import Dlt645Bus
from m2c.devices.server import PtyServer
from m2c.devices.state import InMemoryState
from m2c.devices.transport import InProcessTransport, SerialSettings, open_transport

N_FRAMES = 2000
N_READS = 500


def _frames() -> list[dlt645.Frame]:
    return [
        dlt645.read_reply(f"{m:012d}", 0x00010000, dlt645.int_to_bcd(m * 37 % 10**8, 4))
        for m in range(1, N_FRAMES + 1)
    ]


def _rate(fn, n: int, repeat: int = 3) -> float:
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return n / best


def bus_limit_reads_per_hour(baud: int, turnaround_s: float = 0.0) -> float:
    """Reads of 00 01 00 00 per hour on one RS-485 bus, 8E1 (11 bits per byte).

    Request: 4 FE + 68 A0..A5 68 C L (10) + DI (4) + CS 16 (2) = 20 bytes;
    reply: 4 FE + 10 + DI (4) + energy (4) + 2 = 24 bytes; 44 bytes = 484 bits.
    """
    wire_s = SerialSettings(baud, "8E1").seconds_for(20 + 24)
    return 3600 / (wire_s + turnaround_s)


def test_frame_sizes_for_the_limit():
    req = dlt645.encode_frame(dlt645.read_request("000000000001", 0x00010000))
    rep = dlt645.encode_frame(dlt645.read_reply("000000000001", 0x00010000, bytes(4)))
    assert (len(req), len(rep)) == (20, 24)
    # 2400 bps: 44 * 11 / 2400 = 0.20167 s per read -> 17 851 reads/h
    assert bus_limit_reads_per_hour(2400) == pytest.approx(3600 / (484 / 2400))
    assert round(bus_limit_reads_per_hour(2400)) == 17851
    assert round(bus_limit_reads_per_hour(9600)) == 71405


def test_bench_codec(benchmark):
    frames = _frames()
    wires = [dlt645.encode_frame(f) for f in frames]

    def roundtrip():
        for f in frames:
            dlt645.decode_frame(dlt645.encode_frame(f))

    def baseline():  # copy the same bytes: the floor of any Python byte handling
        for w in wires:
            bytes(bytearray(w))

    def stream():
        d = dlt645.StreamDecoder()
        for w in wires:
            d.feed(w)

    benchmark.pedantic(roundtrip, rounds=5, iterations=1)
    codec = _rate(roundtrip, N_FRAMES)
    base = _rate(baseline, N_FRAMES)
    benchmark.extra_info.update(
        frames_per_s_encode_decode=round(codec),
        frames_per_s_stream_decode=round(_rate(stream, N_FRAMES)),
        frames_per_s_byte_copy_baseline=round(base),
        ratio_codec_to_baseline=round(codec / base, 4),
    )


def test_bench_reads_over_pty(benchmark):
    state = InMemoryState.synthetic(100, seed=1)
    bus = Dlt645Bus(state)
    addresses = [state.address(m) for m in range(100)]

    def campaign(client):
        def run():
            for k in range(N_READS):
                client.read_energy_ckwh(addresses[k % 100])

        return run

    inproc = Dlt645Client(InProcessTransport(bus.handle_bytes))
    with (
        PtyServer(bus) as server,
        open_transport(server.path, SerialSettings(2400, "8E1", 1.0)) as t,
    ):
        pty_client = Dlt645Client(t, timeout_s=1.0)
        benchmark.pedantic(campaign(pty_client), rounds=3, iterations=1)
        pty_rate = _rate(campaign(pty_client), N_READS)
    base = _rate(campaign(inproc), N_READS)
    benchmark.extra_info.update(
        reads_per_s_pty=round(pty_rate),
        reads_per_s_in_process_baseline=round(base),
        ratio_pty_to_in_process=round(pty_rate / base, 4),
        reads_per_h_pty=round(pty_rate * 3600),
        rs485_limit_reads_per_h_2400=round(bus_limit_reads_per_hour(2400)),
        rs485_limit_reads_per_h_9600=round(bus_limit_reads_per_hour(9600)),
        rs485_reads_per_h_2400_with_50ms_turnaround=round(bus_limit_reads_per_hour(2400, 0.05)),
        rs485_reads_per_h_9600_with_50ms_turnaround=round(bus_limit_reads_per_hour(9600, 0.05)),
    )
