"""Telling differences apart, and a scenario's verdict.

Between two repeats of one path: a difference in what the engine declares random (a
RandomString value and what flows from it; harness.experiment.normalize.mask_random) is
**noise**, anything else is **flaky**: the path disagrees with itself.
Between the two paths: noise again where only random values differ, **expected** where the
divergence registry explains it, **unexpected** everything else."""

from __future__ import annotations

from typing import Any

from harness.experiment.diff import diff
from harness.experiment.divergence_registry import Registry
from reports.verdicts import (
    ERROR,
    EXPECTED_DIVERGENCE,
    FAILED,
    FLAKY,
    PARITY,
    PATH_SPECIFIC,
    UNEXPECTED_DIVERGENCE,
)

NOISE, EXPECTED, UNEXPECTED = "noise", "expected", "unexpected"
NOISE_REASON = "only values the engine declares random (RandomString and what flows from it)"


def noise_paths(runs: list[list[dict[str, Any]]]) -> set[str]:
    """Paths whose value changed between repeats of one path (normalised, unmasked)."""
    found: set[str] = set()
    for other in runs[1:]:
        found.update(d.path for d in diff({"steps": runs[0]}, {"steps": other}))
    return found


def flaky_differences(engine: str, masked_runs: list[list[dict[str, Any]]]
                      ) -> list[dict[str, Any]]:
    """What differs between the first repeat of a path and another once random values are
    masked: one item per path, with the two values and the repeats they come from."""
    found: dict[str, dict[str, Any]] = {}
    for repeat, other in enumerate(masked_runs[1:], start=1):
        for d in diff({"steps": masked_runs[0]}, {"steps": other}):
            found.setdefault(d.path, {"engine": engine, "path": d.path,
                                      "values": [d.left, d.right], "repeats": [0, repeat]})
    return [found[p] for p in sorted(found)]


def flaky_statuses(engine: str, statuses: list[str]) -> list[dict[str, Any]]:
    """Repeats of one path that ended differently (one passed, one failed its
    expectations): the path disagrees with itself. A crash is an error, not this."""
    if len(set(statuses)) < 2 or ERROR in statuses:
        return []
    other = next(i for i, s in enumerate(statuses) if s != statuses[0])
    return [{"engine": engine, "path": "$.status", "values": [statuses[0], statuses[other]],
             "repeats": [0, other]}]


def classify(scenario_id: str, legacy: list[dict[str, Any]], convergence: list[dict[str, Any]],
             registry: Registry, masked: tuple[list[dict[str, Any]], list[dict[str, Any]]]
             | None = None) -> list[dict[str, Any]]:
    """The differences of the two paths' (normalised) runs. ``masked`` are the same runs
    with random values masked: a difference that vanishes there is noise."""
    real = None
    if masked is not None:
        real = {d.path: d for d in diff({"steps": masked[0]}, {"steps": masked[1]})}
    result = []
    seen = set()
    for d in diff({"steps": legacy}, {"steps": convergence}):
        seen.add(d.path)
        entry = None
        if real is not None and d.path not in real:
            kind, reason = NOISE, NOISE_REASON
        else:
            entry = registry.explain(scenario_id, d.path, d.left, d.right)
            kind, reason = (EXPECTED, entry.reason) if entry else (UNEXPECTED, None)
        result.append({"path": d.path, "legacy": d.left, "convergence": d.right,
                       "class": kind, "reason": reason,
                       "entry": entry.index if entry else None})
    # equal raw values whose sources differ (a copy of the other path's random string)
    for path, d in sorted((real or {}).items()):
        if path not in seen:
            entry = registry.explain(scenario_id, d.path, d.left, d.right)
            result.append({"path": d.path, "legacy": d.left, "convergence": d.right,
                           "class": EXPECTED if entry else UNEXPECTED,
                           "reason": entry.reason if entry else None,
                           "entry": entry.index if entry else None})
    return result


def verdict(statuses: dict[str, str], declared: list[str],
            differences: list[dict[str, Any]], flaky: bool = False) -> str:
    # a path's own status (passed | failed | error) names the verdict it leads to; a path
    # that disagrees with itself comes before what its (unreliable) runs say
    if ERROR in statuses.values():
        return ERROR
    if flaky:
        return FLAKY
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
