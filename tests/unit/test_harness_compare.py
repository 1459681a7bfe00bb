"""diff, normalisation, the divergence registry and classification: the parts of the harness
that decide what counts as a regression."""

from __future__ import annotations

import pytest

from harness.experiment.classify import classify, noise_paths, verdict
from harness.experiment.diff import diff
from harness.experiment.divergence_registry import Registry, RegistryError
from harness.experiment.normalize import normalize


def test_diff_reports_leaf_paths_and_one_sided_keys():
    left = {"steps": [{"stack": {"status": "A"}, "r": {"x": 1}}]}
    right = {"steps": [{"stack": {"status": "B"}, "r": {"y": 1}}]}
    found = {(d.path, d.left, d.right) for d in diff(left, right)}
    assert found == {("$.steps[0].stack.status", "A", "B"), ("$.steps[0].r.x", 1, None),
                     ("$.steps[0].r.y", None, 1)}


def test_diff_tells_types_apart_and_lists_by_index():
    assert [d.path for d in diff([1, 2], [1, 2, 3])] == ["$[2]"]
    assert diff({"a": 1}, {"a": True}) != []
    assert diff({"a": [1, {"b": 2}]}, {"a": [1, {"b": 2}]}) == []


def _snap(step, **resources):
    return {"step": step, "stack": {"status": "X", "reason": "r"}, "outputs": {},
            "resources": {n: {"physical_id": p, "properties": {}, "attributes": {}}
                          for n, p in resources.items()}}


def test_normalize_names_physical_ids_per_logical_resource():
    snaps = normalize([_snap(0, A="uuid-a1", C="uuid-c1"),
                       _snap(1, A="uuid-a1", C="uuid-c2")])
    assert snaps[0]["resources"]["A"]["physical_id"] == "A#1"
    assert snaps[1]["resources"]["C"]["physical_id"] == "C#2"
    assert snaps[1]["resources"]["A"]["physical_id"] == "A#1"


def test_normalize_rewrites_ids_inside_values_and_reasons():
    snap = _snap(0, A="11111111-2222-3333-4444-555555555555")
    snap["resources"]["B"] = {"physical_id": None, "attributes": {},
                              "properties": {"ref": "11111111-2222-3333-4444-555555555555"}}
    snap["stack"]["reason"] = "Engine 99999999-2222-3333-4444-555555555555 went down"
    out = normalize([snap])[0]
    assert out["resources"]["B"]["properties"] == {"ref": "A#1"}
    assert out["stack"]["reason"] == "Engine <uuid> went down"


def _registry(tmp_path, text):
    path = tmp_path / "divergences.yaml"
    path.write_text(text)
    return Registry.load(path)


def test_registry_matches_by_scenario_glob_path_pattern_and_values(tmp_path):
    reg = _registry(tmp_path, """
- scenario: "overlap/*"
  path: "$.steps[*].result.error"
  legacy: ActionInProgress
  convergence: null
  reason: legacy refuses an update of a busy stack; convergence supersedes
""")
    assert reg.explain("overlap/x", "$.steps[4].result.error", "ActionInProgress", None)
    assert not reg.explain("update/x", "$.steps[4].result.error", "ActionInProgress", None)
    assert not reg.explain("overlap/x", "$.steps[4].stack.status", "ActionInProgress", None)
    assert not reg.explain("overlap/x", "$.steps[4].result.error", "NotFound", None)
    assert reg.entries[0].matched == 1


@pytest.mark.parametrize("text,where", [
    ("- {scenario: a, path: '$.x'}", "divergences[0].reason"),
    ("- {scenario: a, path: 'x', reason: r}", "divergences[0].path"),
    ("- {scenario: a, path: '$.x', reason: r, colour: red}", "divergences[0].colour"),
    ("{divergences: 3}", "divergences"),
    ("[: bad", "file"),
])
def test_registry_rejects_bad_entries_with_the_place(tmp_path, text, where):
    with pytest.raises(RegistryError, match=rf"divergences.yaml: {__import__('re').escape(where)}"):
        _registry(tmp_path, text)


def test_an_entry_that_matched_nothing_where_its_scenario_ran_is_stale(tmp_path):
    reg = _registry(tmp_path, """
- {scenario: "a/*", path: "$.x", reason: one}
- {scenario: "b/*", path: "$.y", reason: two}
""")
    reg.note_ran("a/1")
    assert [e.index for e in reg.stale()] == [0]   # b/* never ran: not stale, not applicable


def test_classify_noise_expected_unexpected(tmp_path):
    reg = _registry(tmp_path, '- {scenario: "s/*", path: "$.steps[*].b", reason: known}')
    run1 = [{"a": 1, "b": 1, "r": "x"}]
    run2 = [{"a": 1, "b": 1, "r": "y"}]
    noise = noise_paths([run1, run2])
    assert noise == {"$.steps[0].r"}
    found = classify("s/1", [{"a": 1, "b": 1, "r": "x"}], [{"a": 2, "b": 2, "r": "z"}],
                     noise, reg)
    assert {d["path"]: d["class"] for d in found} == {
        "$.steps[0].a": "unexpected", "$.steps[0].b": "expected", "$.steps[0].r": "noise"}
    assert next(d for d in found if d["class"] == "expected")["reason"] == "known"


@pytest.mark.parametrize("statuses,declared,classes,expected", [
    ({"legacy": "passed", "convergence": "passed"}, ["legacy", "convergence"], [], "parity"),
    ({"legacy": "passed", "convergence": "passed"}, ["legacy", "convergence"],
     ["noise", "expected"], "expected-divergence"),
    ({"legacy": "passed", "convergence": "passed"}, ["legacy", "convergence"],
     ["expected", "unexpected"], "unexpected-divergence"),
    ({"legacy": "failed", "convergence": "passed"}, ["legacy", "convergence"], [], "failed"),
    ({"legacy": "failed", "convergence": "error"}, ["legacy", "convergence"], [], "error"),
    ({"convergence": "passed"}, ["convergence"], [], "path-specific"),
])
def test_verdicts(statuses, declared, classes, expected):
    assert verdict(statuses, declared, [{"class": c} for c in classes]) == expected


def test_double_star_matches_any_rest_of_a_path(tmp_path):
    reg = _registry(tmp_path, '- {scenario: "s", path: "$.steps[*].**", reason: r}')
    assert reg.explain("s", "$.steps[3].resources.A.attributes.output", 1, 2)
    assert not reg.explain("s", "$.run", 1, 2)
