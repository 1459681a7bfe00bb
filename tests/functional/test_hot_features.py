"""HOT that real templates use, through the service, on whichever path the session runs:
files and get_file, conditions, restricted_actions, immutable parameters."""

from __future__ import annotations

import pytest
import yaml

from engines.core.errors import ImmutableParameterModified, ValidationError


def _doc(resources: dict, **sections: object) -> str:
    return yaml.safe_dump({"heat_template_version": "2017-09-01", **sections,
                           "resources": resources}, sort_keys=False)


def test_get_file_reads_the_files_given_with_the_create(driver):
    template = _doc({"A": {"type": "OS::Heat::TestResource",
                           "properties": {"value": {"get_file": "motd.txt"}}}},
                    outputs={"a": {"value": {"get_attr": ["A", "output"]}}})
    stack_id = driver.create(template, files={"motd.txt": "hello"})
    assert driver.show(stack_id)["outputs"] == {"a": "hello"}
    # an update keeps reading its own files
    driver.update(stack_id, template, files={"motd.txt": "bye"})
    view = driver.show(stack_id)
    assert view["stack_status"] == "UPDATE_COMPLETE" and view["outputs"] == {"a": "bye"}


def test_a_missing_file_is_refused_before_anything_is_stored(driver):
    template = _doc({"A": {"type": "OS::Heat::TestResource",
                           "properties": {"value": {"get_file": "motd.txt"}}}})
    with pytest.raises(ValidationError) as info:
        driver.create(template, files={}, source="main.yaml")
    assert info.value.path == "resources.A.properties.value"
    assert info.value.source == "main.yaml"
    assert driver.service.list_stacks(driver.ctx) == []


def test_conditions_switch_resources_on_and_off(driver):
    template = _doc(
        {"P": {"type": "OS::Heat::TestResource", "condition": "prod"},
         "D": {"type": "OS::Heat::TestResource", "condition": {"not": "prod"}}},
        parameters={"env": {"type": "string", "default": "dev"}},
        conditions={"prod": {"equals": [{"get_param": "env"}, "prod"]}},
        outputs={"p": {"value": {"get_resource": "P"}, "condition": "prod"}})
    stack_id = driver.create(template)
    assert set(driver.resources(stack_id)) == {"D"}
    assert driver.show(stack_id)["outputs"] == {"p": None}
    driver.update(stack_id, template, parameters={"env": "prod"})
    assert set(driver.resources(stack_id)) == {"P"}
    assert driver.show(stack_id)["outputs"]["p"] == driver.physical_ids(stack_id)["P"]


def test_a_restricted_replace_fails_the_resource_and_changes_nothing(driver):
    env = {"resource_registry": {"resources": {"A": {"restricted_actions": "replace"}}}}
    v1 = _doc({"A": {"type": "OS::Heat::TestResource",
                     "properties": {"update_replace_value": "one"}}})
    stack_id = driver.create(v1, environment=env)
    before = driver.physical_ids(stack_id)
    driver.update(stack_id, v1.replace("one", "two"), environment=env, disable_rollback=True)
    view = driver.show(stack_id)
    assert view["stack_status"] == "UPDATE_FAILED"
    resource = driver.resources(stack_id)["A"]
    assert resource["resource_status"] == "UPDATE_FAILED"
    assert "ResourceActionRestricted" in resource["status_reason"]
    assert driver.physical_ids(stack_id) == before
    assert driver.copies(stack_id) == {"A": 1}


def test_an_immutable_parameter_change_is_refused(driver):
    template = _doc({"A": {"type": "OS::Heat::TestResource",
                           "properties": {"value": {"get_param": "size"}}}},
                    parameters={"size": {"type": "string", "immutable": True}})
    stack_id = driver.create(template, parameters={"size": "s"})
    with pytest.raises(ImmutableParameterModified):
        driver.update(stack_id, template, parameters={"size": "l"})
    view = driver.show(stack_id)
    assert view["stack_status"] == "CREATE_COMPLETE"
    assert driver.resources(stack_id)["A"]["properties"]["value"] == "s"
