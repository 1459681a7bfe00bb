"""The convergence schema: traversal state, the resource graph and locks, sync points.

* ``stack``: ``current_traversal`` (the traversal in charge; an older one that sees a new id
  stops), ``current_deps`` (the dependency graph of that traversal),
  ``prev_raw_template_id`` (the template to go back to on rollback);
* ``resource``: ``requires`` (what it depends on, as of its last action),
  ``replaces`` / ``replaced_by`` (the two halves of a replacement), ``current_template_id``
  (the template its properties come from), and the per-resource lock ``atomic_key`` +
  ``engine_id`` (which replaces the legacy path's whole-stack lock);
* ``sync_point``: one row per graph node per traversal, collecting the node's inputs;
* ``service``: engines and workers with their heartbeat, to break the locks of dead ones.

Expand-only. Every new column is nullable with no default, so legacy stacks and resources,
and rows written by the legacy engine afterwards, read NULL: "never touched by convergence".
Legacy code does not name these columns and keeps working unchanged. As in 0002, the table
locks are taken with a short timeout so that the revision fails rather than stalls.

Revision ID: 0003_convergence_schema
Revises: 0002_engine_mode
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from engines.core.models import JSONText, Timestamp
from migrations import (
    add_columns_online,
    bounded_ddl,
    commit_point,
    create_index_once,
    table_exists,
)

revision: str = "0003_convergence_schema"
down_revision: str | Sequence[str] | None = "0002_engine_mode"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

MYSQL_TABLE = {"mysql_engine": "InnoDB", "mysql_charset": "utf8mb4"}

STACK_COLUMNS = ("current_traversal", "current_deps", "prev_raw_template_id")
RESOURCE_COLUMNS = (
    "requires", "replaces", "replaced_by", "current_template_id", "atomic_key", "engine_id",
)


def upgrade() -> None:
    # one live table per transaction (migrations.commit_point): a resource write locks
    # resource, then stack through its foreign key; a revision holding stack's lock while
    # waiting for resource's would deadlock with it
    with bounded_ddl():
        add_columns_online(
            "stack",
            [
                sa.Column("current_traversal", sa.String(36), nullable=True),
                sa.Column("current_deps", JSONText(), nullable=True),
                sa.Column("prev_raw_template_id", sa.Integer(), nullable=True),
            ],
        )
    commit_point()
    with bounded_ddl():
        add_columns_online(
            "resource",
            [
                sa.Column("requires", JSONText(), nullable=True),
                sa.Column("replaces", sa.Integer(), nullable=True),
                sa.Column("replaced_by", sa.Integer(), nullable=True),
                sa.Column("current_template_id", sa.Integer(), nullable=True),
                sa.Column("atomic_key", sa.Integer(), nullable=True),
                sa.Column("engine_id", sa.String(36), nullable=True),
            ],
        )
    commit_point()
    with bounded_ddl():
        # its foreign key locks stack briefly too (against writes, on PostgreSQL)
        if not table_exists("sync_point"):
            _create_sync_point()
        create_index_once("ix_sync_point_stack_id", "sync_point", ["stack_id"])
        # service references nothing: no lock on a live table
        if not table_exists("service"):
            _create_service()
        create_index_once("ix_service_engine_id", "service", ["engine_id"])


def _create_sync_point() -> None:
    op.create_table(
        "sync_point",
        sa.Column("entity_id", sa.String(255), primary_key=True),
        sa.Column("traversal_id", sa.String(36), primary_key=True),
        sa.Column("is_update", sa.Boolean(), primary_key=True),
        sa.Column("stack_id", sa.String(36), sa.ForeignKey("stack.id"), nullable=False),
        sa.Column("atomic_key", sa.Integer(), nullable=False),
        sa.Column("input_data", JSONText(), nullable=True),
        sa.Column("created_at", Timestamp, nullable=False),
        sa.Column("updated_at", Timestamp, nullable=True),
        **MYSQL_TABLE,
    )


def _create_service() -> None:
    op.create_table(
        "service",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("engine_id", sa.String(36), nullable=False),
        sa.Column("host", sa.String(255), nullable=False),
        sa.Column("binary", sa.String(255), nullable=False),
        sa.Column("topic", sa.String(255), nullable=True),
        sa.Column("pid", sa.Integer(), nullable=True),
        sa.Column("report_interval", sa.Float(), nullable=False),
        sa.Column("created_at", Timestamp, nullable=False),
        sa.Column("updated_at", Timestamp, nullable=True),
        sa.Column("deleted_at", Timestamp, nullable=True),
        **MYSQL_TABLE,
    )


def downgrade() -> None:
    with bounded_ddl():
        op.drop_table("service")
        op.drop_table("sync_point")
        with op.batch_alter_table("resource") as batch:
            for column in RESOURCE_COLUMNS:
                batch.drop_column(column)
        with op.batch_alter_table("stack") as batch:
            for column in STACK_COLUMNS:
                batch.drop_column(column)
