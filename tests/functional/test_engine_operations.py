"""What a user sees of stack operations, on whichever path the session runs
(``pytest --engine-mode=legacy|convergence|both``). Nothing here knows the path."""

from __future__ import annotations

import datetime as dt

import pytest

from engines.core.errors import InvalidOperation, NotFound
from tests.functional.templates import ABC_V1, ABC_V2, hooks_env, hot, res


def _by_action(events: list[dict], name: str) -> list[str]:
    return [f"{e['action']}_{e['status']}" for e in events if e["resource_name"] == name]


def test_create_builds_every_resource_once(driver, engine_mode):
    stack_id = driver.create(ABC_V1)
    view = driver.show(stack_id)
    assert view["stack_status"] == "CREATE_COMPLETE"
    assert view["engine"] == engine_mode
    assert view["outputs"] == {"c": "c", "a": "initial"}
    assert driver.copies(stack_id) == {"A": 1, "B": 1, "C": 1}
    assert {r["resource_status"] for r in driver.resources(stack_id).values()} == {
        "CREATE_COMPLETE"}


def test_create_follows_dependencies(driver):
    stack_id = driver.create(ABC_V1)
    events = driver.events(stack_id)
    done = {e["resource_name"]: i for i, e in enumerate(events)
            if e["action"] == "CREATE" and e["status"] == "COMPLETE"}
    started = {e["resource_name"]: i for i, e in enumerate(events)
               if e["action"] == "CREATE" and e["status"] == "IN_PROGRESS"}
    assert done["A"] < started["C"] and done["B"] < started["C"]


def test_every_transition_is_an_event(driver):
    stack_id = driver.create(ABC_V1)
    driver.delete(stack_id)
    events = driver.events(stack_id)
    for name in ("A", "B", "C"):
        assert _by_action(events, name) == [
            "CREATE_IN_PROGRESS", "CREATE_COMPLETE", "DELETE_IN_PROGRESS", "DELETE_COMPLETE"]
    assert _by_action(events, "stack") == [
        "CREATE_IN_PROGRESS", "CREATE_COMPLETE", "DELETE_IN_PROGRESS", "DELETE_COMPLETE"]


def test_update_in_place_keeps_the_physical_resource(driver):
    stack_id = driver.create(hot({"A": res("one"), "B": res("b")}))
    before = driver.physical_ids(stack_id)
    driver.update(stack_id, hot({"A": res("two"), "B": res("b")}))
    after = driver.resources(stack_id)
    assert driver.show(stack_id)["stack_status"] == "UPDATE_COMPLETE"
    assert after["A"]["physical_id"] == before["A"]
    assert after["A"]["resource_status"] == "UPDATE_COMPLETE"
    assert after["A"]["attributes"] == {"output": "two"}
    # B did not change: no event, same state
    assert after["B"]["resource_status"] == "CREATE_COMPLETE"


def test_update_adds_and_removes(driver):
    stack_id = driver.create(hot({"A": res(), "B": res()}))
    driver.update(stack_id, hot({"A": res(), "D": res()}))
    assert driver.copies(stack_id) == {"A": 1, "D": 1}
    assert sorted(driver.resources(stack_id)) == ["A", "D"]


def test_replacement_creates_new_before_deleting_old(driver):
    stack_id = driver.create(ABC_V1)
    before = driver.physical_ids(stack_id)
    driver.update(stack_id, ABC_V2)
    after = driver.physical_ids(stack_id)
    assert driver.show(stack_id)["stack_status"] == "UPDATE_COMPLETE"
    assert after["A"] == before["A"]          # updated in place
    assert after["C"] != before["C"]          # replaced: its update_replace_value changed
    assert driver.copies(stack_id) == {"A": 1, "B": 1, "C": 1}
    calls = [(c["action"], c["physical_id"]) for c in driver.service.rt.reality.calls(stack_id)
             if c["logical_name"] == "C"]
    assert calls.index(("CREATE", after["C"])) < calls.index(("DELETE", before["C"]))


def test_replaced_resource_is_deleted_after_its_dependants_moved(driver):
    v1 = hot({"A": res("a", update_replace=True),
              "B": res("b", update_replace_value={"get_resource": "A"})})
    stack_id = driver.create(v1)
    before = driver.physical_ids(stack_id)
    driver.update(stack_id, v1.replace("value: a", "value: a2"))
    calls = driver.service.rt.reality.calls(stack_id)
    new_b = next(i for i, c in enumerate(calls)
                 if c["logical_name"] == "B" and c["action"] == "CREATE" and i > 1)
    old_a_gone = next(i for i, c in enumerate(calls)
                      if c["action"] == "DELETE" and c["physical_id"] == before["A"])
    assert new_b < old_a_gone
    assert driver.copies(stack_id) == {"A": 1, "B": 1}


def test_delete_goes_in_reverse_dependency_order(driver):
    stack_id = driver.create(ABC_V1)
    driver.delete(stack_id)
    assert driver.show(stack_id)["stack_status"] == "DELETE_COMPLETE"
    assert driver.copies(stack_id) == {}
    order = [c["logical_name"] for c in driver.service.rt.reality.calls(stack_id)
             if c["action"] == "DELETE"]
    assert order.index("C") < order.index("A") and order.index("C") < order.index("B")


def test_failed_create_rolls_back(driver):
    template = hot({"A": res(), "B": res(fail=True, value="x"),
                    "C": {**res(), "depends_on": ["B"]}})
    stack_id = driver.create(template)
    view = driver.show(stack_id)
    assert view["stack_status"] == "ROLLBACK_COMPLETE"
    assert driver.copies(stack_id) == {}
    statuses = [e["status"] for e in driver.events(stack_id) if e["resource_name"] == "stack"]
    assert statuses == ["IN_PROGRESS", "FAILED", "IN_PROGRESS", "COMPLETE"]


def test_failed_create_without_rollback_stays_failed(driver):
    template = hot({"A": res(), "B": res(fail=True)})
    stack_id = driver.create(template, disable_rollback=True)
    view = driver.show(stack_id)
    assert view["stack_status"] == "CREATE_FAILED"
    assert "B" in view["status_reason"]
    resources = driver.resources(stack_id)
    assert resources["B"]["resource_status"] == "CREATE_FAILED"
    assert resources["A"]["resource_status"] == "CREATE_COMPLETE"
    driver.delete(stack_id)
    assert driver.copies(stack_id) == {}


def test_failed_update_rolls_back_to_the_same_physical_resources(driver):
    stack_id = driver.create(ABC_V1)
    before = driver.physical_ids(stack_id)
    # C is replaced (A's output changes), then B fails: everything goes back
    broken = ABC_V2.replace("value: b", "value: b2\n      fail: true")
    driver.update(stack_id, broken)
    view = driver.show(stack_id)
    assert view["stack_status"] == "ROLLBACK_COMPLETE", view["status_reason"]
    assert view["outputs"] == {"c": "c", "a": "initial"}
    after = driver.physical_ids(stack_id)
    assert after["C"] == before["C"]   # the replaced C came back, not a third copy
    assert after["A"] == before["A"]
    assert driver.copies(stack_id) == {"A": 1, "B": 1, "C": 1}


def test_update_failure_with_rollback_disabled(driver):
    stack_id = driver.create(hot({"A": res("a")}))
    driver.update(stack_id, hot({"A": res("a2", fail=True)}), disable_rollback=True)
    view = driver.show(stack_id)
    assert view["stack_status"] == "UPDATE_FAILED"
    # a later good update replaces the failed resource and converges
    driver.update(stack_id, hot({"A": res("a3")}))
    assert driver.show(stack_id)["stack_status"] == "UPDATE_COMPLETE"
    assert driver.copies(stack_id) == {"A": 1}
    assert driver.resources(stack_id)["A"]["attributes"] == {"output": "a3"}


def test_injected_cloud_fault_fails_the_resource(driver):
    driver.service.rt.reality.inject_fault("B", "CREATE")
    stack_id = driver.create(hot({"A": res(), "B": res()}),
                             disable_rollback=True)
    view = driver.show(stack_id)
    assert view["stack_status"] == "CREATE_FAILED"
    assert "injected fault" in driver.resources(stack_id)["B"]["status_reason"]
    assert driver.copies(stack_id) == {"A": 1}


def test_failed_delete_can_be_retried(driver):
    stack_id = driver.create(hot({"A": res()}))
    driver.service.rt.reality.inject_fault("A", "DELETE")
    driver.delete(stack_id)
    assert driver.show(stack_id)["stack_status"] == "DELETE_FAILED"
    assert driver.copies(stack_id) == {"A": 1}
    driver.delete(stack_id)
    assert driver.show(stack_id)["stack_status"] == "DELETE_COMPLETE"
    assert driver.copies(stack_id) == {}


def test_retain_keeps_the_physical_resource(driver):
    stack_id = driver.create(hot({"A": {**res(), "deletion_policy": "Retain"},
                                  "B": res()}))
    driver.delete(stack_id)
    assert driver.copies(stack_id) == {"A": 1}


@pytest.mark.parametrize("hook,operation", [("pre-create", "create"),
                                            ("pre-update", "update"),
                                            ("pre-delete", "delete")])
def test_hooks_pause_until_signalled(driver, hook, operation):
    env = hooks_env(A=hook)
    stack_id = driver.create(hot({"A": res("one"), "B": res()}),
                             environment=env, wait=operation != "create")
    if operation == "update":
        driver.update(stack_id, hot({"A": res("two"), "B": res()}),
                      environment=env, wait=False)
    elif operation == "delete":
        driver.delete(stack_id, wait=False)
    driver.wait_hook(stack_id, "A", hook)
    view = driver.show(stack_id)
    assert view["status"] == "IN_PROGRESS"
    assert driver.resources(stack_id)["A"]["hooks_pending"] == [hook]
    other = "pre-update" if hook != "pre-update" else "pre-create"
    with pytest.raises(InvalidOperation):
        driver.signal(stack_id, "A", other)
    driver.signal(stack_id, "A", hook)
    view = driver.wait(stack_id)
    assert view["stack_status"] == f"{operation.upper()}_COMPLETE"
    reasons = [e["reason"] for e in driver.events(stack_id) if e["resource_name"] == "A"]
    assert f"{operation.upper()} paused until Hook {hook} is cleared" in reasons
    assert f"Hook {hook} is cleared" in reasons


def test_independent_resources_are_acted_on_at_once(driver):
    slow = {"action_wait_secs": {"create": 0.4}}
    stack_id = driver.create(hot({
        "A": res(**slow), "B": res(**slow), "C": res(**slow),
        "D": {**res(**slow), "depends_on": ["A"]}}))
    stamps = {}
    for e in driver.events(stack_id):
        if e["action"] == "CREATE" and e["resource_name"] in "ABCD":
            stamps[(e["resource_name"], e["status"])] = dt.datetime.fromisoformat(e["timestamp"])
    # A, B and C overlap: each started before any of them finished
    first_done = min(stamps[(n, "COMPLETE")] for n in "ABC")
    assert all(stamps[(n, "IN_PROGRESS")] < first_done for n in "ABC")
    # D followed A: the critical path is A then D
    assert stamps[("D", "IN_PROGRESS")] >= stamps[("A", "COMPLETE")]


def test_another_projects_stack_is_not_found(driver, dualpath_service):
    from engines.core.context import RequestContext

    stack_id = driver.create(hot({"A": res()}))
    other = RequestContext(project_id="project-b")
    for call in (lambda: dualpath_service.show_stack(other, stack_id),
                 lambda: dualpath_service.list_resources(other, stack_id),
                 lambda: dualpath_service.update_stack(other, stack_id, hot({})),
                 lambda: dualpath_service.delete_stack(other, stack_id),
                 lambda: dualpath_service.signal_hook(other, stack_id, "A", "pre-create")):
        with pytest.raises(NotFound):
            call()
    assert dualpath_service.list_stacks(other) == []
    assert driver.show(stack_id)["stack_status"] == "CREATE_COMPLETE"


def test_delete_during_create_stops_and_deletes(driver):
    stack_id = driver.create(hot({"A": res(), "B": res()}),
                             environment=hooks_env(A="pre-create"), wait=False)
    driver.wait_hook(stack_id, "A", "pre-create")
    driver.delete(stack_id)
    assert driver.show(stack_id)["stack_status"] == "DELETE_COMPLETE"
    assert driver.copies(stack_id) == {}
    # the breakpoint of the stopped operation blocks nothing any more
    assert driver.service.list_resources(driver.ctx, stack_id) == []


def test_user_rollback_during_update(driver):
    stack_id = driver.create(ABC_V1)
    before = driver.physical_ids(stack_id)
    # A changes in place first; C would be replaced after it: stop while A is paused
    driver.update(stack_id, ABC_V2, environment=hooks_env(A="pre-update"), wait=False)
    driver.wait_hook(stack_id, "A", "pre-update")
    driver.service.rollback_stack(driver.ctx, stack_id)
    view = driver.wait(stack_id)
    assert view["stack_status"] == "ROLLBACK_COMPLETE", view["status_reason"]
    assert view["outputs"] == {"c": "c", "a": "initial"}
    assert driver.physical_ids(stack_id)["A"] == before["A"]
    assert driver.copies(stack_id) == {"A": 1, "B": 1, "C": 1}


def test_rollback_with_nothing_to_roll_back_is_refused(driver):
    stack_id = driver.create(hot({"A": res()}))
    with pytest.raises(InvalidOperation):
        driver.service.rollback_stack(driver.ctx, stack_id)
