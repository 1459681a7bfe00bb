"""Client tokens: what makes a resource's create idempotent, as the client tokens of real
clouds' APIs do.

An engine that dies between the cloud's create and recording the physical id it got
leaves a physical resource no row knows of. Every create therefore carries a token derived
from the row it is made for (the row's uuid), and the cloud returns the resource it made
for a token it has seen instead of making another. Whoever acts on that row next finds the
orphan through the token: a create run again adopts it (a replacement of a row whose
create never recorded its result takes over that row's token, since its create is the same
create asked again), and a delete of that row deletes it.

Heat's resources record their physical id as soon as the cloud answers, and a create
interrupted before that is lost to it; this closes that window without a second write
before every create: only a replacement that takes a token over stores it (in
``resource_data``).
"""

from __future__ import annotations

import sqlalchemy as sa

from engines.core.db import Database
from engines.core.models import Resource, ResourceData
from engines.core.reality import Reality
from engines.core.status import CREATE, INIT

KEY = "client_token"


def may_have_orphan(row: Resource) -> bool:
    """A create ran for ``row`` and no physical id came of it: the cloud may hold one."""
    return row.physical_resource_id is None and row.action == CREATE


def _stored(db: Database, row_id: int) -> str | None:
    with db.session() as s:
        return s.scalar(sa.select(ResourceData.value).where(
            ResourceData.resource_id == row_id, ResourceData.key == KEY))


def of(db: Database, row: Resource) -> str:
    """The token ``row``'s creates carry."""
    # a fresh row (never acted on, replacing nothing) cannot have taken one over: no read
    if row.action != INIT or row.replaces is not None:
        stored = _stored(db, row.id)
        if stored:
            return stored
    return row.uuid


def for_create(db: Database, row: Resource, replaces: Resource | None = None) -> str:
    """The token of the create about to run for ``row``, which replaces ``replaces`` (if
    given): the replaced row's when its own create may have left an orphan."""
    if replaces is None or not may_have_orphan(replaces):
        return of(db, row)
    token = of(db, replaces)
    with db.session() as s:
        s.execute(sa.delete(ResourceData).where(ResourceData.resource_id == row.id,
                                                ResourceData.key == KEY))
        s.add(ResourceData(resource_id=row.id, key=KEY, value=token))
    return token


def orphan(db: Database, reality: Reality, row: Resource) -> str | None:
    """The physical resource ``row``'s create made but never recorded, if the cloud has one
    that no row knows of (one a replacement adopted is that row's, not an orphan)."""
    if not may_have_orphan(row):
        return None
    physical_id = reality.by_token(of(db, row))
    if physical_id is None:
        return None
    with db.session() as s:
        known = s.scalar(sa.select(sa.func.count()).select_from(Resource).where(
            Resource.physical_resource_id == physical_id))
    return None if known else physical_id
