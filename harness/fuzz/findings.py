"""Findings as stories: a shrunk case written as a scenario file of our format under
``<findings>/found/``, its seed and what went wrong in the description, and an ``expect``
step after every step where an invariant broke (where the format can say it), so that
``dualpath run --scenarios <findings>`` replays it to the same verdict without the
fuzzer. ``replay`` runs it exactly so."""

from __future__ import annotations

import hashlib
import textwrap
from pathlib import Path
from typing import Any

from harness.fuzz import pipeline
from harness.fuzz.campaign import Found
from harness.fuzz.invariants import (
    COMPLETE_WITH_FAILED,
    CONVERGED,
    DELETED_LEAVES_NOTHING,
    INVARIANTS,
    PREFIX,
)
from harness.fuzz.oracle import OracleOptions
from harness.fuzz.story import dump, write

GROUP = "found"


def expectation(failure: dict[str, Any], target: str | None) -> dict[str, Any] | None:
    """The ``expect`` step that says, in our format, what a broken invariant says; None
    where the format has no words for it (events, when the cloud changed)."""
    invariant = failure["check"][len(PREFIX):]
    if invariant == DELETED_LEAVES_NOTHING:
        return {"stack": "DELETE_COMPLETE", "reality": {"count": 0}}
    if invariant in (CONVERGED, COMPLETE_WITH_FAILED):
        if target in (None, "<nothing>"):
            return {"reality": {"count": 0}}
        return {"converged": target}
    return None


def _expectations(found: Found) -> dict[int, dict[str, Any]]:
    """Step index -> the expect step to put after it."""
    by_step: dict[int, dict[str, Any]] = {}
    for result in found.judgement.item["engines"].values():
        for failure in result.get("failed_expectations") or []:
            if not failure["check"].startswith(PREFIX):
                continue
            expect = expectation(failure, failure.get("expected", {}).get("target")
                                 if isinstance(failure.get("expected"), dict) else None)
            if expect:
                by_step.setdefault(failure["step"], {}).update(expect)
    return by_step


def name_of(found: Found) -> str:
    digest = hashlib.sha256(" ".join(found.signature).encode()).hexdigest()[:8]
    return f"{found.signature[0].replace('-', '_')}_{digest}"


def describe(found: Found, campaign_seed: int, mutant: str | None) -> str:
    judgement = found.judgement
    lines = [f"Found by dualpath fuzz --seed {campaign_seed}"
             + (f" --mutant {mutant}" if mutant else "")
             + f" (round {found.round}, Hypothesis seed {found.round_seed}; first seen at "
             f"case {found.first_case}, after {found.first_after_s:.0f}s; shrunk over "
             f"{found.shrink_cases} cases): {judgement.verdict} on "
             f"{', '.join(judgement.paths())}."]
    lines.append(f"The story: {found.case.summary()}.")
    for path, what in judgement.issues():
        if what.startswith(PREFIX):
            name, _, where = what[len(PREFIX):].partition(" at ")
            what = f"{INVARIANTS.get(name, name)}: broken" + (f" at {where}" if where else "")
        lines.append(f"- {path}: {what}")
    return "\n".join(textwrap.fill(line, 92) for line in lines) + "\n"


def document(found: Found, campaign_seed: int, mutant: str | None) -> dict[str, Any]:
    doc = found.case.document(describe(found, campaign_seed, mutant),
                              tags=[found.judgement.verdict])
    extra = _expectations(found)
    steps = []
    for index, step in enumerate(doc["steps"]):
        steps.append(step)
        if index in extra:
            steps.append({"expect": extra[index]})
    doc["steps"] = steps
    return doc


def write_finding(found: Found, directory: Path, campaign_seed: int,
                  mutant: str | None = None) -> Path:
    return write(document(found, campaign_seed, mutant), directory, name_of(found), GROUP)


def replay(path: Path, options: OracleOptions) -> str:
    """The verdict ``dualpath run --scenarios <root> --scenario found/<name>`` gives it."""
    run = options.run_options(path.parent.parent)
    run.pattern = f"{path.parent.name}/{path.stem}"
    return pipeline.run_corpus(run)["scenarios"][0]["verdict"]


__all__ = ["GROUP", "describe", "document", "dump", "expectation", "name_of", "replay",
           "write_finding"]
