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


@pytest.mark.engine_path("convergence")
def test_a_check_that_reaches_its_lock_after_the_stack_failed_never_takes_it(
        driver, monkeypatch):
    """A's check read the stack while the update ran, B failed before A's check took A's
    lock: the check must not take it then. It used to, for a moment, after a wait had
    found the stack failed and idle, so that a look right after saw it busy again (the
    corpus's update_fail_no_rollback diverged so on MariaDB with worker processes)."""
    from engines.convergence import check_resource, worker
    from engines.core.models import Resource

    stack_id = driver.create(hot({"A": res("a"), "B": res("b")}))
    reading, go, done = threading.Event(), threading.Event(), threading.Event()
    real_ref, real_check = check_resource.current_ref, worker.Worker._check

    def current_ref(db: Any, stack: str, name: str) -> Any:
        if name == "A" and not go.is_set():
            reading.set()
            assert go.wait(WAIT)
        return real_ref(db, stack, name)

    def check(self: Any, stack: str, traversal: str, template: Any, name: str,
              *args: Any) -> None:
        try:
            real_check(self, stack, traversal, template, name, *args)
        finally:
            if name == "A":
                done.set()

    monkeypatch.setattr(check_resource, "current_ref", current_ref)
    monkeypatch.setattr(worker.Worker, "_check", check)
    service = driver.service

    def lock_of_a() -> tuple[Any, Any]:
        with service.rt.db.session() as s:
            row = s.execute(sa.select(Resource.engine_id, Resource.atomic_key).where(
                Resource.stack_id == stack_id, Resource.name == "A")).one()
        return tuple(row)

    driver.update(stack_id, hot({"A": res("a"), "B": res("b2", fail=True)}), wait=False,
                  disable_rollback=True)
    assert reading.wait(WAIT)
    view = driver.wait(stack_id, timeout=WAIT)
    assert view["stack_status"] == "UPDATE_FAILED", view
    before = lock_of_a()
    go.set()
    assert done.wait(WAIT)
    assert lock_of_a() == before == (None, before[1])
    assert not driver.show(stack_id)["busy"]
