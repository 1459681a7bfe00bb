"""The legacy in-memory stack: every resource of the stack loaded for the operation, acted
on by the dependency scheduler."""

from __future__ import annotations

import threading
from collections.abc import Iterable

from engines.core import converge, stack_store
from engines.core.dependencies import Dependencies
from engines.core.lookup import RowLookup
from engines.core.models import Resource, Stack
from engines.core.resource_actions import ResourceActions
from engines.core.runtime import Runtime
from engines.core.template import Template
from engines.legacy.operation import Operation
from engines.legacy.scheduler import DependencyScheduler


class LegacyStack:
    def __init__(self, rt: Runtime, stack: Stack, template: Template, op: Operation) -> None:
        self.rt = rt
        self.stack = stack
        self.template = template
        self.op = op
        self.actions = ResourceActions(rt, stack.id, op.cancelled, operation=op.kind,
                                       hooks=template.environment.hooks)
        self.rows: dict[str, Resource] = stack_store.current_resources(rt.db, stack.id)
        self.scheduler = DependencyScheduler(rt.conf.legacy_action_threads)
        self._mutex = threading.Lock()

    # -- shared steps ---------------------------------------------------------------------
    def ensure_rows(self) -> None:
        """Store every resource of the template (INIT) so the user sees the whole stack."""
        for name, defn in self.template.resources.items():
            if name not in self.rows:
                self.rows[name] = stack_store.add_resource(
                    self.rt.db, self.stack.id, name, defn.concrete_type)

    def set_row(self, name: str, row: Resource) -> None:
        with self._mutex:
            self.rows[name] = row

    def lookup(self) -> RowLookup:
        """References resolved against the rows that stand for each name right now."""
        with self._mutex:
            return RowLookup(self.actions, dict(self.rows))

    # -- create ---------------------------------------------------------------------------
    def create_all(self) -> None:
        self.ensure_rows()
        self.scheduler.run(self.template.dependencies(), lambda name: converge.create(
            self.actions, self.template, self.rows[name], self.lookup()))

    # -- delete ---------------------------------------------------------------------------
    def delete_rows(self, rows: Iterable[Resource], template: Template | None) -> None:
        """Delete ``rows`` (any stack) in reverse dependency order of ``template``, with
        the delete hooks of this operation's environment."""
        rows = list(rows)
        by_id = {row.id: row for row in rows}
        names: dict[str, list[int]] = {}
        for row in rows:
            names.setdefault(row.name, []).append(row.id)
        deps = template.dependencies() if template else Dependencies()
        needs: dict[int, set[int]] = {row.id: set() for row in rows}
        for row in rows:
            for required in deps.get(row.name, ()):
                needs[row.id].update(names.get(required, ()))
        # copies of one resource (a replacement's new and old) go newest first, one at a
        # time: their events then read the same every run, and as on the convergence path
        for ids in names.values():
            newest_first = sorted(ids, reverse=True)
            for newer, older in zip(newest_first, newest_first[1:], strict=False):
                needs[newer].add(older)
        definitions = template.resources if template else {}

        def delete_one(row_id: int) -> None:
            row = by_id[row_id]
            defn = definitions.get(row.name)
            self.actions.delete(row, retain=bool(defn and defn.retained))
            self.actions.forget(row)
            with self._mutex:
                if self.rows.get(row.name) is row:
                    del self.rows[row.name]

        self.scheduler.run(Dependencies(needs).reversed(), delete_one)
