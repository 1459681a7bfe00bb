"""The legacy stack lock: one row per busy stack, naming the engine that holds it. Another
operation on a busy stack fails with ActionInProgress, unless the holder is dead."""

from __future__ import annotations

import sqlalchemy as sa
from oslo_db.exception import DBDuplicateEntry
from sqlalchemy.exc import IntegrityError

from engines.core.errors import ActionInProgress
from engines.core.liveness import is_alive
from engines.core.models import StackLock, utcnow
from engines.core.runtime import Runtime


def holder(rt: Runtime, stack_id: str) -> str | None:
    with rt.db.session() as s:
        return s.scalar(sa.select(StackLock.engine_id).where(StackLock.stack_id == stack_id))


def acquire(rt: Runtime, stack_id: str, *, steal_from_live: bool = False) -> str | None:
    """Take the lock for this engine. Returns the previous holder when the lock was taken
    over (a dead engine's, or a live one's with ``steal_from_live``), else None."""
    try:
        with rt.db.session() as s:
            s.add(StackLock(stack_id=stack_id, engine_id=rt.engine_id, created_at=utcnow()))
        return None
    except (IntegrityError, DBDuplicateEntry):  # oslo.db wraps it on server databases
        pass
    current = holder(rt, stack_id)
    if current is None:  # released in between
        return acquire(rt, stack_id, steal_from_live=steal_from_live)
    if current == rt.engine_id and not steal_from_live:
        raise ActionInProgress(f"stack {stack_id} is busy: an operation is in progress")
    if (not steal_from_live and current != rt.engine_id
            and is_alive(rt.db, current, rt.conf.service_stale_after)):
        raise ActionInProgress(
            f"stack {stack_id} is busy: engine {current} holds its lock")
    with rt.db.session() as s:
        taken = s.execute(sa.update(StackLock).where(
            StackLock.stack_id == stack_id, StackLock.engine_id == current)
            .values(engine_id=rt.engine_id, created_at=utcnow())).rowcount
    if not taken:
        raise ActionInProgress(f"stack {stack_id} is busy: its lock changed hands")
    return current


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
    with rt.db.session() as s:
        return bool(s.execute(sa.delete(StackLock).where(
            StackLock.stack_id == stack_id, StackLock.engine_id == engine_id)).rowcount)
