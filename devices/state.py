"""Meter state behind emulators: the :class:`StateProvider` protocol and an in-memory store.

An emulator (DL/T 645 or Modbus) answers from a state provider, so the same
bus can serve a static file, synthetic arrays, or (from ``m2c.sim``) the
simulation's own fleet arrays. A provider indexes meters ``0..N-1`` and
speaks m2c units (core/units.py): energy in centi-kWh, money in fen, power
in watts; instantaneous values in decivolts, milliamps and thousandths.

To plug in another source, implement the methods of :class:`StateProvider`
(structural typing: no base class needed). :class:`InMemoryState` is the
reference implementation, backed by NumPy arrays, loadable from and savable
to a JSON file (:meth:`InMemoryState.load`, :meth:`InMemoryState.save`).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import tempfile
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol, runtime_checkable

import numpy as np

from m2c.core import rng
from m2c.devices.errors import SettingsError

N_TARIFFS = 5  # index 0 = total, 1..4 = sharp, peak, flat, valley (DL/T 645 00 01 0T 00)


@dataclass(frozen=True)
class Measurements:
    """Instantaneous values of one meter (integers in register steps).

    Attributes
    ----------
    voltage_dv : tuple of 3 int
        Phase voltages A, B, C in decivolts (0.1 V).
    current_ma : tuple of 3 int
        Phase currents in milliamps (signed: negative = export).
    power_w : int
        Total active power in watts (signed).
    pf_milli : int
        Total power factor x 1000 (signed).
    frequency_chz : int
        Grid frequency in centi-hertz (5000 = 50.00 Hz).
    """

    voltage_dv: tuple[int, int, int] = (2200, 2200, 2200)
    current_ma: tuple[int, int, int] = (0, 0, 0)
    power_w: int = 0
    pf_milli: int = 1000
    frequency_chz: int = 5000


@runtime_checkable
class StateProvider(Protocol):
    """What an emulator asks about the meters it serves (an extension point).

    Methods are called from the emulator's server thread; implementations
    that share data with another thread guard it themselves.
    """

    def meter_count(self) -> int:
        """Number of meters, indexed ``0..N-1``."""
        ...

    def address(self, meter: int) -> str:
        """DL/T 645 address of ``meter`` (12 digits) - also its Modbus identity."""
        ...

    def energy_ckwh(self, meter: int, tariff: int = 0, reverse: bool = False) -> int:
        """Active energy register, centi-kWh; tariff 0 = total, 1..4 = tariffs."""
        ...

    def measurements(self, meter: int) -> Measurements:
        """Voltages, currents, power, power factor, frequency."""
        ...

    def relay_closed(self, meter: int) -> bool:
        """True when the supply relay is closed (customer supplied)."""
        ...

    def set_relay(self, meter: int, closed: bool) -> None:
        """Close or open (trip) the relay."""
        ...

    def clock(self, meter: int) -> dt.datetime:
        """The meter's own clock (may drift from the true time)."""
        ...

    def set_clock(self, meter: int, when: dt.datetime) -> None:
        """Set the meter's clock (write 04 00 01 01/02, broadcast 08H)."""
        ...

    def balance_fen(self, meter: int) -> int | None:
        """Prepaid balance in fen, or ``None`` for a meter without one."""
        ...


class InMemoryState:
    """Meters held in NumPy arrays; the reference :class:`StateProvider`.

    Parameters
    ----------
    addresses : sequence of str
        DL/T 645 addresses, 12 digits each, unique.
    energy_ckwh : ndarray, shape (N, 5), int64, optional
        Forward active energy [total, T1..T4], centi-kWh. Zeros if omitted.
    reverse_ckwh : ndarray, shape (N, 5), int64, optional
        Reverse active energy, centi-kWh.
    balance_fen : ndarray, shape (N,), int64, optional
        Prepaid balance in fen; ``np.iinfo(np.int64).min`` marks "no balance".
    now : callable, optional
        True time source; each meter's clock is ``now() + offset``.

    Examples
    --------
    >>> s = InMemoryState.synthetic(3, seed=1)
    >>> s.meter_count(), s.address(0)
    (3, '000000000001')
    """

    NO_BALANCE = np.iinfo(np.int64).min

    def __init__(
        self,
        addresses: Sequence[str],
        energy_ckwh: np.ndarray | None = None,
        reverse_ckwh: np.ndarray | None = None,
        balance_fen: np.ndarray | None = None,
        now: Callable[[], dt.datetime] | None = None,
    ):
        n = len(addresses)
        self.addresses = [str(a) for a in addresses]
        if len(set(self.addresses)) != n:
            raise SettingsError("meter addresses must be unique")
        self.energy = self._arr(energy_ckwh, (n, N_TARIFFS), "energy_ckwh")
        self.reverse = self._arr(reverse_ckwh, (n, N_TARIFFS), "reverse_ckwh")
        self.balance = (
            np.full(n, self.NO_BALANCE, np.int64)
            if balance_fen is None
            else self._arr(balance_fen, (n,), "balance_fen")
        )
        self.relay = np.ones(n, dtype=bool)
        self.clock_offset_s = np.zeros(n, dtype=np.float64)
        self.voltage_dv = np.full((n, 3), 2200, dtype=np.int64)
        self.current_ma = np.zeros((n, 3), dtype=np.int64)
        self.power_w = np.zeros(n, dtype=np.int64)
        self.pf_milli = np.full(n, 1000, dtype=np.int64)
        self.now = now or dt.datetime.now
        self.lock = threading.Lock()

    @staticmethod
    def _arr(a: np.ndarray | None, shape: tuple[int, ...], name: str) -> np.ndarray:
        if a is None:
            return np.zeros(shape, dtype=np.int64)
        out = np.array(a, dtype=np.int64)
        if out.shape != shape:
            raise SettingsError(f"{name}: expected shape {shape}, got {out.shape}")
        return out

    @classmethod
    def synthetic(cls, n: int, seed: int = 0, first_address: int = 1) -> InMemoryState:
        """``n`` meters with plausible registers drawn from core.rng (reproducible).

        Totals are 0..20 000 kWh split over four tariffs so that the tariff
        registers sum exactly to the total (as a real meter's do).
        """
        if n < 0:
            raise SettingsError(f"meter count {n}: expected >= 0")
        tag_e = rng.purpose("devices.synthetic.energy")
        tag_s = rng.purpose("devices.synthetic.split")
        energy = np.zeros((n, N_TARIFFS), dtype=np.int64)
        for m in range(n):
            total = int(rng.uniform(seed, m, 0, tag_e) * 2_000_000)  # up to 20 000 kWh
            w = np.array([rng.uniform(seed, m, 0, tag_s, k) + 0.05 for k in range(4)])
            parts = np.floor(w / w.sum() * total).astype(np.int64)
            parts[3] = total - parts[:3].sum()
            energy[m, 0] = total
            energy[m, 1:] = parts
        state = cls([f"{first_address + i:012d}" for i in range(n)], energy)
        state.current_ma[:] = (energy[:, :1] % 10_000) + 100
        state.power_w[:] = state.current_ma[:, 0] * 220 // 1000
        return state

    # --- StateProvider --------------------------------------------------------

    def meter_count(self) -> int:
        """Number of meters."""
        return len(self.addresses)

    def address(self, meter: int) -> str:
        """12-digit address."""
        return self.addresses[meter]

    def energy_ckwh(self, meter: int, tariff: int = 0, reverse: bool = False) -> int:
        """Energy register, centi-kWh."""
        return int((self.reverse if reverse else self.energy)[meter, tariff])

    def measurements(self, meter: int) -> Measurements:
        """Instantaneous values."""
        return Measurements(
            tuple(int(v) for v in self.voltage_dv[meter]),  # type: ignore[arg-type]
            tuple(int(v) for v in self.current_ma[meter]),  # type: ignore[arg-type]
            int(self.power_w[meter]),
            int(self.pf_milli[meter]),
        )

    def relay_closed(self, meter: int) -> bool:
        """Relay state."""
        return bool(self.relay[meter])

    def set_relay(self, meter: int, closed: bool) -> None:
        """Set the relay."""
        with self.lock:
            self.relay[meter] = closed

    def clock(self, meter: int) -> dt.datetime:
        """Meter clock."""
        return self.now() + dt.timedelta(seconds=float(self.clock_offset_s[meter]))

    def set_clock(self, meter: int, when: dt.datetime) -> None:
        """Set the meter clock (kept as an offset from the true time)."""
        with self.lock:
            self.clock_offset_s[meter] = (when - self.now()).total_seconds()

    def balance_fen(self, meter: int) -> int | None:
        """Prepaid balance or None."""
        b = int(self.balance[meter])
        return None if b == self.NO_BALANCE else b

    # --- files -----------------------------------------------------------------

    def save(self, path: str | Path) -> None:
        """Write the state as JSON (atomically: temp file + rename)."""
        meters = []
        for m in range(self.meter_count()):
            row: dict = {
                "address": self.addresses[m],
                "energy_ckwh": [int(v) for v in self.energy[m]],
                "reverse_ckwh": [int(v) for v in self.reverse[m]],
                "relay_closed": bool(self.relay[m]),
            }
            if self.balance_fen(m) is not None:
                row["balance_fen"] = self.balance_fen(m)
            meters.append(row)
        path = Path(path)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump({"meters": meters}, f, indent=1)
        os.replace(tmp, path)

    @classmethod
    def load(cls, path: str | Path) -> InMemoryState:
        """Read a JSON state file.

        Format: ``{"meters": [{"address": "000000000001", "energy_ckwh":
        [total, t1, t2, t3, t4], "reverse_ckwh": [...], "relay_closed": true,
        "balance_fen": 1234}, ...]}``; only ``address`` is required, and
        ``energy_kwh`` (a number, the total in kWh) may replace ``energy_ckwh``.

        Raises
        ------
        SettingsError
            Naming the file, the meter and the field that is wrong.
        """
        path = Path(path)
        try:
            doc = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as exc:
            raise SettingsError(f"{path}: cannot read state file: {exc}") from None
        rows = doc.get("meters") if isinstance(doc, dict) else None
        if not isinstance(rows, list):
            raise SettingsError(f'{path}: expected an object with a "meters" list')
        n = len(rows)
        energy = np.zeros((n, N_TARIFFS), np.int64)
        reverse = np.zeros((n, N_TARIFFS), np.int64)
        balance = np.full(n, cls.NO_BALANCE, np.int64)
        addresses, relay = [], np.ones(n, bool)
        for i, row in enumerate(rows):
            where = f"{path}: meters[{i}]"
            if not isinstance(row, dict) or "address" not in row:
                raise SettingsError(f'{where}: expected an object with an "address"')
            addresses.append(str(row["address"]).rjust(12, "0"))
            try:
                if "energy_ckwh" in row:
                    energy[i, : len(row["energy_ckwh"])] = row["energy_ckwh"]
                elif "energy_kwh" in row:
                    energy[i, 0] = round(float(row["energy_kwh"]) * 100)
                if "reverse_ckwh" in row:
                    reverse[i, : len(row["reverse_ckwh"])] = row["reverse_ckwh"]
                if "balance_fen" in row:
                    balance[i] = int(row["balance_fen"])
                relay[i] = bool(row.get("relay_closed", True))
            except (TypeError, ValueError) as exc:
                raise SettingsError(f"{where}: {exc}; expected integers (centi-kWh, fen)") from None
        state = cls(addresses, energy, reverse, balance)
        state.relay[:] = relay
        return state
