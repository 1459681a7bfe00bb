"""The fuzzer's "references resolved" check: a property built from references must hold
the current copies' ids and attribute values (what a sync point that lost an input breaks)."""

from __future__ import annotations

from harness.fuzz.references import reference_problems

TEMPLATE = {"resources": {
    "A": {"type": "OS::Heat::TestResource", "properties": {"value": "a"}},
    "B": {"type": "OS::Heat::Value", "properties": {"value": {"list_join": ["-", [
        "b0", {"get_param": "p"}]]}}},
    "C": {"type": "OS::Heat::Value", "properties": {"value": {"list_join": ["-", [
        "c0", {"get_resource": "A"}, {"get_attr": ["B", "value"]}]]}}},
}}


def _snap(c_value: str) -> dict:
    return {"resources": {
        "A": {"physical_id": "pa-1", "attributes": {"output": "a"}, "properties": {"value": "a"}},
        "B": {"physical_id": "pb", "attributes": {"value": "b0-p7"},
              "properties": {"value": "b0-p7"}},
        "C": {"physical_id": "pc", "attributes": {}, "properties": {"value": c_value}},
    }}


def test_references_to_the_current_copies_pass():
    assert reference_problems(TEMPLATE, _snap("c0-pa-1-b0-p7")) == []


def test_a_lost_or_stale_reference_is_named():
    for wrong in ("c0--b0-p7", "c0-pa-0-b0-p7", "c0-pa-1-b0-p6"):
        [problem] = reference_problems(TEMPLATE, _snap(wrong))
        assert problem.startswith("C.value is")


def test_what_it_does_not_model_is_left_alone():
    template = {"resources": {"C": {"properties": {"value": {"str_replace": {}}}}}}
    assert reference_problems(template, _snap("anything")) == []


def test_get_resource_of_a_random_string_is_its_string():
    template = {"resources": {"C": {"properties": {"value": {"list_join": ["-", [
        "c0", {"get_resource": "R"}]]}}}}}
    snap = {"resources": {
        "R": {"type": "OS::Heat::RandomString", "physical_id": "pr",
              "attributes": {"value": "Xy7Qa9"}},
        "C": {"properties": {"value": "c0-Xy7Qa9"}}}}
    assert reference_problems(template, snap) == []
    snap["resources"]["C"]["properties"]["value"] = "c0-"
    assert reference_problems(template, snap)
