"""Benchmark suites skip, with the reason, when pytest-benchmark is disabled.

The project's pytest ``addopts`` carry ``--benchmark-disable`` so that the
test suite does not time anything; a benchmark then gets no ``stats``, and
the suites' ratios to their same-run baselines cannot be computed. Under a
plain ``pytest bench`` every test that uses the ``benchmark`` fixture is
therefore skipped, never crashed; ``m2c bench`` (or ``--benchmark-enable``)
runs them.
"""

from __future__ import annotations

import pytest

SKIP_REASON = "benchmarks disabled: run `m2c bench` or pytest --benchmark-enable"


def benchmarks_disabled(config: pytest.Config) -> bool:
    """pytest-benchmark's own verdict (options, xdist), or True when it is not loaded."""
    session = getattr(config, "_benchmarksession", None)
    return True if session is None else bool(session.disabled)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark every test that uses the ``benchmark`` fixture as skipped when benchmarks are off."""
    if not benchmarks_disabled(config):
        return
    skip = pytest.mark.skip(reason=SKIP_REASON)
    for item in items:
        if "benchmark" in getattr(item, "fixturenames", ()):
            item.add_marker(skip)
