"""Fixtures shared by the test packages."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator

import pytest


@contextlib.contextmanager
def _emulator_process(*options: str) -> Iterator[str]:
    """Run ``m2c emulate OPTIONS`` as its own process; yield the pty path it prints."""
    cmd = [sys.executable, "-c", "from m2c.cli import main; main()", "emulate", *options]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        path = proc.stdout.readline().strip()
        assert path.startswith("/dev/"), proc.stderr.read() if proc.poll() is not None else path
        yield path
    finally:
        proc.send_signal(signal.SIGINT)  # Ctrl-C: the emulator stops cleanly, status 0
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait(timeout=5)
    assert proc.returncode == 0, proc.stderr.read()


@pytest.fixture
def emulator_process() -> Callable[..., contextlib.AbstractContextManager[str]]:
    """``with emulator_process("--meters", "3") as path:`` - an emulator in another process."""
    return _emulator_process
