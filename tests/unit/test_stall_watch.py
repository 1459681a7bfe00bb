"""The watchdog for traversals a dead engine left hanging with no lock held (it took a
check off the bus and died before locking, or after releasing and before casting on): on
fabricated heartbeats and a traversal whose checks nothing runs."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa

from engines.convergence import stall_watch
from engines.core import stack_store
from engines.core.models import Resource, Stack, SyncPoint, utcnow
from tests.unit import test_reaper as base
from tests.unit.test_reaper import STALE_AFTER, create_stack, hold, register

traversals = base.traversals  # the reaper tests' fixtures


@pytest.fixture
def rt(dualpath_database):
    """The reaper tests' runtime, with the watch on (off by default)."""
    for runtime in base.rt.__wrapped__(dualpath_database):
        runtime.conf.set_override("stall_watch_after", STALE_AFTER)
        yield runtime

QUIET = STALE_AFTER * 3  # seconds since the traversal last moved


def last_moved(rt, stack_id: str, ago: float) -> None:
    """Everything of the stack last changed ``ago`` seconds ago."""
    then = utcnow() - dt.timedelta(seconds=ago)
    with rt.db.session() as s:
        s.execute(sa.update(Stack).where(Stack.id == stack_id).values(updated_at=then))
        s.execute(sa.update(Resource).where(Resource.stack_id == stack_id)
                  .values(updated_at=then))
        s.execute(sa.update(SyncPoint).where(SyncPoint.stack_id == stack_id)
                  .values(created_at=then, updated_at=then))


def status(rt, stack_id: str) -> tuple[str, str, str | None]:
    stack = stack_store.get(rt.db, stack_id)
    return stack.action, stack.status, stack.status_reason


def test_the_watch_is_off_by_default(rt, traversals):
    # a late heartbeat on a loaded host looks like a death: only chaos runs turn it on
    rt.conf.clear_override("stall_watch_after")
    assert rt.conf.stall_watch_after == 0
    rt_off = rt
    stack_id = create_stack(rt_off, traversals)
    last_moved(rt_off, stack_id, QUIET)
    register(rt_off, "dead", age=QUIET - 0.1)  # as in the test below, where it fails
    assert stall_watch.fail_stalled(rt_off, traversals) == 0
    assert status(rt_off, stack_id)[1] == "IN_PROGRESS"


def test_a_traversal_quiet_since_an_engine_died_is_failed(rt, traversals):
    stack_id = create_stack(rt, traversals)
    last_moved(rt, stack_id, QUIET)
    register(rt, "dead", age=QUIET - 0.1)  # alive when the traversal last moved
    assert stall_watch.fail_stalled(rt, traversals) == 1
    action, state, reason = status(rt, stack_id)
    assert (action, state) == ("CREATE", "FAILED")
    assert reason.startswith("Engine dead went down during CREATE: traversal ")
    assert stall_watch.fail_stalled(rt, traversals) == 0, "once"


def test_a_traversal_with_a_lock_held_is_the_reapers_or_at_work(rt, traversals):
    stack_id = create_stack(rt, traversals)
    hold(rt, stack_id, "A", "alive")
    last_moved(rt, stack_id, QUIET)
    register(rt, "dead", age=QUIET - 0.1)
    assert stall_watch.fail_stalled(rt, traversals) == 0
    assert status(rt, stack_id)[1] == "IN_PROGRESS"


def test_an_engine_dead_before_the_traversal_last_moved_is_no_culprit(rt, traversals):
    stack_id = create_stack(rt, traversals)
    last_moved(rt, stack_id, QUIET)
    register(rt, "dead", age=QUIET + 2)
    assert stall_watch.fail_stalled(rt, traversals) == 0
    assert status(rt, stack_id)[1] == "IN_PROGRESS"


def test_quiet_with_every_engine_alive_or_stopped_cleanly_is_left_alone(rt, traversals):
    stack_id = create_stack(rt, traversals)
    last_moved(rt, stack_id, QUIET)
    register(rt, "alive", age=0)
    register(rt, "stopped", age=QUIET - 0.1, deleted=True)
    assert stall_watch.fail_stalled(rt, traversals) == 0

