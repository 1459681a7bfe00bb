"""Dealing with engines that died: a periodic look for resource locks held by engines whose
heartbeat is stale. Each such lock is broken, the resource it guarded (caught half-done) is
marked FAILED, and the stack's traversal is failed with the reason, so the stack reaches a
terminal state and a later update can converge it.

The same periodic pass is the stack timeout's watchdog: a traversal past its stack's
timeout is stopped even when no check of it runs to notice (its checks notice it too); and
it fails the traversals a dead engine left hanging with no lock held
(engines/convergence/stall_watch.py), which would otherwise wait for that timeout."""

from __future__ import annotations

import datetime as dt
import threading

import sqlalchemy as sa
from oslo_log import log as logging

from engines.convergence import resource_lock, stall_watch
from engines.convergence.interruption import rolls_back_on_timeout
from engines.convergence.traversal import Traversals
from engines.convergence.traversal_state import TraversalState
from engines.core import events, stack_store
from engines.core.liveness import alive_engines
from engines.core.models import Resource, Stack, utcnow
from engines.core.runtime import Runtime
from engines.core.status import FAILED, IN_PROGRESS

LOG = logging.getLogger(__name__)


def reap(rt: Runtime, traversals: Traversals) -> int:
    """One pass; returns how many locks were broken."""
    # the locks are read before the living: an engine registers its heartbeat before it
    # takes any lock, so a lock taken by an engine that started meanwhile is not mistaken
    # for a dead engine's
    held = resource_lock.held_by_others(rt.db, {rt.engine_id})
    alive = alive_engines(rt.db, rt.conf.service_stale_after)
    broken = 0
    for row in held:
        if row.engine_id in alive:
            continue
        dead = row.engine_id
        reason = f"Engine {dead} went down during {row.action} of {row.name}"
        LOG.warning("stack %s: engine %s holds the lock of resource %s (id %s) but has no "
                    "fresh heartbeat: taken for dead", row.stack_id, dead, row.name, row.id)
        if not _break(rt, row, reason):
            LOG.info("stack %s: the lock of resource %s (id %s) was freed by another engine "
                     "first", row.stack_id, row.name, row.id)
            continue
        broken += 1
        LOG.warning("stack %s: broke the lock of resource %s (id %s) held by dead engine %s; "
                    "the resource is %s_%s", row.stack_id, row.name, row.id, dead, row.action,
                    FAILED if row.status == IN_PROGRESS else row.status)
        stack = stack_store.get(rt.db, row.stack_id)
        if stack.convergence and stack.status == IN_PROGRESS and stack.current_traversal:
            LOG.warning("stack %s: failing traversal %s: %s", stack.id,
                        stack.current_traversal, reason)
            traversals.fail(stack.id, stack.current_traversal, reason)
    return broken


def expire(rt: Runtime, traversals: Traversals) -> int:
    """Stop every convergence traversal that ran past its stack's timeout (stack
    <ACTION>_FAILED "Stack <ACTION> timed out", rollback where enabled, its running actions
    cancelled); returns how many."""
    now = utcnow()
    with rt.db.session() as s:
        candidates = s.execute(sa.select(Stack.id, Stack.timeout, Stack.updated_at).where(
            Stack.convergence.is_(True), Stack.status == IN_PROGRESS,
            Stack.timeout.is_not(None), Stack.backup.is_(False))).all()
    stopped = 0
    for stack_id, timeout, updated_at in candidates:
        # a traversal starts no later than the stack's last change: none can be late yet
        if updated_at is not None and updated_at + dt.timedelta(seconds=timeout) > now:
            continue
        stack = stack_store.get(rt.db, stack_id)
        state = TraversalState.of(stack)
        if stack.status != IN_PROGRESS or not state.timed_out(stack.timeout):
            continue
        action = state.action_of(stack)
        LOG.warning("stack %s: traversal %s ran past the stack timeout (%ss)", stack_id,
                    stack.current_traversal, stack.timeout)
        if traversals.stop(stack_id, stack.current_traversal, f"Stack {action} timed out",
                           rollback=rolls_back_on_timeout(stack, action)):
            stopped += 1
    return stopped


def _break(rt: Runtime, row: Resource, reason: str) -> bool:
    """Take the lock from the dead engine and fail the action it left half done, in one
    transaction: a live worker may take the lock the moment it is free, and its work must
    not be overwritten by this verdict on the dead one's."""
    dead = row.engine_id
    with rt.db.session() as s:
        failed = s.execute(sa.update(Resource).where(
            Resource.id == row.id, Resource.engine_id == dead,
            Resource.status == IN_PROGRESS)
            .values(status=FAILED, status_reason=reason, updated_at=utcnow())).rowcount
        if not resource_lock.release_in(s, row.id, dead):
            return False  # another reaper, or a worker, broke it first: nothing changed
        if failed:  # a status transition like any other: the user sees it in the events
            events.emit(s, row.stack_id, row.name, row.action, FAILED, reason,
                        physical_id=row.physical_resource_id, resource_type=row.type,
                        engine_id=rt.engine_id)
    return True


class Reaper:
    def __init__(self, rt: Runtime, traversals: Traversals) -> None:
        self.rt = rt
        self.traversals = traversals
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="convergence-reaper",
                                        daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(self.rt.conf.heartbeat_interval):
            try:
                reap(self.rt, self.traversals)
                expire(self.rt, self.traversals)
                stall_watch.fail_stalled(self.rt, self.traversals)
            except Exception:  # noqa: BLE001 - try again at the next beat
                LOG.exception("engine %s: looking for dead engines failed; trying again in "
                              "%ss", self.rt.engine_id, self.rt.conf.heartbeat_interval)
                continue

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
