"""Environments as users write them: several files merged in order, parameter_defaults,
per-resource type mappings, restricted_actions; parameters declared immutable."""

from __future__ import annotations

import pytest

from engines.core.environment import parse_environment
from engines.core.errors import ImmutableParameterModified, ValidationError
from engines.core.parameters import check_immutable
from engines.core.template import parse

TEST = "OS::Heat::TestResource"
TMPL = {"heat_template_version": "2015-04-30",
        "parameters": {"p": {"type": "string"}, "q": {"type": "string", "default": "dq"}},
        "resources": {"A": {"type": "My::Thing"}, "B": {"type": "My::Thing"}}}


def test_environments_merge_in_order() -> None:
    envs = [
        {"parameters": {"p": "first"}, "parameter_defaults": {"q": "one"},
         "resource_registry": {"My::Thing": "OS::Heat::None",
                               "resources": {"A": {"hooks": "pre-create"}}}},
        "parameters: {p: second}\nresource_registry:\n  resources:\n"
        "    A: {restricted_actions: replace}\n",
    ]
    template = parse(TMPL, envs)
    assert template.parameters == {"p": "second", "q": "one"}
    assert template.resources["A"].hooks == frozenset({"pre-create"})
    assert template.resources["A"].restricted_actions == frozenset({"replace"})
    # what is stored reads back the same
    again = parse_environment(template.environment.to_dict(), max_size=10000)
    assert again == template.environment


def test_an_error_in_the_second_environment_names_it() -> None:
    with pytest.raises(ValidationError) as info:
        parse(TMPL, [{}, "parameters: [1]\n"])
    assert info.value.path == "environment[1].parameters"


def test_a_type_mapping_for_one_resource() -> None:
    env = {"resource_registry": {"My::Thing": "OS::Heat::None",
                                 "resources": {"B": {"My::Thing": TEST}}}}
    template = parse(TMPL, env, {"p": "x"})
    assert template.resources["A"].concrete_type == "OS::Heat::None"
    assert template.resources["B"].concrete_type == TEST


def test_restricted_actions_are_checked() -> None:
    env = {"resource_registry": {"My::Thing": "OS::Heat::None",
                                 "resources": {"A": {"restricted_actions": ["delete"]}}}}
    with pytest.raises(ValidationError) as info:
        parse(TMPL, env, {"p": "x"})
    assert info.value.path == "environment.resource_registry.resources.A.restricted_actions"
    assert "unknown restricted action 'delete'" in info.value.reason


def test_an_immutable_parameter_may_not_change() -> None:
    doc = {"heat_template_version": "2015-04-30",
           "parameters": {"size": {"type": "number", "immutable": True},
                          "name": {"type": "string", "immutable": True, "default": "n"}}}
    old = parse(doc, None, {"size": 1})
    new = parse(doc, None, {"size": 2})
    check_immutable(old.parameters, new.parameter_schemas, old.parameters)  # unchanged: fine
    with pytest.raises(ImmutableParameterModified) as info:
        check_immutable(old.parameters, new.parameter_schemas, new.parameters)
    assert info.value.path == "parameters.size"
    assert "immutable" in info.value.reason


def test_immutable_must_be_a_boolean() -> None:
    with pytest.raises(ValidationError) as info:
        parse({"heat_template_version": "2015-04-30",
               "parameters": {"a": {"type": "string", "immutable": "yes"}}})
    assert info.value.path == "parameters.a.immutable"


def test_per_resource_entries_of_a_nested_stack_are_kept_for_it() -> None:
    # Heat writes a nested stack's hooks under its owner: resources {db: {R: {hooks}}}
    env = parse_environment({"resource_registry": {"resources": {
        "db": {"R": {"hooks": "pre-create"}}, "web_*": {"S": {"hooks": ["pre-delete"]}},
        "A": {"hooks": "pre-update"}}}}, max_size=4096)
    assert env.hooks == {"A": frozenset({"pre-update"})}  # db itself does not pause
    assert env.nested_for("db") == {"R": {"hooks": "pre-create"}}
    assert env.nested_for("web_1") == {"S": {"hooks": ["pre-delete"]}}
    assert env.nested_for("A") == {}
    assert parse_environment(env.to_dict(), max_size=4096) == env  # stored and read back


def test_a_bad_hook_in_a_nested_entry_is_refused_where_it_is() -> None:
    with pytest.raises(ValidationError, match=r"resources\.db\.R\.hooks"):
        parse_environment({"resource_registry": {"resources": {
            "db": {"R": {"hooks": "pre-nothing"}}}}}, max_size=4096)
