"""The flip gate: the policy (defaults, YAML, unknown keys), each rule with a run that fails
it and one that passes, the evidence several run files must supply for one commit, and
``dualpath gate``'s output and exit codes."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from harness.cli.main import main
from reports.gate import DEFAULT_POLICY_YAML, Policy, PolicyError, evaluate, evaluate_runs
from reports.runfile import load_run, validate_run

RUNS = Path(__file__).resolve().parents[1] / "data" / "runs"
CHANGED_PATH = "$.steps[1].resources.C.physical_id"


def run_data(name: str) -> dict[str, Any]:
    return load_run(RUNS / f"{name}.json")


def scenario(run: dict[str, Any], sid: str) -> dict[str, Any]:
    return next(i for i in run["scenarios"] if i["id"] == sid)


def check(result: Any, name: str) -> Any:
    return next(c for c in result.checks if c.name == name)


def judge(run: dict[str, Any], **policy: Any) -> Any:
    """The rules about one run's content, without the evidence a single file cannot hold."""
    return evaluate(run, Policy(required_evidence=(), **policy))


EVIDENCE = ["clean", "server", "fuzz_clean"]  # all for one commit: what the flip needs


def test_clean_run_flips():
    result = judge(run_data("clean"))
    assert result.flip and result.verdict == "flip"
    assert result.reasons == []
    assert len(result.checks) == 8 and all(c.ok for c in result.checks)
    # alone, a corpus run is not all the evidence the default policy asks for
    alone = evaluate(run_data("clean"))
    assert not alone.flip
    assert [c.name for c in alone.checks if not c.ok] == ["evidence: corpus-server",
                                                          "evidence: fuzz"]


def test_single_unexpected_divergence_is_refused_naming_scenario_and_path():
    result = judge(run_data("one_unexpected"))
    assert not result.flip and result.verdict == "don't flip"
    assert result.reasons == [f"unexpected divergence in update/replace at {CHANGED_PATH}: "
                              'legacy "C#2", convergence "C#1"']
    assert [c.name for c in result.checks if not c.ok] == ["unexpected divergences"]


def test_max_unexpected_is_a_ceiling():
    assert judge(run_data("one_unexpected"), max_unexpected=1).flip


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
    result = judge(run)
    assert not check(result, "failed scenarios").ok
    assert result.reasons == ["failed: delete/plain [convergence] step 1 reality: C has 2 "
                              "physical copies, expected 1"]
    assert judge(run, max_failed=1).flip


def test_errors_rule():
    run = run_data("clean")
    item = scenario(run, "hooks/pre_create")
    item["verdict"] = "error"
    item["engines"]["legacy"].update(status="error", error="RuntimeError: boom\n  File x.py")
    result = judge(run)
    assert result.reasons == ["error: hooks/pre_create [legacy]: RuntimeError: boom"]
    assert judge(run, max_errors=1).flip


def test_stale_entries_rule():
    run = run_data("clean")
    run["registry"]["entries"][0]["matched"] = 0
    run["registry"]["stale"] = [0]
    result = judge(run)
    assert not result.flip
    assert result.reasons[0].startswith(
        "stale registry entry #0 (overlap/update_during_create $.steps[*].result.error)")
    allowed = judge(run, allow_stale=True)
    assert allowed.flip and check(allowed, "stale registry entries").detail.endswith("(allowed)")


def test_required_groups_must_be_present():
    run = run_data("clean")
    run["scenarios"] = [i for i in run["scenarios"] if i["group"] != "noise"]
    result = judge(run)
    assert result.reasons == ["required group noise is missing from the run"]
    groups = [g for g in Policy().required_groups if g != "noise"]
    assert judge(run, required_groups=tuple(groups)).flip


def test_required_groups_must_run_on_both_paths():
    run = run_data("clean")
    # hooks has one scenario; make it convergence-only (path-specific)
    item = scenario(run, "hooks/pre_create")
    item["declared_engines"] = ["convergence"]
    del item["engines"]["legacy"]
    item["verdict"] = "path-specific"
    result = judge(run)
    assert result.reasons == ["required group hooks was not run on both paths (its 1 "
                              "scenario(s) ran on one path only)"]
    # a run whose summary claims both engines for the group does not fool the gate
    run["summary"]["groups"]["hooks"]["engines"] = ["convergence", "legacy"]
    assert not judge(run).flip
    assert judge(run, required_groups=()).flip


def test_time_budget_rule():
    run = run_data("clean")
    for item in run["scenarios"]:
        paths = item["engines"]
        if "legacy" in paths and "convergence" in paths:
            paths["convergence"]["duration_s"] = 2 * paths["legacy"]["duration_s"]
    result = judge(run)
    assert result.reasons == ["time budget exceeded: convergence took 4.620s, more than "
                              "1.5 x legacy's 2.310s"]
    assert judge(run, time_budget=2.0).flip
    no_budget = judge(run, time_budget=None)
    assert no_budget.flip and "time budget" not in [c.name for c in no_budget.checks]


def test_time_budget_ignores_path_specific_scenarios():
    run = run_data("clean")
    # a long legacy-only scenario must not buy convergence any slack
    scenario(run, "overlap/update_during_create_legacy")["engines"]["legacy"]["duration_s"] = 99
    assert check(judge(run), "time budget").detail.startswith(
        "convergence 2.610s vs legacy 2.310s")


def test_migrations_rule():
    run = run_data("clean")
    run["run"]["migrations"] = {"verified": False, "head": "0003", "detail": "drift: [x]"}
    assert judge(run).reasons == ["migrations not verified: drift: [x]"]
    assert judge(run, require_migrations_verified=False).flip


def test_troubled_run_gives_every_reason():
    result = judge(run_data("troubled"))
    assert not result.flip
    assert not any(c.ok for c in result.checks)
    text = "\n".join(result.reasons)
    for expected in ("unexpected divergence in failures/create_fault",
                     "flaky: hooks/pre_create_convergence [convergence] at "
                     "$.steps[1].resources.A.status",
                     "failed: failures/create_fault [convergence] step 1 stack",
                     "error: update/replace [convergence]: engines.core.errors.WaitTimeout",
                     "stale registry entry #1", "required group delete is missing",
                     "required group nested is missing",
                     "required group hooks was not run on both paths",
                     "time budget exceeded", "migrations not verified"):
        assert expected in text


def test_flaky_rule_names_the_path_and_both_values():
    run = run_data("clean")
    item = scenario(run, "delete/plain")
    item["verdict"] = "flaky"
    item["flaky"] = [{"engine": "legacy", "path": "$.steps[1].reality.A", "values": [1, 2],
                      "repeats": [0, 1]}]
    result = judge(run)
    assert not result.flip and not check(result, "flaky scenarios").ok
    assert result.reasons == ["flaky: delete/plain [legacy] at $.steps[1].reality.A: 1 in one "
                              "repeat, 2 in another"]
    assert judge(run, max_flaky=1).flip


# --- evidence from several run files ----------------------------------------------------

def evidence(*names: str) -> list[tuple[str, dict[str, Any]]]:
    return [(name, run_data(name)) for name in names]


def test_all_the_evidence_for_one_commit_flips():
    result = evaluate_runs(evidence(*EVIDENCE))
    assert result.flip, result.reasons
    assert [c.name for c in result.checks][:4] == [
        "evidence: commit", "evidence: corpus-embedded", "evidence: corpus-server",
        "evidence: fuzz"]
    assert check(result, "evidence: commit").detail == \
        "0123456789abcdef0123456789abcdef01234567 (3 of 3 run file(s))"
    # every check of a file names the file: several files, each with its own rules
    assert check(result, "server: time budget").ok
    assert check(result, "fuzz_clean: fuzz findings").detail == \
        "0 finding(s) in 612 case(s) (seed 1), at most 0 allowed"


@pytest.mark.parametrize("left_out, reason", [
    ("clean", "missing evidence: the corpus on both paths on the embedded default (SQLite, "
              "in-process) (server: ran on postgresql, rabbit, 2 worker process(es), not the "
              "embedded default (sqlite, in-process))"),
    ("server", "missing evidence: the corpus on a server database (PostgreSQL or MariaDB) "
               "with worker processes over RabbitMQ (clean: ran on sqlite, not a server "
               "database (PostgreSQL or MariaDB))"),
    ("fuzz_clean", "missing evidence: a fuzz run of at least 500 cases (no such run file "
                   "given)"),
])
def test_missing_evidence_is_named(left_out, reason):
    result = evaluate_runs(evidence(*(n for n in EVIDENCE if n != left_out)))
    assert not result.flip
    assert result.reasons == [reason]


def test_evidence_from_another_commit_does_not_count_and_is_named():
    runs = evidence(*EVIDENCE)
    runs[1][1]["run"]["commit"]["id"] = "fedcba9876543210fedcba9876543210fedcba98"
    result = evaluate_runs(runs)
    assert result.reasons == [
        "evidence from another commit: the corpus on a server database (PostgreSQL or "
        "MariaDB) with worker processes over RabbitMQ: server is from commit fedcba987654, "
        "not 0123456789ab"]


def test_a_fuzz_run_too_short_or_with_findings_does_not_flip():
    runs = evidence("clean", "server", "fuzz_findings")
    result = evaluate_runs(runs)
    assert result.reasons == [
        "missing evidence: a fuzz run of at least 500 cases (fuzz_findings: ran 41 case(s), "
        "fewer than 500)",
        "fuzz_findings: fuzz finding: unexpected-divergence on both: "
        "out/findings/found/unexpected_84c670c9.yaml",
        "fuzz_findings: fuzz finding: flaky on convergence: "
        "out/findings/found/flaky_1f00d2e1.yaml"]
    assert evaluate_runs(runs, Policy(min_fuzz_cases=40, max_fuzz_findings=2)).flip


def test_self_tests_and_partial_corpora_are_not_evidence():
    runs = evidence(*EVIDENCE)
    runs[0][1]["run"]["mutant"] = "skip-replaced-cleanup"
    runs[1][1]["run"]["config"]["scenarios"].update(name="custom", filter="update/*", count=3)
    reasons = evaluate_runs(runs).reasons
    assert reasons == [
        "missing evidence: the corpus on both paths on the embedded default (SQLite, "
        "in-process) (clean: ran with the mutant skip-replaced-cleanup (a self-test); server: "
        "ran a custom scenario set (3 scenario(s), filter 'update/*'), not the whole "
        "corpus)",
        "missing evidence: the corpus on a server database (PostgreSQL or MariaDB) with "
        "worker processes over RabbitMQ (clean: ran with the mutant skip-replaced-cleanup "
        "(a self-test); server: ran a custom scenario set (3 scenario(s), filter "
        "'update/*'), not the whole corpus)"]


def test_a_corpus_run_without_repeats_cannot_show_flakiness_and_is_no_evidence():
    runs = evidence(*EVIDENCE)
    runs[0][1]["run"]["config"]["repeat"] = 1
    assert evaluate_runs(runs).reasons == [
        "missing evidence: the corpus on both paths on the embedded default (SQLite, "
        "in-process) (clean: ran each path once (--repeat 1): a flaky path cannot show; "
        "server: ran on postgresql, rabbit, 2 worker process(es), not the embedded default "
        "(sqlite, in-process))"]


def test_a_run_of_unknown_commit_is_known_by_its_version():
    runs = evidence(*EVIDENCE)
    for _, data in runs:
        data["run"]["commit"] = {"id": "unknown", "version": "0.1.0", "dirty": None}
        validate_run(data)
    result = evaluate_runs(runs)
    assert result.flip
    assert check(result, "evidence: fuzz").detail == "fuzz_clean, commit unknown (0.1.0)"
    runs[2][1]["run"]["commit"]["version"] = "0.2.0"
    assert evaluate_runs(runs).reasons[0].startswith(
        "evidence from another commit: a fuzz run of at least 500 cases: fuzz_clean is from "
        "commit unknown (0.2.0), not unknown (0.1.0)")


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
    ("required_evidence: [corpus, fuzz]\n", "required_evidence: expected a list of evidence "
                                            "names out of corpus-embedded, corpus-server, fuzz"),
    ("min_fuzz_cases: -5\n", "min_fuzz_cases: expected a whole number >= 0"),
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

def test_gate_command_flips_on_all_the_evidence(capsys):
    assert main(["gate", *(str(RUNS / f"{n}.json") for n in EVIDENCE)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "flip"
    assert f"  [ok] {RUNS / 'clean.json'}: required groups: 10 of 10 required groups run on " \
        "both paths" in out
    assert f"  [ok] evidence: fuzz: {RUNS / 'fuzz_clean.json'}, commit 0123456789ab" in out


def test_gate_command_on_one_corpus_run_names_the_missing_evidence(capsys):
    assert main(["gate", str(RUNS / "clean.json")]) == 1
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "don't flip"
    assert out[1].startswith("- missing evidence: the corpus on a server database "
                             "(PostgreSQL or MariaDB) with worker processes over RabbitMQ")
    assert out[2] == "- missing evidence: a fuzz run of at least 500 cases (no such run " \
        "file given)"
    assert "  [ok] required groups: 10 of 10 required groups run on both paths" in out


def test_gate_command_refuses_with_every_reason(tmp_path, capsys):
    md = tmp_path / "gate.md"
    policy = tmp_path / "one-run.yaml"
    policy.write_text("required_evidence: []\n")
    assert main(["gate", str(RUNS / "one_unexpected.json"), "--markdown", str(md),
                 "--policy", str(policy)]) == 1
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "don't flip"
    assert out[1] == (f"- unexpected divergence in update/replace at {CHANGED_PATH}: "
                      'legacy "C#2", convergence "C#1"')
    text = md.read_text(encoding="utf-8")
    assert "**Gate: don't flip**" in text and "update/replace" in text
    assert main(["gate", str(RUNS / "troubled.json"), "--policy", str(policy)]) == 1
    reasons = [line for line in capsys.readouterr().out.splitlines() if line.startswith("- ")]
    assert len(reasons) == len(judge(run_data("troubled")).reasons) == 14


def test_gate_command_uses_the_policy_file(tmp_path, capsys):
    policy = tmp_path / "gate.yaml"
    policy.write_text("max_unexpected: 1\nrequired_evidence: []\n")
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
