"""Sweep grids: ``--param key=v1,v2`` specs to a list of :class:`Point`.

A user-facing alias maps a short name to the scenario key (``prepaid.min_kva``
is ``meters.prepaid_min_kva`` in the scenario schema); the swept values are
recorded under the name the user typed.
"""

from __future__ import annotations

import itertools
from typing import Any

from m2c.sim.compare.runner import Point, safe_label

#: Friendly parameter names -> scenario keys.
ALIASES = {"prepaid.min_kva": "meters.prepaid_min_kva"}


def _value(text: str) -> Any:
    text = text.strip()
    for conv in (int, float):
        try:
            return conv(text)
        except ValueError:
            pass
    if text.lower() in ("true", "false"):
        return text.lower() == "true"
    return text


def parse_param(spec: str) -> tuple[str, list[Any]]:
    """Parse ``"KEY=V1,V2"``, e.g. ``"dunning.approval_days=1,3"`` -> ``(key, [1, 3])``."""
    name, sep, values = spec.partition("=")
    vals = [_value(v) for v in values.split(",") if v.strip()]
    if not sep or not name.strip() or not vals:
        raise ValueError(
            f"--param {spec!r}: expected KEY=V1,V2,... "
            "(e.g. dunning.disconnect_after_days=30,45,60)"
        )
    return name.strip(), vals


def sweep_points(scenario: str, params: list[str]) -> list[Point]:
    """The full grid over ``params`` (first parameter varies slowest), validated."""
    from m2c.sim.scenario import load_scenario

    if not params:
        raise ValueError("give at least one --param KEY=V1,V2,...")
    parsed = [parse_param(p) for p in params]
    names = [n for n, _ in parsed]
    if len(set(names)) != len(names):
        raise ValueError(f"--param: each key once, got {names}")
    points = []
    for combo in itertools.product(*(v for _, v in parsed)):
        chosen = dict(zip(names, combo, strict=True))
        overrides = {ALIASES.get(k, k): v for k, v in chosen.items()}
        load_scenario(scenario, overrides=overrides)  # a typo fails here, before any run
        label = safe_label("_".join(f"{k.rsplit('.', 1)[-1]}={v}" for k, v in chosen.items()))
        points.append(Point(label, str(scenario), overrides, chosen))
    return points
