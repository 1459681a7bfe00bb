"""Cancel, interruption of running work, and the stack timeout, as a user sees them on
either path (issue 11): running resource actions are stopped, not waited for."""

from __future__ import annotations

import pytest

from engines.core.errors import InvalidOperation, ValidationError
from tests.functional.templates import hooks_env, hot, res

SLOW = {"create": 60, "update": 60, "delete": 60}


def _slow(value: str = "v", **waits: float) -> dict:
    return res(value, action_wait_secs=waits or SLOW)


def _status(driver, stack_id: str) -> dict[str, str]:
    return {n: r["resource_status"] for n, r in driver.resources(stack_id).items()}


def test_cancel_with_rollback_of_a_create_leaves_nothing(driver):
    stack_id = driver.create(hot({"A": res("a"), "B": {**_slow("b", create=60),
                                                      "depends_on": ["A"]}}), wait=False)
    driver.service.wait_resource(driver.ctx, stack_id, "B", status="CREATE_IN_PROGRESS",
                                 timeout=30)
    driver.service.cancel_stack(driver.ctx, stack_id)
    view = driver.wait(stack_id)
    assert view["stack_status"] == "ROLLBACK_COMPLETE"
    assert driver.copies(stack_id) == {}
    b = [f"{e['action']}_{e['status']}:{e['reason']}" for e in driver.events(stack_id)
         if e["resource_name"] == "B"]
    assert "CREATE_FAILED:CREATE cancelled" in b


def test_cancel_without_rollback_keeps_what_was_done(driver):
    stack_id = driver.create(hot({"A": res("a"), "B": {**_slow("b", create=60),
                                                      "depends_on": ["A"]}}), wait=False)
    driver.service.wait_resource(driver.ctx, stack_id, "B", status="CREATE_IN_PROGRESS",
                                 timeout=30)
    driver.service.cancel_stack(driver.ctx, stack_id, rollback=False)
    view = driver.wait(stack_id)
    assert (view["stack_status"], view["status_reason"]) == (
        "CREATE_FAILED", "Stack CREATE cancelled")
    assert _status(driver, stack_id) == {"A": "CREATE_COMPLETE", "B": "CREATE_FAILED"}
    assert driver.resources(stack_id)["B"]["status_reason"] == "CREATE cancelled"
    driver.update(stack_id, hot({"A": res("a"), "B": {**res("b"), "depends_on": ["A"]}}))
    assert driver.show(stack_id)["stack_status"] == "UPDATE_COMPLETE"
    driver.delete(stack_id)
    assert driver.copies(stack_id) == {}


def test_delete_stops_a_running_update(driver):
    stack_id = driver.create(hot({"A": res("a1")}))
    driver.update(stack_id, hot({"A": _slow("a2", update=60)}), wait=False)
    driver.service.wait_resource(driver.ctx, stack_id, "A", status="UPDATE_IN_PROGRESS",
                                 timeout=30)
    driver.delete(stack_id)
    assert driver.show(stack_id)["stack_status"] == "DELETE_COMPLETE"
    a = [f"{e['action']}_{e['status']}" for e in driver.events(stack_id)
         if e["resource_name"] == "A"]
    assert a[-4:] == ["UPDATE_IN_PROGRESS", "UPDATE_FAILED", "DELETE_IN_PROGRESS",
                      "DELETE_COMPLETE"]


def test_cancel_of_a_stack_with_nothing_in_progress_is_refused(driver):
    stack_id = driver.create(hot({"A": res("a")}))
    with pytest.raises(InvalidOperation, match="CREATE_COMPLETE"):
        driver.service.cancel_stack(driver.ctx, stack_id)
    assert driver.show(stack_id)["stack_status"] == "CREATE_COMPLETE"


@pytest.mark.parametrize("timeout", [-1, 0, 1.5, "10"])
def test_a_bad_timeout_is_refused(driver, timeout):
    with pytest.raises(ValidationError, match="^timeout: "):
        driver.create(hot({"A": res("a")}), timeout=timeout)
    assert driver.service.list_stacks(driver.ctx) == []


def test_a_create_past_its_timeout_rolls_back(driver):
    stack_id = driver.create(hot({"A": _slow("a", create=60)}), timeout=1, wait=False)
    view = driver.wait(stack_id)
    assert view["stack_status"] == "ROLLBACK_COMPLETE"
    stack_events = [(e["action"], e["status"], e["reason"]) for e in driver.events(stack_id)
                    if e["resource_type"] == "OS::Heat::Stack"]
    assert ("CREATE", "FAILED", "Stack CREATE timed out") in stack_events
    assert driver.copies(stack_id) == {}


def test_an_update_past_its_timeout_without_rollback_fails(driver):
    stack_id = driver.create(hot({"A": res("a1")}))
    driver.update(stack_id, hot({"A": _slow("a2", update=60)}), timeout=1,
                  disable_rollback=True)
    view = driver.show(stack_id)
    assert (view["stack_status"], view["status_reason"]) == (
        "UPDATE_FAILED", "Stack UPDATE timed out")
    assert driver.resources(stack_id)["A"]["status_reason"] == "UPDATE cancelled"


def test_a_timeout_while_paused_at_a_hook(driver):
    stack_id = driver.create(hot({"A": res("a")}), environment=hooks_env(A="pre-create"),
                             timeout=1, disable_rollback=True)
    view = driver.show(stack_id)
    assert (view["stack_status"], view["status_reason"]) == (
        "CREATE_FAILED", "Stack CREATE timed out")
    assert _status(driver, stack_id) == {"A": "INIT_COMPLETE"}
    assert "already released" in driver.service.signal_hook(driver.ctx, stack_id, "A",
                                                              "pre-create")
