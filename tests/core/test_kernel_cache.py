"""The Numba cache folder is keyed by m2c's source, so an edited inlined rule is recompiled."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import numba

import m2c.core
from m2c.core.kernel_cache import PACKAGES, cache_folder, source_key

RULE = """
from numba import njit

@njit(inline="always")
def rule(x):
    return x + {k}
"""

KERNEL = """
from numba import njit
from pkg.rule import rule

@njit(cache=True)
def kernel(x):
    return rule(x)
"""

RUN = """
import sys
import numba
sys.path.insert(0, {root!r})
if {keyed}:
    from pathlib import Path
    from m2c.core.kernel_cache import cache_folder, source_key
    numba.config.CACHE_DIR = str(cache_folder(source_key(Path({root!r}), ("pkg",))))
from pkg.kernel import kernel
print(kernel(10))
"""


def _tree(root: Path, k: int) -> None:
    (root / "pkg").mkdir(exist_ok=True)
    (root / "pkg" / "__init__.py").write_text("")
    (root / "pkg" / "rule.py").write_text(RULE.format(k=k))
    (root / "pkg" / "kernel.py").write_text(KERNEL)


def _run(root: Path, cache: Path, keyed: bool) -> int:
    code = textwrap.dedent(RUN.format(root=str(root), keyed=keyed))
    # no .pyc: an edit within the same second and of the same size would load stale bytecode
    env = {"NUMBA_CACHE_DIR": str(cache), "PATH": "/usr/bin:/bin", "PYTHONDONTWRITEBYTECODE": "1"}
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    )
    return int(out.stdout.strip())


def test_an_edited_inlined_rule_is_recompiled(tmp_path):
    for keyed, expect_after_edit in ((False, 11), (True, 110)):
        root = tmp_path / f"keyed{keyed}"
        root.mkdir()
        _tree(root, 1)
        cache = tmp_path / f"cache{keyed}"
        assert _run(root, cache, keyed) == 11
        _tree(root, 100)  # edit only the inlined rule: kernel.py is unchanged
        # plain Numba reuses the stale machine code (11); the source-keyed folder recompiles (110)
        assert _run(root, cache, keyed) == expect_after_edit


def test_source_key_follows_content_and_path_only_of_the_packages(tmp_path):
    (tmp_path / "core").mkdir()
    (tmp_path / "tests").mkdir()
    (tmp_path / "core" / "a.py").write_text("x = 1\n")
    key = source_key(tmp_path, ("core",))
    assert len(key) == 16 and source_key(tmp_path, ("core",)) == key
    (tmp_path / "tests" / "t.py").write_text("y = 2\n")  # outside the packages
    assert source_key(tmp_path, ("core",)) == key
    (tmp_path / "core" / "a.py").write_text("x = 2\n")
    assert source_key(tmp_path, ("core",)) != key
    (tmp_path / "core" / "a.py").write_text("x = 1\n")
    assert source_key(tmp_path, ("core",)) == key
    (tmp_path / "core" / "a.py").rename(tmp_path / "core" / "b.py")  # same bytes, new name
    assert source_key(tmp_path, ("core",)) != key


def test_cache_folder_rule():
    assert cache_folder("abc", {"NUMBA_CACHE_DIR": "/x"}) == Path("/x/m2c-abc")
    assert cache_folder("abc", {"XDG_CACHE_HOME": "/c"}) == Path("/c/m2c/numba/abc")
    assert cache_folder("abc", {}) == Path.home() / ".cache" / "m2c" / "numba" / "abc"


def test_importing_m2c_core_selects_the_folder_of_this_source():
    root = Path(m2c.core.__file__).resolve().parent.parent
    assert str(cache_folder(source_key(root, PACKAGES))) == numba.config.CACHE_DIR


def test_stale_key_folders_are_pruned(tmp_path):
    """A used folder is kept and touched; another key's folder unused for more than
    STALE_DAYS days goes, a recent one stays; under NUMBA_CACHE_DIR only m2c-* siblings
    are considered (the user's other caches live there too)."""
    import os
    import time

    from m2c.core.kernel_cache import STALE_DAYS, prune_stale

    base = tmp_path / "m2c" / "numba"
    mine, old, recent = (base / k for k in ("aaaa", "bbbb", "cccc"))
    for f in (mine, old, recent):
        f.mkdir(parents=True)
        (f / "kernel.nbi").write_bytes(b"x")
    long_ago = time.time() - (STALE_DAYS + 1) * 86400
    for f in (mine, old):
        os.utime(f, (long_ago, long_ago))
    os.utime(recent, (time.time() - 86400,) * 2)
    assert prune_stale(mine) == [old]
    assert mine.exists() and recent.exists() and not old.exists()
    assert mine.stat().st_mtime > time.time() - 60  # marked as used

    user = tmp_path / "user_cache"
    other, stale_m2c, mine2 = user / "someone_else", user / "m2c-dddd", user / "m2c-eeee"
    for f in (other, stale_m2c, mine2):
        f.mkdir(parents=True)
        os.utime(f, (long_ago, long_ago))
    assert prune_stale(mine2) == [stale_m2c]
    assert other.exists() and mine2.exists()
