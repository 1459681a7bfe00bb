"""Template resources and nested stacks, through the service: a nested stack is a stack of
its own (own rows and events, parent and root recorded), created, updated in place,
rolled back and deleted with its parent, and always on its root's path."""

from __future__ import annotations

import pytest
import yaml

from engines.core.errors import PropertyError, ValidationError
from engines.service import EngineService
from tests.functional.conftest import Driver

V = "2016-10-14"


def _doc(resources: dict, **sections: object) -> str:
    return yaml.safe_dump({"heat_template_version": V, **sections, "resources": resources},
                          sort_keys=False)


DB = _doc({"R": {"type": "OS::Heat::TestResource",
                 "properties": {"value": {"get_param": "size"}}}},
          parameters={"size": {"type": "string", "default": "small"}},
          outputs={"out": {"value": {"get_attr": ["R", "output"]}}})
PARENT = _doc({"db": {"type": "db.yaml", "properties": {"size": "large"}}},
              outputs={"db_out": {"value": {"get_attr": ["db", "out"]}}})


def _children(driver, parent_id):
    return [s for s in driver.service.list_stacks(driver.ctx) if s["id"] == parent_id]


def test_a_template_resource_is_a_nested_stack(driver, engine_mode):
    d = driver
    stack_id = d.create(PARENT, files={"db.yaml": DB})
    view = d.show(stack_id)
    assert view["stack_status"] == "CREATE_COMPLETE", view
    assert view["outputs"] == {"db_out": "large"}
    child_id = d.resources(stack_id)["db"]["physical_id"]
    child = d.show(child_id)
    assert child["parent"] == stack_id and child["root"] == stack_id
    assert child["engine"] == engine_mode
    assert d.resources(child_id)["R"]["resource_status"] == "CREATE_COMPLETE"
    assert [e["resource_name"] for e in d.events(child_id)].count("R") == 2
    # nested stacks are listed under their parent, not as stacks of their own
    assert [s["id"] for s in d.service.list_stacks(d.ctx)] == [stack_id]

    # a changed nested template updates the same nested stack, in place
    grown = yaml.safe_load(DB)
    grown["resources"]["X"] = {"type": "OS::Heat::None"}
    d.update(stack_id, PARENT, files={"db.yaml": yaml.safe_dump(grown)})
    assert d.show(stack_id)["stack_status"] == "UPDATE_COMPLETE"
    assert d.resources(stack_id)["db"]["physical_id"] == child_id
    assert set(d.resources(child_id)) == {"R", "X"}


def test_update_in_place_and_delete_with_the_parent(driver):
    d = driver
    stack_id = d.create(PARENT, files={"db.yaml": DB})
    child_id = d.resources(stack_id)["db"]["physical_id"]
    d.update(stack_id, PARENT.replace("large", "huge"), files={"db.yaml": DB})
    assert d.show(stack_id)["stack_status"] == "UPDATE_COMPLETE"
    assert d.resources(stack_id)["db"]["physical_id"] == child_id  # never replaced
    assert d.show(stack_id)["outputs"] == {"db_out": "huge"}
    assert d.show(child_id)["stack_status"] == "UPDATE_COMPLETE"
    d.delete(stack_id)
    assert d.show(child_id)["stack_status"] == "DELETE_COMPLETE"
    assert d.service.cloud.copies(child_id) == {}


def test_an_environment_maps_a_type_onto_a_file(driver):
    d = driver
    parent = _doc({"db": {"type": "My::DB", "properties": {"size": "m"}}},
                  outputs={"o": {"value": {"get_attr": ["db", "out"]}}})
    env = {"resource_registry": {"My::DB": "db.yaml"}}
    stack_id = d.create(parent, environment=env, files={"db.yaml": DB})
    assert d.show(stack_id)["outputs"] == {"o": "m"}


def test_a_failed_nested_create_fails_and_rolls_back_the_parent(driver):
    d = driver
    bad = _doc({"R": {"type": "OS::Heat::TestResource", "properties": {"fail": True}}},
               parameters={"size": {"type": "string"}}, outputs={"out": {"value": 1}})
    stack_id = d.create(PARENT, files={"db.yaml": bad})
    view = d.show(stack_id)
    assert view["stack_status"] == "ROLLBACK_COMPLETE", view
    assert d.service.cloud.copies() == {}


def test_os_heat_stack_with_an_inline_template(driver):
    d = driver
    inner = {"heat_template_version": V, "parameters": {"p": {"type": "string"}},
             "resources": {"I": {"type": "OS::Heat::TestResource",
                                 "properties": {"value": {"get_param": "p"}}}},
             "outputs": {"i": {"value": {"get_attr": ["I", "output"]}}}}
    parent = _doc({"S": {"type": "OS::Heat::Stack",
                         "properties": {"template": yaml.safe_dump(inner),
                                        "parameters": {"p": "inline"}}}},
                  outputs={"o": {"value": {"get_attr": ["S", "outputs", "i"]}}})
    stack_id = d.create(parent)
    assert d.show(stack_id)["outputs"] == {"o": "inline"}


@pytest.mark.parametrize(("files", "cls", "path", "phrase", "source"), [
    ({}, ValidationError, "resources.db.type", "no such file in the files map", None),
    ({"db.yaml": DB.replace("size", "sz")}, PropertyError, "resources.db.properties.size",
     "the nested template db.yaml has no parameter 'size'", None),
    ({"db.yaml": _doc({"X": {"type": "db.yaml", "properties": {"size": "s"}}},
                      parameters={"size": {"type": "string"}})},
     ValidationError, "resources.X.type", "recursion", "db.yaml"),
    ({"db.yaml": _doc({"X": {"type": "OS::Nova::Nope"}},
                      parameters={"size": {"type": "string"}})},
     ValidationError, "resources.X.type", "unknown resource type", "db.yaml"),
])
def test_bad_nested_input_is_refused_before_anything_is_stored(driver, files, cls, path,
                                                               phrase, source):
    with pytest.raises(cls) as info:
        driver.create(PARENT, files=files)
    assert info.value.path == path and phrase in info.value.reason
    assert info.value.source == source
    assert driver.service.list_stacks(driver.ctx) == []


def test_nesting_deeper_than_the_limit_is_refused(driver):
    files = {f"l{i}.yaml": _doc({"N": {"type": f"l{i + 1}.yaml"}}) for i in range(6)}
    files["l6.yaml"] = _doc({})
    top = _doc({"N": {"type": "l0.yaml"}})
    with pytest.raises(ValidationError) as info:
        driver.create(top, files=files)
    assert "nesting too deep" in info.value.reason and "max_nested_stack_depth" in str(
        info.value)


@pytest.mark.engine_path("legacy")  # made on both paths below, whatever the session's
@pytest.mark.parametrize("created_on", ["legacy", "convergence"])
def test_nested_stacks_run_on_their_roots_path_after_the_flip(dualpath_conf_factory, ctx,
                                                              created_on):
    # a nested stack an update adds after the option flipped still takes its root's path
    conf = dualpath_conf_factory(convergence_engine=created_on == "convergence")
    with EngineService(conf) as service:
        d = Driver(service, ctx)
        stack_id = d.create(PARENT, files={"db.yaml": DB})
        conf.set_override("convergence_engine", created_on != "convergence")
        grown = yaml.safe_load(PARENT)
        grown["resources"]["db2"] = {"type": "db.yaml", "properties": {"size": "s"}}
        d.update(stack_id, yaml.safe_dump(grown), files={"db.yaml": DB})
        assert d.show(stack_id)["stack_status"] == "UPDATE_COMPLETE"
        for name in ("db", "db2"):
            child_id = d.resources(stack_id)[name]["physical_id"]
            assert d.show(child_id)["engine"] == created_on, name
        d.delete(stack_id)
        assert d.show(stack_id)["stack_status"] == "DELETE_COMPLETE"
        assert service.cloud.copies() == {}


@pytest.mark.engine_path("convergence")
def test_nested_waits_leave_the_worker_threads_to_the_nested_stacks(dualpath_conf_factory,
                                                                    ctx):
    """Eight template resources, each two levels deep, on one worker thread: were a
    waiting parent to hold a worker thread, the nested traversals would have none."""
    conf = dualpath_conf_factory(convergence_engine=True)
    conf.set_override("convergence_worker_threads", 1)
    conf.set_override("convergence_local_workers", 1)
    inner = _doc({"N": {"type": "db.yaml", "properties": {"size": {"get_param": "size"}}}},
                 parameters={"size": {"type": "string"}},
                 outputs={"out": {"value": {"get_attr": ["N", "out"]}}})
    parent = _doc({f"m{i}": {"type": "mid.yaml", "properties": {"size": f"s{i}"}}
                   for i in range(8)},
                  outputs={"o": {"value": {"get_attr": ["m7", "out"]}}})
    with EngineService(conf) as service:
        d = Driver(service, ctx)
        stack_id = d.create(parent, files={"db.yaml": DB, "mid.yaml": inner})
        view = d.show(stack_id)
        assert view["stack_status"] == "CREATE_COMPLETE", view
        assert view["outputs"] == {"o": "s7"}
        d.delete(stack_id)
        assert d.show(stack_id)["stack_status"] == "DELETE_COMPLETE"
        assert service.cloud.copies() == {}


def test_get_attr_reaches_a_resource_of_the_nested_stack(driver):
    # Heat's resource.<name>[.<attr>] of a template resource, read by a sibling and an output
    parent = _doc({"db": {"type": "db.yaml", "properties": {"size": "xl"}},
                   "use": {"type": "OS::Heat::TestResource",
                           "properties": {"value": {"get_attr": ["db", "resource.R.output"]}}}},
                  outputs={"r_id": {"value": {"get_attr": ["db", "resource.R"]}},
                           "used": {"value": {"get_attr": ["use", "output"]}}})
    stack_id = driver.create(parent, files={"db.yaml": DB})
    view = driver.show(stack_id)
    assert view["stack_status"] == "CREATE_COMPLETE", view
    child_id = driver.resources(stack_id)["db"]["physical_id"]
    assert view["outputs"] == {"r_id": driver.resources(child_id)["R"]["physical_id"],
                               "used": "xl"}


def test_a_cancelled_parent_create_cancels_its_nested_create(driver):
    # Heat's handle_create_cancel: the nested create stops too, without a rollback
    slow = _doc({"R": {"type": "OS::Heat::TestResource",
                       "properties": {"value": {"get_param": "size"}}}},
                parameters={"size": {"type": "string", "default": "small"}},
                outputs={"out": {"value": {"get_attr": ["R", "output"]}}})
    driver.service.inject_fault("R", "CREATE", latency=60)
    stack_id = driver.create(PARENT, files={"db.yaml": slow}, wait=False,
                             disable_rollback=True)
    driver.service.wait_resource(driver.ctx, stack_id, "db", status="CREATE_IN_PROGRESS",
                                 timeout=30)
    child_id = driver.service.wait_until(  # stored with the nested create's start
        lambda: driver.resources(stack_id)["db"]["physical_id"], 10, "db's nested stack")
    driver.service.wait_resource(driver.ctx, child_id, "R", status="CREATE_IN_PROGRESS",
                                 timeout=30)
    driver.service.cancel_stack(driver.ctx, stack_id, rollback=False)
    assert driver.wait(stack_id)["stack_status"] == "CREATE_FAILED"
    child = driver.wait(child_id)
    assert child["stack_status"] == "CREATE_FAILED", child
    assert driver.resources(child_id)["R"]["status_reason"] == "CREATE cancelled"
    driver.delete(stack_id)
    assert driver.service.cloud.copies() == {}
