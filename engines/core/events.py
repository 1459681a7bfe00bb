"""Events: one row per status transition of a resource or of the stack."""

from __future__ import annotations

import uuid

import sqlalchemy as sa
from sqlalchemy.orm import Session

from engines.core.models import Event, utcnow

_INSERT = sa.insert(Event.__table__)


def emit(
    session: Session, stack_id: str, resource_name: str, action: str, status: str,
    reason: str | None = None, *, physical_id: str | None = None,
    resource_type: str | None = None, engine_id: str | None = None,
) -> None:
    # a plain insert, in the caller's transaction: every state change of every resource
    # writes one, and the ORM's unit of work would cost more than the insert itself
    session.execute(_INSERT, dict(
        uuid=str(uuid.uuid4()), stack_id=stack_id, resource_name=resource_name,
        physical_resource_id=physical_id, resource_type=resource_type,
        resource_action=action, resource_status=status, resource_status_reason=reason,
        engine_id=engine_id, created_at=utcnow(),
    ))


def list_for(session: Session, stack_id: str) -> list[Event]:
    return list(session.scalars(
        sa.select(Event).where(Event.stack_id == stack_id).order_by(Event.id)
    ))
