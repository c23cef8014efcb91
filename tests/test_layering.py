"""Data flows one way: core <- sim, core <- devices; devices never imports sim; nothing imports cli.

Two checks: a static scan of every import statement (catches imports inside
functions too), and a runtime check that importing every module of a package
loads no forbidden package. ``cli`` (the ``m2c`` command) may import
everything, and no package, ``bench`` included, may import it.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
FORBIDDEN = {
    "core": ("sim", "devices", "cli"),
    "devices": ("sim", "cli"),
    "sim": ("cli",),
    "bench": ("cli",),
}


def _imported_names(path: Path) -> list[tuple[int, str]]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    names = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names += [(node.lineno, a.name) for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.append((node.lineno, node.module))
        elif (
            isinstance(node, ast.ImportFrom)
            and node.level > 0
            and node.level > 1 + len(path.relative_to(ROOT).parts) - 2
        ):
            # relative imports climbing out of the package are forbidden outright
            names.append((node.lineno, "." * node.level + (node.module or "")))
    return names


def _violations(package: str) -> list[str]:
    found = []
    for path in sorted((ROOT / package).rglob("*.py")):
        for line, name in _imported_names(path):
            for target in FORBIDDEN[package]:
                if name in (f"m2c.{target}", target) or name.startswith(
                    (f"m2c.{target}.", f"{target}.")
                ):
                    found.append(f"{path.relative_to(ROOT)}:{line} imports {name}")
    return found


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_no_forbidden_imports_static(package):
    assert _violations(package) == []


def test_scanner_catches_a_violation(tmp_path, monkeypatch):
    """The scan itself must be able to fail."""
    fake = tmp_path / "core"
    fake.mkdir()
    (fake / "bad.py").write_text("def f():\n    from m2c.sim import cli\n")
    monkeypatch.setattr(sys.modules[__name__], "ROOT", tmp_path)
    assert _violations("core") == ["core/bad.py:2 imports m2c.sim"]


def test_scanner_catches_an_import_of_cli(tmp_path, monkeypatch):
    """``sim`` importing the command line (at any depth, any spelling) is caught."""
    fake = tmp_path / "sim" / "hil"
    fake.mkdir(parents=True)
    (fake / "bad.py").write_text(
        "import m2c.cli.errors\nfrom m2c.cli import app\nfrom m2c.climate import x\n"
    )
    monkeypatch.setattr(sys.modules[__name__], "ROOT", tmp_path)
    assert _violations("sim") == [
        "sim/hil/bad.py:1 imports m2c.cli.errors",
        "sim/hil/bad.py:2 imports m2c.cli",
    ]


@pytest.mark.parametrize("package", sorted(set(FORBIDDEN) - {"bench"}))
def test_no_forbidden_modules_loaded_at_runtime(package):
    modules = [
        "m2c." + ".".join(p.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")
        for p in sorted((ROOT / package).rglob("*.py"))
    ]
    code = (
        "import importlib, sys\n"
        f"for m in {modules!r}:\n    importlib.import_module(m)\n"
        f"bad = [m for m in sys.modules if m.split('.')[:2] in "
        f"{[['m2c', t] for t in FORBIDDEN[package]]!r}]\n"
        "print(sorted(bad))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=300, check=True
    )
    assert out.stdout.strip() == "[]"
