"""One resource action (create, update in place, delete) with its hooks, events and state
changes. Both paths call these, so a resource goes through the same states, emits the same
events and makes the same cloud calls whichever path drives it; only *when* differs."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

import sqlalchemy as sa

from engines.core import client_token, events, hooks
from engines.core.db import retry_on_race
from engines.core.environment import hooks_matching
from engines.core.errors import Cancelled, DualpathError, ResourceFailure, UpdateReplace
from engines.core.models import Resource as ResourceRow
from engines.core.models import ResourceData, utcnow
from engines.core.reality import ActionScope, CloudError
from engines.core.registry import resolve_type
from engines.core.resource import Resource
from engines.core.runtime import Runtime
from engines.core.status import COMPLETE, CREATE, DELETE, FAILED, IN_PROGRESS, INIT, UPDATE

UNCHANGED, UPDATED = "unchanged", "updated"
EventWrite = Callable[[sa.orm.Session], None]  # an event's insert, in a given transaction


class ResourceActions:
    """Acts on resources of one stack for one operation (``operation``: the stack action,
    CREATE, UPDATE, DELETE or ROLLBACK), pausing at the hooks of ``hooks`` (resource name
    or wildcard -> hook types: the environment the operation runs with).

    ``cancelled`` says when that operation's work must stop: a running action ends
    <ACTION>_FAILED "<ACTION> cancelled" (a delete, cancel, user rollback or timeout);
    ``hook_cancelled`` when a wait at a hook must stop (defaults to ``cancelled``;
    convergence also frees the hooks of a superseded traversal)."""

    def __init__(self, rt: Runtime, stack_id: str,
                 cancelled: Callable[[], bool] | None = None,
                 hook_cancelled: Callable[[], bool] | None = None, *,
                 operation: str | None = None,
                 hooks: Mapping[str, Iterable[str]] | None = None) -> None:
        self.rt = rt
        self.stack_id = stack_id
        self.cancelled = cancelled or (lambda: False)
        self.hook_cancelled = hook_cancelled or self.cancelled
        self.operation = operation
        self.hooks = hooks or {}
        # set by a caller that holds a row's lock and writes when it lets go of it
        # (convergence's check): the COMPLETE state that ends an action on that row is
        # handed to it, to go with that write instead of a transaction of its own
        self.complete_with: Callable[[ResourceRow, dict[str, Any], EventWrite], bool] | None \
            = None

    # -- helpers --------------------------------------------------------------------------
    def scope(self, name: str) -> ActionScope:
        scope = ActionScope(self.rt.reality, self.stack_id, name, self.cancelled,
                            self.rt.poll_interval)
        scope.nested = self.rt.nested
        return scope

    def plugin(self, row: ResourceRow, properties: dict[str, Any] | None = None) -> Resource:
        _, cls = resolve_type(row.type)
        props = properties if properties is not None else (row.properties_data or {})
        return cls(row.name, row.type, props, self.scope(row.name), row.physical_resource_id)

    def attributes(self, row: ResourceRow) -> dict[str, Any]:
        if not row.physical_resource_id:
            return {}
        return self.plugin(row).all_attributes()

    # a deadlock here (MariaDB, resources of one stack changing at once) would otherwise
    # fail the resource for the database's sake, or leave it in a state it is not in
    @retry_on_race()
    def _set_state(self, row: ResourceRow, action: str, status: str, reason: str | None,
                   **values: Any) -> None:
        values.update(action=action, status=status, status_reason=reason, updated_at=utcnow())
        with self.rt.db.session() as s:
            # on the table, not the mapped class: no ORM synchronisation of a session
            # that holds no objects, for the write every state change makes
            table = ResourceRow.__table__
            s.execute(sa.update(table).where(table.c.id == row.id).values(**values))
            for key, value in values.items():
                setattr(row, key, value)
            events.emit(s, self.stack_id, row.name, action, status, reason,
                        physical_id=row.physical_resource_id, resource_type=row.type,
                        engine_id=self.rt.engine_id)

    def _complete(self, row: ResourceRow, action: str, post_hook: str | None,
                  **values: Any) -> None:
        """``action`` is done: ``row`` goes <ACTION>_COMPLETE, then waits at ``post_hook``
        if the environment sets it. With a ``complete_with`` that takes it, the state is
        written with the release of the row's lock, unless the row waits at its hook
        (which must show the state meanwhile)."""
        waits = post_hook is not None and post_hook in hooks_matching(self.hooks, row.name)
        if not waits and self.complete_with is not None:
            state = dict(values, action=action, status=COMPLETE,
                         status_reason="state changed", updated_at=utcnow())

            def event(s: sa.orm.Session) -> None:
                events.emit(s, self.stack_id, row.name, action, COMPLETE, "state changed",
                            physical_id=row.physical_resource_id, resource_type=row.type,
                            engine_id=self.rt.engine_id)
            if self.complete_with(row, state, event):
                for key, value in state.items():
                    setattr(row, key, value)
                return
        self._set_state(row, action, COMPLETE, "state changed", **values)
        if post_hook is not None:
            self._pause(row, post_hook, action)

    def _pause(self, row: ResourceRow, hook: str, action: str) -> None:
        """Wait at ``hook`` if the operation's environment sets it on ``row``; the
        resource keeps the state it has meanwhile (Heat's ``_break_if_required``)."""
        if hook not in hooks_matching(self.hooks, row.name):
            return
        hooks.set_pending(self.rt.db, row, hook, action, self.rt.engine_id, self.stack_id)
        try:
            hooks.wait_cleared(self.rt.db, row, hook, self._pause_cancelled,
                               self.rt.poll_interval)
        except Cancelled:
            # nothing was done at this pause: the resource stays as it is
            self._set_state(row, row.action, row.status, f"{action} cancelled")
            raise

    def _cancel_elsewhere(self, plugin: Resource) -> None:
        # an engine that stops leaves what runs elsewhere (a nested stack) running: only
        # a cancel of the operation itself stops it
        if not self.rt.stopping.is_set():
            plugin.handle_cancel()

    def _pause_cancelled(self) -> bool:
        return self.rt.stopping.is_set() or self.hook_cancelled()

    def pause_before_update(self, row: ResourceRow) -> None:
        """pre-update: before the engine decides between unchanged, in place and
        replacement, so every existing resource an update visits passes it."""
        self._pause(row, "pre-update", UPDATE)

    @staticmethod
    def _reason(exc: BaseException) -> str:
        if isinstance(exc, ResourceFailure):
            return exc.reason
        if isinstance(exc, (CloudError, DualpathError)):
            return str(exc)
        return f"{type(exc).__name__}: {exc}"

    def mark_failed(self, row: ResourceRow, action: str, reason: str) -> None:
        """Fail ``row`` before its plugin ran (e.g. its properties could not be resolved)."""
        self._set_state(row, action, FAILED, reason)
        raise ResourceFailure(row.name, action, reason)

    # -- create ---------------------------------------------------------------------------
    def create(self, row: ResourceRow, properties: dict[str, Any],
               replaces: ResourceRow | None = None) -> None:
        """Create ``row`` (a new copy replacing ``replaces``, if given). Its create hooks
        pass only when the stack itself is being created: a resource an update adds, or a
        replacement's new copy, dealt with its hooks in the update (as Heat's
        ``Resource.create``). The create is idempotent (engines/core/client_token.py)."""
        with_hooks = self.operation == CREATE
        if with_hooks:
            self._pause(row, "pre-create", CREATE)
        # read before the state changes: a row never acted on has no token but its own
        token = client_token.for_create(self.rt.db, row, replaces)
        previous = (row.action, row.status)
        self._set_state(row, CREATE, IN_PROGRESS, "state changed")
        plugin = self.plugin(row, properties)
        plugin.scope.client_token = token
        try:
            physical_id = plugin.handle_create()
            with self.rt.db.session() as s:
                s.execute(sa.update(ResourceRow).where(ResourceRow.id == row.id)
                          .values(physical_resource_id=physical_id, properties_data=properties))
            row.physical_resource_id = physical_id
            row.properties_data = properties
            attempt = 0
            while not plugin.check_create_complete():
                plugin.scope.wait(plugin.poll_delay(attempt))
                attempt += 1
        except Cancelled:
            self._cancel_elsewhere(plugin)
            if row.physical_resource_id:
                self._set_state(row, CREATE, FAILED, "CREATE cancelled")
            else:  # nothing physical happened: the resource is as it was
                self._set_state(row, *previous, "CREATE cancelled")
            raise
        except Exception as exc:  # noqa: BLE001 - any plugin error fails the resource
            reason = self._reason(exc)
            self._set_state(row, CREATE, FAILED, reason)
            raise ResourceFailure(row.name, CREATE, reason) from exc
        self._complete(row, CREATE, "post-create" if with_hooks else None)

    # -- update ---------------------------------------------------------------------------
    def needs_create(self, row: ResourceRow) -> bool:
        """Never created (or its create was cancelled before anything physical)."""
        return row.action == INIT or (row.physical_resource_id is None and row.status != FAILED
                                      and row.action == CREATE)

    def check_replace(self, row: ResourceRow, type_name: str, properties: dict[str, Any]) -> bool:
        """Whether ``row`` must be replaced to match the definition; nothing is changed."""
        if row.type != type_name:
            return True
        plugin = self.plugin(row)
        if row.status == FAILED:
            # a stack resource whose nested stack exists is updated even then, as in Heat
            # (StackResource._needs_update): its own resources decide what is replaced
            return not (plugin.updates_failed_in_place and row.physical_resource_id)
        if row.status == IN_PROGRESS:  # an interrupted action leaves an unknown state
            return True
        return plugin.needs_replace(row.properties_data or {}, properties)

    def update(self, row: ResourceRow, properties: dict[str, Any]) -> str:
        """Update in place; UNCHANGED when nothing differs. Raises UpdateReplace (before any
        state change) when the change needs a replacement. The pre-update hook is the
        caller's (``pause_before_update``): it comes before this decision."""
        old = row.properties_data or {}
        if row.status == COMPLETE and old == properties and row.physical_resource_id:
            return UNCHANGED
        if self.check_replace(row, row.type, properties):
            raise UpdateReplace(row.name)
        self._set_state(row, UPDATE, IN_PROGRESS, "state changed")
        plugin = self.plugin(row, old)
        try:
            plugin.handle_update(old, properties)
        except Cancelled:
            self._cancel_elsewhere(plugin)
            self._set_state(row, UPDATE, FAILED, "UPDATE cancelled")
            raise
        except UpdateReplace:
            self._set_state(row, UPDATE, FAILED, "needs replacement")
            raise
        except Exception as exc:  # noqa: BLE001
            reason = self._reason(exc)
            self._set_state(row, UPDATE, FAILED, reason, properties_data=properties)
            raise ResourceFailure(row.name, UPDATE, reason) from exc
        self._complete(row, UPDATE, "post-update", properties_data=properties)
        return UPDATED

    # -- delete ---------------------------------------------------------------------------
    def delete(self, row: ResourceRow, retain: bool = False) -> None:
        """Delete the physical resource; the row stays (DELETE_COMPLETE) for the caller to
        remove. ``retain`` (deletion_policy: Retain) leaves the physical resource alone.
        Its delete hooks pass at every deletion -- a stack delete, a resource an update
        removed, a replaced copy, a rollback's clean-up -- not only a stack delete as in
        Heat: a user can hold any deletion."""
        if row.action == INIT and row.physical_resource_id is None:
            return  # never created: nothing to tell the user about
        self._pause(row, "pre-delete", DELETE)
        if not retain:  # while the row still says which action it was left in
            self._adopt_orphan(row)
        self._set_state(row, DELETE, IN_PROGRESS, "state changed")
        try:
            if row.physical_resource_id and not retain:
                self.plugin(row).handle_delete()
        except Cancelled:
            self._set_state(row, DELETE, FAILED, "DELETE cancelled")
            raise
        except Exception as exc:  # noqa: BLE001
            reason = self._reason(exc)
            self._set_state(row, DELETE, FAILED, reason)
            raise ResourceFailure(row.name, DELETE, reason) from exc
        self._complete(row, DELETE, "post-delete")

    def _adopt_orphan(self, row: ResourceRow) -> None:
        """Give ``row`` the physical resource its create made but never recorded (its
        engine died in between), so that deleting the row deletes it."""
        physical_id = client_token.orphan(self.rt.db, self.rt.reality, row)
        if physical_id is None:
            return
        with self.rt.db.session() as s:
            s.execute(sa.update(ResourceRow).where(ResourceRow.id == row.id)
                      .values(physical_resource_id=physical_id))
        row.physical_resource_id = physical_id

    def forget(self, row: ResourceRow, session: sa.orm.Session | None = None) -> None:
        """Remove a deleted resource's row (and its data); in ``session`` if given."""
        if session is None:
            with self.rt.db.session() as s:
                self.forget(row, s)
            return
        session.execute(sa.delete(ResourceData).where(ResourceData.resource_id == row.id))
        session.execute(sa.delete(ResourceRow).where(ResourceRow.id == row.id))
