"""Read-only views of a stack, its resources and events: what the API shows and what the
harness snapshots. Nothing here writes."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from engines.core import events, hooks, stack_store
from engines.core.lookup import RowLookup
from engines.core.models import Stack, StackLock
from engines.core.path import stored_template
from engines.core.resource_actions import ResourceActions
from engines.core.runtime import Runtime


def _iso(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


def stack_view(rt: Runtime, stack: Stack, *, outputs: bool = True) -> dict[str, Any]:
    view = {
        "id": stack.id, "name": stack.name, "project_id": stack.project_id,
        "action": stack.action, "status": stack.status,
        "stack_status": f"{stack.action}_{stack.status}", "status_reason": stack.status_reason,
        "engine": "convergence" if stack.convergence else "legacy",
        "disable_rollback": stack.disable_rollback, "timeout": stack.timeout,
        "parameters": stack.parameters or {}, "template_id": stack.raw_template_id,
        "current_traversal": stack.current_traversal,
        "parent": None if stack.backup else stack.owner_id,
        "root": stack.root_id,
        "created_at": _iso(stack.created_at), "updated_at": _iso(stack.updated_at),
        "deleted": stack.deleted_at is not None,
        "outputs": {},
    }
    if outputs and stack.deleted_at is None:
        view["outputs"] = stack_outputs(rt, stack)
    return view


def stack_outputs(rt: Runtime, stack: Stack) -> dict[str, Any]:
    tmpl = stored_template(rt, stack.raw_template_id, stack.parameters)
    rows = stack_store.current_resources(rt.db, stack.id)
    return tmpl.resolve_outputs(RowLookup(ResourceActions(rt, stack.id), rows))


def resources_view(rt: Runtime, stack: Stack) -> list[dict[str, Any]]:
    rows = stack_store.current_resources(rt.db, stack.id)
    actions = ResourceActions(rt, stack.id)
    paused = hooks.pending_hooks(rt.db, stack.id)
    views = []
    for name, row in rows.items():
        try:
            attributes = actions.attributes(row)
        except Exception:  # noqa: BLE001 - a view must not fail on one odd resource
            attributes = {}
        views.append({
            "name": name, "type": row.type, "physical_id": row.physical_resource_id,
            "action": row.action, "status": row.status,
            "resource_status": f"{row.action}_{row.status}",
            "status_reason": row.status_reason, "properties": row.properties_data or {},
            "attributes": attributes, "hooks_pending": sorted(paused.get(name, [])),
            "updated_at": _iso(row.updated_at or row.created_at),
        })
    return views


def events_view(rt: Runtime, stack: Stack) -> list[dict[str, Any]]:
    with rt.db.session() as s:
        rows = events.list_for(s, stack.id)
    return [{
        "id": e.uuid, "resource_name": e.resource_name, "physical_id": e.physical_resource_id,
        "resource_type": e.resource_type, "action": e.resource_action,
        "status": e.resource_status, "reason": e.resource_status_reason,
        "engine_id": e.engine_id, "timestamp": _iso(e.created_at),
    } for e in rows]


def lock_holder(rt: Runtime, stack_id: str) -> str | None:
    with rt.db.session() as s:
        return s.scalar(sa.select(StackLock.engine_id).where(StackLock.stack_id == stack_id))
