"""Telling differences apart: noise (the same path also differs between two runs of one
path), expected (explained by the divergence registry), unexpected (everything else), and
a scenario's verdict."""

from __future__ import annotations

from typing import Any

from harness.diff import diff
from harness.registry import Registry

NOISE, EXPECTED, UNEXPECTED = "noise", "expected", "unexpected"


def noise_paths(runs: list[list[dict[str, Any]]]) -> set[str]:
    """Paths whose value changed between repeats of one path: not the path's behaviour, but
    non-determinism (random values, timing)."""
    found: set[str] = set()
    for other in runs[1:]:
        found.update(d.path for d in diff({"steps": runs[0]}, {"steps": other}))
    return found


def classify(scenario_id: str, legacy: list[dict[str, Any]], convergence: list[dict[str, Any]],
             noise: set[str], registry: Registry) -> list[dict[str, Any]]:
    result = []
    for d in diff({"steps": legacy}, {"steps": convergence}):
        entry = None
        if d.path in noise:
            kind, reason = NOISE, "also differs between two runs of the same path"
        else:
            entry = registry.explain(scenario_id, d.path, d.left, d.right)
            kind, reason = (EXPECTED, entry.reason) if entry else (UNEXPECTED, None)
        result.append({"path": d.path, "legacy": d.left, "convergence": d.right,
                       "class": kind, "reason": reason,
                       "entry": entry.index if entry else None})
    return result


def verdict(statuses: dict[str, str], declared: list[str],
            differences: list[dict[str, Any]]) -> str:
    if "error" in statuses.values():
        return "error"
    if "failed" in statuses.values():
        return "failed"
    if len(declared) == 1:
        return "path-specific"
    classes = {d["class"] for d in differences}
    if UNEXPECTED in classes:
        return "unexpected-divergence"
    if EXPECTED in classes:
        return "expected-divergence"
    return "parity"
