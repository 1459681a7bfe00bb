"""PATCH updates (``existing=True``) and update previews, through the service, on both
paths: a PATCH keeps what it does not say; a preview says what an update would do and
changes nothing."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
import yaml

from engines.core.errors import ParameterError, ValidationError
from tests.functional.conftest import Driver

V = "2016-10-14"


def _doc(resources: dict, **sections: object) -> str:
    return yaml.safe_dump({"heat_template_version": V, **sections, "resources": resources},
                          sort_keys=False)


PARAMS = {"colour": {"type": "string", "default": "red"},
          "size": {"type": "string", "default": "s"}}
T = _doc({"A": {"type": "OS::Heat::TestResource",
                "properties": {"value": {"get_param": "colour"}}},
          "B": {"type": "OS::Heat::TestResource",
                "properties": {"value": {"get_param": "size"}}}},
         parameters=PARAMS,
         outputs={"a": {"value": {"get_attr": ["A", "output"]}},
                  "b": {"value": {"get_attr": ["B", "output"]}}})


def _outputs(d: Driver, stack_id: str) -> dict:
    return d.show(stack_id)["outputs"]


# -- PATCH ---------------------------------------------------------------------------------
def test_a_patch_keeps_the_template_and_the_parameters_it_does_not_name(driver):
    d = driver
    stack_id = d.create(T, parameters={"colour": "blue", "size": "l"})
    ids = d.physical_ids(stack_id)
    d.update(stack_id, None, parameters={"size": "xl"}, existing=True)
    view = d.show(stack_id)
    assert view["stack_status"] == "UPDATE_COMPLETE", view
    assert view["outputs"] == {"a": "blue", "b": "xl"}
    assert d.physical_ids(stack_id) == ids  # updated in place, A not even touched
    # a PUT resets what it does not name
    d.update(stack_id, T, parameters={"size": "xl"})
    assert _outputs(d, stack_id) == {"a": "red", "b": "xl"}


def test_clear_parameters_resets_them_to_their_defaults(driver):
    d = driver
    stack_id = d.create(T, parameters={"colour": "blue", "size": "l"})
    d.update(stack_id, None, existing=True, clear_parameters=["colour"])
    assert _outputs(d, stack_id) == {"a": "red", "b": "l"}


def test_a_patch_merges_the_new_environment_over_the_stored_one(driver):
    d = driver
    stack_id = d.create(T, environment={"parameters": {"colour": "green"},
                                        "parameter_defaults": {"size": "m"}})
    d.update(stack_id, None, environment={"parameters": {"size": "xs"}}, existing=True)
    assert _outputs(d, stack_id) == {"a": "green", "b": "xs"}
    # a value the new environment sets replaces a stored given one, as in Heat
    d.update(stack_id, None, parameters={"colour": "blue"}, existing=True)
    d.update(stack_id, None, environment={"parameters": {"colour": "pink"}}, existing=True)
    assert _outputs(d, stack_id) == {"a": "pink", "b": "xs"}


def test_a_patch_with_a_new_template_drops_parameters_it_no_longer_declares(driver):
    d = driver
    stack_id = d.create(T, parameters={"colour": "blue", "size": "l"})
    smaller = _doc({"A": {"type": "OS::Heat::TestResource",
                          "properties": {"value": {"get_param": "colour"}}}},
                   parameters={"colour": PARAMS["colour"]},
                   outputs={"a": {"value": {"get_attr": ["A", "output"]}}})
    d.update(stack_id, smaller, existing=True)
    assert d.show(stack_id)["stack_status"] == "UPDATE_COMPLETE"
    assert _outputs(d, stack_id) == {"a": "blue"}
    # a value given for a parameter the template does not declare is still refused
    with pytest.raises(ParameterError):
        d.service.update_stack(d.ctx, stack_id, None, parameters={"size": "x"},
                               existing=True)


def test_a_patch_keeps_the_stored_files_updated_by_the_given_ones(driver):
    d = driver
    stack_id = d.create(PARENT, files={"db.yaml": DB})
    child_id = d.resources(stack_id)["db"]["physical_id"]
    d.update(stack_id, None, existing=True)
    assert d.show(stack_id)["stack_status"] == "UPDATE_COMPLETE"
    d.update(stack_id, None, files={"db.yaml": DB_GROWN}, existing=True)
    assert d.show(stack_id)["stack_status"] == "UPDATE_COMPLETE"
    assert set(d.resources(child_id)) == {"Q", "R", "X"}


def test_without_a_template_a_put_is_refused(driver):
    stack_id = driver.create(T)
    with pytest.raises(ValidationError):
        driver.service.update_stack(driver.ctx, stack_id, None)


# -- preview -------------------------------------------------------------------------------
def _names(preview: dict) -> dict[str, list[str]]:
    return {k: [e["name"] for e in v] for k, v in preview.items()}


def _stored(d: Driver) -> dict[str, int]:
    """Rows of every table of the engine's database (the simulated cloud's included)."""
    engine = d.service.rt.db.engine
    meta = sa.MetaData()
    meta.reflect(bind=engine)
    with engine.connect() as conn:
        return {name: conn.execute(sa.select(sa.func.count()).select_from(table)).scalar()
                for name, table in meta.tables.items() if name != "alembic_version"}


def _snapshot(d: Driver, stack_id: str) -> tuple:
    return (_stored(d), d.show(stack_id), d.service.list_resources(d.ctx, stack_id),
            d.events(stack_id), d.service.cloud.calls())


CHAIN = _doc({
    "A": {"type": "OS::Heat::TestResource", "properties": {"value": "a"}},
    "B": {"type": "OS::Heat::TestResource",
          "properties": {"value": {"get_attr": ["A", "output"]}}},
    "C": {"type": "OS::Heat::TestResource", "properties": {"value": "c"}},
    "D": {"type": "OS::Heat::TestResource", "properties": {"value": "d"}},
    "E": {"type": "OS::Heat::None", "properties": {"ref": {"get_resource": "C"}}},
})


def test_a_preview_classifies_every_resource_and_changes_nothing(driver):
    d = driver
    stack_id = d.create(CHAIN)
    new = yaml.safe_load(CHAIN)
    res = new["resources"]
    res["A"]["properties"]["value"] = "a2"  # in place: B reads its attribute
    res["C"]["properties"]["update_replace"] = True  # replaced: E refers to it
    res["C"]["properties"]["value"] = "c2"
    del res["D"]
    res["F"] = {"type": "OS::Heat::None"}
    before = _snapshot(d, stack_id)
    preview = d.service.preview_update_stack(d.ctx, stack_id, yaml.safe_dump(new))
    assert _names(preview) == {"added": ["F"], "updated": ["A", "B", "E"],
                               "replaced": ["C"], "deleted": ["D"], "unchanged": []}
    assert {e["type"] for e in preview["updated"]} == {"OS::Heat::TestResource",
                                                        "OS::Heat::None"}
    assert _snapshot(d, stack_id) == before  # no rows, no events, no cloud calls
    # ... and the update then does what the preview said
    d.update(stack_id, yaml.safe_dump(new))
    after = d.physical_ids(stack_id)
    assert d.show(stack_id)["stack_status"] == "UPDATE_COMPLETE"
    assert after["C"] != before[2][2]["physical_id"]


def test_a_preview_of_the_same_template_is_all_unchanged(driver):
    d = driver
    stack_id = d.create(CHAIN)
    before = _snapshot(d, stack_id)
    preview = d.service.preview_update_stack(d.ctx, stack_id, CHAIN)
    assert _names(preview) == {"added": [], "updated": [], "replaced": [], "deleted": [],
                               "unchanged": ["A", "B", "C", "D", "E"]}
    assert d.service.preview_update_stack(d.ctx, stack_id, None, existing=True) == preview
    assert _snapshot(d, stack_id) == before


def test_a_preview_takes_parameters_as_the_update_does(driver):
    d = driver
    stack_id = d.create(T, parameters={"colour": "blue"})
    put = d.service.preview_update_stack(d.ctx, stack_id, T, parameters={"size": "l"})
    assert _names(put)["updated"] == ["A", "B"]  # colour back to its default
    patch = d.service.preview_update_stack(d.ctx, stack_id, None, parameters={"size": "l"},
                                           existing=True)
    assert _names(patch) == {"added": [], "updated": ["B"], "replaced": [], "deleted": [],
                             "unchanged": ["A"]}
    with pytest.raises(ParameterError):
        d.service.preview_update_stack(d.ctx, stack_id, T, parameters={"nope": 1})


def test_a_type_change_is_a_replacement(driver):
    d = driver
    stack_id = d.create(CHAIN)
    new = yaml.safe_load(CHAIN)
    new["resources"]["D"] = {"type": "OS::Heat::None"}
    preview = d.service.preview_update_stack(d.ctx, stack_id, yaml.safe_dump(new))
    assert preview["replaced"] == [{"name": "D", "type": "OS::Heat::None"}]


DB = _doc({"R": {"type": "OS::Heat::TestResource",
                 "properties": {"value": {"get_param": "size"}}},
           "Q": {"type": "OS::Heat::TestResource", "properties": {"value": "q"}}},
          parameters={"size": {"type": "string", "default": "small"}},
          outputs={"out": {"value": {"get_attr": ["R", "output"]}}})
_grown = yaml.safe_load(DB)
_grown["resources"]["X"] = {"type": "OS::Heat::None"}
DB_GROWN = yaml.safe_dump(_grown)
PARENT = _doc({"db": {"type": "db.yaml", "properties": {"size": "large"}},
               "top": {"type": "OS::Heat::None"}},
              outputs={"db_out": {"value": {"get_attr": ["db", "out"]}}})


def test_a_nested_stack_updated_in_place_has_its_resources_previewed(driver):
    d = driver
    stack_id = d.create(PARENT, files={"db.yaml": DB})
    assert d.show(stack_id)["stack_status"] == "CREATE_COMPLETE"
    child_id = d.resources(stack_id)["db"]["physical_id"]
    before = _snapshot(d, stack_id), _snapshot(d, child_id)
    preview = d.service.preview_update_stack(d.ctx, stack_id, PARENT.replace("large", "huge"),
                                             files={"db.yaml": DB_GROWN})
    assert _names(preview) == {"added": ["db/X"], "updated": ["db", "db/R"], "replaced": [],
                               "deleted": [], "unchanged": ["db/Q", "top"]}
    assert {"name": "db", "type": "db.yaml"} in preview["updated"]
    assert (_snapshot(d, stack_id), _snapshot(d, child_id)) == before
    # a nested template unchanged leaves the nested stack alone: not looked into
    same = d.service.preview_update_stack(d.ctx, stack_id, PARENT, files={"db.yaml": DB})
    assert _names(same)["unchanged"] == ["db", "top"]
    assert all(not v for k, v in same.items() if k != "unchanged")
    # a PATCH preview with only a new nested file
    patch = d.service.preview_update_stack(d.ctx, stack_id, None,
                                           files={"db.yaml": DB_GROWN}, existing=True)
    assert _names(patch)["added"] == ["db/X"] and _names(patch)["unchanged"] == [
        "db/Q", "db/R", "top"]
