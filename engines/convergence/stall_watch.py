"""Traversals left hanging by an engine that died with no lock held: it had taken a
check_resource message off the bus (the broker will not give it to anyone else) and died
before taking the resource's lock, or after releasing it and before casting what came
next. No lock is left for the reaper to break and no message will come: without this the
stack would wait for its timeout.

A traversal counts as left hanging when an engine died (no heartbeat for
``service_stale_after``, and no clean stop) at a moment it could have held the
traversal's next message -- alive when the traversal last moved -- and since then, for
``stall_watch_after`` (at least ``service_stale_after``) more, nothing of the traversal
moved (stack, resources, sync points) and none of its resources is locked (a locked one
is being worked on, or is the reaper's). It is failed, with the dead engine in the
reason, as the reaper fails a dead engine's lock: the stack reaches a terminal state and
the next operation converges it.

Off by default (``stall_watch_after`` = 0): a live engine whose heartbeat is late on a
loaded host, with a traversal slowed by the same load, looks just like that, and a CI run
saw a stack failed so. ``dualpath chaos`` turns it on.
"""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from oslo_log import log as logging

from engines.convergence.traversal import Traversals
from engines.convergence.traversal_state import TraversalState
from engines.core import stack_store
from engines.core.liveness import just_back
from engines.core.models import Resource, Service, Stack, SyncPoint, utcnow
from engines.core.runtime import Runtime
from engines.core.status import IN_PROGRESS

LOG = logging.getLogger(__name__)
RECENT = 60.0  # seconds after a death still looked at, beyond when it was found out


def recently_dead(rt: Runtime) -> dict[str, tuple[dt.datetime, float]]:
    """Engines that died without stopping, not long ago: engine id -> (last heartbeat,
    heartbeat interval)."""
    now = utcnow()
    stale = dt.timedelta(seconds=rt.conf.service_stale_after)
    with rt.db.session() as s:
        rows = s.execute(sa.select(Service.engine_id, Service.updated_at,
                                   Service.report_interval).where(
            Service.deleted_at.is_(None), Service.updated_at < now - stale,
            Service.updated_at >= now - stale * 10 - dt.timedelta(seconds=RECENT))).all()
    return {engine: (beat, interval) for engine, beat, interval in rows}


def _last_move(s: sa.orm.Session, stack: Stack) -> tuple[dt.datetime | None, int]:
    """When the traversal last moved, and how many of the stack's resources are locked."""
    resources = s.execute(sa.select(sa.func.max(Resource.updated_at),
                                    sa.func.count(Resource.engine_id))
                          .where(Resource.stack_id == stack.id)).one()
    synced = s.execute(sa.select(sa.func.max(sa.func.coalesce(SyncPoint.updated_at,
                                                              SyncPoint.created_at)))
                       .where(SyncPoint.stack_id == stack.id,
                              SyncPoint.traversal_id == stack.current_traversal)).scalar()
    moments = [m for m in (stack.updated_at, resources[0], synced) if m is not None]
    return (max(moments) if moments else None), int(resources[1] or 0)


def fail_stalled(rt: Runtime, traversals: Traversals) -> int:
    """One pass; returns how many traversals were failed. Off unless
    ``[DEFAULT] stall_watch_after`` is set."""
    if not rt.conf.stall_watch_after or just_back(rt.db, rt.conf.service_stale_after):
        return 0  # off; or every heartbeat is stale for an outage, not for deaths
    dead = recently_dead(rt)
    if not dead:
        return 0
    now = utcnow()
    quiet = dt.timedelta(seconds=max(rt.conf.stall_watch_after, rt.conf.service_stale_after))
    with rt.db.session() as s:
        stacks = list(s.scalars(sa.select(Stack).where(
            Stack.convergence.is_(True), Stack.status == IN_PROGRESS,
            Stack.backup.is_(False), Stack.current_traversal.is_not(None))))
        moves = {stack.id: _last_move(s, stack) for stack in stacks}
    failed = 0
    for stack in stacks:
        moved, locked = moves[stack.id]
        if locked or moved is None or now - moved < quiet:
            continue
        # alive when the traversal last moved: it may have taken the message that came next
        culprits = sorted((beat, engine) for engine, (beat, interval) in dead.items()
                          if beat >= moved - dt.timedelta(seconds=2 * interval))
        if not culprits:
            continue
        engine = culprits[-1][1]
        fresh = stack_store.get(rt.db, stack.id)
        if fresh.current_traversal != stack.current_traversal or fresh.status != IN_PROGRESS:
            continue
        action = TraversalState.of(fresh).action_of(fresh)
        reason = (f"Engine {engine} went down during {action}: traversal "
                  f"{stack.current_traversal} made no progress since {moved:%H:%M:%S.%f}")
        LOG.warning("stack %s: %s", stack.id, reason)
        traversals.fail(stack.id, stack.current_traversal, reason)
        failed += 1
    return failed
