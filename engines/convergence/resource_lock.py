"""Per-resource locks: the engine id written into the resource row by a compare-and-swap on
``atomic_key``. No stack lock: two traversals may work on one stack, never on one resource."""

from __future__ import annotations

import sqlalchemy as sa

from engines.core.db import Database
from engines.core.models import Resource


def try_acquire(db: Database, resource_id: int, engine_id: str) -> bool:
    with db.session() as s:
        row = s.get(Resource, resource_id)
        if row is None or row.engine_id is not None:
            return False
        key = row.atomic_key
        match = Resource.atomic_key.is_(None) if key is None else Resource.atomic_key == key
        return bool(s.execute(
            sa.update(Resource).where(Resource.id == resource_id, Resource.engine_id.is_(None),
                                      match)
            .values(engine_id=engine_id, atomic_key=(key or 0) + 1)).rowcount)


def release(db: Database, resource_id: int, engine_id: str) -> bool:
    with db.session() as s:
        return release_in(s, resource_id, engine_id)


def release_in(session: sa.orm.Session, resource_id: int, engine_id: str) -> bool:
    """Release within the caller's transaction, with whatever else must change with it."""
    return bool(session.execute(
        sa.update(Resource).where(Resource.id == resource_id, Resource.engine_id == engine_id)
        .values(engine_id=None,
                atomic_key=sa.func.coalesce(Resource.atomic_key, 0) + 1)).rowcount)


def holder(db: Database, resource_id: int) -> str | None:
    with db.session() as s:
        return s.scalar(sa.select(Resource.engine_id).where(Resource.id == resource_id))


def break_lock(db: Database, resource_id: int, dead_engine: str) -> bool:
    """Take the lock away from an engine that is gone."""
    return release(db, resource_id, dead_engine)


def held_by_others(db: Database, alive: set[str]) -> list[Resource]:
    with db.session() as s:
        return list(s.scalars(sa.select(Resource).where(
            Resource.engine_id.is_not(None), Resource.engine_id.not_in(alive or {""}))))
