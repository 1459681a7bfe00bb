"""The nested templates OS::Heat::ResourceGroup and OS::Heat::ResourceChain write, and
their definitions refused at parse time, each at the exact place in the properties."""

from __future__ import annotations

from typing import Any

import pytest

from engines.core.errors import PropertyError, UnknownResourceType, ValidationError
from engines.core.plugins.group_template import MEMBERS, POLICY, mirrored
from engines.core.plugins.resource_chain import ResourceChain
from engines.core.plugins.resource_group import ResourceGroup, replace_index
from engines.core.template import parse

V = "2016-10-14"
TEST = "OS::Heat::TestResource"


def props(count: int = 3, **extra: Any) -> dict[str, Any]:
    base = {"count": count, "index_var": "%index%", "removal_policies": None,
            "removal_policies_mode": "append",
            "resource_def": {"type": TEST, "properties": {"value": "v%index%"},
                             "metadata": None},
            MEMBERS: {TEST: {"attributes": ["output"], "digest": ""}}}
    base.update(extra)
    return base


def plugin(cls: type, physical_id: str | None = None) -> Any:
    return cls("g", "OS::Heat::ResourceGroup", {}, scope=None, physical_id=physical_id)


def test_members_are_numbered_with_their_index_and_outputs_mirror_them():
    template = plugin(ResourceGroup).child_template(props(2), {})
    assert template["resources"] == {
        "0": {"type": TEST, "properties": {"value": "v0"}},
        "1": {"type": TEST, "properties": {"value": "v1"}}}
    outputs = template["outputs"]
    assert outputs["refs_map"]["value"] == {"0": {"get_resource": "0"},
                                            "1": {"get_resource": "1"}}
    assert outputs["attributes.output"]["value"] == {"0": {"get_attr": ["0", "output"]},
                                                     "1": {"get_attr": ["1", "output"]}}
    assert outputs["removed_rsrc_list"]["value"] == []
    parse(template)  # a valid template of its own


def test_the_index_is_replaced_in_every_string_but_not_in_keys():
    value = {"a": ["x%index%", {"%index%": "%index%y"}], "n": 3}
    assert replace_index(value, "%index%", "7") == {"a": ["x7", {"%index%": "7y"}], "n": 3}


def test_removed_names_are_kept_and_skipped():
    group = plugin(ResourceGroup, physical_id="child")
    current = {"refs_map": {"0": "id0", "1": "id1", "2": "id2"}, "removed_rsrc_list": []}
    removal = [{"resource_list": ["1", "id2", "no-such"]}]
    template = group.child_template(props(3, removal_policies=removal), current)
    assert list(template["resources"]) == ["0", "3", "4"]
    assert template["outputs"]["removed_rsrc_list"]["value"] == ["1", "2"]
    # mode update forgets the stored list: only what is listed now counts
    later = {"refs_map": {"0": "id0", "3": "id3"}, "removed_rsrc_list": ["1", "2"]}
    template = group.child_template(props(3, removal_policies=[{"resource_list": ["0"]}],
                                          removal_policies_mode="update"), later)
    assert list(template["resources"]) == ["1", "2", "3"]


def test_batch_create_makes_each_batch_depend_on_the_one_before():
    p = props(5, **{POLICY: {"batch_create": {"max_batch_size": 2, "pause_time": 0}}})
    resources = plugin(ResourceGroup).child_template(p, {})["resources"]
    assert [resources[n].get("depends_on") for n in "01234"] == [
        None, None, ["0", "1"], ["0", "1"], ["2", "3"]]


def test_a_rolling_update_goes_new_members_first_then_highest_indices():
    group = plugin(ResourceGroup, physical_id="child")
    group.previous = props(3)
    policy = {"rolling_update": {"max_batch_size": 2, "min_in_service": 0, "pause_time": 0}}
    changed = props(4, **{POLICY: policy})
    changed["resource_def"] = {**changed["resource_def"], "properties": {"value": "w"}}
    current = {"refs_map": {"0": "a", "1": "b", "2": "c"}}
    resources = group.child_template(changed, current)["resources"]
    # batches: [3, 2], [1, 0]
    assert resources["1"]["depends_on"] == ["3", "2"]
    assert resources["0"]["depends_on"] == ["3", "2"]
    assert "depends_on" not in resources["3"] and "depends_on" not in resources["2"]
    # min_in_service caps the batch: 3 members, 2 in service -> one at a time
    policy["rolling_update"]["min_in_service"] = 2
    resources = group.child_template(props(3, **{POLICY: policy},
                                           resource_def=changed["resource_def"]),
                                     current)["resources"]
    assert resources["1"]["depends_on"] == ["2"] and resources["0"]["depends_on"] == ["1"]
    # no change of resource_def (a resize): no batches
    group.previous = changed
    resources = group.child_template(changed, current)["resources"]
    assert all("depends_on" not in r for r in resources.values())


def test_a_chain_links_each_member_to_the_one_before_unless_concurrent():
    p = {"resources": [TEST, "OS::Heat::None"], "concurrent": False,
         "resource_properties": {"value": "x"},
         MEMBERS: {TEST: {"attributes": ["output"]}, "OS::Heat::None": {"attributes": []}}}
    template = plugin(ResourceChain).child_template(p, {})
    assert template["resources"]["1"] == {"type": "OS::Heat::None",
                                          "properties": {"value": "x"}, "depends_on": ["0"]}
    assert template["outputs"]["attributes.output"]["value"] == {
        "0": {"get_attr": ["0", "output"]}}
    p["concurrent"] = True
    template = plugin(ResourceChain).child_template(p, {})
    assert "depends_on" not in template["resources"]["1"]


def test_the_mirrored_attributes_of_a_group():
    outputs = {"refs_map": {"0": "a", "2": "c"}, "removed_rsrc_list": ["1"],
               "attributes.output": {"0": "x", "2": "z"}}
    values = mirrored(outputs, ["0", "2"])
    assert values["refs"] == ["a", "c"] and values["resource.2"] == "c"
    assert values["resource.2.output"] == "z" and values["output"] == ["x", "z"]
    assert values["attributes"] == {"output": {"0": "x", "2": "z"}}
    assert values["removed_rsrc_list"] == ["1"]


def _parse_group(properties: dict, type_: str = "OS::Heat::ResourceGroup",
                 **spec: Any) -> Any:
    return parse({"heat_template_version": V,
                  "resources": {"g": {"type": type_, "properties": properties, **spec}},
                  "outputs": {"o": {"value": {"get_attr": ["g", "resource.0.output"]}}}})


@pytest.mark.parametrize(("properties", "spec", "cls", "path"), [
    ({"count": -1, "resource_def": {"type": TEST}}, {}, PropertyError,
     "resources.g.properties.count"),
    ({"count": "x", "resource_def": {"type": TEST}}, {}, PropertyError,
     "resources.g.properties.count"),
    ({"resource_def": {"properties": {}}}, {}, PropertyError,
     "resources.g.properties.resource_def.type"),
    ({"resource_def": {"type": TEST, "extra": 1}}, {}, PropertyError,
     "resources.g.properties.resource_def.extra"),
    ({}, {}, PropertyError, "resources.g.properties.resource_def"),
    ({"resource_def": {"type": "No::Such"}}, {}, UnknownResourceType,
     "resources.g.properties.resource_def.type"),
    ({"resource_def": {"type": TEST}, "removal_policies": ["1"]}, {}, PropertyError,
     "resources.g.properties.removal_policies.0"),
    ({"resource_def": {"type": TEST}, "removal_policies": [{"names": ["1"]}]}, {},
     PropertyError, "resources.g.properties.removal_policies.0.names"),
    ({"resource_def": {"type": TEST}, "index_var": "%"}, {}, PropertyError,
     "resources.g.properties.index_var"),
    ({"resource_def": {"type": TEST, "properties": {"fail": "maybe"}}}, {}, PropertyError,
     "resources.g.properties.resource_def.properties.fail"),
    ({"resource_def": {"type": TEST}}, {"update_policy": {"rolling": {}}}, PropertyError,
     "resources.g.update_policy.rolling"),
    ({"resource_def": {"type": TEST}},
     {"update_policy": {"rolling_update": {"pause_time": -1}}}, PropertyError,
     "resources.g.update_policy.rolling_update.pause_time"),
])
def test_bad_group_definitions_name_their_place(properties, spec, cls, path):
    with pytest.raises(cls) as info:
        _parse_group(properties, **spec)
    assert info.value.path == path, info.value


def test_a_zero_count_group_is_not_checked_further_as_in_heat():
    _parse_group({"count": 0, "resource_def": {"type": TEST, "properties": {"nope": 1}}})


@pytest.mark.parametrize(("properties", "cls", "path"), [
    ({"resources": [TEST, "No::Such"]}, UnknownResourceType,
     "resources.g.properties.resources.1"),
    ({"resources": [TEST, 3]}, PropertyError, "resources.g.properties.resources.1"),
    ({"resources": [TEST], "resource_properties": {"nope": 1}}, PropertyError,
     "resources.g.properties.resource_properties.nope"),
    ({}, PropertyError, "resources.g.properties.resources"),
])
def test_bad_chain_definitions_name_their_place(properties, cls, path):
    with pytest.raises(cls) as info:
        _parse_group(properties, "OS::Heat::ResourceChain")
    assert info.value.path == path, info.value


def test_an_aliased_member_type_and_a_member_file_are_followed():
    member = ("heat_template_version: 2016-10-14\nparameters: {p: {type: string}}\n"
              "resources: {}\noutputs: {o: {value: {get_param: p}}}\n")
    doc = {"heat_template_version": V, "resources": {
        "g": {"type": "OS::Heat::ResourceGroup",
              "properties": {"resource_def": {"type": "My::Member",
                                              "properties": {"q": "%index%"}}}}}}
    env = {"resource_registry": {"My::Member": "member.yaml"}}
    with pytest.raises(ValidationError) as info:
        parse(doc, env, files={"member.yaml": member})
    assert info.value.path == "resources.g.properties.resource_def.properties.q"
    doc["resources"]["g"]["properties"]["resource_def"]["properties"] = {"p": "x%index%"}
    template = parse(doc, env, files={"member.yaml": member})
    facts = template.resolve_properties("g", lookup=None)[MEMBERS]
    assert facts["My::Member"]["attributes"] == ["OS::stack_id", "o"]
