"""``dualpath run`` as a team uses it: a scenario tree of their own, a registry, exit codes,
the run file, and per-scenario databases on a real server."""

from __future__ import annotations

import json
import secrets
from pathlib import Path

import pytest

from harness.cli.main import main
from tests.conftest import require_server, unavailable

BUSY = """
description: an update while a slow create is in progress
templates:
  t1:
    heat_template_version: 2015-04-30
    resources:
      A:
        type: OS::Heat::TestResource
        properties: {value: a1, action_wait_secs: {create: 0.5}}
  t2:
    heat_template_version: 2015-04-30
    resources:
      A:
        type: OS::Heat::TestResource
        properties: {value: a2, action_wait_secs: {create: 0.5}}
steps:
  - create: {template: t1, wait: false}
  - wait_for: {resource: A, status: CREATE_IN_PROGRESS}
  - update: {template: t2, expect_error: {legacy: ActionInProgress, convergence: null}}
  - wait: {}
  - delete: {}
  - expect: {stack: DELETE_COMPLETE, reality: {count: 0}}
"""
PLAIN = """
description: create and delete
templates:
  t: {heat_template_version: 2015-04-30, resources: {A: {type: OS::Heat::None}}}
steps:
  - create: {template: t}
  - expect: {stack: CREATE_COMPLETE, converged: true}
  - delete: {}
  - expect: {stack: DELETE_COMPLETE, reality: {count: 0}}
"""
REGISTRY = """
- scenario: "overlap/busy"
  path: "$.steps[2].result.error"
  legacy: ActionInProgress
  convergence: null
  reason: legacy refuses an update of a busy stack; convergence starts a newer traversal
- {scenario: overlap/busy, path: "$.steps[*].stack.status", reason: &after
   "convergence applied the update legacy refused, so the stacks differ after it"}
- {scenario: overlap/busy, path: "$.steps[*].stack.reason", reason: *after}
- {scenario: overlap/busy, path: "$.steps[2].resources", legacy: null, reason: *after}
- {scenario: overlap/busy, path: "$.steps[2].reality", legacy: null, reason: *after}
- {scenario: overlap/busy, path: "$.steps[2].events", legacy: null, reason: *after}
- {scenario: overlap/busy, path: "$.steps[3].events.A", reason: *after}
- {scenario: overlap/busy, path: "$.steps[3].events.stack", reason: *after}
- {scenario: overlap/busy, path: "$.steps[3].resources.A.status", reason: *after}
- {scenario: overlap/busy, path: "$.steps[3].resources.A.properties.value", reason: *after}
- {scenario: overlap/busy, path: "$.steps[3].resources.A.attributes.output", reason: *after}
"""
# an entry that would explain everything in a scenario, as the registry once allowed
HIDES_ALL = """
- {scenario: overlap/busy, path: "$.steps[*].*", reason: the paths differ}
"""


def _tree(tmp_path: Path, scenarios: dict[str, str]) -> Path:
    root = tmp_path / "mine"
    for scenario_id, text in scenarios.items():
        path = root / f"{scenario_id}.yaml"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


def _run(tmp_path: Path, *args: str) -> tuple[int, dict]:
    out = tmp_path / "run.json"
    code = main(["run", "--quiet", "-j", "1", "--json", str(out), *args])
    return code, (json.loads(out.read_text()) if out.exists() else {})


def item_config(data: dict) -> dict:
    config = data["run"]["config"]
    return {k: config[k] for k in ("database", "transport", "workers", "repeat")}


def test_parity_run_exits_0_and_writes_the_run_file(tmp_path):
    root = _tree(tmp_path, {"basic/plain": PLAIN})
    summary = tmp_path / "summary.md"
    code, data = _run(tmp_path, "--scenarios", str(root), "--repeat", "2",
                      "--markdown", str(summary))
    assert code == 0
    # at parity, yet not evidence for the flip: the corpus's required groups did not run
    text = summary.read_text(encoding="utf-8")
    assert "**Gate: don't flip**" in text and "required group update is missing" in text
    assert data["schema_version"] == 2 and data["kind"] == "corpus"
    assert item_config(data) == {"database": {"kind": "sqlite", "url": None},
                                 "transport": {"kind": "in-process", "url": None},
                                 "workers": 0, "repeat": 2}
    item = data["scenarios"][0]
    assert (item["id"], item["verdict"]) == ("basic/plain", "parity")
    assert set(item["engines"]) == {"legacy", "convergence"}
    for engine in item["engines"].values():
        assert engine["status"] == "passed" and len(engine["durations_s"]) == 2
        assert engine["snapshots"][0]["resources"]["A"]["physical_id"] == "A#1"
    assert data["summary"]["parity"] == 1 and data["run"]["migrations"]["verified"]


def test_an_unexplained_divergence_exits_1_and_is_named(tmp_path):
    root = _tree(tmp_path, {"overlap/busy": BUSY})
    code, data = _run(tmp_path, "--scenarios", str(root), "--repeat", "1")
    assert code == 1
    item = data["scenarios"][0]
    assert item["verdict"] == "unexpected-divergence"
    error = next(d for d in item["differences"] if d["path"] == "$.steps[2].result.error")
    assert (error["legacy"], error["convergence"], error["class"]) == (
        "ActionInProgress", None, "unexpected")


def test_the_registry_explains_it_and_a_stale_entry_is_reported(tmp_path):
    root = _tree(tmp_path, {"overlap/busy": BUSY, "basic/plain": PLAIN})
    registry = tmp_path / "divergences.yaml"
    registry.write_text(REGISTRY + '- {scenario: "basic/*", path: "$.steps[0].stack.status",'
                        ' reason: "was once different"}\n')
    code, data = _run(tmp_path, "--scenarios", str(root), "--divergences", str(registry),
                      "--repeat", "1")
    assert code == 0
    verdicts = {s["id"]: s["verdict"] for s in data["scenarios"]}
    assert verdicts == {"overlap/busy": "expected-divergence", "basic/plain": "parity"}
    busy = next(s for s in data["scenarios"] if s["id"] == "overlap/busy")
    error = next(d for d in busy["differences"] if d["path"] == "$.steps[2].result.error")
    assert error["reason"].startswith("legacy refuses")
    entries = data["registry"]["entries"]
    assert data["registry"]["stale"] == [len(entries) - 1]
    # how many differences each entry explained, in all and per scenario
    assert entries[0]["matched"] == 1
    assert entries[0]["explained"] == {"overlap/busy": 1}
    assert sum(e["matched"] for e in entries) == busy["counts"]["expected"] == 13


def test_a_registry_entry_that_would_hide_a_scenario_is_refused(tmp_path, capsys):
    root = _tree(tmp_path, {"overlap/busy": BUSY})
    registry = tmp_path / "divergences.yaml"
    registry.write_text(HIDES_ALL)
    code, _ = _run(tmp_path, "--scenarios", str(root), "--divergences", str(registry))
    assert code == 2
    err = capsys.readouterr().err
    assert f"{registry}: divergences[0].path: '$.steps[*].*' refused: after $.steps[N] " \
        "comes a section of the snapshot" in err


def test_a_real_scenario_run_twice_stays_parity_and_random_values_are_noise(tmp_path):
    from scenarios.loader import corpus_root
    code, data = _run(tmp_path, "--scenarios", str(corpus_root()), "--repeat", "2",
                      "--scenario", "noise/random_string_flows")
    assert code == 0
    item = data["scenarios"][0]
    assert (item["verdict"], item["flaky"]) == ("parity", [])
    noise = {n["path"] for n in item["noise"]}
    # the random value, the property it flows into through get_attr, and what follows
    assert {"$.steps[0].resources.Token.attributes.value",
            "$.steps[0].resources.B.properties.value",
            "$.steps[0].resources.B.attributes.output", "$.steps[0].outputs.b"} <= noise
    assert {d["class"] for d in item["differences"]} == {"noise"}
    assert data["run"]["commit"]["id"] != "" and data["run"]["config"]["repeat"] == 2
    assert data["run"]["config"]["scenarios"]["name"] == "custom"


def test_only_some_engines_and_a_glob(tmp_path):
    root = _tree(tmp_path, {"basic/plain": PLAIN, "overlap/busy": BUSY})
    code, data = _run(tmp_path, "--scenarios", str(root), "--scenario", "basic/*",
                      "--engines", "legacy", "--repeat", "1")
    assert code == 0 and [s["id"] for s in data["scenarios"]] == ["basic/plain"]
    assert list(data["scenarios"][0]["engines"]) == ["legacy"]


@pytest.mark.parametrize("args,message", [
    (["--scenarios", "/nonexistent"], "not a directory"),
    (["--engines", "legacy,quantum"], "unknown engine path"),
    (["--workers", "2"], "needs --transport-url rabbit"),
    (["--scenario", "nothing/*"], "no scenario"),
])
def test_bad_input_exits_2(tmp_path, capsys, args, message):
    root = _tree(tmp_path, {"basic/plain": PLAIN})
    full = ["--scenarios", str(root), *args] if args[0] != "--scenarios" else args
    code, _ = _run(tmp_path, *full)
    assert code == 2
    assert message in capsys.readouterr().err


def test_a_malformed_scenario_exits_2_naming_file_and_step(tmp_path, capsys):
    root = _tree(tmp_path, {"basic/broken": PLAIN.replace("template: t}", "template: nope}")})
    code, _ = _run(tmp_path, "--scenarios", str(root))
    err = capsys.readouterr().err
    assert code == 2 and "broken.yaml" in err and "steps[0]" in err


@pytest.mark.parametrize("backend", [pytest.param("postgresql", marks=pytest.mark.postgresql),
                                     pytest.param("mysql", marks=pytest.mark.mysql)])
def test_each_scenario_run_gets_its_own_database_on_a_server(tmp_path, backend):
    server = require_server(backend)
    # a group name of this run's own: another session on the same server (a second
    # checkout, a developer's run) cannot leave databases that look like ours
    group = f"basic{secrets.token_hex(3)}"
    root = _tree(tmp_path, {f"{group}/plain": PLAIN, "overlap/busy": BUSY})
    code, data = _run(tmp_path, "--scenarios", str(root), "--database-url", server,
                      "--repeat", "1")
    assert data["run"]["database"] == backend and data["run"]["migrations"]["verified"]
    from engines.service import safe_url
    assert data["run"]["config"]["database"] == {"kind": backend, "url": safe_url(server)}
    verdicts = {s["id"]: s["verdict"] for s in data["scenarios"]}
    assert verdicts == {f"{group}/plain": "parity", "overlap/busy": "unexpected-divergence"}
    assert code == 1
    import sqlalchemy as sa
    engine = sa.create_engine(server)
    with engine.connect() as conn:   # every scenario database was dropped afterwards
        if backend == "postgresql":
            left = conn.execute(sa.text("SELECT datname FROM pg_database WHERE datname LIKE "
                                        f"'dualpath_%%{group}%%'")).all()
        else:
            left = conn.execute(sa.text(f"SHOW DATABASES LIKE 'dualpath_%%{group}%%'")).all()
    engine.dispose()
    assert left == []


@pytest.mark.rabbit
def test_convergence_over_rabbitmq_with_worker_processes_is_at_parity(tmp_path):
    """The harness's --transport-url/--workers: the convergence runs of real corpus update
    scenarios (replacements included) are done by two ``dualpath worker`` processes."""
    from engines.processes import broker_problem
    from tests.functional.test_convergence_rabbit import RABBIT_URL

    unavailable(broker_problem(RABBIT_URL))
    code, data = _run(tmp_path, "--scenario", "update/replacement*", "--transport-url",
                      RABBIT_URL, "--workers", "2", "--repeat", "1")
    assert (data["run"]["transport"], data["run"]["workers"]) == ("rabbit", 2)
    transport = data["run"]["config"]["transport"]
    assert transport["kind"] == "rabbit" and ":***@" in transport["url"]
    assert "guest@" not in transport["url"] and ":guest@" not in transport["url"]
    verdicts = {s["id"]: s["verdict"] for s in data["scenarios"]}
    problems = [(s["id"], path, r.get("error"), r.get("failed_expectations"))
                for s in data["scenarios"] for path, r in s["engines"].items()
                if r["status"] != "passed"]
    assert verdicts == {"update/replacement": "parity",
                        "update/replacement_inverted_dependencies": "parity"}, problems
    assert code == 0
