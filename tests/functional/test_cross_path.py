"""``dualpath run --cross-path``: each scenario also run with its stack made on legacy and
moved onto convergence at its first settled COMPLETE state, compared with the legacy run up
to the move and with the convergence run after it."""

from __future__ import annotations

import json
from pathlib import Path

from harness.cli.main import main

PLAIN = """
description: create, update in place, delete
templates:
  t1: {heat_template_version: 2015-04-30, resources: {A: {type: OS::Heat::TestResource,
       properties: {value: one}}}}
  t2: {heat_template_version: 2015-04-30, resources: {A: {type: OS::Heat::TestResource,
       properties: {value: two}}}}
steps:
  - create: {template: t1}
  - update: {template: t2}
  - expect: {stack: UPDATE_COMPLETE, unchanged: [A], converged: true}
  - delete: {}
  - expect: {stack: DELETE_COMPLETE, reality: {count: 0}}
"""
LEGACY_ONLY = """
description: path-specific
engines: [legacy]
templates:
  t: {heat_template_version: 2015-04-30, resources: {A: {type: OS::Heat::None}}}
steps:
  - create: {template: t}
"""
NEVER_COMPLETE = """
description: a create that fails and is not rolled back, then deleted
templates:
  t: {heat_template_version: 2015-04-30, resources: {A: {type: OS::Heat::TestResource}}}
steps:
  - fault: {resource: A, action: CREATE}
  - create: {template: t, disable_rollback: true}
  - expect: {stack: CREATE_FAILED}
  - delete: {}
  - expect: {stack: DELETE_COMPLETE, reality: {count: 0}}
"""


def _run(tmp_path: Path, *args: str) -> tuple[int, dict]:
    out = tmp_path / "run.json"
    code = main(["run", "--quiet", "-j", "1", "--repeat", "1", "--cross-path",
                 "--json", str(out), *args])
    return code, json.loads(out.read_text())


def test_corpus_update_scenarios_are_at_parity_across_the_move(tmp_path):
    code, data = _run(tmp_path, "--scenario", "update/re*")
    items = {i["id"]: i for i in data["scenarios"]}
    assert set(items) == {"update/remove", "update/rename", "update/replacement",
                          "update/replacement_inverted_dependencies"}
    for scenario_id, item in items.items():
        block = item["cross"]
        assert block["verdict"] == "parity", (scenario_id, block)
        assert block["status"] == "passed" and block["failed_expectations"] == []
        assert block["migrated_after"] == 0 and block["skipped"] is None  # after the create
        assert block["path_after_move"] == "convergence"
    assert data["summary"]["cross"]["parity"] == 4
    assert code == 0


def test_path_specific_and_never_complete_scenarios_are_skipped_with_the_reason(tmp_path):
    root = tmp_path / "mine"
    for name, text in {"plain": PLAIN, "legacy_only": LEGACY_ONLY,
                       "never": NEVER_COMPLETE}.items():
        (root / "basic").mkdir(parents=True, exist_ok=True)
        (root / "basic" / f"{name}.yaml").write_text(text)
    code, data = _run(tmp_path, "--scenarios", str(root))
    cross = {i["id"]: i["cross"] for i in data["scenarios"]}
    assert cross["basic/plain"]["verdict"] == "parity"
    assert cross["basic/plain"]["migrated_after"] == 0
    assert cross["basic/legacy_only"]["verdict"] == "skipped"
    assert "path-specific" in cross["basic/legacy_only"]["skipped"]
    assert cross["basic/legacy_only"]["status"] is None            # never run
    assert cross["basic/never"]["verdict"] == "skipped"
    assert "never reached a settled COMPLETE" in cross["basic/never"]["skipped"]
    assert data["summary"]["cross"] == {"parity": 1, "expected-divergence": 0,
                                        "unexpected-divergence": 0, "failed": 0,
                                        "error": 0, "skipped": 2}
    assert code == 0
