"""Hooks (breakpoints): an action pauses at a resource's pre-/post- create, update or
delete hook until a user signals it. The pending mark lives in ``resource_data`` so that
the signal reaches a worker in any process. A pause its operation gave up (stopped, or
superseded by a newer one) leaves a *released* mark instead, so that a signal arriving
after it gets a clear answer rather than "not paused"."""

from __future__ import annotations

from collections.abc import Callable

import sqlalchemy as sa
from oslo_log import log as logging

from engines.core import events, waiting
from engines.core.db import Database, retry_on_race
from engines.core.errors import Cancelled, InvalidOperation, NotFound
from engines.core.models import Resource, ResourceData, Stack
from engines.core.status import HOOK_TYPES

PENDING = "pending"
RELEASED = "released: "  # + why; the pause is over without a signal
LOG = logging.getLogger(__name__)


def _key(hook: str) -> str:
    return f"hook:{hook}"


def _resource_ids(stack_id: str) -> sa.Select:
    """The resources of the stack, with those of its legacy backup stack: an old copy
    kept there pauses at its delete hooks under the stack's name too."""
    owned = sa.select(Stack.id).where(Stack.owner_id == stack_id, Stack.backup.is_(True))
    return sa.select(Resource.id).where(sa.or_(Resource.stack_id == stack_id,
                                               Resource.stack_id.in_(owned)))


def set_pending(db: Database, row: Resource, hook: str, action: str, engine_id: str,
                stack_id: str | None = None) -> None:
    """Mark ``row`` paused at ``hook``; the event goes to ``stack_id`` (default: the
    row's stack; a legacy backup copy's pause is told in the stack it belongs to)."""
    _write_pending(db, row, hook, action, engine_id, stack_id)


# Two resources of one stack reach their hooks at the same moment on a legacy thread pool;
# on MariaDB the delete of a mark that is not there takes a gap lock that the other's insert
# waits for, and InnoDB kills one of them as a deadlock (seen on hooks/wildcard). The mark
# is therefore updated in place when there is one, and the transaction retried if lost.
@retry_on_race()
def _write_pending(db: Database, row: Resource, hook: str, action: str, engine_id: str,
                   stack_id: str | None) -> None:
    with db.session() as s:
        existing = s.scalar(sa.select(ResourceData.id).where(
            ResourceData.resource_id == row.id, ResourceData.key == _key(hook)))
        if existing is None:
            s.add(ResourceData(resource_id=row.id, key=_key(hook), value=PENDING))
        else:
            s.execute(sa.update(ResourceData).where(ResourceData.id == existing)
                      .values(value=PENDING))
        # as Heat: the resource keeps the state it had, the event says what waits
        events.emit(s, stack_id or row.stack_id, row.name, row.action, row.status,
                    f"{action} paused until Hook {hook} is cleared",
                    physical_id=row.physical_resource_id, resource_type=row.type,
                    engine_id=engine_id)
        # said before the commit makes the mark visible: whoever sees the pause can also
        # find the line that explains it (a retried transaction says it again)
        LOG.info("stack %s: resource %s (id %s) reached hook %s during %s; paused until it "
                 "is signalled", row.stack_id, row.name, row.id, hook, action)


def mark(db: Database, resource_id: int, hook: str) -> str | None:
    """The hook's mark: PENDING, a released one, or None (no pause, or signalled)."""
    with db.session() as s:
        return s.scalar(sa.select(ResourceData.value).where(
            ResourceData.resource_id == resource_id, ResourceData.key == _key(hook)))


def is_pending(db: Database, resource_id: int, hook: str) -> bool:
    return mark(db, resource_id, hook) == PENDING


def wait_cleared(db: Database, row: Resource, hook: str, cancelled: Callable[[], bool],
                 poll_interval: float) -> None:
    """Block until the hook is signalled; raise Cancelled if the operation is stopped (the
    pending mark becomes a released one then, so a stale breakpoint blocks nobody and a
    late signal is answered) or the mark was released for it (``release_all``)."""
    def released() -> bool:
        value = mark(db, row.id, hook)
        if value is None:
            return True
        if value != PENDING or cancelled():
            mark_released(db, row.id, hook, "its operation was stopped or superseded")
            LOG.info("stack %s: hook %s of resource %s (id %s) cancelled: its operation "
                     "was stopped", row.stack_id, hook, row.name, row.id)
            raise Cancelled(row.name)
        return False
    waiting.wait_until(released, timeout=None, interval=poll_interval,
                       what=f"hook {hook} of {row.name} to be signalled")


@retry_on_race()
def release_all(db: Database, stack_id: str, why: str) -> int:
    """Every pause of the stack's operation ends now (it was stopped or superseded): the
    API call that stops it says so before it returns, so that nobody waiting for a hook
    mistakes the old operation's pause for the new one's; the paused actions see it and
    stop. Returns how many pauses were released."""
    with db.session() as s:
        released = s.execute(sa.update(ResourceData).where(
            ResourceData.resource_id.in_(_resource_ids(stack_id)), ResourceData.key.like("hook:%"),
            ResourceData.value == PENDING).values(value=RELEASED + why)).rowcount
    if released:
        LOG.info("stack %s: %d pending hook(s) released: %s", stack_id, released, why)
    return released


@retry_on_race()
def mark_released(db: Database, resource_id: int, hook: str, why: str) -> None:
    """A pending pause is over without a signal (only if it is still pending: a signal
    that came first wins)."""
    with db.session() as s:
        s.execute(sa.update(ResourceData).where(
            ResourceData.resource_id == resource_id, ResourceData.key == _key(hook),
            ResourceData.value == PENDING).values(value=RELEASED + why))


@retry_on_race()
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
            .where(Resource.id.in_(_resource_ids(stack_id)), ResourceData.value == PENDING,
                   ResourceData.key.like("hook:%"))
        ).all()
    found: dict[str, list[str]] = {}
    for name, key in rows:
        found.setdefault(name, []).append(key.split(":", 1)[1])
    return found


def signal(db: Database, stack_id: str, resource_name: str, hook: str,
           engine_id: str) -> str:
    """Release ``hook`` on ``resource_name``; an error if it is not paused there. A pause
    its operation already gave up is answered, not refused: what was released and why."""
    if hook not in HOOK_TYPES:
        raise InvalidOperation(f"unknown hook {hook!r}; expected one of {', '.join(HOOK_TYPES)}")
    with db.session() as s:
        rows = list(s.scalars(sa.select(Resource).where(
            Resource.id.in_(_resource_ids(stack_id)), Resource.name == resource_name)
            .order_by(Resource.id)))
        if not rows:
            raise NotFound(f"resource {resource_name!r} not found in stack {stack_id}")
        ids = [r.id for r in rows]
        paused = set(s.scalars(sa.select(ResourceData.resource_id).where(
            ResourceData.resource_id.in_(ids), ResourceData.key == _key(hook),
            ResourceData.value == PENDING)))
        cleared = s.execute(sa.delete(ResourceData).where(
            ResourceData.resource_id.in_(paused), ResourceData.key == _key(hook),
            ResourceData.value == PENDING)).rowcount if paused else 0
        if not cleared:
            gone = s.scalar(sa.select(ResourceData.value).where(
                ResourceData.resource_id.in_(ids), ResourceData.key == _key(hook),
                ResourceData.value.like(RELEASED + "%")))
            if gone is None:
                raise InvalidOperation(
                    f"resource {resource_name!r} is not paused at hook {hook!r}")
            # the mark stays: the paused action, if it has not looked yet, must still
            # see that it was released for its operation's end, not by this signal
            answer = (f"hook {hook} on {resource_name} was already released: "
                      f"{gone[len(RELEASED):]}")
            LOG.info("stack %s: %s", stack_id, answer)
            return answer
        row = [r for r in rows if r.id in paused][-1]  # the copy that was paused
        events.emit(s, stack_id, resource_name, row.action, row.status,
                    f"Hook {hook} is cleared", physical_id=row.physical_resource_id,
                    resource_type=row.type, engine_id=engine_id)
    LOG.info("stack %s: hook %s of resource %s released by a signal", stack_id, hook,
             resource_name)
    return f"hook {hook} on {resource_name} released"
