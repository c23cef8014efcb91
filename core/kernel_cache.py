"""Where Numba keeps m2c's compiled kernels: a folder keyed by the source of m2c's code.

Numba's on-disk cache (``cache=True``) checks only the file that defines a
kernel. A kernel that inlines functions from other modules - ``fleet_day`` in
sim/rules/day.py inlines the slot, payment, dunning and month-end rules; the
billing runs inline core/units.py - keeps running the old machine code after
those modules change, silently: seen in development, a credit_driven year gave
a per-customer recovery rate of 3.6 % instead of 97 % from a stale cache.

:func:`use_source_keyed_cache` points Numba at a cache folder named by a hash
of every ``.py`` file of ``m2c.core``, ``m2c.sim`` and ``m2c.devices``, so any
edit (or another m2c version) compiles afresh, while unchanged code reuses its
kernels across processes (tests, Dask workers). It must run before the first
``@njit(cache=True)`` decorator executes: ``m2c.core``'s ``__init__`` calls it
first thing, and every kernel module imports ``m2c.core``.

The folder is ``$NUMBA_CACHE_DIR/m2c-<key>`` when the user set
``NUMBA_CACHE_DIR``, else ``$XDG_CACHE_HOME/m2c/numba/<key>`` (``~/.cache``
by default); if it cannot be created, Numba's own default (``__pycache__``
next to the sources) is left in place. Each use marks the folder as used (its
modification time); folders of other keys unused for :data:`STALE_DAYS` days
(older m2c versions, edited sources: ~7 MB each) are removed.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import time
from pathlib import Path

import numba

#: The m2c packages whose sources key the cache (those with Numba kernels or inlined helpers).
PACKAGES = ("core", "sim", "devices")
#: Days after which another key's folder that nobody used is removed.
STALE_DAYS = 14


def source_key(root: Path, packages: tuple[str, ...] = PACKAGES) -> str:
    """16 hex digits of BLAKE2b over the relative paths and bytes of ``root/<package>/**.py``."""
    h = hashlib.blake2b(digest_size=8)
    for pkg in packages:
        for path in sorted((root / pkg).rglob("*.py")):
            h.update(path.relative_to(root).as_posix().encode())
            h.update(b"\0")
            h.update(path.read_bytes())
            h.update(b"\0")
    return h.hexdigest()


def cache_folder(key: str, environ: os._Environ | dict = os.environ) -> Path:
    """The cache folder for ``key`` (see the module notes for the rule)."""
    user = environ.get("NUMBA_CACHE_DIR")
    if user:
        return Path(user) / f"m2c-{key}"
    base = environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "m2c" / "numba" / key


def use_source_keyed_cache() -> Path | None:
    """Point ``numba.config.CACHE_DIR`` at this source's folder; return it (None: unchanged)."""
    root = Path(__file__).resolve().parent.parent  # the folder holding core/, sim/, devices/
    folder = cache_folder(source_key(root))
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError:
        return None  # read-only home: Numba's default (__pycache__ next to the sources)
    numba.config.CACHE_DIR = str(folder)
    prune_stale(folder)
    return folder


def prune_stale(folder: Path, days: float = STALE_DAYS) -> list[Path]:
    """Mark ``folder`` as used now and remove its sibling key folders (same naming:
    ``m2c-*`` under ``NUMBA_CACHE_DIR``, any under ``.../m2c/numba``) unused for
    ``days`` days; returns those removed. Never raises: a folder another process
    is using has a recent time and stays."""
    removed: list[Path] = []
    try:
        os.utime(folder)
        cutoff = time.time() - days * 86400
        pattern = "m2c-*" if folder.name.startswith("m2c-") else "*"
        for sib in folder.parent.glob(pattern):
            if sib != folder and sib.is_dir() and sib.stat().st_mtime < cutoff:
                shutil.rmtree(sib, ignore_errors=True)
                removed.append(sib)
    except OSError:
        pass
    return removed
