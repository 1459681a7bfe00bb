"""The reaper on fabricated heartbeats and locks: which engines count as dead, what breaking
their locks does to the resources and the stack, and the races it must not lose."""

from __future__ import annotations

import dataclasses
import datetime as dt
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa

from engines.convergence import reaper, resource_lock
from engines.convergence.graph import cleanup_entity
from engines.convergence.path import Path as ConvergencePath
from engines.convergence.traversal import Traversals
from engines.convergence.traversal_state import TraversalState
from engines.core import config, db, stack_store
from engines.core.context import RequestContext
from engines.core.models import Resource, Service, Stack, utcnow
from engines.core.path import StackRequest
from engines.core.runtime import Runtime
from engines.core.template import parse
from tests.functional.templates import hot, res

STALE_AFTER = 1.5


class Casts:
    """A WorkerClient that only records: nothing runs the checks it is sent."""

    def __init__(self) -> None:
        self.sent: list[dict[str, Any]] = []

    def check_resource(self, **kwargs: Any) -> None:
        self.sent.append(kwargs)


@pytest.fixture
def rt(dualpath_database: str) -> Iterator[Runtime]:
    conf = config.new_conf(**{"database.connection": dualpath_database,
                              "service_stale_after": STALE_AFTER})
    runtime = Runtime.from_conf(conf)
    yield runtime
    db.dispose(runtime.db.url)


@pytest.fixture
def traversals(rt: Runtime) -> Traversals:
    return Traversals(rt, Casts())


def create_stack(rt: Runtime, traversals: Traversals, *, disable_rollback: bool = True) -> str:
    """A convergence stack whose create traversal was started (its checks only recorded)."""
    path = ConvergencePath(rt)
    path.traversals = traversals
    request = StackRequest(parse(hot({"A": res("a"), "B": res("b")})), {}, disable_rollback,
                           None)
    return path.create(RequestContext(project_id="p"), "s", request).id


def register(rt: Runtime, engine_id: str, *, age: float = 0.0,
             deleted: bool = False) -> None:
    """A service row last refreshed ``age`` seconds ago."""
    beat = utcnow() - dt.timedelta(seconds=age)
    with rt.db.session() as s:
        s.add(Service(id=str(uuid.uuid4()), engine_id=engine_id, host="test",
                      binary="dualpath-worker", report_interval=0.2, created_at=beat,
                      updated_at=beat, deleted_at=utcnow() if deleted else None))


def hold(rt: Runtime, stack_id: str, name: str, engine_id: str) -> int:
    """``engine_id`` locks ``name`` and starts creating it."""
    row = stack_store.current_resources(rt.db, stack_id)[name]
    assert resource_lock.try_acquire(rt.db, row.id, engine_id)
    stack_store.update_resource(rt.db, row.id, action="CREATE", status="IN_PROGRESS")
    return row.id


def row(rt: Runtime, resource_id: int) -> Resource:
    with rt.db.session() as s:
        return s.get(Resource, resource_id)


def failed_events(rt: Runtime, stack_id: str, name: str) -> list[Any]:
    from engines.core import events
    with rt.db.session() as s:
        return [e for e in events.list_for(s, stack_id)
                if e.resource_name == name and e.resource_status == "FAILED"]


@pytest.mark.parametrize("how", ["stale", "stopped", "never registered"])
def test_a_dead_engines_lock_is_broken_and_its_resource_failed(rt, traversals, how):
    stack_id = create_stack(rt, traversals)
    if how != "never registered":
        register(rt, "dead", age=10 if how == "stale" else 0, deleted=how == "stopped")
    held = hold(rt, stack_id, "A", "dead")

    assert reaper.reap(rt, traversals) == 1
    a = row(rt, held)
    assert a.engine_id is None
    assert (a.action, a.status) == ("CREATE", "FAILED")
    assert a.status_reason == "Engine dead went down during CREATE of A"
    [event] = failed_events(rt, stack_id, "A")
    assert event.engine_id == rt.engine_id  # the reaper's verdict, told by the reaper
    stack = stack_store.get(rt.db, stack_id)
    assert (stack.action, stack.status) == ("CREATE", "FAILED")
    assert stack.status_reason == "Engine dead went down during CREATE of A"


def test_a_live_engines_lock_is_left_alone(rt, traversals):
    stack_id = create_stack(rt, traversals)
    register(rt, "alive", age=STALE_AFTER / 3)
    held = hold(rt, stack_id, "A", "alive")
    assert reaper.reap(rt, traversals) == 0
    assert (row(rt, held).engine_id, row(rt, held).status) == ("alive", "IN_PROGRESS")
    assert stack_store.get(rt.db, stack_id).status == "IN_PROGRESS"


def test_a_second_pass_finds_nothing_more(rt, traversals):
    stack_id = create_stack(rt, traversals)
    hold(rt, stack_id, "A", "dead")
    assert reaper.reap(rt, traversals) == 1
    assert reaper.reap(rt, traversals) == 0
    assert len(failed_events(rt, stack_id, "A")) == 1


def test_a_failed_create_rolls_back_when_the_stack_allows_it(rt, traversals):
    stack_id = create_stack(rt, traversals, disable_rollback=False)
    hold(rt, stack_id, "A", "dead")
    traversals.client.sent.clear()
    assert reaper.reap(rt, traversals) == 1
    stack = stack_store.get(rt.db, stack_id)
    assert (stack.action, stack.status) == ("ROLLBACK", "IN_PROGRESS")
    rows = stack_store.resources(rt.db, stack_id)
    assert {(c["name"], c["is_update"]) for c in traversals.client.sent} == {
        (cleanup_entity(r.name, r.id), False) for r in rows}, "the rollback cleans up both"
    assert sorted(r.name for r in rows) == ["A", "B"]


def test_an_engine_that_starts_while_the_reaper_looks_keeps_its_lock(rt, traversals,
                                                                      monkeypatch):
    """A new engine registers, then takes a lock, all while a pass is under way: it must not
    be taken for dead because it was not registered when the pass began."""
    stack_id = create_stack(rt, traversals)
    real = resource_lock.held_by_others
    taken = []

    def newcomer_first(database: Any, alive: set[str]) -> list[Resource]:
        register(rt, "newcomer")
        taken.append(hold(rt, stack_id, "B", "newcomer"))
        return real(database, alive)

    monkeypatch.setattr(resource_lock, "held_by_others", newcomer_first)
    assert reaper.reap(rt, traversals) == 0
    assert row(rt, taken[0]).engine_id == "newcomer"
    assert stack_store.get(rt.db, stack_id).status == "IN_PROGRESS"


def test_a_lock_that_changed_hands_meanwhile_is_not_failed(rt, traversals, monkeypatch):
    """Between the reaper's look and its break, a live worker broke the dead engine's lock
    itself and took the resource: its work must not be marked FAILED."""
    stack_id = create_stack(rt, traversals)
    held = hold(rt, stack_id, "A", "dead")
    register(rt, "live")
    real = reaper.alive_engines

    def worker_takes_over(database: Any, stale_after: float) -> set[str]:
        assert resource_lock.break_lock(database, held, "dead")
        assert resource_lock.try_acquire(database, held, "live")
        return real(database, stale_after)

    monkeypatch.setattr(reaper, "alive_engines", worker_takes_over)
    assert reaper.reap(rt, traversals) == 0
    a = row(rt, held)
    assert (a.engine_id, a.status) == ("live", "IN_PROGRESS")
    assert failed_events(rt, stack_id, "A") == []
    assert stack_store.get(rt.db, stack_id).status == "IN_PROGRESS"


def test_only_resources_caught_in_progress_are_failed(rt, traversals):
    """A dead engine may hold a lock it took before acting: the lock is broken, the resource
    (untouched) keeps its state, and the traversal it stalls is failed all the same."""
    stack_id = create_stack(rt, traversals)
    a = stack_store.current_resources(rt.db, stack_id)["A"]
    assert resource_lock.try_acquire(rt.db, a.id, "dead")
    assert reaper.reap(rt, traversals) == 1
    assert (row(rt, a.id).engine_id, row(rt, a.id).status) == (None, "COMPLETE")
    assert failed_events(rt, stack_id, "A") == []
    assert stack_store.get(rt.db, stack_id).status == "FAILED"
    with rt.db.session() as s:
        assert s.scalar(sa.select(sa.func.count()).select_from(Resource).where(
            Resource.engine_id.is_not(None))) == 0


# -- the stack timeout's watchdog -----------------------------------------------------------
def _age(rt: Runtime, stack_id: str, seconds: float) -> None:
    """Make the stack's traversal look started ``seconds`` ago (no check ever ran)."""
    stack = stack_store.get(rt.db, stack_id)
    state = TraversalState.of(stack)
    aged = dataclasses.replace(state, started=state.started - seconds)
    stack_store.update_stack(rt.db, stack_id, current_deps=aged.to_json(), timeout=5)
    with rt.db.session() as s:
        s.execute(sa.update(Stack).where(Stack.id == stack_id).values(
            updated_at=utcnow() - dt.timedelta(seconds=seconds)))


def test_a_traversal_past_its_timeout_is_stopped_though_no_check_runs(rt, traversals):
    stack_id = create_stack(rt, traversals)
    assert reaper.expire(rt, traversals) == 0, "not late yet"
    _age(rt, stack_id, 60)
    before = stack_store.get(rt.db, stack_id).current_traversal
    assert reaper.expire(rt, traversals) == 1
    stack = stack_store.get(rt.db, stack_id)
    assert (stack.action, stack.status, stack.status_reason) == (
        "CREATE", "FAILED", "Stack CREATE timed out")
    assert stack.current_traversal != before, "the old traversal can move on no more"
    assert reaper.expire(rt, traversals) == 0, "once is enough"


def test_a_timed_out_traversal_rolls_back_where_enabled(rt, traversals):
    stack_id = create_stack(rt, traversals, disable_rollback=False)
    _age(rt, stack_id, 60)
    assert reaper.expire(rt, traversals) == 1
    stack = stack_store.get(rt.db, stack_id)
    assert (stack.action, stack.status) == ("ROLLBACK", "IN_PROGRESS")
