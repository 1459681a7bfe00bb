"""Stack records: storing a validated stack, its templates and its resources, and moving
the stack from state to state (with the stack's own events)."""

from __future__ import annotations

import uuid
from typing import Any

import sqlalchemy as sa

from engines.core import events
from engines.core.db import Database, retry_on_race, serving_engine
from engines.core.errors import NotFound, StackExists
from engines.core.models import (
    Event,
    RawTemplate,
    Resource,
    ResourceData,
    Stack,
    StackLock,
    SyncPoint,
    utcnow,
)
from engines.core.status import COMPLETE, INIT, STACK_TYPE

_FIELDS = {"action", "status", "status_reason", "raw_template_id", "parameters",
           "disable_rollback", "timeout", "current_traversal", "current_deps",
           "prev_raw_template_id", "deleted_at"}


def store_template(session: sa.orm.Session, template: dict, environment: dict,
                   files: dict[str, str] | None = None) -> int:
    raw = RawTemplate(template=template, environment=environment, files=files or None,
                      created_at=utcnow())
    session.add(raw)
    session.flush()
    return raw.id


def load_template(db: Database, template_id: int) -> tuple[dict, dict]:
    with db.session() as s:
        raw = s.get(RawTemplate, template_id)
        if raw is None:
            raise NotFound(f"template {template_id} not found")
        return raw.template, raw.environment or {}


def load_files(db: Database, template_id: int) -> dict[str, str]:
    """The files map stored with a template (empty when none was given)."""
    with db.session() as s:
        raw = s.get(RawTemplate, template_id)
        return dict(raw.files or {}) if raw is not None else {}


def create(db: Database, *, name: str, project_id: str, template: dict, environment: dict,
           parameters: dict, convergence: bool, action: str, status: str,
           disable_rollback: bool, timeout: int | None, engine_id: str,
           lock_engine: str | None = None, files: dict[str, str] | None = None,
           owner_id: str | None = None, root_id: str | None = None) -> Stack:
    """Store a new stack (and, for legacy, its lock) in one transaction."""
    with db.session() as s:
        taken = None if owner_id else s.scalar(sa.select(Stack.id).where(
            Stack.project_id == project_id, Stack.name == name,
            Stack.deleted_at.is_(None), Stack.backup.is_(False)))
        if taken:
            raise StackExists(f"a stack named {name!r} already exists ({taken})")
        stack = Stack(id=str(uuid.uuid4()), name=name, project_id=project_id,
                      raw_template_id=store_template(s, template, environment, files),
                      owner_id=owner_id, root_id=root_id,
                      parameters=parameters, action=action, status=status,
                      status_reason="Stack creation started", disable_rollback=disable_rollback,
                      timeout=timeout, convergence=convergence, created_at=utcnow())
        s.add(stack)
        s.flush()
        if lock_engine:
            s.add(StackLock(stack_id=stack.id, engine_id=lock_engine, created_at=utcnow()))
        events.emit(s, stack.id, name, action, status, stack.status_reason,
                    physical_id=stack.id, resource_type=STACK_TYPE, engine_id=engine_id)
        return stack


def get(db: Database, stack_id: str, project_id: str | None = None,
        include_deleted: bool = True, *, traversal_state: bool = True) -> Stack:
    """The stack; without its ``current_deps`` (a convergence traversal's graph, which
    grows with the stack) when ``traversal_state`` is false: what an API call that polls
    reads, so that a poll costs the same whatever the stack's size."""
    options = [] if traversal_state else [sa.orm.defer(Stack.current_deps, raiseload=True)]
    with db.session() as s:
        stack = s.get(Stack, stack_id, options=options)
    if (stack is None or stack.backup
            or (project_id is not None and stack.project_id != project_id)
            or (not include_deleted and stack.deleted_at is not None)):
        raise NotFound(f"stack {stack_id} not found")
    return stack


def find(db: Database, project_id: str, name_or_id: str) -> Stack:
    with db.session() as s:
        stack = s.scalar(sa.select(Stack).where(
            Stack.project_id == project_id, Stack.backup.is_(False),
            sa.or_(Stack.id == name_or_id, Stack.name == name_or_id))
            .order_by(Stack.deleted_at.is_not(None), Stack.created_at.desc()))
    if stack is None:
        raise NotFound(f"stack {name_or_id} not found")
    return stack


def list_live(db: Database, project_id: str) -> list[Stack]:
    with db.session() as s:
        return list(s.scalars(sa.select(Stack).where(
            Stack.project_id == project_id, Stack.backup.is_(False),
            Stack.owner_id.is_(None),  # nested stacks are listed under their parents
            Stack.deleted_at.is_(None)).order_by(Stack.created_at)))


def set_state(db: Database, stack_id: str, action: str, status: str, reason: str,
              engine_id: str, *, expect_traversal: str | None = None,
              expect_status: str | None = None, on_legacy: bool = False,
              **values: Any) -> bool:
    """Move the stack to ``action``/``status`` and emit its event. With ``expect_traversal``
    the change only happens if that traversal is still the stack's current one (a newer
    operation has the last word), with ``expect_status`` if the stack is still in that
    status, with ``on_legacy`` if it is still on the legacy path (not moved onto
    convergence meanwhile); returns whether it happened."""
    unknown = set(values) - _FIELDS
    if unknown:
        raise TypeError(f"not stack fields: {sorted(unknown)}")
    with db.session() as s:
        query = sa.update(Stack).where(Stack.id == stack_id)
        if expect_traversal is not None:
            query = query.where(Stack.current_traversal == expect_traversal)
        if expect_status is not None:
            query = query.where(Stack.status == expect_status)
        if on_legacy:
            query = query.where(Stack.convergence.is_(False))
        changed = s.execute(query.values(action=action, status=status, status_reason=reason,
                                         updated_at=utcnow(), **values)).rowcount
        if changed:
            stack = s.get(Stack, stack_id)
            events.emit(s, stack_id, stack.name, action, status, reason, physical_id=stack_id,
                        resource_type=STACK_TYPE, engine_id=engine_id)
        return bool(changed)


def update_stack(db: Database, stack_id: str, **values: Any) -> None:
    """Change stored fields of the stack without a state transition (no event)."""
    unknown = set(values) - _FIELDS
    if unknown:
        raise TypeError(f"not stack fields: {sorted(unknown)}")
    with db.session() as s:
        s.execute(sa.update(Stack).where(Stack.id == stack_id).values(**values))


def resources(db: Database, stack_id: str) -> list[Resource]:
    with db.session() as s:
        return list(s.scalars(sa.select(Resource).where(Resource.stack_id == stack_id)
                              .order_by(Resource.id)))


def current_resources(db: Database, stack_id: str) -> dict[str, Resource]:
    """Name -> the resource row that currently stands for that name (a replaced copy that is
    still waiting for clean-up is not current)."""
    current: dict[str, Resource] = {}
    for row in resources(db, stack_id):
        if row.replaced_by is None:
            current[row.name] = row  # ordered by id: the newest wins
    return current


def add_resource(db: Database, stack_id: str, name: str, type_name: str,
                 **values: Any) -> Resource:
    with db.session() as s:
        row = Resource(uuid=str(uuid.uuid4()), stack_id=stack_id, name=name, type=type_name,
                       action=INIT, status=COMPLETE, created_at=utcnow(), **values)
        s.add(row)
        s.flush()
        return row


def update_resource(db: Database, resource_id: int, **values: Any) -> None:
    with db.session() as s:
        s.execute(sa.update(Resource).where(Resource.id == resource_id).values(**values))


def purge_resources(db: Database, stack_id: str) -> None:
    with db.session() as s:
        ids = sa.select(Resource.id).where(Resource.stack_id == stack_id)
        s.execute(sa.delete(ResourceData).where(ResourceData.resource_id.in_(ids)))
        s.execute(sa.delete(Resource).where(Resource.stack_id == stack_id))


def discard_new(db: Database, stack_id: str) -> None:
    """Remove every trace of a stack whose creation failed before it was under way (its
    operation could not be started): nothing half-made stays behind. Runs on the engine's
    own connections, so that an API pool that ran dry does not stop the clean-up."""

    @retry_on_race()
    def discard() -> None:
        with db.session() as s:
            template_id = s.scalar(sa.select(Stack.raw_template_id).where(Stack.id == stack_id))
            ids = sa.select(Resource.id).where(Resource.stack_id == stack_id)
            s.execute(sa.delete(ResourceData).where(ResourceData.resource_id.in_(ids)))
            for model in (Resource, SyncPoint, Event, StackLock):
                s.execute(sa.delete(model).where(model.stack_id == stack_id))
            s.execute(sa.delete(Stack).where(Stack.id == stack_id))
            if template_id is not None:
                s.execute(sa.delete(RawTemplate).where(RawTemplate.id == template_id))

    with serving_engine():
        discard()
