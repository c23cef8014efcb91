"""Atomic file writes: a temporary file in the target folder, then a rename.

A run killed mid-write leaves either the old file or the new one, never a
half-written Parquet file that a resumed comparison would trust.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq


def write_atomic(path: str | Path, write: Callable[[str], None]) -> Path:
    """Call ``write(tmp_path)`` then rename ``tmp_path`` onto ``path``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        write(tmp)
        os.chmod(tmp, 0o644)  # mkstemp creates 0600; results are meant to be shared
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return path


def write_table(table: pa.Table, path: str | Path) -> Path:
    """Write a table as Parquet (``.parquet``) or CSV (``.csv``), atomically."""
    suffix = Path(path).suffix
    if suffix == ".parquet":
        return write_atomic(path, lambda tmp: pq.write_table(table, tmp))
    if suffix == ".csv":
        return write_atomic(path, lambda tmp: pacsv.write_csv(table, tmp))
    raise ValueError(f"{path}: expected a .parquet or .csv file name")


def write_text(path: str | Path, text: str) -> Path:
    """Write text (UTF-8) atomically."""

    def _write(tmp: str) -> None:
        with open(tmp, "w", encoding="utf-8") as f:
            f.write(text)

    return write_atomic(path, _write)


def write_json(path: str | Path, obj: Any) -> Path:
    """Write JSON (sorted keys, indented) atomically."""
    return write_text(path, json.dumps(obj, indent=2, sort_keys=True, default=str) + "\n")


def check_output_file(path: str | Path, suffixes: tuple[str, ...] = (".parquet", ".csv")) -> Path:
    """Check, before any work, that ``path`` can receive a table; return it.

    Raises
    ------
    ValueError
        Naming the path when its suffix is not one of ``suffixes``, it is a
        folder, or its folder cannot be created or written.
    """
    path = Path(path)
    if path.suffix not in suffixes:
        raise ValueError(f"--out {path}: expected a file name ending in {' or '.join(suffixes)}")
    if path.is_dir():
        raise ValueError(f"--out {path}: is a folder; expected a file name")
    for up in (path.parent, *path.parent.parents):
        if up.exists() and not up.is_dir():
            raise ValueError(f"--out {path}: {up} is a file, not a folder")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
        os.close(fd)
        os.unlink(tmp)
    except OSError as exc:
        raise ValueError(f"--out {path}: cannot write in {path.parent} ({exc.strerror})") from None
    return path
