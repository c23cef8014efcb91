"""Fault injection: a transport wrapper that drops, delays, corrupts, pads and re-addresses frames.

:class:`FaultyTransport` wraps any :class:`~m2c.devices.transport.Transport`
and acts on whole DL/T 645 frames in both directions: a request written by
the client (direction 0) and each reply frame read back (direction 1). Every
decision is a draw from the counter-based generator of ``m2c.core.rng`` keyed
by (seed, frame sequence number, direction, fault kind), so a campaign with
the same seed and the same traffic injects exactly the same faults.

Faults, each with its own rate per frame (:class:`FaultRates`):

* ``drop`` - the frame vanishes (a request never reaches the bus, a reply is lost);
* ``delay`` - the frame is held back ``delay_s`` seconds;
* ``garbage`` - 1..8 random bytes are inserted before the frame (line noise);
* ``corrupt`` - one byte of the frame is XOR-ed with a non-zero value;
* ``wrong_address`` - a reply is re-addressed to the next meter address with
  a valid checksum, as if another meter had answered (replies only).

A client must survive all of them: the checksum catches every single-byte
corruption, the address check rejects re-addressed replies, timeouts and
retries cover drops (tests/devices/test_faults.py runs the campaign).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from m2c.core import rng
from m2c.devices.dlt645 import framing
from m2c.devices.errors import ProtocolError, SettingsError
from m2c.devices.transport import Transport

_TAGS = {
    k: rng.purpose(f"devices.fault.{k}")
    for k in ("drop", "delay", "garbage", "corrupt", "wrong_address", "detail")
}


@dataclass(frozen=True)
class FaultRates:
    """Probability of each fault per frame (0..1), and the delay of a delayed frame.

    Examples
    --------
    >>> FaultRates(drop=0.10, corrupt=0.01).drop
    0.1
    """

    drop: float = 0.0
    corrupt: float = 0.0
    garbage: float = 0.0
    delay: float = 0.0
    wrong_address: float = 0.0
    delay_s: float = 0.0

    def __post_init__(self) -> None:
        for name in ("drop", "corrupt", "garbage", "delay", "wrong_address"):
            v = getattr(self, name)
            if not 0.0 <= v <= 1.0:
                raise SettingsError(f"fault rate {name}={v!r}: expected a probability in 0..1")
        if self.delay_s < 0:
            raise SettingsError(f"delay_s={self.delay_s!r}: expected seconds >= 0")


@dataclass
class FaultyTransport:
    """Wrap ``inner`` and inject :class:`FaultRates` faults, reproducibly from ``seed``.

    Parameters
    ----------
    inner : Transport
        The real transport.
    rates : FaultRates
        Fault probabilities per frame.
    seed : int
        Key of the counter-based RNG; same seed + same traffic = same faults.

    Attributes
    ----------
    counts : dict[str, int]
        How many of each fault were injected, plus ``"frames"`` seen.
    """

    inner: Transport
    rates: FaultRates
    seed: int = 0
    counts: dict[str, int] = field(
        default_factory=lambda: dict.fromkeys(
            ("frames", "drop", "delay", "garbage", "corrupt", "wrong_address"), 0
        )
    )
    _seq: int = 0
    _rx: bytearray = field(default_factory=bytearray)

    @property
    def url(self) -> str:
        """The wrapped transport's URL (fault injection does not make a port real)."""
        return self.inner.url

    @property
    def synchronous(self) -> bool:
        """As the wrapped transport."""
        return self.inner.synchronous

    def _draw(self, kind: str, seq: int, direction: int, k: int = 0) -> float:
        return rng.uniform(self.seed, seq, direction, _TAGS[kind], k)

    def _hit(self, kind: str, seq: int, direction: int) -> bool:
        rate = getattr(self.rates, kind)
        return rate > 0 and self._draw(kind, seq, direction) < rate

    def _apply(self, frame: bytes, direction: int) -> bytes | None:
        seq = self._seq
        self._seq += 1
        self.counts["frames"] += 1
        if self._hit("drop", seq, direction):
            self.counts["drop"] += 1
            return None
        out = bytearray(frame)
        if direction == 1 and self._hit("wrong_address", seq, direction):
            out = bytearray(self._readdress(bytes(out)))
        if self._hit("corrupt", seq, direction) and out:
            self.counts["corrupt"] += 1
            pos = int(self._draw("detail", seq, direction, 0) * len(out))
            out[pos] ^= 1 + int(self._draw("detail", seq, direction, 1) * 255)
        if self._hit("garbage", seq, direction):
            self.counts["garbage"] += 1
            n = 1 + int(self._draw("detail", seq, direction, 2) * 8)
            noise = bytes(int(self._draw("detail", seq, direction, 10 + i) * 256) for i in range(n))
            out[:0] = noise
        if self._hit("delay", seq, direction):
            self.counts["delay"] += 1
            if self.rates.delay_s > 0:
                time.sleep(self.rates.delay_s)
        return bytes(out)

    def _readdress(self, raw: bytes) -> bytes:
        try:
            start = raw.index(framing.START)
            frame = framing.decode_frame(raw[start:])
        except (ValueError, ProtocolError):
            return raw  # not a clean frame: nothing to re-address
        if "AA" in frame.address:
            return raw
        other = f"{(int(frame.address) + 1) % 10**12:012d}"
        self.counts["wrong_address"] += 1
        fake = framing.Frame(other, frame.control, frame.data)
        return raw[:start] + framing.encode_frame(fake, preamble=0)

    # --- Transport -------------------------------------------------------------

    def write(self, data: bytes) -> None:
        """Forward a request, perhaps damaged, perhaps not at all."""
        out = self._apply(bytes(data), 0)
        if out is not None:
            self.inner.write(out)

    def read(self, timeout: float) -> bytes:
        """Read from the wrapped transport; apply faults to each complete reply frame."""
        self._rx += self.inner.read(timeout)
        frames, rest = framing.split_frames(self._rx)
        self._rx = bytearray(rest)
        out = bytearray()
        for f in frames:
            damaged = self._apply(f, 1)
            if damaged is not None:
                out += damaged
        return bytes(out)

    def reset_input(self) -> None:
        """Drop buffered input here and below."""
        self._rx.clear()
        self.inner.reset_input()

    def close(self) -> None:
        """Close the wrapped transport."""
        self.inner.close()
