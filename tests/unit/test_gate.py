"""The flip gate: the policy (defaults, YAML, unknown keys), each rule with a run that fails
it and one that passes, and ``dualpath gate``'s output and exit codes."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from harness.cli.main import main
from reports.gate import DEFAULT_POLICY_YAML, Policy, PolicyError, evaluate
from reports.runfile import load_run

RUNS = Path(__file__).resolve().parents[1] / "data" / "runs"
CHANGED_PATH = "$.steps[1].resources.C.physical_id"


def run_data(name: str) -> dict[str, Any]:
    return load_run(RUNS / f"{name}.json")


def scenario(run: dict[str, Any], sid: str) -> dict[str, Any]:
    return next(i for i in run["scenarios"] if i["id"] == sid)


def check(result: Any, name: str) -> Any:
    return next(c for c in result.checks if c.name == name)


def test_clean_run_flips():
    result = evaluate(run_data("clean"), Policy())
    assert result.flip and result.verdict == "flip"
    assert result.reasons == []
    assert len(result.checks) == 7 and all(c.ok for c in result.checks)


def test_single_unexpected_divergence_is_refused_naming_scenario_and_path():
    result = evaluate(run_data("one_unexpected"))
    assert not result.flip and result.verdict == "don't flip"
    assert result.reasons == [f"unexpected divergence in update/replace at {CHANGED_PATH}: "
                              'legacy "C#2", convergence "C#1"']
    assert [c.name for c in result.checks if not c.ok] == ["unexpected divergences"]


def test_max_unexpected_is_a_ceiling():
    assert evaluate(run_data("one_unexpected"), Policy(max_unexpected=1)).flip


def _fail(run: dict[str, Any], sid: str, engine: str = "convergence") -> None:
    item = scenario(run, sid)
    item["verdict"] = "failed"
    item["engines"][engine]["status"] = "failed"
    item["engines"][engine]["failed_expectations"] = [
        {"step": 1, "check": "reality", "expected": {"C": 1}, "actual": {"C": 2},
         "message": "C has 2 physical copies, expected 1"}]


def test_failed_scenarios_rule():
    run = run_data("clean")
    _fail(run, "delete/plain")
    result = evaluate(run)
    assert not check(result, "failed scenarios").ok
    assert result.reasons == ["failed: delete/plain [convergence] step 1 reality: C has 2 "
                              "physical copies, expected 1"]
    assert evaluate(run, Policy(max_failed=1)).flip


def test_errors_rule():
    run = run_data("clean")
    item = scenario(run, "hooks/pre_create")
    item["verdict"] = "error"
    item["engines"]["legacy"].update(status="error", error="RuntimeError: boom\n  File x.py")
    result = evaluate(run)
    assert result.reasons == ["error: hooks/pre_create [legacy]: RuntimeError: boom"]
    assert evaluate(run, Policy(max_errors=1)).flip


def test_stale_entries_rule():
    run = run_data("clean")
    run["registry"]["entries"][0]["matched"] = 0
    run["registry"]["stale"] = [0]
    result = evaluate(run)
    assert not result.flip
    assert result.reasons[0].startswith(
        "stale registry entry #0 (overlap/update_during_create $.steps[*].result.error)")
    allowed = evaluate(run, Policy(allow_stale=True))
    assert allowed.flip and check(allowed, "stale registry entries").detail.endswith("(allowed)")


def test_required_groups_must_be_present():
    run = run_data("clean")
    run["scenarios"] = [i for i in run["scenarios"] if i["group"] != "noise"]
    result = evaluate(run)
    assert result.reasons == ["required group noise is missing from the run"]
    groups = [g for g in Policy().required_groups if g != "noise"]
    assert evaluate(run, Policy(required_groups=tuple(groups))).flip


def test_required_groups_must_run_on_both_paths():
    run = run_data("clean")
    # hooks has one scenario; make it convergence-only (path-specific)
    item = scenario(run, "hooks/pre_create")
    item["declared_engines"] = ["convergence"]
    del item["engines"]["legacy"]
    item["verdict"] = "path-specific"
    result = evaluate(run)
    assert result.reasons == ["required group hooks was not run on both paths (its 1 "
                              "scenario(s) ran on one path only)"]
    # a run whose summary claims both engines for the group does not fool the gate
    run["summary"]["groups"]["hooks"]["engines"] = ["convergence", "legacy"]
    assert not evaluate(run).flip
    assert evaluate(run, Policy(required_groups=())).flip


def test_time_budget_rule():
    run = run_data("clean")
    for item in run["scenarios"]:
        paths = item["engines"]
        if "legacy" in paths and "convergence" in paths:
            paths["convergence"]["duration_s"] = 2 * paths["legacy"]["duration_s"]
    result = evaluate(run)
    assert result.reasons == ["time budget exceeded: convergence took 4.020s, more than "
                              "1.5 x legacy's 2.010s"]
    assert evaluate(run, Policy(time_budget=2.0)).flip
    no_budget = evaluate(run, Policy(time_budget=None))
    assert no_budget.flip and "time budget" not in [c.name for c in no_budget.checks]


def test_time_budget_ignores_path_specific_scenarios():
    run = run_data("clean")
    # a long legacy-only scenario must not buy convergence any slack
    scenario(run, "overlap/update_during_create_legacy")["engines"]["legacy"]["duration_s"] = 99
    assert check(evaluate(run), "time budget").detail.startswith(
        "convergence 2.310s vs legacy 2.010s")


def test_migrations_rule():
    run = run_data("clean")
    run["run"]["migrations"] = {"verified": False, "head": "0003", "detail": "drift: [x]"}
    assert evaluate(run).reasons == ["migrations not verified: drift: [x]"]
    assert evaluate(run, Policy(require_migrations_verified=False)).flip


def test_troubled_run_gives_every_reason():
    result = evaluate(run_data("troubled"))
    assert not result.flip
    assert not any(c.ok for c in result.checks)
    text = "\n".join(result.reasons)
    for expected in ("unexpected divergence in failures/create_fault",
                     "failed: failures/create_fault [convergence] step 1 stack",
                     "error: update/replace [convergence]: engines.core.errors.WaitTimeout",
                     "stale registry entry #1", "required group delete is missing",
                     "required group hooks was not run on both paths",
                     "time budget exceeded", "migrations not verified"):
        assert expected in text


# --- the policy -------------------------------------------------------------------------

def test_default_policy_text_matches_the_defaults():
    assert Policy.from_mapping(yaml.safe_load(DEFAULT_POLICY_YAML)) == Policy()
    assert Policy.load(None) == Policy()


def test_policy_file_overrides_and_empty_file(tmp_path):
    path = tmp_path / "gate.yaml"
    path.write_text("max_unexpected: 2\nrequired_groups: [create]\ntime_budget: null\n")
    policy = Policy.load(path)
    assert (policy.max_unexpected, policy.required_groups, policy.time_budget) == \
        (2, ("create",), None)
    assert policy.max_failed == 0
    path.write_text("")
    assert Policy.load(path) == Policy()


@pytest.mark.parametrize("text, message", [
    ("max_unexpectd: 0\n", "unknown policy key(s) max_unexpectd"),
    ("max_failed: -1\n", "max_failed: expected a whole number >= 0"),
    ("max_errors: true\n", "max_errors: expected a whole number >= 0"),
    ("allow_stale: 'no'\n", "allow_stale: expected true or false"),
    ("required_groups: create\n", "required_groups: expected a list of group names"),
    ("time_budget: 0\n", "time_budget: expected a positive ratio or null"),
    ("- max_failed\n", "a policy is a mapping"),
    ("max_failed: [\n", "not valid YAML"),
])
def test_bad_policies_are_refused(tmp_path, text, message):
    path = tmp_path / "gate.yaml"
    path.write_text(text)
    with pytest.raises(PolicyError) as info:
        Policy.load(path)
    assert message in str(info.value) and str(path) in str(info.value)


def test_policy_refuses_yaml_tags(tmp_path):
    path = tmp_path / "gate.yaml"
    path.write_text("max_failed: !!python/object/apply:os.system ['true']\n")
    with pytest.raises(PolicyError, match="not valid YAML"):
        Policy.load(path)


# --- dualpath gate ----------------------------------------------------------------------

def test_gate_command_flips_the_clean_run(capsys):
    assert main(["gate", str(RUNS / "clean.json")]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "flip"
    assert "  [ok] required groups: 9 of 9 required groups run on both paths" in out


def test_gate_command_refuses_with_every_reason(tmp_path, capsys):
    md = tmp_path / "gate.md"
    assert main(["gate", str(RUNS / "one_unexpected.json"), "--markdown", str(md)]) == 1
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "don't flip"
    assert out[1] == (f"- unexpected divergence in update/replace at {CHANGED_PATH}: "
                      'legacy "C#2", convergence "C#1"')
    text = md.read_text(encoding="utf-8")
    assert "**Gate: don't flip**" in text and "update/replace" in text
    assert main(["gate", str(RUNS / "troubled.json")]) == 1
    reasons = [line for line in capsys.readouterr().out.splitlines() if line.startswith("- ")]
    assert len(reasons) == len(evaluate(run_data("troubled")).reasons) == 12


def test_gate_command_uses_the_policy_file(tmp_path, capsys):
    policy = tmp_path / "gate.yaml"
    policy.write_text("max_unexpected: 1\n")
    assert main(["gate", str(RUNS / "one_unexpected.json"), "--policy", str(policy)]) == 0
    assert capsys.readouterr().out.startswith("flip\n")


@pytest.mark.parametrize("case", ["missing", "malformed", "version", "policy", "no_policy"])
def test_gate_command_bad_input_exits_2(tmp_path, capsys, case):
    run = RUNS / "clean.json"
    args = ["gate", str(run)]
    if case == "missing":
        args = ["gate", str(tmp_path / "none.json")]
    elif case == "malformed":
        (tmp_path / "bad.json").write_text("{not json")
        args = ["gate", str(tmp_path / "bad.json")]
    elif case == "version":
        data = run_data("clean")
        data["schema_version"] = 0
        (tmp_path / "v0.json").write_text(json.dumps(data))
        args = ["gate", str(tmp_path / "v0.json")]
    elif case == "policy":
        (tmp_path / "gate.yaml").write_text("flip_anyway: true\n")
        args += ["--policy", str(tmp_path / "gate.yaml")]
    else:
        args += ["--policy", str(tmp_path / "absent.yaml")]
    assert main(args) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.startswith("error: ") and str(tmp_path) in captured.err
