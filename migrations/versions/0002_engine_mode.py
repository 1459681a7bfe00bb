"""The engine mode: ``stack.convergence`` records which path each stack runs on.

The column is NOT NULL with a *server-side* default of false, so that every stack that
existed before this revision, and every row written afterwards by code that does not know the
column (the legacy engine of the previous release, still running during a rolling upgrade),
is a legacy stack. The flag is written once, when a stack is created, from
``[DEFAULT] convergence_engine``; nothing else ever decides a stack's path.

Expand-only, and safe on a live table: adding a column with a constant default is a
catalogue change on PostgreSQL 11+ and an instant ALTER on MariaDB 10.3+ / MySQL 8.0, so no
row is rewritten. The one lock the ALTER needs is taken with a short timeout: if a long
transaction is holding the table, the revision fails quickly and leaves the schema at
0001_pre_convergence, rather than queueing and stalling every query behind it.

Revision ID: 0002_engine_mode
Revises: 0001_pre_convergence
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from migrations import add_columns_online, bounded_ddl

revision: str = "0002_engine_mode"
down_revision: str | Sequence[str] | None = "0001_pre_convergence"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with bounded_ddl():
        add_columns_online(
            "stack",
            [sa.Column("convergence", sa.Boolean(), nullable=False, server_default=sa.false())],
        )


def downgrade() -> None:
    # forgets which stacks were created on the convergence path: they would all come back as
    # legacy stacks, so downgrade only a database whose convergence stacks are gone
    with bounded_ddl(), op.batch_alter_table("stack") as batch:
        batch.drop_column("convergence")
