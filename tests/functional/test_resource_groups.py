"""OS::Heat::ResourceGroup and OS::Heat::ResourceChain through the service: each owns a
nested stack of members "0", "1", ... that it writes itself, scales in place, and mirrors
the attributes of."""

from __future__ import annotations

import pytest
import yaml

from engines.core.errors import PropertyError, UnknownResourceType, ValidationError

V = "2016-10-14"
TEST = "OS::Heat::TestResource"


def _doc(resources: dict, **sections: object) -> str:
    return yaml.safe_dump({"heat_template_version": V, **sections, "resources": resources},
                          sort_keys=False)


def group(count: int = 3, policy: dict | None = None, removal: list | None = None,
          value: object = "v%index%", **extra: object) -> dict:
    props: dict = {"count": count,
                   "resource_def": {"type": TEST, "properties": {"value": value, **extra}}}
    if removal is not None:
        props["removal_policies"] = [{"resource_list": removal}]
    spec: dict = {"type": "OS::Heat::ResourceGroup", "properties": props}
    if policy:
        spec["update_policy"] = policy
    return spec


OUTPUTS = {"refs": {"value": {"get_attr": ["g", "refs"]}},
           "refs_map": {"value": {"get_attr": ["g", "refs_map"]}},
           "first": {"value": {"get_attr": ["g", "resource.0"]}},
           "second_out": {"value": {"get_attr": ["g", "resource.1.output"]}},
           "by_name": {"value": {"get_attr": ["g", "attributes", "output"]}},
           "all_out": {"value": {"get_attr": ["g", "output"]}},
           "removed": {"value": {"get_attr": ["g", "removed_rsrc_list"]}}}


def _make(d, spec: dict, **kwargs) -> str:
    return d.create(_doc({"g": spec}, outputs=OUTPUTS), **kwargs)


def _update(d, stack_id: str, spec: dict) -> None:
    d.update(stack_id, _doc({"g": spec}, outputs=OUTPUTS))
    assert d.show(stack_id)["stack_status"] == "UPDATE_COMPLETE", d.show(stack_id)


def _members(d, stack_id: str) -> dict[str, str]:
    child = d.resources(stack_id)["g"]["physical_id"]
    return d.physical_ids(child)


def _order(d, child_id: str, action: str) -> list[tuple[str, str]]:
    return [(e["resource_name"], e["status"]) for e in d.events(child_id)
            if e["action"] == action and str(e["resource_name"]).isdigit()]


def test_a_group_makes_count_members_and_mirrors_their_attributes(driver):
    d = driver
    stack_id = _make(d, group(3))
    view = d.show(stack_id)
    assert view["stack_status"] == "CREATE_COMPLETE", view
    members = _members(d, stack_id)
    assert sorted(members) == ["0", "1", "2"]
    out = view["outputs"]
    assert out["refs"] == [members["0"], members["1"], members["2"]]
    assert out["refs_map"] == members
    assert out["first"] == members["0"]
    assert out["second_out"] == "v1"
    assert out["by_name"] == {"0": "v0", "1": "v1", "2": "v2"}
    assert out["all_out"] == ["v0", "v1", "v2"]
    assert out["removed"] == []
    child = d.show(d.resources(stack_id)["g"]["physical_id"])
    assert child["parent"] == stack_id and child["root"] == stack_id
    d.delete(stack_id)
    assert d.copies(None) == {}


def test_index_var_is_replaced_inside_nested_values(driver):
    d = driver
    spec = group(2, value={"list_join": ["-", ["n_%i%", "x"]]})
    spec["properties"]["index_var"] = "%i%"
    stack_id = _make(d, spec)
    assert d.show(stack_id)["outputs"]["all_out"] == ["n_0-x", "n_1-x"]


def test_scaling_up_and_down_updates_the_nested_stack_in_place(driver):
    d = driver
    stack_id = _make(d, group(3))
    child = d.resources(stack_id)["g"]["physical_id"]
    before = _members(d, stack_id)
    _update(d, stack_id, group(5))
    assert d.resources(stack_id)["g"]["physical_id"] == child
    grown = _members(d, stack_id)
    assert sorted(grown) == ["0", "1", "2", "3", "4"]
    assert {n: grown[n] for n in before} == before  # kept, not replaced
    _update(d, stack_id, group(2))
    assert _members(d, stack_id) == {n: before[n] for n in ("0", "1")}  # highest go first
    assert d.show(stack_id)["outputs"]["all_out"] == ["v0", "v1"]
    assert sorted(d.copies(child)) == ["0", "1"]


def test_removal_policies_remove_members_whose_names_are_never_reused(driver):
    d = driver
    stack_id = _make(d, group(3))
    before = _members(d, stack_id)
    _update(d, stack_id, group(3, removal=["1"]))
    after = _members(d, stack_id)
    assert sorted(after) == ["0", "2", "3"]
    assert after["0"] == before["0"] and after["2"] == before["2"]
    assert d.show(stack_id)["outputs"]["removed"] == ["1"]
    # a member named by its reference; and "1" stays removed without being listed again
    _update(d, stack_id, group(3, removal=[after["2"]]))
    assert sorted(_members(d, stack_id)) == ["0", "3", "4"]
    _update(d, stack_id, group(4))
    assert sorted(_members(d, stack_id)) == ["0", "3", "4", "5"]
    assert d.show(stack_id)["outputs"]["removed"] == ["1", "2"]


def test_removal_policies_at_create_skip_those_names(driver):
    d = driver
    stack_id = _make(d, group(2, removal=["0"]))
    assert sorted(_members(d, stack_id)) == ["1", "2"]
    assert d.show(stack_id)["outputs"]["refs_map"].keys() == {"1", "2"}


def test_batch_create_makes_one_batch_after_the_other(driver):
    d = driver
    spec = group(4, policy={"batch_create": {"max_batch_size": 2}}, wait_secs=0.2)
    stack_id = _make(d, spec)
    assert d.show(stack_id)["stack_status"] == "CREATE_COMPLETE"
    order = _order(d, d.resources(stack_id)["g"]["physical_id"], "CREATE")
    first_done = max(order.index((n, "COMPLETE")) for n in ("0", "1"))
    second_start = min(order.index((n, "IN_PROGRESS")) for n in ("2", "3"))
    assert first_done < second_start, order
    # within a batch, members are made at once
    assert order.index(("1", "IN_PROGRESS")) < order.index(("0", "COMPLETE")), order


def test_rolling_update_updates_highest_indices_first_batch_by_batch(driver):
    d = driver
    policy = {"rolling_update": {"max_batch_size": 1}}
    stack_id = _make(d, group(3, policy=policy, wait_secs=0.1))
    before = _members(d, stack_id)
    _update(d, stack_id, group(3, policy=policy, value="w%index%", wait_secs=0.1))
    assert _members(d, stack_id) == before
    assert d.show(stack_id)["outputs"]["all_out"] == ["w0", "w1", "w2"]
    order = _order(d, d.resources(stack_id)["g"]["physical_id"], "UPDATE")
    assert order == [("2", "IN_PROGRESS"), ("2", "COMPLETE"), ("1", "IN_PROGRESS"),
                     ("1", "COMPLETE"), ("0", "IN_PROGRESS"), ("0", "COMPLETE")]


MEMBER = _doc({"R": {"type": TEST, "properties": {"value": {"get_param": "name"}}}},
              parameters={"name": {"type": "string"}},
              outputs={"out": {"value": {"get_attr": ["R", "output"]}}})


def test_a_member_may_be_a_template_resource(driver):
    d = driver
    spec = {"type": "OS::Heat::ResourceGroup",
            "properties": {"count": 2, "resource_def": {
                "type": "member.yaml", "properties": {"name": "m%index%"}}}}
    top = _doc({"g": spec}, outputs={"o": {"value": {"get_attr": ["g", "resource.1.out"]}},
                                     "all": {"value": {"get_attr": ["g", "out"]}}})
    stack_id = d.create(top, files={"member.yaml": MEMBER})
    view = d.show(stack_id)
    assert view["stack_status"] == "CREATE_COMPLETE", view
    assert view["outputs"] == {"o": "m1", "all": ["m0", "m1"]}
    # a changed member file reaches the members: the group is updated with it
    changed = MEMBER.replace("get_param: name", "str_replace: {template: X$n, params: "
                                                "{$n: {get_param: name}}}")
    d.update(stack_id, top, files={"member.yaml": changed})
    assert d.show(stack_id)["outputs"] == {"o": "Xm1", "all": ["Xm0", "Xm1"]}
    d.delete(stack_id)
    assert d.copies(None) == {}


def test_a_chain_makes_one_member_per_type_one_after_another(driver):
    d = driver
    chain = {"type": "OS::Heat::ResourceChain",
             "properties": {"resources": [TEST, TEST, "OS::Heat::None"],
                            "resource_properties": {"value": "same", "wait_secs": 0.1}}}
    outputs = {"refs": {"value": {"get_attr": ["c", "refs"]}},
               "one": {"value": {"get_attr": ["c", "resource.1.output"]}},
               "outs": {"value": {"get_attr": ["c", "attributes", "output"]}}}
    stack_id = d.create(_doc({"c": chain}, outputs=outputs))
    view = d.show(stack_id)
    assert view["stack_status"] == "CREATE_COMPLETE", view
    child = d.resources(stack_id)["c"]["physical_id"]
    ids = d.physical_ids(child)
    assert view["outputs"]["refs"] == [ids["0"], ids["1"], ids["2"]]
    assert view["outputs"]["one"] == "same"
    assert view["outputs"]["outs"] == {"0": "same", "1": "same"}
    order = _order(d, child, "CREATE")
    assert order.index(("0", "COMPLETE")) < order.index(("1", "IN_PROGRESS")), order
    # fewer types: the last member goes, the others stay
    chain["properties"]["resources"] = [TEST, TEST]
    d.update(stack_id, _doc({"c": chain}, outputs=outputs))
    assert d.physical_ids(child) == {"0": ids["0"], "1": ids["1"]}


def test_a_concurrent_chain_makes_its_members_at_once(driver):
    d = driver
    chain = {"type": "OS::Heat::ResourceChain",
             "properties": {"resources": [TEST, TEST], "concurrent": True,
                            "resource_properties": {"wait_secs": 0.2}}}
    stack_id = d.create(_doc({"c": chain}))
    order = _order(d, d.resources(stack_id)["c"]["physical_id"], "CREATE")
    assert order.index(("1", "IN_PROGRESS")) < order.index(("0", "COMPLETE")), order


@pytest.mark.parametrize(("spec", "cls", "path"), [
    (group(-1), PropertyError, "resources.g.properties.count"),
    ({"type": "OS::Heat::ResourceGroup", "properties": {"resource_def": {"properties": {}}}},
     PropertyError, "resources.g.properties.resource_def.type"),
    ({"type": "OS::Heat::ResourceGroup", "properties": {"resource_def": {"type": "No::Such"}}},
     UnknownResourceType, "resources.g.properties.resource_def.type"),
    (group(2, removal="1"), PropertyError, "resources.g.properties.removal_policies.0."
                                           "resource_list"),
    (group(2, nope=1), PropertyError, "resources.g.properties.resource_def.properties.nope"),
    (group(2, policy={"batch_create": {"max_batch_size": 0}}), PropertyError,
     "resources.g.update_policy.batch_create.max_batch_size"),
    ({"type": "OS::Heat::ResourceChain", "properties": {"resources": [TEST, "No::Such"]}},
     UnknownResourceType, "resources.g.properties.resources.1"),
])
def test_bad_group_definitions_are_refused_before_anything_is_stored(driver, spec, cls, path):
    with pytest.raises(cls) as info:
        driver.create(_doc({"g": spec}))
    assert info.value.path == path, info.value
    assert driver.service.list_stacks(driver.ctx) == []


def test_a_missing_member_file_is_refused(driver):
    spec = {"type": "OS::Heat::ResourceGroup",
            "properties": {"resource_def": {"type": "member.yaml"}}}
    with pytest.raises(ValidationError) as info:
        driver.create(_doc({"g": spec}))
    assert info.value.path == "resources.g.properties.resource_def.type"
    assert "no such file" in info.value.reason


def test_a_new_index_var_replaces_the_group_as_in_heat(driver):
    d = driver
    stack_id = _make(d, group(2, value="v%index%"))
    child = d.resources(stack_id)["g"]["physical_id"]
    spec = group(2, value="v@@@")
    spec["properties"]["index_var"] = "@@@"
    _update(d, stack_id, spec)
    assert d.resources(stack_id)["g"]["physical_id"] != child
    assert d.show(stack_id)["outputs"]["all_out"] == ["v0", "v1"]
    assert d.show(child)["stack_status"] == "DELETE_COMPLETE"
