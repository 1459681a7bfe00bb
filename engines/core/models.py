"""The engine's schema at head, as SQLAlchemy 2 models.

The alembic history in ``migrations/`` builds exactly this (a test runs autogenerate against
the migrated database and expects no difference). Columns added by the convergence revisions
are marked; legacy code never needs them.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import mysql
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


class JSONText(sa.types.TypeDecorator):
    """JSON kept as text: the same DDL on SQLite, PostgreSQL and MariaDB (whose JSON type is
    a LONGTEXT alias that reflects differently)."""

    impl = sa.Text
    cache_ok = True

    def load_dialect_impl(self, dialect: sa.Dialect) -> sa.types.TypeEngine:
        if dialect.name == "mysql":
            return dialect.type_descriptor(mysql.LONGTEXT())
        return dialect.type_descriptor(sa.Text())

    def process_bind_param(self, value: Any, dialect: sa.Dialect) -> str | None:
        # key order is kept: a stored template must read back in its own resource order
        return None if value is None else json.dumps(value)

    def process_result_value(self, value: str | None, dialect: sa.Dialect) -> Any:
        return None if value is None else json.loads(value)


# microseconds matter: event order and overlap are read from timestamps
Timestamp = sa.DateTime().with_variant(mysql.DATETIME(fsp=6), "mysql")


class Base(DeclarativeBase):
    pass


class RawTemplate(Base):
    __tablename__ = "raw_template"

    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True, autoincrement=True)
    template: Mapped[Any] = mapped_column(JSONText, nullable=False)
    environment: Mapped[Any] = mapped_column(JSONText, nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(Timestamp, default=utcnow)
    # revision 4: the files map the template reads (get_file, template resources)
    files: Mapped[Any] = mapped_column(JSONText, nullable=True)


class Stack(Base):
    __tablename__ = "stack"

    id: Mapped[str] = mapped_column(sa.String(36), primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(255), nullable=False)
    project_id: Mapped[str] = mapped_column(sa.String(64), nullable=False, index=True)
    raw_template_id: Mapped[int] = mapped_column(
        sa.Integer, sa.ForeignKey("raw_template.id"), nullable=False
    )
    parameters: Mapped[Any] = mapped_column(JSONText, nullable=True)
    action: Mapped[str] = mapped_column(sa.String(32), nullable=False)
    status: Mapped[str] = mapped_column(sa.String(32), nullable=False)
    status_reason: Mapped[str | None] = mapped_column(sa.Text, nullable=True)
    disable_rollback: Mapped[bool] = mapped_column(sa.Boolean, nullable=False, default=False)
    timeout: Mapped[int | None] = mapped_column(sa.Integer, nullable=True)
    # a legacy backup stack points at the stack it backs up
    owner_id: Mapped[str | None] = mapped_column(sa.String(36), nullable=True, index=True)
    backup: Mapped[bool] = mapped_column(sa.Boolean, nullable=False, default=False)
    created_at: Mapped[dt.datetime] = mapped_column(Timestamp, default=utcnow)
    updated_at: Mapped[dt.datetime | None] = mapped_column(Timestamp, nullable=True)
    deleted_at: Mapped[dt.datetime | None] = mapped_column(Timestamp, nullable=True)
    # revision 2: the engine mode; the server default keeps older writers legacy
    convergence: Mapped[bool] = mapped_column(
        sa.Boolean, nullable=False, default=False, server_default=sa.false()
    )
    # revision 3: convergence state
    current_traversal: Mapped[str | None] = mapped_column(sa.String(36), nullable=True)
    current_deps: Mapped[Any] = mapped_column(JSONText, nullable=True)
    prev_raw_template_id: Mapped[int | None] = mapped_column(sa.Integer, nullable=True)
    # revision 4: the top stack of a nested stack's tree (its parent is owner_id)
    root_id: Mapped[str | None] = mapped_column(sa.String(36), nullable=True)


class Resource(Base):
    __tablename__ = "resource"

    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True, autoincrement=True)
    uuid: Mapped[str] = mapped_column(sa.String(36), nullable=False, unique=True)
    stack_id: Mapped[str] = mapped_column(
        sa.String(36), sa.ForeignKey("stack.id"), nullable=False, index=True
    )
    name: Mapped[str] = mapped_column(sa.String(255), nullable=False)
    type: Mapped[str] = mapped_column(sa.String(255), nullable=False)
    physical_resource_id: Mapped[str | None] = mapped_column(sa.String(255), nullable=True)
    action: Mapped[str] = mapped_column(sa.String(32), nullable=False)
    status: Mapped[str] = mapped_column(sa.String(32), nullable=False)
    status_reason: Mapped[str | None] = mapped_column(sa.Text, nullable=True)
    properties_data: Mapped[Any] = mapped_column(JSONText, nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(Timestamp, default=utcnow)
    updated_at: Mapped[dt.datetime | None] = mapped_column(Timestamp, nullable=True)
    # revision 3: convergence graph and per-resource lock
    requires: Mapped[Any] = mapped_column(JSONText, nullable=True)
    replaces: Mapped[int | None] = mapped_column(sa.Integer, nullable=True)
    replaced_by: Mapped[int | None] = mapped_column(sa.Integer, nullable=True)
    current_template_id: Mapped[int | None] = mapped_column(sa.Integer, nullable=True)
    atomic_key: Mapped[int | None] = mapped_column(sa.Integer, nullable=True)
    engine_id: Mapped[str | None] = mapped_column(sa.String(36), nullable=True)


class ResourceData(Base):
    """Small per-resource facts that outlive one action (pending hooks)."""

    __tablename__ = "resource_data"
    __table_args__ = (sa.UniqueConstraint("resource_id", "key", name="uniq_resource_data_key"),)

    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True, autoincrement=True)
    resource_id: Mapped[int] = mapped_column(
        sa.Integer, sa.ForeignKey("resource.id", ondelete="CASCADE"), nullable=False
    )
    key: Mapped[str] = mapped_column(sa.String(255), nullable=False)
    value: Mapped[str | None] = mapped_column(sa.Text, nullable=True)


class Event(Base):
    __tablename__ = "event"

    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True, autoincrement=True)
    uuid: Mapped[str] = mapped_column(sa.String(36), nullable=False, unique=True)
    stack_id: Mapped[str] = mapped_column(
        sa.String(36), sa.ForeignKey("stack.id"), nullable=False, index=True
    )
    resource_name: Mapped[str] = mapped_column(sa.String(255), nullable=False)
    physical_resource_id: Mapped[str | None] = mapped_column(sa.String(255), nullable=True)
    resource_type: Mapped[str | None] = mapped_column(sa.String(255), nullable=True)
    resource_action: Mapped[str] = mapped_column(sa.String(32), nullable=False)
    resource_status: Mapped[str] = mapped_column(sa.String(32), nullable=False)
    resource_status_reason: Mapped[str | None] = mapped_column(sa.Text, nullable=True)
    engine_id: Mapped[str | None] = mapped_column(sa.String(64), nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(Timestamp, default=utcnow)


class StackLock(Base):
    """The legacy path's whole-stack lock: one row while an operation runs."""

    __tablename__ = "stack_lock"

    stack_id: Mapped[str] = mapped_column(
        sa.String(36), sa.ForeignKey("stack.id"), primary_key=True
    )
    engine_id: Mapped[str] = mapped_column(sa.String(36), nullable=False)
    created_at: Mapped[dt.datetime] = mapped_column(Timestamp, default=utcnow)


class SyncPoint(Base):
    """Revision 3: one row per graph node per traversal, collecting the node's inputs."""

    __tablename__ = "sync_point"

    entity_id: Mapped[str] = mapped_column(sa.String(255), primary_key=True)
    traversal_id: Mapped[str] = mapped_column(sa.String(36), primary_key=True)
    is_update: Mapped[bool] = mapped_column(sa.Boolean, primary_key=True)
    stack_id: Mapped[str] = mapped_column(
        sa.String(36), sa.ForeignKey("stack.id"), nullable=False, index=True
    )
    atomic_key: Mapped[int] = mapped_column(sa.Integer, nullable=False, default=0)
    input_data: Mapped[Any] = mapped_column(JSONText, nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(Timestamp, default=utcnow)
    updated_at: Mapped[dt.datetime | None] = mapped_column(Timestamp, nullable=True)


class Service(Base):
    """Revision 3: engines and workers, with their heartbeat."""

    __tablename__ = "service"

    id: Mapped[str] = mapped_column(sa.String(36), primary_key=True)
    engine_id: Mapped[str] = mapped_column(sa.String(36), nullable=False, index=True)
    host: Mapped[str] = mapped_column(sa.String(255), nullable=False)
    binary: Mapped[str] = mapped_column(sa.String(255), nullable=False)
    topic: Mapped[str | None] = mapped_column(sa.String(255), nullable=True)
    pid: Mapped[int | None] = mapped_column(sa.Integer, nullable=True)
    report_interval: Mapped[float] = mapped_column(sa.Float, nullable=False)
    created_at: Mapped[dt.datetime] = mapped_column(Timestamp, default=utcnow)
    updated_at: Mapped[dt.datetime | None] = mapped_column(Timestamp, nullable=True)
    deleted_at: Mapped[dt.datetime | None] = mapped_column(Timestamp, nullable=True)
