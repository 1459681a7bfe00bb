"""The pre-convergence schema: what the legacy engine needs, and nothing more.

Templates, stacks, resources with their data, events, and the legacy path's whole-stack lock.
There is no engine mode yet: every stack here is, implicitly, a legacy stack. The convergence
columns are absent on purpose, so that later revisions are tested adding them to live tables
full of legacy data.

Revision ID: 0001_pre_convergence
Revises: (base)
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from engines.core.models import JSONText, Timestamp

revision: str = "0001_pre_convergence"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# whatever the server's defaults, InnoDB (row locks, foreign keys) and 4-byte UTF-8
MYSQL_TABLE = {"mysql_engine": "InnoDB", "mysql_charset": "utf8mb4"}


def upgrade() -> None:
    op.create_table(
        "raw_template",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("template", JSONText(), nullable=False),
        sa.Column("environment", JSONText(), nullable=True),
        sa.Column("created_at", Timestamp, nullable=False),
        **MYSQL_TABLE,
    )
    op.create_table(
        "stack",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("project_id", sa.String(64), nullable=False),
        sa.Column(
            "raw_template_id", sa.Integer(), sa.ForeignKey("raw_template.id"), nullable=False
        ),
        sa.Column("parameters", JSONText(), nullable=True),
        sa.Column("action", sa.String(32), nullable=False),
        sa.Column("status", sa.String(32), nullable=False),
        sa.Column("status_reason", sa.Text(), nullable=True),
        sa.Column("disable_rollback", sa.Boolean(), nullable=False),
        sa.Column("timeout", sa.Integer(), nullable=True),
        sa.Column("owner_id", sa.String(36), nullable=True),
        sa.Column("backup", sa.Boolean(), nullable=False),
        sa.Column("created_at", Timestamp, nullable=False),
        sa.Column("updated_at", Timestamp, nullable=True),
        sa.Column("deleted_at", Timestamp, nullable=True),
        **MYSQL_TABLE,
    )
    op.create_index("ix_stack_project_id", "stack", ["project_id"])
    op.create_index("ix_stack_owner_id", "stack", ["owner_id"])

    op.create_table(
        "resource",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("uuid", sa.String(36), nullable=False, unique=True),
        sa.Column("stack_id", sa.String(36), sa.ForeignKey("stack.id"), nullable=False),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("type", sa.String(255), nullable=False),
        sa.Column("physical_resource_id", sa.String(255), nullable=True),
        sa.Column("action", sa.String(32), nullable=False),
        sa.Column("status", sa.String(32), nullable=False),
        sa.Column("status_reason", sa.Text(), nullable=True),
        sa.Column("properties_data", JSONText(), nullable=True),
        sa.Column("created_at", Timestamp, nullable=False),
        sa.Column("updated_at", Timestamp, nullable=True),
        **MYSQL_TABLE,
    )
    op.create_index("ix_resource_stack_id", "resource", ["stack_id"])

    op.create_table(
        "resource_data",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column(
            "resource_id",
            sa.Integer(),
            sa.ForeignKey("resource.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("key", sa.String(255), nullable=False),
        sa.Column("value", sa.Text(), nullable=True),
        sa.UniqueConstraint("resource_id", "key", name="uniq_resource_data_key"),
        **MYSQL_TABLE,
    )

    op.create_table(
        "event",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("uuid", sa.String(36), nullable=False, unique=True),
        sa.Column("stack_id", sa.String(36), sa.ForeignKey("stack.id"), nullable=False),
        sa.Column("resource_name", sa.String(255), nullable=False),
        sa.Column("physical_resource_id", sa.String(255), nullable=True),
        sa.Column("resource_type", sa.String(255), nullable=True),
        sa.Column("resource_action", sa.String(32), nullable=False),
        sa.Column("resource_status", sa.String(32), nullable=False),
        sa.Column("resource_status_reason", sa.Text(), nullable=True),
        sa.Column("engine_id", sa.String(64), nullable=True),
        sa.Column("created_at", Timestamp, nullable=False),
        **MYSQL_TABLE,
    )
    op.create_index("ix_event_stack_id", "event", ["stack_id"])

    op.create_table(
        "stack_lock",
        sa.Column("stack_id", sa.String(36), sa.ForeignKey("stack.id"), primary_key=True),
        sa.Column("engine_id", sa.String(36), nullable=False),
        sa.Column("created_at", Timestamp, nullable=False),
        **MYSQL_TABLE,
    )


def downgrade() -> None:
    # children first: the foreign keys point at stack and resource
    for table in ("stack_lock", "event", "resource_data", "resource", "stack", "raw_template"):
        op.drop_table(table)
