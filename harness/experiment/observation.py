"""Observation: the snapshot of what a user (and the cloud) can see after a step, read
through the engine's public API and its read-only view of the simulated cloud only. Raw
here; harness.experiment.normalize makes them comparable."""

from __future__ import annotations

from typing import Any

from engines.core.context import RequestContext
from engines.core.errors import NotFound
from engines.service import EngineService


class Observer:
    """Takes one snapshot per step; events are reported as what happened since the
    previous snapshot, per resource, in order."""

    def __init__(self, service: EngineService, ctx: RequestContext) -> None:
        self.service = service
        self.cloud = service.cloud
        self.ctx = ctx
        self._events_seen = 0

    def take(self, step: int, op: str, stack_id: str | None, result: dict[str, Any],
             waited_for: str | None = None, settles: bool = True
             ) -> tuple[dict[str, Any], dict[str, Any]]:
        """(what expectations are checked against, what is recorded for the diff). A step
        that does not wait for anything (signal, fault, mark, an operation with wait: false)
        records only its result: the state right after it is a race by construction."""
        snap: dict[str, Any] = {"step": step, "op": op, "result": result, "stack": None,
                                "resources": {}, "outputs": {}, "events": {},
                                "event_copies": {}, "reality": self.cloud.copies()}
        if stack_id is None:
            return snap, snap
        try:
            view = self.service.show_stack(self.ctx, stack_id)
            resources = self.service.list_resources(self.ctx, stack_id)
            events = self.service.list_events(self.ctx, stack_id)
        except NotFound:
            return snap, snap
        snap["stack"] = {"status": view["stack_status"], "reason": view["status_reason"]}
        snap["outputs"] = view["outputs"]
        snap["resources"] = {r["name"]: {
            "status": r["resource_status"], "type": r["type"], "physical_id": r["physical_id"],
            "properties": r["properties"], "attributes": r["attributes"],
            "hooks": r["hooks_pending"]} for r in resources}
        if not settles:
            return snap, {"step": step, "op": op, "result": result}
        if view["status"] == "IN_PROGRESS" or view["busy"]:
            # mid-operation, what independent resources have reached is a matter of timing:
            # record only what is deterministic (where it is paused); events wait for the
            # next settled snapshot, so their per-resource order is still compared
            recorded = {"step": step, "op": op, "result": result,
                        "stack": {"status": view["stack_status"]}}
            if waited_for:  # the one resource the step waited for has a known state
                recorded["waited_for"] = snap["resources"].get(waited_for, {}).get("hooks")
            return snap, recorded
        stack_name = view["name"]
        for event in events[self._events_seen:]:
            name = "stack" if event["resource_name"] == stack_name and \
                event["resource_type"] == "OS::Heat::Stack" else event["resource_name"]
            snap["events"].setdefault(name, []).append(f"{event['action']}_{event['status']}")
            # which physical copy each event is of: normalisation needs it to tell two
            # copies' concurrent actions apart (it drops this key)
            snap["event_copies"].setdefault(name, []).append(event.get("physical_id"))
        self._events_seen = len(events)
        return snap, snap

    def physical_ids(self, stack_id: str | None) -> dict[str, str | None]:
        """Physical ids now, whatever the stack is doing (for marks and ``replaced``)."""
        if stack_id is None:
            return {}
        return {r["name"]: r["physical_id"]
                for r in self.service.list_resources(self.ctx, stack_id)}
