"""A convergence check whose traversal was superseded before it took its resource acts on
nothing and records nothing (issue 11 point 3): the traversal is checked again under the
resource's lock, as Heat's check_resource does."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from tests.functional.templates import hot, res

WAIT = 30  # seconds; only a hung engine gets near it


@pytest.mark.engine_path("convergence")
def test_a_check_that_arrives_after_the_rollback_passed_changes_nothing(
        driver, engine_mode, monkeypatch):
    """An update whose first resource (A) fails is rolled back. Its check of B was already
    on its way, past the traversal test, when A failed; it reaches B only after the
    rollback traversal has passed B and completed. Applying the failed template's B then
    would leave a ROLLBACK_COMPLETE stack with a resource of the template it rolled back
    from."""
    from engines.convergence import check_resource

    stack_id = driver.create(hot({"A": res("a1"), "B": res("b1")}))
    before = driver.resources(stack_id)["B"]
    events_before = [e for e in driver.events(stack_id) if e["resource_name"] == "B"]

    stale_on_its_way = threading.Event()  # the update's check of B, held before B's lock
    rollback_done = threading.Event()
    stale_done = threading.Event()
    real_update = check_resource.CheckResource.update

    def update(self: Any, stack_id_: str, traversal_id: str, template_id: Any,
               template: Any, name: str, *rest: Any) -> Any:
        of_failed_update = template.resources["B"].properties["value"] == "b2"
        if of_failed_update and name == "B" and not stale_on_its_way.is_set():
            stale_on_its_way.set()
            try:
                assert rollback_done.wait(WAIT), "the rollback never completed"
                return real_update(self, stack_id_, traversal_id, template_id, template,
                                   name, *rest)
            finally:
                stale_done.set()
        if of_failed_update and name == "A":
            # A fails only once the check of B is past the traversal test
            assert stale_on_its_way.wait(WAIT), "the update's check of B never came"
        return real_update(self, stack_id_, traversal_id, template_id, template, name,
                           *rest)

    monkeypatch.setattr(check_resource.CheckResource, "update", update)
    driver.update(stack_id, hot({"A": res("a2", fail=True), "B": res("b2")}), wait=False)
    assert stale_on_its_way.wait(WAIT)
    view = driver.wait(stack_id, timeout=WAIT)
    assert view["stack_status"] == "ROLLBACK_COMPLETE"
    rollback_done.set()
    assert stale_done.wait(WAIT), "the stale check never finished"

    after = driver.resources(stack_id)["B"]
    assert after["attributes"] == {"output": "b1"}
    assert (after["resource_status"], after["physical_id"]) == (
        before["resource_status"], before["physical_id"])
    assert [e for e in driver.events(stack_id) if e["resource_name"] == "B"] == events_before
    assert driver.show(stack_id)["stack_status"] == "ROLLBACK_COMPLETE"
