"""Per-resource locks: the engine id written into the resource row by a compare-and-swap on
``atomic_key``. No stack lock: two traversals may work on one stack, never on one resource."""

from __future__ import annotations

import sqlalchemy as sa
from oslo_log import log as logging

from engines.core.db import Database, retry_on_race
from engines.core.models import Resource

LOG = logging.getLogger(__name__)


@retry_on_race()
def try_acquire(db: Database, resource_id: int, engine_id: str) -> bool:
    # a lost compare-and-swap is an answer here, not a race to retry: someone has the lock
    with db.session() as s:
        row = s.get(Resource, resource_id)
        if row is None:
            LOG.debug("lock of resource %s refused to engine %s: no such resource",
                      resource_id, engine_id)
            return False
        if row.engine_id is not None:
            _refused(row, engine_id, row.engine_id)
            return False
        key = row.atomic_key
        match = Resource.atomic_key.is_(None) if key is None else Resource.atomic_key == key
        taken = bool(s.execute(
            sa.update(Resource).where(Resource.id == resource_id, Resource.engine_id.is_(None),
                                      match)
            .values(engine_id=engine_id, atomic_key=(key or 0) + 1)).rowcount)
    if taken:
        LOG.debug("stack %s: engine %s took the lock of resource %s (id %s)", row.stack_id,
                  engine_id, row.name, row.id)
    else:
        _refused(row, engine_id, "an engine that took it at the same moment")
    return taken


def _refused(row: Resource, engine_id: str, holder: str) -> None:
    LOG.info("stack %s: lock of resource %s (id %s) refused to engine %s: held by %s",
             row.stack_id, row.name, row.id, engine_id, holder)


@retry_on_race()  # a release lost to a deadlock would leave the resource locked for good
def release(db: Database, resource_id: int, engine_id: str) -> bool:
    with db.session() as s:
        return release_in(s, resource_id, engine_id)


_T = Resource.__table__


def acquire_in(session: sa.orm.Session, resource_id: int, engine_id: str) -> bool:
    """Take the lock within the caller's transaction, in one statement: the row is written
    only if no engine holds it, which the database decides atomically (on the servers a
    rival's update waits for this transaction and then finds the lock taken). The caller
    reads what it needs in the same transaction, under the lock."""
    return bool(session.execute(
        sa.update(_T).where(_T.c.id == resource_id, _T.c.engine_id.is_(None))
        .values(engine_id=engine_id, atomic_key=sa.func.coalesce(_T.c.atomic_key, 0) + 1)
    ).rowcount)


def release_in(session: sa.orm.Session, resource_id: int, engine_id: str,
               **values: object) -> bool:
    """Release within the caller's transaction, with whatever else must change with it
    (``values``: columns written in the same statement, only if the lock was held)."""
    released = bool(session.execute(
        sa.update(_T).where(_T.c.id == resource_id, _T.c.engine_id == engine_id)
        .values(engine_id=None, atomic_key=sa.func.coalesce(_T.c.atomic_key, 0) + 1,
                **values)).rowcount)
    if released:
        LOG.debug("engine %s released the lock of resource id %s", engine_id, resource_id)
    return released


def holder(db: Database, resource_id: int) -> str | None:
    with db.session() as s:
        return s.scalar(sa.select(Resource.engine_id).where(Resource.id == resource_id))


def break_lock(db: Database, resource_id: int, dead_engine: str) -> bool:
    """Take the lock away from an engine that is gone."""
    with db.session() as s:
        row = s.get(Resource, resource_id)
        broken = release_in(s, resource_id, dead_engine)
    if broken and row is not None:
        LOG.warning("stack %s: broke the lock of resource %s (id %s) held by dead engine %s",
                    row.stack_id, row.name, row.id, dead_engine)
    return broken


def held_by_others(db: Database, alive: set[str]) -> list[Resource]:
    with db.session() as s:
        return list(s.scalars(sa.select(Resource).where(
            Resource.engine_id.is_not(None), Resource.engine_id.not_in(alive or {""}))))
