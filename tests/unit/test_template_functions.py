"""The rest of HOT: named versions, the functions on data, which version has which, and
yaql refused; each error names its place."""

from __future__ import annotations

from typing import Any

import pytest

from engines.core.errors import ValidationError
from engines.core.template import parse

TEST = "OS::Heat::TestResource"


def value(snippet: Any, version: str = "2021-04-16", files: dict | None = None,
          parameters: dict | None = None, **sections: Any) -> Any:
    """What property ``value`` of a Value resource resolves to."""
    doc = {"heat_template_version": version, **sections,
           "resources": {"A": {"type": "OS::Heat::Value", "properties": {"value": snippet}}}}
    template = parse(doc, None, parameters or {}, files=files)
    return template.resolve_properties("A", _NoLookup())["value"]


class _NoLookup:
    def physical_id(self, name: str) -> None:
        return None

    def attribute(self, name: str, attr: str) -> None:
        return None


def refused(snippet: Any, version: str = "2021-04-16", files: dict | None = None
            ) -> ValidationError:
    with pytest.raises(ValidationError) as info:
        value(snippet, version, files)
    return info.value


@pytest.mark.parametrize(("name", "dated"), [("wallaby", "2021-04-16"), ("rocky", "2018-08-31"),
                                             ("newton", "2016-10-14")])
def test_named_versions_are_accepted(name: str, dated: str) -> None:
    assert parse({"heat_template_version": name}).version == name
    assert parse({"heat_template_version": dated}).version == dated


def test_get_file_reads_the_files_map() -> None:
    assert value({"get_file": "a.txt"}, files={"a.txt": "hello"}) == "hello"


def test_get_file_of_a_missing_file_names_the_place_and_the_file() -> None:
    error = refused({"get_file": "nope.txt"}, files={"a.txt": "x"})
    assert error.path == "resources.A.properties.value"
    assert "'nope.txt'" in error.reason and "a.txt" in error.reason


def test_str_split() -> None:
    assert value({"str_split": [",", "a,b,c"]}) == ["a", "b", "c"]
    assert value({"str_split": [",", "a,b,c", 1]}) == "b"
    assert "out of range" in refused({"str_split": [",", "a,b", 5]}).reason


def test_map_merge_later_maps_win() -> None:
    assert value({"map_merge": [{"a": 1, "b": 2}, {"b": 3}, None]}) == {"a": 1, "b": 3}
    assert "item 1 must be a mapping" in refused({"map_merge": [{}, [1]]}).reason


def test_map_replace_keys_and_values() -> None:
    got = value({"map_replace": [{"k1": "v1", "k2": "v2"},
                                 {"keys": {"k1": "K1"}, "values": {"v2": "V2"}}]})
    assert got == {"K1": "v1", "k2": "V2"}
    error = refused({"map_replace": [{"a": 1, "b": 2}, {"keys": {"a": "b"}}]})
    assert "collides" in error.reason
    assert "unknown key 'other'" in refused({"map_replace": [{}, {"other": {}}]}).reason


def test_list_concat_and_unique() -> None:
    assert value({"list_concat": [[1, 2], [2, 3], None]}) == [1, 2, 2, 3]
    assert value({"list_concat_unique": [[1, 2], [2, 3]]}) == [1, 2, 3]
    assert "item 1 must be a list" in refused({"list_concat": [[1], "x"]}).reason


def test_contains() -> None:
    assert value({"contains": ["a", ["a", "b"]]}) is True
    assert value({"contains": ["c", ["a", "b"]]}) is False


def test_repeat_with_permutations_and_without() -> None:
    got = value({"repeat": {"template": "%a%-%b%", "for_each": {"%a%": ["1", "2"],
                                                               "%b%": ["x", "y"]}}})
    assert got == ["1-x", "1-y", "2-x", "2-y"]
    got = value({"repeat": {"template": {"n": "%a%%b%"}, "permutations": False,
                            "for_each": {"%a%": ["1", "2"], "%b%": ["x", "y"]}}})
    assert got == [{"n": "1x"}, {"n": "2y"}]


def test_repeat_over_a_parameter() -> None:
    doc_params = {"names": {"type": "comma_delimited_list", "default": "a,b"}}
    template = parse({"heat_template_version": "2016-10-14", "parameters": doc_params,
                      "resources": {"A": {"type": "OS::Heat::Value", "properties": {"value": {
                          "repeat": {"template": "<%n%>",
                                     "for_each": {"%n%": {"get_param": "names"}}}}}}}})
    assert template.resolve_properties("A", _NoLookup())["value"] == ["<a>", "<b>"]


@pytest.mark.parametrize(("snippet", "version", "since"), [
    ({"map_merge": [{}, {}]}, "2015-10-15", "2016-04-08"),
    ({"str_split": [",", "a"]}, "2015-04-30", "2015-10-15"),
    ({"list_concat": [[1], [2]]}, "2016-10-14", "2017-09-01"),
    ({"contains": [1, [1]]}, "2017-02-24", "2017-09-01"),
    ({"map_replace": [{}, {}]}, "2016-04-08", "2016-10-14"),
    ({"repeat": {"template": "x", "for_each": {"%a%": ["1"]}}}, "2014-10-16", "2015-04-30"),
])
def test_a_function_exists_from_its_heat_version(snippet: dict, version: str, since: str
                                                 ) -> None:
    error = refused(snippet, version)
    assert error.path == "resources.A.properties.value"
    assert f"not available in heat_template_version {version}" in error.reason
    assert since in error.reason


def test_repeat_permutations_needs_pike() -> None:
    error = refused({"repeat": {"template": "x", "permutations": False,
                                "for_each": {"%a%": ["1"]}}}, "2017-02-24")
    assert error.path.endswith("repeat.permutations")


def test_yaql_is_refused_clearly() -> None:
    error = refused({"yaql": {"expression": "$.data", "data": {}}})
    assert error.path == "resources.A.properties.value"
    assert "yaql is not supported" in error.reason


def test_a_condition_function_outside_a_condition_is_refused() -> None:
    error = refused({"equals": [1, 1]})
    assert "condition function" in error.reason


def test_get_resource_of_a_random_string_is_its_value() -> None:
    doc = {"heat_template_version": "2015-04-30", "resources": {
        "R": {"type": "OS::Heat::RandomString"},
        "A": {"type": TEST, "properties": {"value": {"get_resource": "R"}}}}}

    class Lookup:
        def physical_id(self, name: str) -> str:
            return "physical-id"

        def attribute(self, name: str, attr: str) -> str:
            return f"{name}.{attr}"

    template = parse(doc)
    assert template.resolve_properties("A", Lookup())["value"] == "R.value"


def test_files_must_be_text() -> None:
    with pytest.raises(ValidationError) as info:
        parse({"heat_template_version": "2015-04-30"}, files={"a": 3})
    assert info.value.path == "files.a"
