"""Two resources that fail at the same moment: the stack fails once and rolls back once, and
the rollback ends. On convergence both failing checks used to find the stack in progress,
both started a rollback, and the first rollback's purge of superseded sync points, landing
after the second one had started, took the second one's sync points: its nodes waited for
ever (ROLLBACK_IN_PROGRESS with every resource gone)."""

from __future__ import annotations

import threading
import uuid
from typing import Any

import pytest
import sqlalchemy as sa

from tests.functional.templates import hot, res

WAIT = 30  # seconds; only a hung engine gets near it


def _failing_pair() -> str:
    return hot({"F1": res("f1", fail=True), "F2": res("f2", fail=True),
                "OK": res("ok"), "AFTER": {**res("after"), "depends_on": ["OK"]}})


def test_two_failures_at_once_roll_back_once_and_the_rollback_ends(
        driver, engine_mode, monkeypatch):
    if engine_mode == "convergence":
        from engines.convergence import traversal

        # both failing checks read the stack in progress before either marks it failed
        both_read = threading.Barrier(2, timeout=WAIT)
        real_set_state = traversal.stack_store.set_state

        def set_state(db: Any, stack_id: str, action: str, status: str, *args: Any,
                      **kwargs: Any) -> bool:
            if status == "FAILED" and "current_deps" in kwargs and \
                    threading.current_thread().name != "MainThread":
                both_read.wait()
            return real_set_state(db, stack_id, action, status, *args, **kwargs)

        monkeypatch.setattr(traversal.stack_store, "set_state", set_state)
    stack_id = driver.create(_failing_pair(), wait=False, disable_rollback=False)
    view = driver.wait(stack_id, timeout=WAIT)
    assert view["stack_status"] == "ROLLBACK_COMPLETE", view
    stack_events = [(e["action"], e["status"]) for e in driver.events(stack_id)
                    if e["resource_type"] == "OS::Heat::Stack"]
    assert stack_events.count(("ROLLBACK", "IN_PROGRESS")) == 1, stack_events
    assert driver.copies(stack_id) == {}


@pytest.mark.engine_path("convergence")
def test_a_purge_by_a_superseded_traversal_keeps_the_current_ones_sync_points(
        dualpath_database):
    from engines.convergence import sync_point
    from engines.core import stack_store
    from engines.core.db import Database
    from engines.core.models import SyncPoint

    db = Database(dualpath_database)
    stack = stack_store.create(
        db, name="s", project_id="p", template={"heat_template_version": "2015-04-30"},
        environment={}, parameters={}, convergence=True, action="ROLLBACK",
        status="IN_PROGRESS", disable_rollback=True, timeout=None, engine_id="e")
    older, current, oldest = (str(uuid.uuid4()) for _ in range(3))
    with db.session() as s:
        for traversal_id in (older, current, oldest):
            sync_point.create_all(s, stack.id, traversal_id, [("A", True), ("B", False)])
    assert stack_store.set_state(db, stack.id, "ROLLBACK", "IN_PROGRESS", "newer one",
                                 "e", current_traversal=current)

    # the older traversal, started just before the current one, purges after it
    sync_point.purge(db, stack.id, keep_traversal=older)

    with db.session() as s:
        left = set(s.scalars(sa.select(SyncPoint.traversal_id)
                             .where(SyncPoint.stack_id == stack.id)))
    assert left == {older, current}
    sync_point.purge(db, stack.id, keep_traversal=current)
    with db.session() as s:
        left = set(s.scalars(sa.select(SyncPoint.traversal_id)
                             .where(SyncPoint.stack_id == stack.id)))
    assert left == {current}
