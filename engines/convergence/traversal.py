"""Traversals: one per operation. Starting one stores its graph and sync points on the stack
and makes it the stack's ``current_traversal``, which silently supersedes any older one:
older workers finish what they hold but no longer move their traversal on."""

from __future__ import annotations

import dataclasses
import functools
import time
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from oslo_log import log as logging

from engines.convergence import sync_point, template_cache
from engines.convergence.graph import Graph
from engines.convergence.messaging import WorkerClient
from engines.convergence.nested_waits import is_stack_resource
from engines.convergence.template_cache import TEMPLATES
from engines.convergence.traversal_state import STATES, TraversalState
from engines.core import events, hooks, stack_store
from engines.core.db import Database
from engines.core.models import RawTemplate, Resource, Stack, utcnow
from engines.core.path import stored_template
from engines.core.runtime import Runtime
from engines.core.status import (
    COMPLETE,
    CREATE,
    DELETE,
    FAILED,
    IN_PROGRESS,
    INIT,
    ROLLBACK,
    STACK_TYPE,
    UPDATE,
)
from engines.core.template import Template

LOG = logging.getLogger(__name__)


def stack_row(db: Database, stack_id: str) -> Stack | None:
    """The whole stack row as it is now (None once purged), graph included: for the
    operations' own steps, never for each check."""
    with db.session() as s:
        return s.get(Stack, stack_id)


@dataclass(frozen=True)
class StackStatus:
    """The few stack columns a check compares its traversal to: read with a column select,
    so that a check never loads the graph, whose size grows with the stack."""

    id: str
    current_traversal: str | None
    action: str
    status: str
    timeout: int | None
    disable_rollback: bool
    parameters: dict[str, Any] | None

    def runs(self, traversal_id: str) -> bool:
        """``traversal_id`` is the stack's current one and still in progress."""
        return self.current_traversal == traversal_id and self.status == IN_PROGRESS


_STACK = Stack.__table__
_RES = Resource.__table__
_STATUS = sa.select(_STACK.c.id, _STACK.c.current_traversal, _STACK.c.action,
                    _STACK.c.status, _STACK.c.timeout,
                    _STACK.c.disable_rollback).where(_STACK.c.id == sa.bindparam("id"))
_STATUS_AND_PARAMETERS = _STATUS.add_columns(_STACK.c.parameters)


def stack_status(db: Database, stack_id: str, *, parameters: bool = False,
                 session: sa.orm.Session | None = None) -> StackStatus | None:
    """The stack's status columns now (None once purged), its parameters too if asked;
    in ``session`` if given (to read them in the transaction that holds a lock)."""
    query = _STATUS_AND_PARAMETERS if parameters else _STATUS
    if session is not None:
        row = session.execute(query, {"id": stack_id}).first()
    else:
        with db.connection() as c:
            row = c.execute(query, {"id": stack_id}).first()
    if row is None:
        return None
    return StackStatus(*row[:6], parameters=row[6] if parameters else None)


class Traversals:
    def __init__(self, rt: Runtime, client: WorkerClient) -> None:
        self.rt = rt
        self.client = client

    def state(self, stack_id: str, traversal_id: str) -> TraversalState | None:
        """The state of ``traversal_id`` (None once it is no longer the stack's current
        one), decoded once per process: it does not change while the traversal runs."""
        state = STATES.get(traversal_id)
        if state is not None:
            return state
        with self.rt.db.connection() as c:
            row = c.execute(sa.select(_STACK.c.current_deps).where(
                _STACK.c.id == stack_id, _STACK.c.current_traversal == traversal_id)).first()
        if row is None:
            return None
        state = TraversalState.from_json(row[0])
        STATES.put(stack_id, traversal_id, state)
        return state

    def template(self, traversal_id: str, template_id: int | None,
                 parameters: dict[str, Any] | None) -> Template | None:
        """The parsed template of ``traversal_id``: parsed once per process, whether the
        traversal's start or its checks ask first."""
        if not template_id:
            return None
        return TEMPLATES.get(template_cache.key(traversal_id, template_id, parameters),
                             lambda: stored_template(self.rt, template_id, parameters))

    def _current_template(self, template_id: int | None, parameters: dict[str, Any] | None,
                          traversal_id: str | None) -> Template | None:
        """The stack's template now: the one its last traversal (if this process ran it)
        parsed already, or a parse of the stored one."""
        if template_id is None:
            return None
        if traversal_id is not None:
            kept = TEMPLATES.peek(template_cache.key(traversal_id, template_id, parameters))
            if kept is not None:
                return kept
        return stored_template(self.rt, template_id, parameters)

    # -- start ----------------------------------------------------------------------------
    def start(self, stack_id: str, action: str, template_id: int | None,
              parameters: dict[str, Any] | None, *, reason: str,
              disable_rollback: bool | None = None, timeout: int | None = None,
              announce: bool = True, stops_running: bool = False) -> str:
        """Start a traversal bringing the stack to ``template_id`` (None: to nothing).
        ``stops_running``: resource actions still running for older traversals are
        cancelled (a delete, a user rollback), not let finish (a plain update)."""
        traversal_id = str(uuid.uuid4())
        target = self.template(traversal_id, template_id, parameters)
        # the template the stack has now, read before the transaction: a second connection
        # taken while one is held is how a busy pool runs dry
        with self.rt.db.connection() as c:
            was = c.execute(sa.select(_STACK.c.raw_template_id, _STACK.c.parameters,
                                      _STACK.c.current_traversal)
                            .where(_STACK.c.id == stack_id)).first()
        current = self._current_template(*was) if was else None
        with self.rt.db.session() as s:
            stack = s.get(Stack, stack_id, with_for_update=True)
            old = TraversalState.of(stack)
            if current is None or (stack.raw_template_id, stack.parameters) != tuple(was[:2]):
                current = stored_template(self.rt, stack.raw_template_id, stack.parameters)
            # the columns the graph needs, not ORM objects: a stack may have thousands
            rows = s.execute(sa.select(_RES.c.id, _RES.c.name, _RES.c.requires,
                                       _RES.c.replaced_by, _RES.c.replaces, _RES.c.type)
                             .where(_RES.c.stack_id == stack_id)).all()
            existing = {row.id: (row.name, [r for r in row.requires or []
                                            if isinstance(r, int)]) for row in rows}
            template_deps = target.dependencies() if target else {}
            have = {row.name for row in rows if row.replaced_by is None}
            now = utcnow()
            new_rows = [dict(uuid=str(uuid.uuid4()), stack_id=stack_id, name=name,
                             type=target.resources[name].concrete_type, action=INIT,
                             status=COMPLETE, created_at=now)
                        for name in template_deps if name not in have]
            if new_rows:  # in template order, so ids follow it as they did
                s.execute(sa.insert(_RES), new_rows)
            graph = Graph.build(template_deps, existing,
                                {row.id: row.replaces for row in rows if row.replaces})
            prev_id, prev_params = stack.prev_raw_template_id, old.prev_parameters
            if action == UPDATE and stack.status != IN_PROGRESS:
                prev_id, prev_params = stack.raw_template_id, stack.parameters
            state = TraversalState.new(
                graph, action=action, template_id=template_id,
                retain=frozenset(n for n, d in current.resources.items() if d.retained),
                hooks=(target or current).environment.hooks,
                stop_epoch=old.stop_epoch + int(stops_running),
                prev_parameters=prev_params, started=time.time(),
                nested_rows=nested_rows(rows))
            superseded = stack.current_traversal if stack.status == IN_PROGRESS else None
            values: dict[str, Any] = dict(
                current_traversal=traversal_id, current_deps=state.to_json(), action=action,
                status=IN_PROGRESS, status_reason=reason, prev_raw_template_id=prev_id,
                updated_at=utcnow())
            if template_id is not None:
                values.update(raw_template_id=template_id, parameters=parameters or {})
            if disable_rollback is not None:
                values["disable_rollback"] = disable_rollback
            if timeout is not None:
                values["timeout"] = timeout
            s.execute(sa.update(Stack).where(Stack.id == stack_id).values(**values))
            # the workers of this process need not decode it again
            STATES.put(stack_id, traversal_id, state)
            if announce:
                events.emit(s, stack_id, stack.name, action, IN_PROGRESS, reason,
                            physical_id=stack_id, resource_type=STACK_TYPE,
                            engine_id=self.rt.engine_id)
            sync_point.create_all(s, stack_id, traversal_id,
                                  [(name, is_update) for name, is_update in graph.nodes]
                                  + [(stack_id, True)])
        if superseded:
            LOG.info("stack %s: traversal %s (%s) supersedes traversal %s (%s)", stack_id,
                     traversal_id, action, superseded, old.action_of(stack))
        LOG.info("stack %s: traversal %s started: %s to template %s, %d nodes", stack_id,
                 traversal_id, action, template_id, len(graph.nodes))
        sync_point.purge(self.rt.db, stack_id, keep_traversal=traversal_id)
        hooks.release_all(self.rt.db, stack_id,
                          f"its operation was superseded (a new {action.lower()})")
        if not graph.nodes:
            self.complete(stack_id, traversal_id)
        for name, is_update in graph.leaves():
            self.cast(stack_id, traversal_id, template_id, name, is_update, {})
        return traversal_id

    def cast(self, stack_id: str, traversal_id: str, template_id: int | None, name: str,
             is_update: bool, data: dict[str, Any]) -> None:
        self.client.check_resource(stack_id=stack_id, traversal_id=traversal_id,
                                   template_id=template_id, name=name, is_update=is_update,
                                   data=data)

    # -- end ------------------------------------------------------------------------------
    def complete(self, stack_id: str, traversal_id: str) -> None:
        stack = stack_store.get(self.rt.db, stack_id)
        action = TraversalState.of(stack).action_of(stack)
        if action == DELETE:
            stack_store.purge_resources(self.rt.db, stack_id)
            done = stack_store.set_state(
                self.rt.db, stack_id, DELETE, COMPLETE, "Stack DELETE completed successfully",
                self.rt.engine_id, expect_traversal=traversal_id, deleted_at=utcnow())
        else:
            extra: dict[str, Any] = {}
            if action in (UPDATE, ROLLBACK):
                extra["prev_raw_template_id"] = None  # nothing left to roll back to
            done = stack_store.set_state(
                self.rt.db, stack_id, action, COMPLETE,
                f"Stack {action} completed successfully", self.rt.engine_id,
                expect_traversal=traversal_id, **extra)
            if done and stack.prev_raw_template_id and action in (UPDATE, ROLLBACK):
                self._drop_template(stack.prev_raw_template_id, keep=stack.raw_template_id)
        if done:
            LOG.info("stack %s: traversal %s completed: %s_COMPLETE", stack_id, traversal_id,
                     action)
            sync_point.purge(self.rt.db, stack_id, traversal=traversal_id)

    def _drop_template(self, template_id: int, keep: int) -> None:
        if template_id == keep:
            return
        with self.rt.db.session() as s:
            used = s.scalar(sa.select(sa.func.count()).select_from(Stack).where(sa.or_(
                Stack.raw_template_id == template_id,
                Stack.prev_raw_template_id == template_id)))
            if not used:
                s.execute(sa.delete(RawTemplate).where(RawTemplate.id == template_id))

    def fail(self, stack_id: str, traversal_id: str, reason: str) -> None:
        """Mark the traversal's stack FAILED (if the traversal is still current) and roll
        back when the stack allows it."""
        stack = stack_store.get(self.rt.db, stack_id)
        if stack.current_traversal != traversal_id or stack.status != IN_PROGRESS:
            return
        state = TraversalState.of(stack)
        action = state.action_of(stack)
        roll = (not stack.disable_rollback and action in (CREATE, UPDATE))
        # expect_status: of two nodes that fail at once, the second finds the stack failed
        # already, and does not start a second rollback that supersedes the first
        if not stack_store.set_state(
                self.rt.db, stack_id, action, FAILED, reason, self.rt.engine_id,
                expect_traversal=traversal_id, expect_status=IN_PROGRESS,
                current_deps=state.with_rollback_pending(roll).to_json()):
            return
        LOG.info("stack %s: traversal %s failed (%s_FAILED): %s", stack_id, traversal_id,
                 action, reason)
        if roll:
            self.rollback(stack_id, "Stack ROLLBACK started")

    def rollback(self, stack_id: str, reason: str, *, stops_running: bool = False) -> str:
        stack = stack_store.get(self.rt.db, stack_id)
        state = TraversalState.of(stack)
        action = state.action_of(stack)
        LOG.info("stack %s: rollback of %s started (%s)", stack_id, action, reason)
        if action == CREATE:
            return self.start(stack_id, ROLLBACK, None, None, reason=reason,
                              stops_running=stops_running)
        return self.start(stack_id, ROLLBACK, stack.prev_raw_template_id,
                          state.prev_parameters, reason=reason, stops_running=stops_running)

    def stop(self, stack_id: str, traversal_id: str | None, reason: str, *,
             rollback: bool) -> bool:
        """End the operation of ``traversal_id`` now (a cancel, a timeout): the stack goes
        <ACTION>_FAILED with ``reason``, a new traversal id without nodes stops the old
        one from moving on (as Heat's ``stop_traversal``), its running resource actions
        are cancelled, and with ``rollback`` a rollback starts. False if that traversal
        is no longer the stack's current one in progress."""
        stack = stack_row(self.rt.db, stack_id)
        if (stack is None or traversal_id is None or stack.current_traversal != traversal_id
                or stack.status != IN_PROGRESS):
            return False
        state = TraversalState.of(stack)
        action = state.action_of(stack)
        stopped = dataclasses.replace(state, graph_json=[], stop_epoch=state.stop_epoch + 1,
                                      rollback_pending=rollback)
        if not stack_store.set_state(
                self.rt.db, stack_id, action, FAILED, reason, self.rt.engine_id,
                expect_traversal=traversal_id, expect_status=IN_PROGRESS,
                current_traversal=str(uuid.uuid4()), current_deps=stopped.to_json()):
            return False
        LOG.info("stack %s: traversal %s stopped (%s_FAILED): %s", stack_id, traversal_id,
                 action, reason)
        sync_point.purge(self.rt.db, stack_id, traversal=traversal_id)
        hooks.release_all(self.rt.db, stack_id, f"its operation ended: {reason}")
        if rollback:
            self.rollback(stack_id, "Stack ROLLBACK started")
        return True


def nested_rows(rows: Iterable[Any]) -> frozenset[int]:
    """The ids of ``rows`` (with ``id`` and ``type``) whose resources own a nested stack."""
    owns = functools.cache(is_stack_resource)  # a few types, thousands of rows
    return frozenset(row.id for row in rows if owns(row.type))
