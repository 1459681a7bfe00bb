"""diff, normalisation, the divergence registry and classification: the parts of the harness
that decide what counts as a regression."""

from __future__ import annotations

import pytest

from harness.experiment.classify import (
    classify,
    flaky_differences,
    flaky_statuses,
    noise_paths,
    verdict,
)
from harness.experiment.diff import diff
from harness.experiment.divergence_registry import Registry, RegistryError, check_path
from harness.experiment.normalize import mask_random, normalize


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


def test_normalize_masks_the_short_random_id_of_a_nested_stack_name():
    snap = _snap(0, A="a1")
    snap["outputs"] = {"name": "t-inner-a917f9d4cc5d", "digest": "x-8d22bf7c17b0a84d",
                       "plain": "web-1"}
    out = normalize([snap])[0]
    assert out["outputs"] == {"name": "t-inner-<short-id>", "digest": "x-8d22bf7c17b0a84d",
                              "plain": "web-1"}


def test_a_row_stored_ahead_of_the_work_is_no_resource_but_one_acted_on_is():
    snap = _snap(0, A="uuid-a1")
    never = {"status": "INIT_COMPLETE", "physical_id": None, "hooks": [], "properties": {},
             "attributes": {}}
    snap["resources"].update(
        N=dict(never),  # stored by a convergence traversal that failed before reaching it
        P=dict(never, hooks=["pre-create"]),  # paused: the user sees it waiting
        F=dict(never, status="CREATE_FAILED"))  # acted on, failed before a physical id
    out = normalize([snap])[0]
    assert set(out["resources"]) == {"A", "P", "F"}
    assert diff(normalize([_snap(0, A="uuid-a1")])[0]["resources"], out["resources"])


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
    ("- {scenario: a, path: '$.steps[0].stack.status'}", "divergences[0].reason"),
    ("- {scenario: a, path: 'x', reason: r}", "divergences[0].path"),
    ("- {scenario: a, path: '$.steps[0].stack.status', reason: r, colour: red}",
     "divergences[0].colour"),
    ("{divergences: 3}", "divergences"),
    ("[: bad", "file"),
])
def test_registry_rejects_bad_entries_with_the_place(tmp_path, text, where):
    with pytest.raises(RegistryError, match=rf"divergences.yaml: {__import__('re').escape(where)}"):
        _registry(tmp_path, text)


def test_an_entry_that_matched_nothing_where_its_scenario_ran_is_stale(tmp_path):
    reg = _registry(tmp_path, """
- {scenario: "a/*", path: "$.steps[*].stack.status", reason: one}
- {scenario: "b/*", path: "$.steps[*].stack.reason", reason: two}
""")
    reg.note_ran("a/1")
    assert [e.index for e in reg.stale()] == [0]   # b/* never ran: not stale, not applicable


def _random_run(secret: str, status: str = "CREATE_COMPLETE", copies: int = 1,
                derived: str | None = None) -> list[dict]:
    """One normalised snapshot: a RandomString whose value flows into B (get_attr) and into
    an output built around it (str_replace)."""
    flow = secret if derived is None else derived
    return [{"step": 0, "op": "create", "result": {"error": None},
             "stack": {"status": status, "reason": "done"},
             "resources": {
                 "Secret": {"status": "CREATE_COMPLETE", "type": "OS::Heat::RandomString",
                            "physical_id": "Secret#1", "properties": {"length": 12},
                            "attributes": {"value": secret}, "hooks": []},
                 "B": {"status": status, "type": "OS::Heat::TestResource",
                       "physical_id": "B#1", "properties": {"value": flow},
                       "attributes": {"output": flow}, "hooks": []}},
             "outputs": {"url": f"https://{flow}.example/", "b": flow},
             "reality": {"Secret": 1, "B": copies}, "events": {}}]


def test_a_random_string_and_what_flows_from_it_is_noise_between_repeats():
    first, second = _random_run("hVpkSEt50BSY"), _random_run("Fdu4luY7WgsU")
    assert noise_paths([first, second]) == {
        "$.steps[0].resources.Secret.attributes.value", "$.steps[0].resources.B.properties.value",
        "$.steps[0].resources.B.attributes.output", "$.steps[0].outputs.url",
        "$.steps[0].outputs.b"}
    masked = [mask_random(first), mask_random(second)]
    assert masked[0] == masked[1]
    assert masked[0][0]["outputs"]["url"] == "https://<random Secret#1.value>.example/"
    assert flaky_differences("legacy", masked) == []


@pytest.mark.parametrize("change, path, values", [
    ({"status": "CREATE_FAILED"}, "$.steps[0].resources.B.status",
     ["CREATE_COMPLETE", "CREATE_FAILED"]),
    ({"copies": 2}, "$.steps[0].reality.B", [1, 2]),
    # B's value no longer comes from the random string: not noise, whatever it looks like
    ({"derived": "a-fixed-value"}, "$.steps[0].resources.B.properties.value",
     ["<random Secret#1.value>", "a-fixed-value"]),
])
def test_anything_else_that_differs_between_repeats_is_flaky(change, path, values):
    masked = [mask_random(_random_run("hVpkSEt50BSY")),
              mask_random(_random_run("Fdu4luY7WgsU", **change))]
    found = flaky_differences("convergence", masked)
    assert found[0]["engine"] == "convergence" and found[0]["repeats"] == [0, 1]
    assert {f["path"]: f["values"] for f in found}[path] == values


def test_repeats_that_end_differently_are_flaky_but_a_crash_is_an_error():
    assert flaky_statuses("legacy", ["passed", "failed"]) == [
        {"engine": "legacy", "path": "$.status", "values": ["passed", "failed"],
         "repeats": [0, 1]}]
    assert flaky_statuses("legacy", ["passed", "passed"]) == []
    assert flaky_statuses("legacy", ["passed", "error"]) == []


def test_classify_noise_expected_unexpected(tmp_path):
    reg = _registry(tmp_path, '- {scenario: "s/*", path: "$.steps[*].stack.reason", '
                              'reason: known}')
    legacy = _random_run("hVpkSEt50BSY")
    convergence = _random_run("Fdu4luY7WgsU", status="CREATE_FAILED")
    convergence[0]["stack"]["reason"] = "other"
    found = classify("s/1", legacy, convergence, reg,
                     masked=(mask_random(legacy), mask_random(convergence)))
    classes = {d["path"]: d["class"] for d in found}
    assert classes["$.steps[0].stack.status"] == "unexpected"
    assert classes["$.steps[0].stack.reason"] == "expected"
    assert classes["$.steps[0].outputs.url"] == "noise"
    assert classes["$.steps[0].resources.Secret.attributes.value"] == "noise"
    assert next(d for d in found if d["class"] == "expected")["reason"] == "known"
    # without the masked runs nothing is noise: a random value is a difference like any
    unmasked = classify("s/2", legacy, convergence, Registry([]))
    assert {d["class"] for d in unmasked} == {"unexpected"}


def test_a_value_from_the_wrong_random_source_is_not_noise():
    legacy = _random_run("hVpkSEt50BSY")
    convergence = _random_run("Fdu4luY7WgsU", derived="a-fixed-value-1")
    found = classify("s/1", legacy, convergence, Registry([]),
                     masked=(mask_random(legacy), mask_random(convergence)))
    classes = {d["path"]: d["class"] for d in found}
    assert classes["$.steps[0].resources.B.properties.value"] == "unexpected"
    assert classes["$.steps[0].resources.Secret.attributes.value"] == "noise"


def test_short_random_values_are_masked_whole_only():
    run = _random_run("ab")
    run[0]["stack"]["reason"] = "tab completed"
    masked = mask_random(run)[0]
    assert masked["resources"]["B"]["properties"]["value"] == "<random Secret#1.value>"
    assert masked["stack"]["reason"] == "tab completed"


def test_concurrent_events_of_two_copies_read_the_same_in_any_interleaving():
    def snap(order):
        events = [event for event, _ in order]
        copies = [copy for _, copy in order]
        return {"step": 0, "op": "delete", "stack": None, "resources": {},
                "events": {"B": events}, "event_copies": {"B": copies}}
    parallel = [("DELETE_IN_PROGRESS", "b1"), ("DELETE_IN_PROGRESS", "b2"),
                ("DELETE_COMPLETE", "b1"), ("DELETE_FAILED", "b2")]
    other = [("DELETE_IN_PROGRESS", "b2"), ("DELETE_IN_PROGRESS", "b1"),
             ("DELETE_FAILED", "b2"), ("DELETE_COMPLETE", "b1")]
    one, two = normalize([snap(parallel)])[0], normalize([snap(other)])[0]
    assert "event_copies" not in one
    assert one["events"] == two["events"]
    # one copy after the other: the order is the path's behaviour and is kept
    serial = [("DELETE_IN_PROGRESS", "b1"), ("DELETE_COMPLETE", "b1"),
              ("DELETE_IN_PROGRESS", "b2"), ("DELETE_FAILED", "b2")]
    swapped = [("DELETE_IN_PROGRESS", "b2"), ("DELETE_FAILED", "b2"),
               ("DELETE_IN_PROGRESS", "b1"), ("DELETE_COMPLETE", "b1")]
    assert normalize([snap(serial)])[0]["events"] != normalize([snap(swapped)])[0]["events"]
    # a create not yet given a physical id cannot be told apart: left as it happened
    unknown = [("CREATE_IN_PROGRESS", None), ("DELETE_IN_PROGRESS", "b1"),
               ("CREATE_COMPLETE", "b2"), ("DELETE_COMPLETE", "b1")]
    assert normalize([snap(unknown)])[0]["events"]["B"] == [e for e, _ in unknown]
    # ... but once it ends with its id, it is that copy's: two deletes at once after it
    # read the same in either order (overlap/delete_during_update was flaky there)
    made = [("CREATE_IN_PROGRESS", None), ("CREATE_COMPLETE", "b2")]
    one = made + [("DELETE_IN_PROGRESS", "b1"), ("DELETE_IN_PROGRESS", "b2"),
                  ("DELETE_COMPLETE", "b2"), ("DELETE_COMPLETE", "b1")]
    two = made + [("DELETE_IN_PROGRESS", "b2"), ("DELETE_COMPLETE", "b2"),
                  ("DELETE_IN_PROGRESS", "b1"), ("DELETE_COMPLETE", "b1")]
    assert normalize([snap(one)])[0]["events"] == normalize([snap(two)])[0]["events"]
    # a delete of the old copy that overlaps the create of the new one is kept as it was
    overlap = [("CREATE_IN_PROGRESS", "b2"), ("DELETE_IN_PROGRESS", "b1"),
               ("CREATE_COMPLETE", "b2"), ("DELETE_COMPLETE", "b1")]
    assert normalize([snap(overlap)])[0]["events"]["B"] == [e for e, _ in overlap]


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


@pytest.mark.parametrize("statuses, declared, expected", [
    ({"legacy": "passed", "convergence": "passed"}, ["legacy", "convergence"], "flaky"),
    ({"legacy": "failed", "convergence": "passed"}, ["legacy", "convergence"], "flaky"),
    ({"convergence": "passed"}, ["convergence"], "flaky"),
    ({"legacy": "error", "convergence": "passed"}, ["legacy", "convergence"], "error"),
])
def test_a_flaky_path_fails_the_scenario(statuses, declared, expected):
    assert verdict(statuses, declared, [{"class": "expected"}], flaky=True) == expected


@pytest.mark.parametrize("path", [
    "$.steps[*].*", "$.steps[*].**", "$.steps[3].resources.**", "$.steps[*]", "$.x",
    "$.steps[*].stack.*", "$.steps[*].resources.*", "$.steps[*].resources.A.*",
    "$.steps[*].events.*[*]", "$.steps[*].resources", "$.steps[*].resources.A",
    "$.steps[*].nothing.status", "$.steps[*].resources[0].status",
])
def test_an_entry_that_could_explain_a_step_or_a_scenario_is_refused(tmp_path, path):
    assert check_path(path, pinned=False) is not None
    with pytest.raises(RegistryError, match=r"divergences\.yaml: divergences\[1\]\.path: "
                                            + __import__("re").escape(repr(path)) + " refused"):
        _registry(tmp_path, f"""
- {{scenario: s, path: "$.steps[*].result.error", reason: fine}}
- {{scenario: s, path: "{path}", reason: too broad}}
""")


@pytest.mark.parametrize("path, pinned", [
    ("$.steps[*].result.error", False), ("$.steps[2].stack.status", False),
    ("$.steps[*].resources.*.status", False), ("$.steps[*].resources.B.properties.value", False),
    ("$.steps[*].events.B[*]", False), ("$.steps[4].events.stack[2]", False),
    ("$.steps[*].reality.C", False), ("$.steps[*].outputs.url", False),
    ("$.steps[*].resources.A.hooks[*]", False),
    ("$.steps[2].resources", True), ("$.steps[*].resources.A", True),
])
def test_entries_that_name_the_field_are_accepted(path, pinned):
    assert check_path(path, pinned) is None


def test_a_section_pinned_to_absent_on_one_side_is_accepted_and_matches_only_that(tmp_path):
    reg = _registry(tmp_path, """
- {scenario: s, path: "$.steps[*].resources", legacy: null, reason: mid-operation}
- {scenario: s, path: "$.steps[*].resources.*.status", reason: statuses}
""")
    assert reg.explain("s", "$.steps[2].resources", None, {"A": {}}).index == 0
    assert not reg.explain("s", "$.steps[2].resources", {"A": {}}, None)
    assert reg.explain("s", "$.steps[2].resources.B.status", "X", "Y").index == 1
    assert not reg.explain("s", "$.steps[2].resources.B.properties.value", "X", "Y")
    assert [e.explained for e in reg.entries] == [{"s": 1}, {"s": 1}]
    assert reg.to_json()["entries"][1]["explained"] == {"s": 1}


def test_the_shipped_registry_loads_and_names_fields():
    from scenarios.loader import corpus_root
    reg = Registry.load(corpus_root().parent / "divergences.yaml")
    assert reg.entries and all(check_path(e.path, True) is None for e in reg.entries)


# --- the runner: repeats that disagree make the scenario flaky ------------------------

PLAIN = """
description: create and delete
templates:
  t: {heat_template_version: 2015-04-30, resources: {A: {type: OS::Heat::TestResource}}}
steps:
  - create: {template: t}
  - delete: {}
"""


def _raw(status: str, physical: str, secret: str) -> list[dict]:
    """Raw snapshots as the observer takes them (physical ids not yet named)."""
    return [{"step": 0, "op": "create", "result": {"error": None},
             "stack": {"status": "CREATE_COMPLETE", "reason": "done"},
             "resources": {
                 "A": {"status": status, "type": "OS::Heat::TestResource",
                       "physical_id": physical, "properties": {"value": secret},
                       "attributes": {"output": secret}, "hooks": []},
                 "S": {"status": "CREATE_COMPLETE", "type": "OS::Heat::RandomString",
                       "physical_id": f"s-{physical}", "properties": {},
                       "attributes": {"value": secret}, "hooks": []}},
             "outputs": {"a": secret}, "events": {}, "event_copies": {},
             "reality": {"A": 1, "S": 1}}]


def _scenario_item(tmp_path, legacy_status: list[str]) -> dict:
    from harness.experiment import runner
    from harness.experiment.execute import PathRun
    from scenarios.loader import load_scenario
    path = tmp_path / "basic" / "plain.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(PLAIN)
    scenario = load_scenario(path, tmp_path)
    secrets = ["hVpkSEt50BSY", "Fdu4luY7WgsU"]
    results = {
        ("basic/plain", "legacy"): [
            PathRun("legacy", snapshots=_raw(status, f"uuid-l{i}", secrets[i]))
            for i, status in enumerate(legacy_status)],
        ("basic/plain", "convergence"): [
            PathRun("convergence", snapshots=_raw("CREATE_COMPLETE", f"uuid-c{i}", s))
            for i, s in enumerate(reversed(secrets))]}
    options = runner.RunOptions(scenario_root=tmp_path)
    return runner._scenario_result(scenario, options, results, Registry([]))


def test_a_scenario_whose_repeats_differ_in_a_status_is_flaky_and_exits_1(tmp_path):
    from harness.experiment import runner
    item = _scenario_item(tmp_path, ["CREATE_COMPLETE", "CREATE_FAILED"])
    assert item["verdict"] == "flaky"
    assert item["flaky"] == [{"engine": "legacy", "path": "$.steps[0].resources.A.status",
                              "values": ["CREATE_COMPLETE", "CREATE_FAILED"],
                              "repeats": [0, 1]}]
    assert item["counts"]["flaky"] == 1
    assert runner.exit_code({"scenarios": [item]}) == 1


def test_a_scenario_whose_repeats_differ_only_in_random_values_is_parity(tmp_path):
    from harness.experiment import runner
    item = _scenario_item(tmp_path, ["CREATE_COMPLETE", "CREATE_COMPLETE"])
    assert (item["verdict"], item["flaky"]) == ("parity", [])
    noisy = {(n["engine"], n["path"]) for n in item["noise"]}
    assert ("legacy", "$.steps[0].resources.A.properties.value") in noisy
    assert ("convergence", "$.steps[0].outputs.a") in noisy
    assert {d["class"] for d in item["differences"]} == {"noise"}
    assert runner.exit_code({"scenarios": [item]}) == 0
