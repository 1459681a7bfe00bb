"""The cross-path comparison (harness/experiment/cross.py): up to the move against the
legacy run, after it against the convergence run; the registry explains only after it."""

from __future__ import annotations

from pathlib import Path

from harness.experiment import cross
from harness.experiment.divergence_registry import Registry
from harness.experiment.execute import PathRun
from harness.experiment.normalize import normalize


def _snap(step: int, status: str, out: str) -> dict:
    return {"step": step, "op": "create" if step == 0 else "update", "result": {"error": None},
            "stack": {"status": status, "reason": None}, "outputs": {"o": out}}


LEGACY = normalize([_snap(0, "CREATE_COMPLETE", "x"), _snap(1, "UPDATE_COMPLETE", "L")])
CONVERGENCE = normalize([_snap(0, "CREATE_COMPLETE", "x"), _snap(1, "UPDATE_COMPLETE", "C")])


def _cross(first: str, second: str, moved_after: int | None = 0, **kw) -> PathRun:
    return PathRun("cross", snapshots=[_snap(0, "CREATE_COMPLETE", first),
                                       _snap(1, "UPDATE_COMPLETE", second)],
                   migrated_after=moved_after, **kw)


def _registry(tmp_path: Path, step: str, legacy: str, convergence: str) -> Registry:
    path = tmp_path / "divergences.yaml"
    path.write_text(f"- {{scenario: s/x, path: '$.steps[{step}].outputs.o', legacy: {legacy},"
                    f" convergence: {convergence}, reason: known}}\n")
    return Registry.load(path)


def test_after_the_move_the_reference_is_the_convergence_run():
    block = cross.compare("s/x", _cross("x", "C"), LEGACY, CONVERGENCE, Registry([]))
    assert block["verdict"] == "parity" and block["differences"] == []
    block = cross.compare("s/x", _cross("x", "L"), LEGACY, CONVERGENCE, Registry([]))
    assert block["verdict"] == "unexpected-divergence"
    [d] = block["differences"]
    assert (d["path"], d["cross"], d["reference"], d["against"], d["class"]) == (
        "$.steps[1].outputs.o", "L", "C", "convergence", "unexpected")


def test_a_known_divergence_kept_from_the_legacy_beginning_is_explained(tmp_path):
    registry = _registry(tmp_path, "1", "L", "C")
    block = cross.compare("s/x", _cross("x", "L"), LEGACY, CONVERGENCE, registry)
    assert block["verdict"] == "expected-divergence"
    assert block["differences"][0]["class"] == "expected"
    assert block["counts"] == {"unexpected": 0, "expected": 1, "noise": 0}


def test_before_the_move_nothing_is_explained_by_the_registry(tmp_path):
    registry = _registry(tmp_path, "0", "y", "x")
    block = cross.compare("s/x", _cross("y", "C"), LEGACY, CONVERGENCE, registry)
    [d] = block["differences"]
    assert (d["against"], d["class"], d["entry"]) == ("legacy", "unexpected", None)
    assert block["verdict"] == "unexpected-divergence"


def test_a_run_never_moved_is_skipped_and_a_broken_one_is_an_error():
    never = _cross("x", "L", moved_after=None, skipped="never reached COMPLETE")
    assert cross.compare("s/x", never, LEGACY, CONVERGENCE, Registry([]))["verdict"] == \
        "skipped"
    broken = PathRun("cross", status="error", error="boom")
    assert cross.compare("s/x", broken, LEGACY, CONVERGENCE, Registry([]))["verdict"] == "error"
    pure_broken = cross.compare("s/x", _cross("x", "C"), LEGACY, None, Registry([]))
    assert pure_broken["verdict"] == "error" and "pure run" in pure_broken["error"]
    assert cross.cell(cross.skipped_block("path-specific: legacy only")) == \
        "skipped (path-specific: legacy only)"


def test_the_markdown_summary_gives_the_cross_verdicts():
    from reports.markdown import render_markdown
    from reports.runfile import load_run

    run = load_run(Path(__file__).resolve().parents[1] / "data" / "runs" / "clean.json")
    assert "Cross-path" not in render_markdown(run)
    first = run["scenarios"][0]
    first["cross"] = {**cross.skipped_block("x"), "verdict": "unexpected-divergence"}
    run["summary"]["cross"] = {"parity": 3, "unexpected-divergence": 1, "skipped": 2}
    text = render_markdown(run)
    assert "parity 3, unexpected-divergence 1, skipped 2." in text
    assert f"- `{first['id']}`: cross unexpected-divergence" in text
