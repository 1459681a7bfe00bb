"""Telling differences apart: noise (the same path also differs between two runs of one
path), expected (explained by the divergence registry), unexpected (everything else), and
a scenario's verdict."""

from __future__ import annotations

from typing import Any

from harness.experiment.diff import diff
from harness.experiment.divergence_registry import Registry
from reports.verdicts import (
    ERROR,
    EXPECTED_DIVERGENCE,
    FAILED,
    PARITY,
    PATH_SPECIFIC,
    UNEXPECTED_DIVERGENCE,
)

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
    # a path's own status (passed | failed | error) names the verdict it leads to
    if ERROR in statuses.values():
        return ERROR
    if FAILED in statuses.values():
        return FAILED
    if len(declared) == 1:
        return PATH_SPECIFIC
    classes = {d["class"] for d in differences}
    if UNEXPECTED in classes:
        return UNEXPECTED_DIVERGENCE
    if EXPECTED in classes:
        return EXPECTED_DIVERGENCE
    return PARITY
