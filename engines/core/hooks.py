"""Hooks (breakpoints): an action pauses before pre-create/pre-update/pre-delete of a
resource until a user signals it. The pending mark lives in ``resource_data`` so that the
signal reaches a worker in any process."""

from __future__ import annotations

from collections.abc import Callable

import sqlalchemy as sa
from oslo_log import log as logging

from engines.core import events, waiting
from engines.core.db import Database
from engines.core.errors import Cancelled, InvalidOperation, NotFound
from engines.core.models import Resource, ResourceData
from engines.core.status import HOOK_TYPES, IN_PROGRESS

PENDING = "pending"
LOG = logging.getLogger(__name__)


def _key(hook: str) -> str:
    return f"hook:{hook}"


def set_pending(db: Database, row: Resource, hook: str, action: str, engine_id: str) -> None:
    with db.session() as s:
        s.execute(sa.delete(ResourceData).where(ResourceData.resource_id == row.id,
                                                ResourceData.key == _key(hook)))
        s.add(ResourceData(resource_id=row.id, key=_key(hook), value=PENDING))
        events.emit(s, row.stack_id, row.name, action, IN_PROGRESS,
                    f"paused until Hook {hook} is cleared",
                    physical_id=row.physical_resource_id, resource_type=row.type,
                    engine_id=engine_id)
        # said before the commit makes the mark visible: whoever sees the pause can also
        # find the line that explains it
        LOG.info("stack %s: resource %s (id %s) reached hook %s during %s; paused until it "
                 "is signalled", row.stack_id, row.name, row.id, hook, action)


def is_pending(db: Database, resource_id: int, hook: str) -> bool:
    with db.session() as s:
        return s.scalar(sa.select(ResourceData.value).where(
            ResourceData.resource_id == resource_id, ResourceData.key == _key(hook))) == PENDING


def wait_cleared(db: Database, row: Resource, hook: str, cancelled: Callable[[], bool],
                 poll_interval: float) -> None:
    """Block until the hook is signalled; raise Cancelled if the operation is stopped (the
    pending mark is removed then, so a stale breakpoint blocks nobody)."""
    def released() -> bool:
        if not is_pending(db, row.id, hook):
            return True
        if cancelled():
            clear_mark(db, row.id, hook)
            LOG.info("stack %s: hook %s of resource %s (id %s) cancelled: its operation "
                     "was stopped", row.stack_id, hook, row.name, row.id)
            raise Cancelled(row.name)
        return False
    waiting.wait_until(released, timeout=None, interval=poll_interval,
                       what=f"hook {hook} of {row.name} to be signalled")


def clear_mark(db: Database, resource_id: int, hook: str) -> None:
    with db.session() as s:
        s.execute(sa.delete(ResourceData).where(ResourceData.resource_id == resource_id,
                                                ResourceData.key == _key(hook)))


def pending_hooks(db: Database, stack_id: str) -> dict[str, list[str]]:
    """Resource name -> hooks it is paused at."""
    with db.session() as s:
        rows = s.execute(
            sa.select(Resource.name, ResourceData.key)
            .join(ResourceData, ResourceData.resource_id == Resource.id)
            .where(Resource.stack_id == stack_id, ResourceData.value == PENDING,
                   ResourceData.key.like("hook:%"))
        ).all()
    found: dict[str, list[str]] = {}
    for name, key in rows:
        found.setdefault(name, []).append(key.split(":", 1)[1])
    return found


def signal(db: Database, stack_id: str, resource_name: str, hook: str, engine_id: str) -> None:
    """Release ``hook`` on ``resource_name``; an error if it is not paused there."""
    if hook not in HOOK_TYPES:
        raise InvalidOperation(f"unknown hook {hook!r}; expected one of {', '.join(HOOK_TYPES)}")
    with db.session() as s:
        rows = list(s.scalars(sa.select(Resource).where(
            Resource.stack_id == stack_id, Resource.name == resource_name)))
        if not rows:
            raise NotFound(f"resource {resource_name!r} not found in stack {stack_id}")
        ids = [r.id for r in rows]
        cleared = s.execute(sa.delete(ResourceData).where(
            ResourceData.resource_id.in_(ids), ResourceData.key == _key(hook),
            ResourceData.value == PENDING)).rowcount
        if not cleared:
            raise InvalidOperation(
                f"resource {resource_name!r} is not paused at hook {hook!r}")
        row = rows[-1]
        events.emit(s, stack_id, resource_name, row.action, row.status,
                    f"Hook {hook} is cleared", physical_id=row.physical_resource_id,
                    resource_type=row.type, engine_id=engine_id)
    LOG.info("stack %s: hook %s of resource %s released by a signal", stack_id, hook,
             resource_name)
