"""The legacy stack lock: one row per busy stack, naming the engine that holds it. Another
operation on a busy stack fails with ActionInProgress, unless the holder is dead."""

from __future__ import annotations

import sqlalchemy as sa
from oslo_db.exception import DBDuplicateEntry
from oslo_log import log as logging

from engines.core.db import LostRace, retry_on_race
from engines.core.errors import ActionInProgress
from engines.core.liveness import is_alive
from engines.core.models import StackLock, utcnow
from engines.core.runtime import Runtime

LOG = logging.getLogger(__name__)
# a stack whose lock is released and taken again this many times while we look is busy
LOCK_RETRIES = 5


def holder(rt: Runtime, stack_id: str) -> str | None:
    with rt.db.session() as s:
        return s.scalar(sa.select(StackLock.engine_id).where(StackLock.stack_id == stack_id))


def acquire(rt: Runtime, stack_id: str, *, steal_from_live: bool = False) -> str | None:
    """Take the lock for this engine. Returns the previous holder when the lock was taken
    over (a dead engine's, or a live one's with ``steal_from_live``), else None.

    A lock released between our failed insert and our look at its holder is tried again,
    a bounded number of times: a stack whose lock keeps changing hands is busy."""
    try:
        return _acquire(rt, stack_id, steal_from_live)
    except LostRace:
        LOG.info("stack %s: stack lock refused to engine %s: it kept changing hands",
                 stack_id, rt.engine_id)
        raise ActionInProgress(
            f"stack {stack_id} is busy: its lock keeps changing hands") from None


@retry_on_race(max_retries=LOCK_RETRIES)
def _acquire(rt: Runtime, stack_id: str, steal_from_live: bool) -> str | None:
    try:
        with rt.db.session() as s:
            s.add(StackLock(stack_id=stack_id, engine_id=rt.engine_id, created_at=utcnow()))
        LOG.debug("stack %s: engine %s took the stack lock", stack_id, rt.engine_id)
        return None
    except DBDuplicateEntry:  # oslo.db's translation, on every backend
        pass
    current = holder(rt, stack_id)
    if current is None:
        raise LostRace(f"stack lock of {stack_id} was released in between")
    if current == rt.engine_id and not steal_from_live:
        _refused(rt, stack_id, current)
        raise ActionInProgress(f"stack {stack_id} is busy: an operation is in progress")
    alive = current == rt.engine_id or is_alive(rt.db, current, rt.conf.service_stale_after)
    if not steal_from_live and alive:
        _refused(rt, stack_id, current)
        raise ActionInProgress(
            f"stack {stack_id} is busy: engine {current} holds its lock")
    with rt.db.session() as s:
        taken = s.execute(sa.update(StackLock).where(
            StackLock.stack_id == stack_id, StackLock.engine_id == current)
            .values(engine_id=rt.engine_id, created_at=utcnow())).rowcount
    if not taken:
        _refused(rt, stack_id, "an engine that took it at the same moment")
        raise ActionInProgress(f"stack {stack_id} is busy: its lock changed hands")
    if alive:
        LOG.info("stack %s: engine %s took the stack lock over from live engine %s",
                 stack_id, rt.engine_id, current)
    else:
        LOG.warning("stack %s: engine %s stole the stack lock of dead engine %s", stack_id,
                    rt.engine_id, current)
    return current


def _refused(rt: Runtime, stack_id: str, current: str) -> None:
    LOG.info("stack %s: stack lock refused to engine %s: held by %s", stack_id,
             rt.engine_id, current)


@retry_on_race()  # a release lost to a deadlock would leave the stack busy for good
def release(rt: Runtime, stack_id: str) -> bool:
    """Release the lock if this engine still holds it."""
    with rt.db.session() as s:
        return bool(s.execute(sa.delete(StackLock).where(
            StackLock.stack_id == stack_id, StackLock.engine_id == rt.engine_id)).rowcount)


def held_by_me(rt: Runtime, stack_id: str) -> bool:
    return holder(rt, stack_id) == rt.engine_id


def orphaned(rt: Runtime, alive: set[str]) -> list[tuple[str, str]]:
    """(stack id, engine id) of locks whose engine is not alive."""
    with rt.db.session() as s:
        rows = s.execute(sa.select(StackLock.stack_id, StackLock.engine_id)).all()
    return [(sid, eid) for sid, eid in rows if eid not in alive and eid != rt.engine_id]


def force_release(rt: Runtime, stack_id: str, engine_id: str) -> bool:
    """Release the lock ``engine_id`` (a dead engine) left behind."""
    with rt.db.session() as s:
        released = bool(s.execute(sa.delete(StackLock).where(
            StackLock.stack_id == stack_id, StackLock.engine_id == engine_id)).rowcount)
    if released:
        LOG.warning("stack %s: engine %s broke the stack lock left by dead engine %s",
                    stack_id, rt.engine_id, engine_id)
    return released
