"""The installed layout matches the folders: every sub-package is declared."""

from __future__ import annotations

import importlib
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MAPPING = {
    "core": "m2c.core",
    "sim": "m2c.sim",
    "devices": "m2c.devices",
    "scenarios": "m2c.scenarios",
    "cli": "m2c.cli",
}


def _declared() -> set[str]:
    cfg = tomllib.loads((ROOT / "pyproject.toml").read_text())
    return set(cfg["tool"]["setuptools"]["packages"])


def test_every_subpackage_is_declared_in_pyproject():
    on_disk = set()
    for folder, dotted in MAPPING.items():
        for init in (ROOT / folder).rglob("__init__.py"):
            rel = init.parent.relative_to(ROOT / folder).parts
            on_disk.add(".".join((dotted, *rel)))
    assert on_disk - _declared() == set(), "add these to [tool.setuptools] packages"
    assert _declared() - on_disk == set(), "declared packages with no folder"


def test_package_dir_maps_namespace_to_top_level_folders():
    cfg = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert cfg["tool"]["setuptools"]["package-dir"] == {v: k for k, v in MAPPING.items()}
    assert cfg["project"]["scripts"]["m2c"] == "m2c.cli:main"
    module, _, func = cfg["project"]["scripts"]["m2c"].partition(":")
    assert callable(getattr(importlib.import_module(module), func))


def test_public_names_import_and_are_unique():
    for name in ("m2c.core",):
        module = importlib.import_module(name)
        exported = list(module.__all__)
        assert len(exported) == len(set(exported)), f"{name}.__all__ lists a name twice"
        assert exported == sorted(exported), f"{name}.__all__ is not sorted"
        for attr in exported:
            assert getattr(module, attr) is not None
