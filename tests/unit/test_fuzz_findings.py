"""The finding writer: a shrunk case becomes a scenario file of our format, with its seed
in the description and an ``expect`` where an invariant broke, and ``dualpath run
--scenarios DIR`` replays it to the verdict the fuzzer gave it."""

from __future__ import annotations

import json

import pytest

from harness.cli.main import main
from harness.fuzz.campaign import Found
from harness.fuzz.findings import document, expectation, write_finding
from harness.fuzz.invariants import PREFIX
from harness.fuzz.model import Model, Res
from harness.fuzz.oracle import Judgement, Oracle, OracleOptions
from harness.fuzz.story import Story, load
from scenarios.loader import load_scenario


def _replacement_story():
    """create; replace A; delete: what a mutant that keeps old copies gets wrong."""
    story = Story()
    v1 = Model(resources={"A": Res("test", "a0", replace_value="r0")})
    v2 = v1.copy()
    v2.force_replace("A", "replace_value", "r1")
    story.operate("create", v1)
    story.operate("update", v2)
    story.operate("delete")
    story.acts = ["create", "update: replace A (update_replace_value)", "delete"]
    return story.case()


def _found(case, judgement):
    found = Found(judgement.signature(), 0, 7, 3, 12.5)
    found.consider(case, judgement)
    return found


def test_expectations_say_what_an_invariant_says():
    converged = {"check": PREFIX + "converged", "step": 1}
    assert expectation(converged, "v2") == {"converged": "v2"}
    assert expectation(converged, "<nothing>") == {"reality": {"count": 0}}
    assert expectation({"check": PREFIX + "deleted-leaves-nothing"}, None) == \
        {"stack": "DELETE_COMPLETE", "reality": {"count": 0}}
    assert expectation({"check": PREFIX + "transitions-end"}, "v1") is None


def test_a_finding_document_carries_its_seed_and_the_broken_invariant(tmp_path):
    case = _replacement_story()
    failure = {"step": 1, "check": PREFIX + "converged", "message": "m",
               "expected": {"invariant": "x", "target": "v2"}, "actual": "A has 2 copies"}
    item = {"verdict": "failed", "differences": [], "engines": {
        "legacy": {"status": "passed", "failed_expectations": [], "error": None},
        "convergence": {"status": "failed", "failed_expectations": [failure],
                        "error": None}}}
    found = _found(case, Judgement(item, 1.0))
    doc = document(found, 42, "skip-replaced-cleanup")
    assert "--seed 42 --mutant skip-replaced-cleanup" in doc["description"]
    assert "Hypothesis seed 7" in doc["description"]
    assert doc["steps"][2] == {"expect": {"converged": "v2"}}  # right after the update
    path = write_finding(found, tmp_path, 42, "skip-replaced-cleanup")
    assert path.parent.name == "found"
    scenario = load_scenario(path, tmp_path)
    assert [s.op for s in scenario.steps] == ["create", "update", "expect", "delete"]


@pytest.mark.slow
def test_a_mutants_finding_replays_to_the_same_verdict(tmp_path):
    mutant = "skip-replaced-cleanup"
    case = _replacement_story()
    with Oracle(OracleOptions(jobs=2, mutant=mutant)) as oracle:
        judgement = oracle.judge(load(case, "replacement", "probe", tmp_path / "cases"))
    assert judgement.verdict == "failed"
    assert ("convergence", PREFIX + "converged at update") in judgement.issues()
    path = write_finding(_found(case, judgement), tmp_path / "findings", 0, mutant)
    out = tmp_path / "run.json"
    code = main(["run", "--scenarios", str(tmp_path / "findings"), "--mutant", mutant,
                 "-j", "2", "--json", str(out), "--quiet"])
    data = json.loads(out.read_text())
    assert code == 1
    [item] = data["scenarios"]
    assert item["id"] == f"found/{path.stem}"
    assert item["verdict"] == judgement.verdict
