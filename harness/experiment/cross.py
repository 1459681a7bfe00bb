"""The cross-path verdict (``dualpath run --cross-path``): a scenario run with its stack made
on the legacy path and moved onto convergence after the first step that left it settled
and COMPLETE (harness/experiment/execute.py, ``CROSS``), compared step for step with the
pure runs: up to the move with the legacy run, after it with the convergence run.

The comparison is the one of every run, with the same registry: the reference is the
legacy run's snapshots up to the move and the convergence run's after it, and the cross
run stands in the legacy slot, so that a known divergence the cross run keeps from its
legacy beginning (the events of its create, say) is explained by the entry that explains
it between the pure paths. Before the move the cross run *is* a legacy run: a difference
there is never explained by the registry (noise excepted)."""

from __future__ import annotations

from typing import Any

from harness.experiment.classify import EXPECTED, NOISE, UNEXPECTED, classify
from harness.experiment.divergence_registry import Registry
from harness.experiment.execute import CROSS, ERROR, FAILED, PathRun
from harness.experiment.normalize import mask_random, normalize
from reports.verdicts import EXPECTED_DIVERGENCE, PARITY, UNEXPECTED_DIVERGENCE

SKIPPED = "skipped"
VERDICTS = (PARITY, EXPECTED_DIVERGENCE, UNEXPECTED_DIVERGENCE, FAILED, ERROR, SKIPPED)


def skip_reason(scenario: Any, engines: tuple[str, ...]) -> str | None:
    """Why a scenario gets no cross run (None: it gets one)."""
    if len(scenario.engines) != 2:
        return f"path-specific: runs on {', '.join(scenario.engines)} only"
    if not {"legacy", "convergence"} <= set(engines):
        return "the cross run is compared with both paths' runs, and not both ran"
    return None


def _step_of(path: str) -> int:
    return int(path.split("[", 1)[1].split("]", 1)[0])


def _reference(legacy: list[dict[str, Any]], convergence: list[dict[str, Any]],
               moved_after: int) -> list[dict[str, Any]]:
    return [leg if leg.get("step", i) <= moved_after else conv
            for i, (leg, conv) in enumerate(zip(legacy, convergence, strict=False))]


def compare(scenario_id: str, run: PathRun, legacy: list[dict[str, Any]] | None,
            convergence: list[dict[str, Any]] | None, registry: Registry) -> dict[str, Any]:
    """The cross block of a scenario's result. ``legacy`` / ``convergence``: the pure runs'
    normalised snapshots (None when that run errored)."""
    block: dict[str, Any] = {
        "engine": CROSS, "status": run.status, "migrated_after": run.migrated_after,
        "path_after_move": run.path_after_move,
        "skipped": run.skipped, "duration_s": round(run.duration_s, 4), "error": run.error,
        "failed_expectations": [f.to_json() for f in run.failures], "differences": [],
    }
    if run.status == ERROR or legacy is None or convergence is None:
        block["verdict"] = ERROR
        if run.status != ERROR:
            block["error"] = "a pure run it is compared with errored"
    elif run.skipped:
        block["verdict"] = SKIPPED
    elif run.status == FAILED:
        block["verdict"] = FAILED
    else:
        mine = normalize(run.snapshots)
        moved = run.migrated_after if run.migrated_after is not None else -1
        reference = _reference(legacy, convergence, moved)
        differences = classify(scenario_id, mine, reference, registry,
                               masked=(mask_random(mine), mask_random(reference)))
        for d in differences:
            step = _step_of(d["path"])
            d["against"] = "legacy" if step <= moved else "convergence"
            d["cross"], d["reference"] = d.pop("legacy"), d.pop("convergence")
            if d["against"] == "legacy" and d["class"] == EXPECTED:
                d.update({"class": UNEXPECTED, "reason": None, "entry": None})
        block["differences"] = differences
        classes = {d["class"] for d in differences}
        block["verdict"] = (UNEXPECTED_DIVERGENCE if UNEXPECTED in classes
                            else EXPECTED_DIVERGENCE if EXPECTED in classes else PARITY)
    block["counts"] = {k: sum(1 for d in block["differences"] if d["class"] == k)
                       for k in (UNEXPECTED, EXPECTED, NOISE)}
    return block


def skipped_block(reason: str) -> dict[str, Any]:
    return {"engine": CROSS, "verdict": SKIPPED, "status": None, "skipped": reason,
            "migrated_after": None, "differences": [],
            "counts": dict.fromkeys((UNEXPECTED, EXPECTED, NOISE), 0)}


def summary(items: list[dict[str, Any]]) -> dict[str, int] | None:
    blocks = [i["cross"] for i in items if "cross" in i]
    if not blocks:
        return None
    return {v: sum(1 for b in blocks if b["verdict"] == v) for v in VERDICTS}


def caption(counts: dict[str, int] | None) -> str:
    if counts is None:
        return ""
    return ("; cross-path: " + ", ".join(f"{v} {counts[v]}" for v in VERDICTS))


def cell(block: dict[str, Any] | None) -> str:
    """A scenario's cross verdict in a table row: where it moved, or why it did not."""
    if block is None:
        return "-"
    if block["verdict"] == SKIPPED:
        return f"skipped ({block['skipped']})"
    where = (f", moved after step {block['migrated_after']}"
             if block.get("migrated_after") is not None else "")
    found = ", ".join(f"{n} {k}" for k, n in block["counts"].items() if n)
    return f"{block['verdict']}{where}" + (f" ({found})" if found else "")
