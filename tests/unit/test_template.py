"""Templates that are right: what parsing makes of them, and how they resolve."""

from __future__ import annotations

import datetime
from pathlib import Path
from typing import Any

import pytest

from engines.core import yaml_loader
from engines.core.environment import parse_environment
from engines.core.errors import ValidationError
from engines.core.plugins.none import NoneResource
from engines.core.plugins.test_resource import TestResource
from engines.core.template import Template, parse
from engines.core.yaml_loader import load_document

TEST = "OS::Heat::TestResource"


class FakeLookup:
    """Physical ids and attributes as a test says they are."""

    def __init__(self, ids: dict[str, str] | None = None,
                 attrs: dict[tuple[str, str], Any] | None = None) -> None:
        self.ids = ids or {}
        self.attrs = attrs or {}

    def physical_id(self, name: str) -> str | None:
        return self.ids.get(name)

    def attribute(self, name: str, attr: str) -> Any:
        return self.attrs.get((name, attr))


def tmpl(resources: dict | None = None, **sections: Any) -> dict:
    return {"heat_template_version": "2015-04-30", "resources": resources or {}, **sections}


def value_of(template: Template, name: str = "A", lookup: FakeLookup | None = None) -> Any:
    return template.resolve_properties(name, lookup or FakeLookup())["value"]


# -- the document --------------------------------------------------------------------------
def test_unquoted_date_version_is_a_string() -> None:
    template = parse("heat_template_version: 2015-04-30\nresources: {}\n")
    assert template.version == "2015-04-30"
    assert template.raw["heat_template_version"] == "2015-04-30"


def test_date_version_in_a_parsed_mapping_is_normalised() -> None:
    template = parse({"heat_template_version": datetime.date(2016, 10, 14)})
    assert template.version == "2016-10-14"
    assert template.raw == {"heat_template_version": "2016-10-14"}


@pytest.mark.parametrize("version", ["2013-05-23", "2018-08-31", "newton", "rocky"])
def test_accepted_versions(version: str) -> None:
    assert parse(f"heat_template_version: {version}\n").version == version


def test_bytes_yaml_merge_keys_and_description() -> None:
    text = (
        "heat_template_version: 2015-04-30\n"
        "description: two of a kind, déjà vu\n"
        "resources:\n"
        "  A: &base {type: OS::Heat::TestResource, properties: {value: same}}\n"
        "  B:\n    <<: *base\n    deletion_policy: Retain\n"
    ).encode()
    template = parse(text)
    assert template.description == "two of a kind, déjà vu"
    assert value_of(template, "B") == "same"
    assert template.resources["B"].deletion_policy == "Retain"
    assert template.resources["A"].deletion_policy == "Delete"


def test_size_limit_is_inclusive() -> None:
    text = "heat_template_version: 2015-04-30\n"
    assert load_document(text, what="template", max_size=len(text))["heat_template_version"]


def test_an_alias_used_a_few_times_is_fine() -> None:
    text = (
        "heat_template_version: 2015-04-30\n"
        "resources:\n"
        "  A: &r {type: OS::Heat::TestResource, metadata: {tags: [a, b, c]}}\n"
        "  B: *r\n  C: *r\n"
    )
    assert list(parse(text).resources) == ["A", "B", "C"]


# -- resources and properties --------------------------------------------------------------
def test_definition_fields() -> None:
    template = parse(tmpl({
        "A": {"type": TEST, "properties": {"value": "v"}, "metadata": {"any": "thing"}},
        "B": {"type": TEST, "depends_on": "A", "deletion_policy": "Retain"},
    }))
    a, b = template.resources["A"], template.resources["B"]
    assert (a.type, a.concrete_type, a.plugin) == (TEST, TEST, TestResource)
    assert a.properties == {"value": "v"}
    assert (a.depends_on, a.requires, a.hooks) == ((), frozenset(), frozenset())
    assert b.depends_on == ("A",)
    assert b.requires == {"A"}
    assert b.deletion_policy == "Retain"


def test_resolved_properties_have_every_schema_key_with_defaults() -> None:
    template = parse(tmpl({"A": {"type": TEST, "properties": {
        "value": "v", "fail": "false", "action_wait_secs": {"create": "2"}}}}))
    props = template.resolve_properties("A", FakeLookup())
    assert set(props) == set(TestResource.properties_schema)
    assert props["value"] == "v"
    assert props["fail"] is False
    assert props["update_replace"] is False
    assert props["wait_secs"] == 0
    assert props["action_wait_secs"] == {"create": 2, "update": None, "delete": None}


def test_null_property_takes_its_default() -> None:
    template = parse(tmpl({"A": {"type": TEST, "properties": {"value": None}}}))
    assert value_of(template) == "test_string"


def test_accepts_any_property_gets_resolved_dict_as_is() -> None:
    template = parse(tmpl({
        "N": {"type": "OS::Heat::None",
              "properties": {"anything": {"get_resource": "A"}, "n": 1, "x": None}},
        "A": {"type": TEST},
    }))
    assert template.resources["N"].plugin is NoneResource
    props = template.resolve_properties("N", FakeLookup(ids={"A": "phys-a"}))
    assert props == {"anything": "phys-a", "n": 1, "x": None}


def test_value_resource_with_matching_type() -> None:
    template = parse(tmpl({"V": {"type": "OS::Heat::Value",
                                 "properties": {"value": "42", "type": "number"}}}))
    assert template.resolve_properties("V", FakeLookup()) == {"value": "42", "type": "number"}


# -- intrinsic functions -------------------------------------------------------------------
def test_get_param_plain_and_with_path() -> None:
    template = parse(tmpl(
        {
            "A": {"type": TEST, "properties": {"value": {"get_param": "name"}}},
            "B": {"type": TEST, "properties": {"value": {"get_param": ["conf", "db", "host"]}}},
            "C": {"type": TEST, "properties": {"value": {"get_param": ["zones", 1]}}},
        },
        parameters={
            "name": {"type": "string", "default": "web"},
            "conf": {"type": "json", "default": {"db": {"host": "db1"}}},
            "zones": {"type": "comma_delimited_list", "default": "az1,az2"},
        },
    ))
    assert value_of(template, "A") == "web"
    assert value_of(template, "B") == "db1"
    assert value_of(template, "C") == "az2"


def test_get_resource_and_get_attr() -> None:
    template = parse(tmpl({
        "A": {"type": TEST},
        "B": {"type": TEST, "properties": {"value": {"get_resource": "A"},
                                           "update_replace_value": {"get_attr": ["A", "output"]}}},
    }))
    props = template.resolve_properties(
        "B", FakeLookup(ids={"A": "phys-a"}, attrs={("A", "output"): "out-a"}))
    assert props["value"] == "phys-a"
    assert props["update_replace_value"] == "out-a"


def test_get_attr_with_a_path_into_the_attribute() -> None:
    template = parse(tmpl({
        "A": {"type": "OS::Heat::Value", "properties": {"value": {"k": ["x", "y"]}}},
        "B": {"type": TEST, "properties": {"value": {"get_attr": ["A", "value", "k", 1]}}},
        "C": {"type": TEST, "properties": {"value": {"get_attr": ["A", "value", "missing"]}}},
    }))
    lookup = FakeLookup(attrs={("A", "value"): {"k": ["x", "y"]}})
    assert value_of(template, "B", lookup) == "y"
    assert value_of(template, "C", lookup) == "test_string"  # null: the default applies


def test_str_replace_longest_key_first_and_no_rescan() -> None:
    template = parse(tmpl({"A": {"type": TEST, "properties": {"value": {"str_replace": {
        "template": "http://$host:$hostport/$path",
        "params": {"$host": "$path", "$hostport": 8080, "$path": {"get_resource": "B"}},
    }}}}, "B": {"type": TEST}}))
    assert value_of(template, lookup=FakeLookup(ids={"B": "b-1"})) == "http://$path:8080/b-1"


def test_str_replace_with_params_from_a_json_parameter() -> None:
    template = parse(tmpl(
        {"A": {"type": TEST, "properties": {"value": {"str_replace": {
            "template": "hello NAME", "params": {"get_param": "subs"}}}}}},
        parameters={"subs": {"type": "json", "default": {"NAME": "world"}}},
    ))
    assert value_of(template) == "hello world"


def test_list_join_several_lists_and_nested_functions() -> None:
    template = parse(tmpl(
        {
            "A": {"type": TEST},
            "B": {"type": TEST, "properties": {"value": {"list_join": [
                {"get_param": "sep"},
                ["a", {"get_resource": "A"}],
                {"get_param": "more"},
                [1, True],
            ]}}},
        },
        parameters={"sep": {"type": "string", "default": "-"},
                    "more": {"type": "comma_delimited_list", "default": "x, y"}},
    ))
    assert value_of(template, "B", FakeLookup(ids={"A": "ida"})) == "a-ida-x-y-1-true"


def test_function_like_keys_in_multi_key_maps_are_data() -> None:
    template = parse(tmpl({"N": {"type": "OS::Heat::None", "properties": {
        "data": {"get_thing": 1, "other": 2}}}}))
    assert template.resolve_properties("N", FakeLookup()) == {
        "data": {"get_thing": 1, "other": 2}}


# -- dependencies --------------------------------------------------------------------------
def test_dependencies_explicit_and_implicit() -> None:
    template = parse(tmpl(
        {
            "A": {"type": TEST},
            "B": {"type": TEST, "properties": {"value": {"get_resource": "A"}}},
            "C": {"type": TEST, "depends_on": ["B", "B"],
                  "properties": {"value": {"str_replace": {
                      "template": "x", "params": {"x": {"get_attr": ["D", "output"]}}}}}},
            "D": {"type": TEST},
        },
        outputs={"o": {"value": {"get_attr": ["C", "output"]}}},
    ))
    assert template.dependencies() == {
        "A": frozenset(), "B": {"A"}, "C": {"B", "D"}, "D": frozenset(),
    }
    assert template.resources["C"].depends_on == ("B",)


def ready_batches(template) -> list[list[str]]:
    """The order work may start in: each batch needs only what earlier batches made."""
    sorter = template.dependencies().sorter()
    batches = []
    while sorter.is_active():
        ready = sorter.get_ready()
        batches.append(list(ready))
        sorter.done(*ready)
    return batches


def test_order_puts_dependencies_first_and_ties_in_template_order() -> None:
    template = parse(tmpl({
        "web": {"type": TEST, "depends_on": ["db", "cache"]},
        "cache": {"type": TEST},
        "lb": {"type": TEST, "depends_on": "web"},
        "db": {"type": TEST, "depends_on": "net"},
        "net": {"type": TEST},
        "dns": {"type": TEST},
    }))
    assert ready_batches(template) == [["cache", "net", "dns"], ["db"], ["web"], ["lb"]]


def test_long_chain_orders_without_recursion_limits() -> None:
    resources = {f"r{i}": {"type": TEST, "depends_on": f"r{i + 1}"} for i in range(1999)}
    resources["r1999"] = {"type": TEST}
    template = parse(tmpl(resources), max_resources=2000)
    batches = ready_batches(template)
    assert batches[0] == ["r1999"]
    assert batches[-1] == ["r0"]


# -- parameters ----------------------------------------------------------------------------
PARAMS = {
    "flavor": {"type": "string", "default": "m1.small",
               "constraints": [{"allowed_values": ["m1.small", "m1.large"]}]},
    "count": {"type": "number", "default": 1, "constraints": [{"range": {"min": 1, "max": 9}}]},
    "ratio": {"type": "number", "default": 0.5},
    "debug": {"type": "boolean", "default": False},
    "conf": {"type": "json", "default": {"a": 1}},
    "zones": {"type": "comma_delimited_list", "default": ["az1"],
              "constraints": [{"length": {"min": 1}}]},
    "name": {"type": "string", "default": "web1", "label": "Name", "hidden": True,
             "description": "the name",
             "constraints": [{"allowed_pattern": "[a-z]+[0-9]*"}, {"length": {"max": 8}}]},
}


def test_parameter_defaults_are_typed() -> None:
    template = parse(tmpl(parameters=PARAMS))
    assert template.parameters == {
        "flavor": "m1.small", "count": 1, "ratio": 0.5, "debug": False, "conf": {"a": 1},
        "zones": ["az1"], "name": "web1",
    }
    assert template.parameter_schemas["name"].hidden is True


def test_parameters_given_as_strings_are_converted() -> None:
    template = parse(tmpl(parameters=PARAMS), parameters={
        "flavor": "m1.large", "count": "7", "ratio": "2.5", "debug": "yes",
        "conf": '{"b": [1, 2]}', "zones": "az1, az2 ,az3", "name": "db",
    })
    assert template.parameters == {
        "flavor": "m1.large", "count": 7, "ratio": 2.5, "debug": True,
        "conf": {"b": [1, 2]}, "zones": ["az1", "az2", "az3"], "name": "db",
    }


def test_empty_string_is_the_empty_list() -> None:
    template = parse(tmpl(parameters={"l": {"type": "comma_delimited_list"}}),
                     parameters={"l": ""})
    assert template.parameters["l"] == []


def test_parameter_precedence() -> None:
    params = {name: {"type": "string", "default": "template"} for name in "abcd"}
    environment = {
        "parameters": {"a": "env", "b": "env"},
        "parameter_defaults": {"a": "env-default", "b": "env-default", "c": "env-default",
                               "undeclared": "ignored"},
    }
    template = parse(tmpl(parameters=params), environment, {"a": "given"})
    assert template.parameters == {
        "a": "given", "b": "env", "c": "env-default", "d": "template",
    }


def test_parameter_groups_are_accepted() -> None:
    template = parse(tmpl(parameters=PARAMS, parameter_groups=[
        {"label": "sizing", "description": "how big", "parameters": ["flavor", "count"]}]))
    assert template.parameters["count"] == 1


# -- environment ---------------------------------------------------------------------------
ENV = """
parameters:
  flavor: m1.large
resource_registry:
  OS::Nova::Server: My::Server
  My::Server: OS::Heat::TestResource
  resources:
    web:
      hooks: pre-create
    db:
      hooks: [pre-update, pre-delete]
"""


def test_aliases_and_hooks() -> None:
    template = parse(tmpl(
        {"web": {"type": "OS::Nova::Server"}, "db": {"type": TEST}, "lb": {"type": TEST}},
        parameters={"flavor": {"type": "string"}},
    ), ENV)
    web = template.resources["web"]
    assert (web.type, web.concrete_type, web.plugin) == ("OS::Nova::Server", TEST, TestResource)
    assert web.hooks == {"pre-create"}
    assert template.resources["db"].hooks == {"pre-update", "pre-delete"}
    assert template.resources["lb"].hooks == frozenset()
    assert template.parameters == {"flavor": "m1.large"}
    assert template.environment.aliases == {"OS::Nova::Server": "My::Server",
                                            "My::Server": TEST}


def test_environment_round_trips() -> None:
    env = parse_environment(ENV, max_size=10_000)
    assert parse_environment(env.to_dict(), max_size=10_000) == env
    assert env.to_dict()["resource_registry"]["resources"]["db"] == {
        "hooks": ["pre-delete", "pre-update"]}


@pytest.mark.parametrize("source", [None, "", "# nothing here\n", {}])
def test_empty_environment(source: Any) -> None:
    env = parse_environment(source, max_size=100)
    assert (env.parameters, env.parameter_defaults, env.aliases, env.hooks) == ({}, {}, {}, {})


def test_stored_form_parses_to_the_same_template() -> None:
    text = (
        "heat_template_version: 2015-04-30\n"
        "parameters:\n  n: {type: number, default: 2}\n"
        "resources:\n"
        "  A: {type: OS::Nova::Server, properties: {wait_secs: {get_param: n}}}\n"
        "  B: {type: OS::Heat::TestResource, depends_on: A}\n"
    )
    first = parse(text, ENV.replace("web", "A").replace("db", "B").replace(
        "flavor: m1.large", "n: 3"))
    again = parse(first.raw, first.environment.to_dict())
    assert again.resources == first.resources
    assert again.parameters == first.parameters == {"n": 3}
    assert again.environment == first.environment


# -- outputs -------------------------------------------------------------------------------
def test_outputs_resolve_with_a_lookup() -> None:
    template = parse(tmpl(
        {"A": {"type": TEST}, "B": {"type": TEST}},
        parameters={"p": {"type": "string", "default": "pv"}},
        outputs={
            "id": {"value": {"get_resource": "A"}, "description": "A's id"},
            "out": {"value": {"get_attr": ["B", "output"]}},
            "both": {"value": {"list_join": [",", [{"get_param": "p"},
                                                   {"get_attr": ["A", "output"]}]]}},
            "constant": {"value": [1, 2]},
        },
    ))
    assert template.outputs["id"] == {"value": {"get_resource": "A"}, "description": "A's id"}
    lookup = FakeLookup(ids={"A": "a-1"}, attrs={("A", "output"): "ao", ("B", "output"): "bo"})
    assert template.resolve_outputs(lookup) == {
        "id": "a-1", "out": "bo", "both": "pv,ao", "constant": [1, 2],
    }


def test_an_output_that_cannot_be_resolved_is_none() -> None:
    template = parse(tmpl(
        {"A": {"type": TEST}},
        outputs={
            "bad": {"value": {"list_join": [",", {"get_attr": ["A", "output"]}]}},
            "good": {"value": {"get_resource": "A"}},
        },
    ))
    assert template.resolve_outputs(FakeLookup()) == {"bad": None, "good": None}
    lookup = FakeLookup(ids={"A": "a-1"}, attrs={("A", "output"): "not a list"})
    assert template.resolve_outputs(lookup) == {"bad": None, "good": "a-1"}


@pytest.mark.skipif(not yaml_loader._LIBYAML, reason="PyYAML was built without libyaml")
def test_libyaml_and_the_pure_python_parser_read_every_corpus_document_alike():
    documents = sorted(Path(__file__).parents[2].glob("scenarios/corpus/**/*.yaml"))
    assert len(documents) > 100
    for path in documents:
        text = path.read_text(encoding="utf-8")
        fast = yaml_loader._parse_with(yaml_loader._FastLoader, text, str(path), 10**7)
        assert fast == yaml_loader._parse_with(yaml_loader._Loader, text, str(path), 10**7), path


@pytest.mark.skipif(not yaml_loader._LIBYAML, reason="PyYAML was built without libyaml")
def test_a_document_libyaml_refuses_is_reported_in_the_pure_python_parsers_words(monkeypatch):
    used: list[type] = []
    parse_with = yaml_loader._parse_with
    monkeypatch.setattr(yaml_loader, "_parse_with",
                        lambda cls, *args: used.append(cls) or parse_with(cls, *args))
    assert yaml_loader.load_document("a: [1, 2]\n", what="t", max_size=100) == {"a": [1, 2]}
    assert used == [yaml_loader._FastLoader]  # a good document is read once, by libyaml
    with pytest.raises(ValidationError, match="line 1, column 5: mapping values are not "
                                              "allowed here"):
        yaml_loader.load_document("a: b: c\n", what="t", max_size=100)
    assert used[1:] == [yaml_loader._FastLoader, yaml_loader._Loader]
