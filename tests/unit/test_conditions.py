"""Conditions: decided from parameters when the template is parsed, as Heat's macro `if`."""

from __future__ import annotations

from typing import Any

import pytest

from engines.core.errors import ValidationError
from engines.core.template import parse

V = "2016-10-14"
TEST = "OS::Heat::TestResource"


def doc(conditions: Any = None, resources: dict | None = None, outputs: dict | None = None,
        version: str = V) -> dict:
    d: dict[str, Any] = {
        "heat_template_version": version,
        "parameters": {"env": {"type": "string", "default": "test"},
                       "flag": {"type": "boolean", "default": False}},
        "resources": resources or {},
    }
    if conditions is not None:
        d["conditions"] = conditions
    if outputs is not None:
        d["outputs"] = outputs
    return d


CONDS = {
    "prod": {"equals": [{"get_param": "env"}, "prod"]},
    "not_prod": {"not": "prod"},
    "both": {"and": ["prod", {"get_param": "flag"}]},
    "either": {"or": ["prod", True]},
}


def test_conditions_decide_from_parameters() -> None:
    assert parse(doc(CONDS)).conditions == {"prod": False, "not_prod": True, "both": False,
                                            "either": True}
    assert parse(doc(CONDS), None, {"env": "prod", "flag": True}).conditions["both"] is True


def test_a_resource_whose_condition_is_false_is_not_in_the_stack() -> None:
    template = parse(doc(CONDS, {
        "P": {"type": TEST, "condition": "prod"},
        "Q": {"type": TEST, "condition": "not_prod"},
        # a reference to a resource left out is allowed, and is no dependency
        "R": {"type": TEST, "depends_on": ["P"],
              "properties": {"value": {"get_attr": ["P", "output"]}}},
    }, {"p": {"value": {"get_resource": "P"}, "condition": "prod"},
        "q": {"value": {"get_attr": ["Q", "output"]}}}))
    assert set(template.resources) == {"Q", "R"}
    assert template.resources["R"].requires == frozenset()
    assert template.outputs["p"]["enabled"] is False

    class Lookup:
        def physical_id(self, name: str) -> str:
            return f"id-{name}"

        def attribute(self, name: str, attr: str) -> str:
            return f"{name}.{attr}"

    assert template.resolve_outputs(Lookup()) == {"p": None, "q": "Q.output"}


def test_if_chooses_a_branch() -> None:
    template = parse(doc(CONDS, {"A": {"type": TEST, "properties": {
        "value": {"if": ["prod", "big", "small"]}}}}))
    assert template.resources["A"].properties == {"value": "small"}
    template = parse(doc(CONDS, {"A": {"type": TEST, "properties": {
        "value": {"if": [{"not": "prod"}, "inline", "no"]}}}}))
    assert template.resources["A"].properties == {"value": "inline"}


def test_if_without_a_false_branch_drops_its_item_from_wallaby() -> None:
    template = parse(doc(CONDS, {"A": {"type": "OS::Heat::Value", "properties": {
        "value": {"k": {"if": ["prod", 1]}, "l": [1, {"if": ["prod", 2]}]}}}},
        version="wallaby"))
    assert template.resources["A"].properties == {"value": {"l": [1]}}
    with pytest.raises(ValidationError) as info:
        parse(doc(CONDS, {"A": {"type": TEST, "properties": {"value": {"if": ["prod", 1]}}}}))
    assert info.value.path == "resources.A.properties.value"
    assert "if: expected [condition, value if true, value if false]" in info.value.reason


@pytest.mark.parametrize(("conditions", "resources", "path", "phrase"), [
    ({"c": {"equals": [1]}}, {}, "conditions.c", "equals: expected [value, value]"),
    ({"c": "other"}, {}, "conditions.c", "invalid condition"),
    ({"c": {"not": "missing"}}, {}, "conditions.c.not", "unknown condition 'missing'"),
    ({"a": {"not": "b"}, "b": {"not": "a"}}, {}, "conditions.a", "circular condition"),
    ({"c": {"and": ["x"]}}, {}, "conditions.c", "at least 2"),
    ({"c": {"get_resource": "A"}}, {}, "conditions.c", "cannot be used in a condition"),
    ({"c": {"get_param": "env"}}, {}, "conditions.c", "must be a boolean"),
    ({"c": {"contains": ["a", ["a"]]}}, {}, "conditions.c", "needs 2017-09-01"),
    ({}, {"A": {"type": TEST, "condition": "nope"}}, "resources.A.condition",
     "unknown condition 'nope'"),
    ({"c": {"yaql": {}}}, {}, "conditions.c", "needs 2017-09-01"),
])
def test_bad_conditions_are_refused_precisely(conditions: dict, resources: dict, path: str,
                                              phrase: str) -> None:
    with pytest.raises(ValidationError) as info:
        parse(doc(conditions, resources))
    assert info.value.path == path
    assert phrase in info.value.reason


def test_conditions_need_newton() -> None:
    with pytest.raises(ValidationError) as info:
        parse(doc({"c": True}, version="2016-04-08"))
    assert info.value.path == "conditions"
    with pytest.raises(ValidationError) as info:
        parse(doc(None, {"A": {"type": TEST, "condition": True}}, version="2016-04-08"))
    assert "unknown resource key 'condition'" in info.value.reason
    with pytest.raises(ValidationError) as info:
        parse(doc(None, {"A": {"type": TEST, "properties": {"value": {"if": [True, 1, 2]}}}},
                  version="2016-04-08"))
    assert "not available in heat_template_version 2016-04-08" in info.value.reason


def test_contains_is_a_condition_function_from_pike() -> None:
    template = parse(doc({"c": {"contains": [{"get_param": "env"}, ["test", "dev"]]}},
                         version="2017-09-01"))
    assert template.conditions == {"c": True}


def test_a_source_file_is_named() -> None:
    with pytest.raises(ValidationError) as info:
        parse(doc({"c": {"equals": [1]}}), source="main.yaml")
    assert info.value.source == "main.yaml"
    assert str(info.value).startswith("main.yaml: conditions.c:")
