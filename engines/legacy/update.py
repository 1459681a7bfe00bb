"""Legacy stack update (and rollback, which is an update back to the previous template).

New and changed resources first, in dependency order: a resource that cannot change in place
is replaced by creating the new one first and moving the old one into the *backup stack*.
Then, once every dependant has moved over, the backup's old copies and the resources the
template dropped are deleted in reverse dependency order. A rollback finds the old copies
still in the backup and swaps them back: the same physical resources return.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterator

import sqlalchemy as sa

from engines.core import converge, stack_store
from engines.core.models import Resource, Stack, utcnow
from engines.core.runtime import Runtime
from engines.core.status import IN_PROGRESS, UPDATE
from engines.core.template import Template
from engines.legacy.stack import LegacyStack


class BackupStack:
    """The hidden stack that keeps replaced resources until the update is over."""

    def __init__(self, rt: Runtime, owner: Stack) -> None:
        self.rt = rt
        with rt.db.session() as s:
            backup = s.scalar(sa.select(Stack).where(Stack.owner_id == owner.id,
                                                     Stack.backup.is_(True)))
            if backup is None:
                backup = Stack(id=str(uuid.uuid4()), name=f"{owner.name}*",
                               project_id=owner.project_id,
                               raw_template_id=owner.raw_template_id, parameters=owner.parameters,
                               action=UPDATE, status=IN_PROGRESS, owner_id=owner.id,
                               backup=True, disable_rollback=True, convergence=False,
                               created_at=utcnow())
                s.add(backup)
        self.id = backup.id
        self.template_id = backup.raw_template_id
        self.parameters: dict | None = backup.parameters

    def remember_template(self, template_id: int, parameters: dict | None) -> None:
        """The template the stack had before this update: what a rollback goes back to."""
        with self.rt.db.session() as s:
            s.execute(sa.update(Stack).where(Stack.id == self.id)
                      .values(raw_template_id=template_id, parameters=parameters))
        self.template_id = template_id
        self.parameters = parameters

    def rows(self) -> list[Resource]:
        return stack_store.resources(self.rt.db, self.id)

    def take(self, row: Resource) -> None:
        stack_store.update_resource(self.rt.db, row.id, stack_id=self.id)
        row.stack_id = self.id

    def give_back(self, row: Resource, owner_id: str) -> None:
        stack_store.update_resource(self.rt.db, row.id, stack_id=owner_id)
        row.stack_id = owner_id

    def discard(self) -> None:
        stack_store.purge_resources(self.rt.db, self.id)
        with self.rt.db.session() as s:
            s.execute(sa.delete(Stack).where(Stack.id == self.id))


class BackupCopies:
    """Old copies live in the backup stack (``converge.Copies`` for the legacy path)."""

    def __init__(self, stack: LegacyStack, backup: BackupStack) -> None:
        self.stack = stack
        self.backup = backup

    def old_copies(self, current: Resource) -> list[Resource]:
        return [row for row in reversed(self.backup.rows()) if row.name == current.name]

    def bring_back(self, current: Resource, copy: Resource) -> Resource:
        self.backup.take(current)
        self.backup.give_back(copy, self.stack.stack.id)
        self.stack.set_row(current.name, copy)
        return copy

    @contextlib.contextmanager
    def new_copy(self, current: Resource, type_name: str) -> Iterator[Resource]:
        self.backup.take(current)
        new = stack_store.add_resource(self.stack.rt.db, self.stack.stack.id, current.name,
                                       type_name)
        self.stack.set_row(current.name, new)
        yield new


class StackUpdate:
    """Bring ``stack`` (already loaded with the *new* template) to that template."""

    def __init__(self, stack: LegacyStack, backup: BackupStack, previous: Template) -> None:
        self.stack = stack
        self.backup = backup
        self.previous = previous
        self.copies = BackupCopies(stack, backup)

    def run(self) -> None:
        new = self.stack.template
        self.stack.scheduler.run(new.dependencies(), self._update_one)
        removed = [row for name, row in self.stack.rows.items() if name not in new.resources]
        leftovers = self.backup.rows()
        self.stack.delete_rows(removed + leftovers, self.previous)

    def _update_one(self, name: str) -> None:
        st = self.stack
        row = st.rows.get(name)
        if row is None:
            row = stack_store.add_resource(st.rt.db, st.stack.id, name,
                                           st.template.resources[name].concrete_type)
            st.set_row(name, row)
        converge.converge(st.actions, st.template, row, st.lookup(), self.copies)
