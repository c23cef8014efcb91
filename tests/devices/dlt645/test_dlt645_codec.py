"""DL/T 645-2007 codec: the worked example, round trips, error replies, streams, fuzzing."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from m2c.core import rng
from m2c.devices import dlt645
from m2c.devices.dlt645 import Frame, Function, Password, RelayAction, StreamDecoder
from m2c.devices.dlt645.data_ids import DEFAULT_TABLE
from m2c.devices.errors import (
    AddressFormatError,
    AddressMismatchError,
    ChecksumError,
    DelimiterError,
    DeviceError,
    ErrorFlag,
    LengthError,
    MeterReplyError,
    ProtocolError,
    TruncatedFrameError,
    UnexpectedReplyError,
)

# The worked example of issue 5 (DL/T 645-2007 appendix): read total forward
# active energy (DI 00 01 00 00) from the meter whose wire address bytes are
# 25 04 03 02 01 00. Address bytes are low byte first, so the nameplate address
# (most significant first) is 00 01 02 03 04 25 -> "000102030425".
REQUEST = bytes.fromhex("68 25 04 03 02 01 00 68 11 04 33 33 34 33 E1 16")
ADDRESS = "000102030425"


def test_worked_example_request_bytes_and_checksum():
    # CS = sum of bytes from the first 68 to the end of DATA, mod 256:
    # 68+25+04+03+02+01+00+68 = 0xFF ; + 11 + 04 = 0x114 ;
    # + 33+33+34+33 = 0xCD -> 0x1E1 ; mod 256 = 0xE1.
    assert 0x68 + 0x25 + 0x04 + 0x03 + 0x02 + 0x01 + 0x00 + 0x68 == 0xFF
    assert (0xFF + 0x11 + 0x04 + 0x33 + 0x33 + 0x34 + 0x33) % 256 == 0xE1
    assert dlt645.checksum(REQUEST[:-2]) == 0xE1
    assert dlt645.encode_frame(dlt645.read_request(ADDRESS, 0x00010000), preamble=0) == REQUEST
    # with the usual 4-byte FE preamble
    assert dlt645.encode_frame(dlt645.read_request(ADDRESS, 0x00010000)) == b"\xfe" * 4 + REQUEST


def test_worked_example_request_decodes():
    f = dlt645.decode_frame(REQUEST)
    assert f.address == ADDRESS
    assert f.function == Function.READ and not f.is_reply
    # data 33 33 34 33 minus 0x33 = 00 00 01 00 = DI0..DI3 -> DI 00 01 00 00
    assert f.data == bytes([0x00, 0x00, 0x01, 0x00])
    assert dlt645.di_from_bytes(f.data) == 0x00010000


def test_worked_example_reply_is_1206_42_kwh():
    # reply: control 91H, L = 8, data 33 33 34 33 | 75 39 45 33
    # CS: 0xFF (header) + 0x91 + 0x08 = 0x198 ; data 0x33+0x33+0x34+0x33 = 0xCD,
    # 0x75+0x39+0x45+0x33 = 0x126 ; 0x198 + 0xCD + 0x126 = 0x38B -> 0x8B.
    reply = bytes.fromhex("68 25 04 03 02 01 00 68 91 08 33 33 34 33 75 39 45 33 8B 16")
    f = dlt645.decode_frame(b"\xfe\xfe" + reply)
    dlt645.check_reply(f, ADDRESS, Function.READ, 0x00010000)
    payload = f.data[4:]
    # 75 39 45 33 - 0x33 = 42 06 12 00 (low byte first) -> 00 12 06 42 -> 001206.42
    assert payload == bytes([0x42, 0x06, 0x12, 0x00])
    ckwh = DEFAULT_TABLE.decode(0x00010000, payload)
    assert ckwh == 120642  # centi-kWh, m2c's energy unit
    assert DEFAULT_TABLE.text(0x00010000, ckwh) == "1206.42 kWh"
    assert dlt645.encode_frame(dlt645.read_reply(ADDRESS, 0x00010000, payload), 0) == reply


def test_address_forms():
    assert dlt645.normalize_address(102030425) == ADDRESS
    assert dlt645.normalize_address("102030425") == ADDRESS
    assert dlt645.address_to_wire(ADDRESS) == bytes([0x25, 0x04, 0x03, 0x02, 0x01, 0x00])
    assert dlt645.address_to_wire(dlt645.BROADCAST) == b"\x99" * 6
    assert dlt645.address_matches("AAAAAAAAAA25", ADDRESS)
    assert not dlt645.address_matches("AAAAAAAAAA26", ADDRESS)
    with pytest.raises(ValueError, match="BCD"):
        dlt645.normalize_address("00000000000A")
    with pytest.raises(AddressFormatError):
        dlt645.address_from_wire(bytes([0x1F, 0, 0, 0, 0, 0]))


def test_control_bits():
    f = Frame(ADDRESS, 0x80 | 0x40 | 0x20 | 0x11)
    assert f.is_reply and f.is_abnormal and f.has_follow and f.function == 0x11


def test_control_request_layout():
    until = dt.datetime(2024, 3, 15, 10, 35, 0)
    f = dlt645.control_request(ADDRESS, RelayAction.TRIP, Password(2, "123456"), "12345678", until)
    # PA P0 P1 P2 | C0..C3 | N1 N2 | ss mm hh DD MM YY  = 16 bytes
    assert f.data == bytes.fromhex("02 56 34 12 78 56 34 12 1A 00 00 35 10 15 03 24")
    assert f.control == 0x1C
    wire = dlt645.encode_frame(f, 0)
    assert wire[9] == 16 and wire[10] == (0x02 + 0x33)  # L, PA offset by 0x33


def test_broadcast_time_layout():
    f = dlt645.broadcast_time_request(dt.datetime(2024, 12, 31, 23, 59, 58))
    assert f.address == "999999999999" and f.control == 0x08
    assert f.data == bytes.fromhex("58 59 23 31 12 24")
    assert dlt645.datetime_from_bcd(f.data) == dt.datetime(2024, 12, 31, 23, 59, 58)


def test_password_is_masked():
    p = Password(2, "123456")
    assert "123456" not in repr(p) and "123456" not in str(p)
    assert "123456" not in repr(
        dlt645.control_request(
            ADDRESS, RelayAction.TRIP, p, "00000000", dt.datetime(2024, 1, 1)
        ).data.hex()
    )
    assert Password.from_bytes(p.to_bytes()) == p


# --- error replies ---------------------------------------------------------------


@pytest.mark.parametrize(
    "function", [Function.READ, Function.READ_FOLLOW, Function.WRITE, Function.CONTROL]
)
@pytest.mark.parametrize("flag", list(ErrorFlag))
def test_every_error_reply(function, flag):
    f = dlt645.decode_frame(dlt645.encode_frame(dlt645.error_reply(ADDRESS, function, flag)))
    assert f.control == function | 0xC0  # e.g. 11H -> D1H, 1CH -> DCH
    with pytest.raises(MeterReplyError) as info:
        dlt645.check_reply(f, ADDRESS, function, 0x00010000)
    assert info.value.flags == flag and info.value.address == ADDRESS
    assert ADDRESS in str(info.value) and flag.name in str(info.value)


def test_reply_checks():
    good = dlt645.read_reply(ADDRESS, 0x00010000, b"\x00" * 4)
    dlt645.check_reply(good, ADDRESS, Function.READ, 0x00010000)
    with pytest.raises(AddressMismatchError):
        dlt645.check_reply(good, "000102030426", Function.READ, 0x00010000)
    with pytest.raises(UnexpectedReplyError, match="DI 00010000"):
        dlt645.check_reply(good, ADDRESS, Function.READ, 0x00020000)
    with pytest.raises(UnexpectedReplyError):
        dlt645.check_reply(dlt645.read_request(ADDRESS, 0x00010000), ADDRESS, Function.READ)
    # wildcard request accepts the one meter that answers
    dlt645.check_reply(good, "AAAAAAAAAAAA", Function.READ, 0x00010000)


@pytest.mark.parametrize(
    ("raw", "error"),
    [
        (REQUEST[:-1], TruncatedFrameError),
        (REQUEST[:-2] + bytes([0xE2, 0x16]), ChecksumError),
        (REQUEST[:-1] + b"\x17", DelimiterError),
        (b"\x69" + REQUEST[1:], DelimiterError),
        (REQUEST + b"\x00", LengthError),
        (b"\xfe" * 5 + REQUEST, DelimiterError),
        (b"", TruncatedFrameError),
    ],
)
def test_decode_errors_are_typed(raw, error):
    with pytest.raises(error):
        dlt645.decode_frame(raw)


# --- round trips (hypothesis) ------------------------------------------------------

addresses = st.lists(st.integers(0, 99), min_size=6, max_size=6).map(
    lambda xs: "".join(f"{x:02d}" for x in xs)
)
frames = st.builds(Frame, addresses, st.integers(0, 255), st.binary(max_size=200))


@given(frames, st.integers(0, 4))
def test_frame_round_trip(frame, preamble):
    assert dlt645.decode_frame(dlt645.encode_frame(frame, preamble)) == frame


@given(st.lists(frames, min_size=1, max_size=5), st.data())
@settings(max_examples=100)
def test_stream_round_trip_with_splits_and_garbage(fs, data):
    # garbage without 0x68 between frames, then the stream cut at random points
    noise = st.binary(max_size=8).map(lambda b: bytes(x for x in b if x != 0x68))
    wire = b"".join(data.draw(noise) + dlt645.encode_frame(f, 2) for f in fs)
    cuts = sorted(data.draw(st.lists(st.integers(0, len(wire)), max_size=6)))
    d = StreamDecoder()
    out = []
    for a, b in zip([0, *cuts], [*cuts, len(wire)], strict=True):
        out += d.feed(wire[a:b])
    assert out == fs


def test_stream_resynchronises_after_a_fake_header():
    # garbage that looks like a header (68 .. 68 C L) followed by a real frame:
    # the fake header claims L = 3; the bytes that follow fail its checksum,
    # the decoder drops one byte and finds the real frame.
    real = dlt645.encode_frame(dlt645.read_request(ADDRESS, 0x00010000), 0)
    fake = bytes([0x68, 1, 2, 3, 4, 5, 6, 0x68, 0x91, 3])
    d = StreamDecoder()
    assert d.feed(fake + real) == [dlt645.decode_frame(real)]
    assert any(isinstance(e, ProtocolError) for e in d.errors)


def test_stream_split_byte_by_byte():
    wire = b"\x00\x16\xfe" + dlt645.encode_frame(
        dlt645.read_reply(ADDRESS, 0x00010000, b"\x42\x06\x12\x00")
    )
    d = StreamDecoder()
    frames_out = [f for byte in wire for f in d.feed(bytes([byte]))]
    assert len(frames_out) == 1 and frames_out[0].data[4:] == b"\x42\x06\x12\x00"
    assert d.skipped == 3 + 4  # 00 16 FE garbage + 4 FE preamble bytes


# --- fuzz ------------------------------------------------------------------------------


def _pool(n: int, seed: int) -> np.ndarray:
    """n random bytes from the project's counter-based RNG (reproducible)."""
    u = rng.uniform_array(seed, np.arange(n, dtype=np.int64), 0, rng.purpose("test.fuzz"))
    return (u * 256).astype(np.uint8)


def test_decoder_fuzz_only_typed_errors():
    """>= 100 000 random and mutated frames: decode_frame, StreamDecoder and the
    reply checks raise only ProtocolError subclasses (never IndexError/ValueError)."""
    n_frames = 100_000
    pool = _pool(4_000_000, 2024).tobytes()
    templates = [
        dlt645.encode_frame(dlt645.read_reply(ADDRESS, 0x00010000, b"\x42\x06\x12\x00")),
        dlt645.encode_frame(dlt645.read_reply(ADDRESS, 0x0001FF00, bytes(20)), 0),
        dlt645.encode_frame(dlt645.error_reply(ADDRESS, 0x1C, 0x04), 1),
        REQUEST,
        dlt645.encode_frame(dlt645.address_reply(ADDRESS), 0),
    ]
    p = 0
    valid = typed = 0
    stream = StreamDecoder()
    for i in range(n_frames):
        a, b, c = pool[p], pool[p + 1], pool[p + 2]
        p += 3
        if i % 4 == 0:  # purely random bytes, 0..63 long, half of them starting 68
            n = a % 64
            raw = bytearray(pool[p : p + n])
            p += n
            if b & 1 and raw:
                raw[0] = 0x68
        else:  # a valid frame, mutated
            raw = bytearray(templates[a % len(templates)])
            kind = b % 5
            pos = c % len(raw)
            if kind == 0:
                raw[pos] ^= pool[p] | 1
            elif kind == 1:
                del raw[pos:]
            elif kind == 2:
                raw[pos:pos] = pool[p : p + 1 + pool[p + 1] % 8]
            elif kind == 3:
                k = raw.find(0x68) + 9  # the length byte L
                if 9 <= k < len(raw):
                    raw[k] = pool[p]
            else:
                del raw[pos]
            p += 10
        if p > len(pool) - 200:
            p = 0
        try:
            f = dlt645.decode_frame(bytes(raw))
            valid += 1
            try:
                dlt645.check_reply(f, ADDRESS, Function.READ, 0x00010000)
                DEFAULT_TABLE.decode(0x00010000, f.data[4:])
            except ProtocolError:
                typed += 1
        except ProtocolError:
            typed += 1
        stream.feed(bytes(raw))  # must never raise
    assert valid + typed >= n_frames
    assert 0 < valid < n_frames  # the mutations produce both outcomes
    assert all(isinstance(e, DeviceError) for e in stream.errors)
