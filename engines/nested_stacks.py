"""The engine's side of ``engines.core.nested``: stack resources create, update and delete
their child stacks through the service's own validation and dispatch, so that a nested
stack is stored, evented and run like any stack -- on its parent's path (its root's),
which the parent's stored field decides, never the configuration of the moment."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any

from engines.core import snapshot, stack_store
from engines.core.context import RequestContext
from engines.core.errors import NotFound
from engines.core.status import IN_PROGRESS

if TYPE_CHECKING:
    from engines.service import EngineService


class ServiceNestedStacks:
    def __init__(self, service: EngineService) -> None:
        self.service = service
        self.rt = service.rt

    def _environment(self, stack_id: str) -> dict[str, Any]:
        # a child gets its parent's type mappings, as in Heat, not its per-resource settings
        stack = stack_store.get(self.rt.db, stack_id)
        _, env = stack_store.load_template(self.rt.db, stack.raw_template_id)
        registry = {k: v for k, v in (env.get("resource_registry") or {}).items()
                    if k != "resources"}
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
        request = self.service.nested_request(
            template, self._environment(parent_id), parameters, self.files_of(parent_id),
            parent.timeout, (*self._chain(parent_id), resource_name))
        request.owner_id = parent.id
        request.root_id = parent.root_id or parent.id
        name = f"{parent.name}-{resource_name}-{uuid.uuid4().hex[:12]}"
        path = self.service.path_of_stack(parent)
        return path.create(RequestContext(project_id=parent.project_id), name, request).id

    def update(self, child_id: str, template: Any, parameters: dict[str, Any]) -> None:
        child = stack_store.get(self.rt.db, child_id)
        parent_id = child.owner_id or child_id
        request = self.service.nested_request(
            template, self._environment(parent_id), parameters, self.files_of(parent_id),
            child.timeout, self._chain(child_id))
        self.service.path_of_stack(child).update(
            RequestContext(project_id=child.project_id), child, request)

    def delete(self, child_id: str) -> None:
        try:
            child = stack_store.get(self.rt.db, child_id, include_deleted=False)
        except NotFound:
            return
        self.service.path_of_stack(child).delete(
            RequestContext(project_id=child.project_id), child)

    def state(self, child_id: str) -> tuple[str, str, str] | None:
        try:
            child = stack_store.get(self.rt.db, child_id)
        except NotFound:
            return None
        if child.deleted_at is not None:
            return None
        if self.service.path_of_stack(child).is_busy(child) and child.status != IN_PROGRESS:
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
