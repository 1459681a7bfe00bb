"""Nested stacks and the files a template reads.

* ``raw_template.files``: the ``files`` map given with a create or update (what
  ``get_file`` and template resources such as ``type: db.yaml`` read), stored with the
  template it belongs to so that the stored template can be parsed again, as Heat's
  ``raw_template.files``;
* ``stack.root_id``: the top stack of a nested stack's tree (the parent is ``owner_id``,
  as in Heat; a legacy backup stack keeps using ``owner_id`` with ``backup`` true). A
  nested stack runs on its root's path, which this makes one lookup away.

Expand-only: both columns are nullable with no default, so every existing template has
no files and every existing stack is a root (NULL). Code of the previous release does not
name them and keeps working. Lock and statement waits are bounded, as in 0002.

Revision ID: 0004_nested_stacks
Revises: 0003_convergence_schema
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from engines.core.models import JSONText
from migrations import add_columns_online, bounded_ddl, commit_point

revision: str = "0004_nested_stacks"
down_revision: str | Sequence[str] | None = "0003_convergence_schema"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # one table per transaction: a write that locks stack, then raw_template (or the other
    # way round) must not meet a revision holding one and waiting for the other
    with bounded_ddl():
        add_columns_online("raw_template", [sa.Column("files", JSONText(), nullable=True)])
    commit_point()
    with bounded_ddl():
        add_columns_online("stack", [sa.Column("root_id", sa.String(36), nullable=True)])


def downgrade() -> None:
    # nested stacks would read as top-level ones: downgrade only once they are gone
    with bounded_ddl():
        with op.batch_alter_table("stack") as batch:
            batch.drop_column("root_id")
        with op.batch_alter_table("raw_template") as batch:
            batch.drop_column("files")
