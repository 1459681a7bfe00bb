"""The engine's side of ``engines.core.nested``: stack resources create, update and delete
their child stacks through the service's own validation and dispatch, so that a nested
stack is stored, evented and run like any stack -- on its parent's path (its root's),
which the parent's stored field decides, never the configuration of the moment."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

from oslo_log import log as logging

from engines.core import snapshot, stack_store, waiting
from engines.core.context import RequestContext
from engines.core.environment import parse_environment
from engines.core.errors import InvalidOperation, NotFound, WaitTimeout
from engines.core.models import Stack
from engines.core.path import EnginePath, StackRequest
from engines.core.resource_actions import ResourceActions
from engines.core.runtime import Runtime
from engines.core.status import CREATE, IN_PROGRESS, UPDATE
from engines.core.template import parse
from engines.core.update_checks import check_hook_names

LOG = logging.getLogger(__name__)
CANCEL_WAIT = 60.0  # seconds a cancelled stack resource waits for its nested stack to stop


def nested_request(rt: Runtime, template: Any, environment: Any, parameters: dict[str, Any],
                   files: dict[str, str], timeout: int | None,
                   nesting: tuple[str, ...]) -> StackRequest:
    """A child stack's request: validated as any, rollback left to its parent."""
    conf = rt.conf
    tmpl = parse(template, environment, parameters, max_template_size=conf.max_template_size,
                 max_resources=conf.max_resources_per_stack, files=files, nesting=nesting,
                 max_nested_depth=conf.max_nested_stack_depth)
    check_hook_names(rt, tmpl, None)
    return StackRequest(tmpl, dict(parameters), True, timeout or conf.stack_action_timeout)


class ServiceNestedStacks:
    """``path_of`` is the path a stack runs on: an engine has both, a convergence worker
    process only convergence (it never sees a legacy stack's resources)."""

    def __init__(self, rt: Runtime, path_of: Callable[[Stack], EnginePath]) -> None:
        self.rt = rt
        self.path_of = path_of

    def _environment(self, stack_id: str, resource_name: str | None = None,
                     child_id: str | None = None) -> dict[str, Any]:
        # a child gets its parent's type mappings, as in Heat, and of the per-resource
        # settings only those written for its own resources: ``resources: {db: {R:
        # {hooks: ...}}}`` is ``resources: {R: ...}`` in db's stack (named by the resource
        # that owns it, or found by its id on an update)
        stack = stack_store.get(self.rt.db, stack_id)
        _, env = stack_store.load_template(self.rt.db, stack.raw_template_id)
        registry = {k: v for k, v in (env.get("resource_registry") or {}).items()
                    if k != "resources"}
        if resource_name is None and child_id is not None:
            resource_name = next((r.name for r in stack_store.resources(self.rt.db, stack_id)
                                  if r.physical_resource_id == child_id), None)
        own = parse_environment(env, max_size=self.rt.conf.max_template_size).nested_for(
            resource_name) if resource_name is not None else {}
        if own:
            registry["resources"] = own
        return {"resource_registry": registry}

    def _chain(self, stack_id: str) -> tuple[str, ...]:
        """One label per stack above a child of ``stack_id``: its depth, for the limit."""
        chain: list[str] = []
        current = stack_store.get(self.rt.db, stack_id)
        while current is not None:
            chain.append(current.name)
            current = (stack_store.get(self.rt.db, current.owner_id)
                       if current.owner_id and not current.backup else None)
        return tuple(reversed(chain))[1:]

    def files_of(self, stack_id: str) -> dict[str, str]:
        stack = stack_store.get(self.rt.db, stack_id)
        return stack_store.load_files(self.rt.db, stack.raw_template_id)

    def create(self, parent_id: str, resource_name: str, template: Any,
               parameters: dict[str, Any]) -> str:
        parent = stack_store.get(self.rt.db, parent_id)
        request = nested_request(
            self.rt, template, self._environment(parent_id, resource_name), parameters,
            self.files_of(parent_id), parent.timeout, (*self._chain(parent_id), resource_name))
        request.owner_id = parent.id
        request.root_id = parent.root_id or parent.id
        name = f"{parent.name}-{resource_name}-{uuid.uuid4().hex[:12]}"
        path = self.path_of(parent)
        return path.create(RequestContext(project_id=parent.project_id), name, request).id

    def update(self, child_id: str, template: Any, parameters: dict[str, Any]) -> None:
        child = stack_store.get(self.rt.db, child_id)
        parent_id = child.owner_id or child_id
        request = nested_request(
            self.rt, template, self._environment(parent_id, child_id=child_id), parameters,
            self.files_of(parent_id),
            child.timeout, self._chain(child_id))
        self.path_of(child).update(
            RequestContext(project_id=child.project_id), child, request)

    def cancel(self, child_id: str) -> None:
        try:
            child = stack_store.get(self.rt.db, child_id, include_deleted=False)
        except NotFound:
            return
        if child.status != IN_PROGRESS or child.action not in (CREATE, UPDATE):
            return
        try:
            self.path_of(child).cancel(RequestContext(project_id=child.project_id), child,
                                       rollback=False)
        except InvalidOperation:  # it ended meanwhile: nothing left to stop
            LOG.debug("nested stack %s: nothing to cancel", child_id)
            return
        # until the cancel is done: what the parent does next (a delete, a rollback) must
        # find the nested stack stopped, not race its cancel (on legacy a delete that came
        # first would take the cancel's place, and the nested stack's events would differ
        # from run to run)
        try:
            waiting.wait_until(lambda: self._stopped(child_id), timeout=CANCEL_WAIT,
                               interval=self.rt.poll_interval, backoff=1.5,
                               max_interval=0.2, what=f"nested stack {child_id} to stop")
        except WaitTimeout:
            LOG.warning("nested stack %s: still running %ss after its cancel", child_id,
                        CANCEL_WAIT)

    def _stopped(self, child_id: str) -> bool:
        state = self.state(child_id)
        return state is None or state[1] != IN_PROGRESS

    def delete(self, child_id: str) -> None:
        try:
            child = stack_store.get(self.rt.db, child_id, include_deleted=False)
        except NotFound:
            return
        self.path_of(child).delete(
            RequestContext(project_id=child.project_id), child)

    def state(self, child_id: str) -> tuple[str, str, str] | None:
        try:
            child = stack_store.get(self.rt.db, child_id)
        except NotFound:
            return None
        if child.deleted_at is not None:
            return None
        if self.path_of(child).is_busy(child) and child.status != IN_PROGRESS:
            return child.action, IN_PROGRESS, child.status_reason or ""
        return child.action, child.status, child.status_reason or ""

    def outputs(self, child_id: str) -> dict[str, Any]:
        try:
            child = stack_store.get(self.rt.db, child_id)
        except NotFound:
            return {}
        return snapshot.stack_outputs(self.rt, child) if child.deleted_at is None else {}

    def name(self, child_id: str) -> str:
        return stack_store.get(self.rt.db, child_id).name

    def resources(self, child_id: str) -> dict[str, tuple[str | None, dict[str, Any]]]:
        actions = ResourceActions(self.rt, child_id)
        found: dict[str, tuple[str | None, dict[str, Any]]] = {}
        for row in stack_store.resources(self.rt.db, child_id):
            if row.replaced_by is None:  # the copy that stands for the resource
                found[row.name] = (row.physical_resource_id, actions.attributes(row))
        return found
