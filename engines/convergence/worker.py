"""check_resource: what a convergence worker does with one graph node of one traversal.

Acquire the resource's own lock, act (create / update / replace, or clean up old copies),
release, then hand this node's output to its successors' sync points and cast
check_resource for each successor whose inputs are all in. A worker that finds its
traversal superseded stops moving it on; a worker that releases a lock after its traversal
was superseded re-sends the newer traversal's check for that node, since that check found
the lock taken and gave up.
"""

from __future__ import annotations

import contextlib
import functools
import json
import logging
import time
from collections.abc import Iterator
from typing import Any

import sqlalchemy as sa

from engines.convergence import resource_lock, sync_point
from engines.convergence.graph import (
    BARRIER,
    Graph,
    Node,
    cleanup_entity,
    cleanup_row_id,
    key,
    parse_key,
)
from engines.convergence.traversal import Traversals, deps_of
from engines.core import stack_store
from engines.core.errors import Cancelled, ResourceFailure, UpdateReplace, ValidationError
from engines.core.liveness import is_alive
from engines.core.models import Resource, Stack
from engines.core.resource_actions import ResourceActions
from engines.core.runtime import Runtime
from engines.core.status import COMPLETE, CREATE, IN_PROGRESS, UPDATE
from engines.core.template import Template

LOG = logging.getLogger(__name__)


class Locked(Exception):  # noqa: N818 - control flow
    """Another worker holds the resource; it will re-send this check when it is done."""


class InputLookup:
    """get_resource / get_attr answered from what the predecessors sent."""

    def __init__(self, data: dict[str, Any]) -> None:
        self.data = data

    def physical_id(self, name: str) -> str | None:
        return (self.data.get(name) or {}).get("physical_id")

    def attribute(self, name: str, attr: str) -> Any:
        return ((self.data.get(name) or {}).get("attrs") or {}).get(attr)


class Worker:
    """The RPC endpoint of a convergence worker."""

    def __init__(self, rt: Runtime, traversals: Traversals) -> None:
        self.rt = rt
        self.traversals = traversals

    @functools.lru_cache(maxsize=64)  # noqa: B019 - a worker lives as long as its process
    def _template(self, template_id: int | None, parameters_json: str) -> Template | None:
        return self.traversals.template(template_id, json.loads(parameters_json))

    # -- the endpoint -----------------------------------------------------------------------
    def check_resource(self, ctxt: dict, stack_id: str, traversal_id: str,
                       template_id: int | None, name: str, is_update: bool,
                       data: dict[str, Any]) -> None:
        try:
            self._check(stack_id, traversal_id, template_id, name, is_update, data)
        except Exception as exc:  # noqa: BLE001 - a worker must survive a bad message
            LOG.exception("check_resource %s/%s failed", stack_id, name)
            self.traversals.fail(stack_id, traversal_id,
                                 f"Internal error on {name}: {type(exc).__name__}: {exc}")

    def _current(self, stack_id: str) -> Stack | None:
        with self.rt.db.session() as s:
            return s.get(Stack, stack_id)

    def _check(self, stack_id: str, traversal_id: str, template_id: int | None, name: str,
               is_update: bool, data: dict[str, Any]) -> None:
        stack = self._current(stack_id)
        if (stack is None or stack.current_traversal != traversal_id
                or stack.status != IN_PROGRESS):
            return
        deps = deps_of(stack)
        timeout = stack.timeout
        if timeout and time.time() - deps.get("started", time.time()) > timeout:
            self.traversals.fail(stack_id, traversal_id,
                                 f"Stack {deps.get('action')} timed out")
            return
        template = self._template(template_id,
                                  json.dumps(stack.parameters or {}, sort_keys=True))
        node = (name, is_update)
        actions = ResourceActions(self.rt, stack_id,
                                  hook_cancelled=self._superseded_check(stack_id, traversal_id))
        try:
            if node == BARRIER:
                output = {}
            elif is_update:
                output = self._update(stack_id, traversal_id, template_id, template, name,
                                      data, actions, node)
            else:
                output = self._cleanup(stack_id, traversal_id, template, cleanup_row_id(name),
                                       deps, actions, node)
        except Locked:
            return
        except Cancelled:
            return
        except ResourceFailure as exc:
            self.traversals.fail(stack_id, traversal_id,
                                 f"Resource {exc.action} failed: {exc}")
            return
        self._propagate(stack_id, traversal_id, template_id, Graph.from_json(deps["graph"]),
                        node, output)

    def _superseded_check(self, stack_id: str, traversal_id: str):  # noqa: ANN202
        last = [0.0, False]

        def superseded() -> bool:
            now = time.monotonic()
            if not last[1] and now - last[0] >= self.rt.poll_interval:
                last[0] = now
                stack = self._current(stack_id)
                last[1] = stack is None or stack.current_traversal != traversal_id
            return bool(last[1])
        return superseded

    # -- locks ------------------------------------------------------------------------------
    @contextlib.contextmanager
    def _locked(self, row: Resource, stack_id: str, traversal_id: str,
                node: Node) -> Iterator[None]:
        if not resource_lock.try_acquire(self.rt.db, row.id, self.rt.engine_id):
            holder = resource_lock.holder(self.rt.db, row.id)
            if holder and not is_alive(self.rt.db, holder, self.rt.conf.service_stale_after):
                resource_lock.break_lock(self.rt.db, row.id, holder)
            if not resource_lock.try_acquire(self.rt.db, row.id, self.rt.engine_id):
                raise Locked(row.name)
        try:
            yield
        finally:
            resource_lock.release(self.rt.db, row.id, self.rt.engine_id)
            self._retrigger_if_superseded(stack_id, traversal_id, row)

    def _retrigger_if_superseded(self, stack_id: str, traversal_id: str,
                                 row: Resource) -> None:
        """The newer traversal's checks of this resource (update or clean-up) may have found
        the lock taken and given up: send again those whose inputs are all in. A check sent
        twice finds nothing left to do the second time."""
        stack = self._current(stack_id)
        if (stack is None or stack.current_traversal in (None, traversal_id)
                or stack.status != IN_PROGRESS):
            return
        deps = deps_of(stack)
        graph = Graph.from_json(deps.get("graph", []))
        for waiting in ((row.name, True), (cleanup_entity(row.name, row.id), False)):
            if waiting not in graph.requires:
                continue
            required = {key(r) for r in graph.requires[waiting]}
            inputs = sync_point.inputs_if_complete(self.rt.db, stack.current_traversal,
                                                   waiting[0], waiting[1], required)
            if inputs is not None:
                self.traversals.cast(stack_id, stack.current_traversal,
                                     deps.get("template_id"), waiting[0], waiting[1],
                                     _update_outputs(inputs))

    # -- update node --------------------------------------------------------------------------
    def _rows(self, stack_id: str, name: str) -> list[Resource]:
        with self.rt.db.session() as s:
            return list(s.scalars(sa.select(Resource).where(
                Resource.stack_id == stack_id, Resource.name == name).order_by(Resource.id)))

    def _update(self, stack_id: str, traversal_id: str, template_id: int | None,
                template: Template, name: str, data: dict[str, Any],
                actions: ResourceActions, node: Node) -> dict[str, Any]:
        defn = template.resources[name]
        current = [r for r in self._rows(stack_id, name) if r.replaced_by is None]
        row = current[-1] if current else stack_store.add_resource(
            self.rt.db, stack_id, name, defn.concrete_type)
        with self._locked(row, stack_id, traversal_id, node):
            row = self._rows_by_id(row.id)
            lookup = InputLookup(data)
            if actions.needs_create(row):
                if row.type != defn.concrete_type:
                    stack_store.update_resource(self.rt.db, row.id, type=defn.concrete_type)
                    row.type = defn.concrete_type
                actions.create(row, self._resolve(template, row, lookup, actions, CREATE),
                               defn.hooks)
            else:
                props = self._resolve(template, row, lookup, actions, UPDATE)
                try:
                    if row.type != defn.concrete_type:
                        raise UpdateReplace(name)
                    actions.update(row, props, defn.hooks)
                except UpdateReplace:
                    row = self._replace(stack_id, row, defn.concrete_type, props, defn.hooks,
                                        actions)
            # the rows it was made against, so clean-ups can be ordered copy by copy
            required = sorted(data[dep]["id"] for dep in defn.requires
                              if "id" in data.get(dep, {}))
            stack_store.update_resource(self.rt.db, row.id, requires=required,
                                        current_template_id=template_id)
        return {"id": row.id, "physical_id": row.physical_resource_id,
                "attrs": actions.attributes(row)}

    def _rows_by_id(self, resource_id: int) -> Resource:
        with self.rt.db.session() as s:
            return s.get(Resource, resource_id)

    @staticmethod
    def _resolve(template: Template, row: Resource, lookup: InputLookup,
                 actions: ResourceActions, action: str) -> dict[str, Any]:
        try:
            return template.resolve_properties(row.name, lookup)
        except ValidationError as exc:
            actions.mark_failed(row, action, str(exc))
            raise

    def _replace(self, stack_id: str, old: Resource, type_name: str, props: dict[str, Any],
                 hooks: frozenset[str], actions: ResourceActions) -> Resource:
        """Make a new resource that replaces ``old`` -- or bring back an older copy that
        already is what is wanted (a rollback), so the same physical resource returns."""
        for candidate in reversed(self._rows(stack_id, old.name)):
            if (candidate.replaced_by is not None and candidate.id != old.id
                    and candidate.type == type_name and candidate.status == COMPLETE
                    and candidate.properties_data == props and candidate.physical_resource_id
                    and self.rt.reality.get(candidate.physical_resource_id) is not None
                    and resource_lock.try_acquire(self.rt.db, candidate.id,
                                                  self.rt.engine_id)):
                with self.rt.db.session() as s:
                    s.execute(sa.update(Resource).where(Resource.id == candidate.id)
                              .values(replaced_by=None, replaces=None))
                    s.execute(sa.update(Resource).where(Resource.id == old.id)
                              .values(replaced_by=candidate.id))
                resource_lock.release(self.rt.db, candidate.id, self.rt.engine_id)
                return self._rows_by_id(candidate.id)
        new = stack_store.add_resource(self.rt.db, stack_id, old.name, type_name,
                                       replaces=old.id, engine_id=self.rt.engine_id,
                                       atomic_key=1)
        stack_store.update_resource(self.rt.db, old.id, replaced_by=new.id)
        try:
            actions.create(new, props, hooks)
        finally:
            resource_lock.release(self.rt.db, new.id, self.rt.engine_id)
        return new

    # -- clean-up node --------------------------------------------------------------------------
    def _cleanup(self, stack_id: str, traversal_id: str, template: Template | None,
                 row_id: int, deps: dict[str, Any], actions: ResourceActions,
                 node: Node) -> dict[str, Any]:
        """Delete this copy unless it is (again) the current one of a resource the target
        template keeps."""
        def wanted(row: Resource) -> bool:
            return (template is not None and row.name in template.resources
                    and row.replaced_by is None)

        row = self._rows_by_id(row_id)
        if row is None or wanted(row):
            return {}
        with self._locked(row, stack_id, traversal_id, node):
            row = self._rows_by_id(row_id)
            if row is None or wanted(row):  # a rollback brought it back meanwhile
                return {}
            hooks = frozenset(deps.get("delete_hooks", {}).get(row.name, ()))
            actions.delete(row, hooks, retain=row.name in deps.get("retain", ()))
            with self.rt.db.session() as s:
                s.execute(sa.update(Resource).where(Resource.replaces == row.id)
                          .values(replaces=None))
            actions.forget(row)
        return {}

    # -- moving on ------------------------------------------------------------------------------
    def _propagate(self, stack_id: str, traversal_id: str, template_id: int | None,
                   graph: Graph, node: Node, output: dict[str, Any]) -> None:
        stack = self._current(stack_id)
        if (stack is None or stack.current_traversal != traversal_id
                or stack.status != IN_PROGRESS):
            return
        sender = key(node)
        for successor in graph.successors(node):
            required = {key(r) for r in graph.requires[successor]}
            inputs = sync_point.sync(self.rt.db, traversal_id, successor[0], successor[1],
                                     sender, output, required)
            if inputs is not None:
                self.traversals.cast(stack_id, traversal_id, template_id, successor[0],
                                     successor[1], _update_outputs(inputs))
        roots = graph.roots()
        if node in roots:
            inputs = sync_point.sync(self.rt.db, traversal_id, stack_id, True, sender, {},
                                     {key(r) for r in roots})
            if inputs is not None:
                self.traversals.complete(stack_id, traversal_id)


def _update_outputs(inputs: dict[str, Any]) -> dict[str, Any]:
    """Sync point inputs -> the data a node resolves against: update outputs by name."""
    result = {}
    for sender, value in inputs.items():
        name, is_update = parse_key(sender)
        if is_update:
            result[name] = value
    return result

