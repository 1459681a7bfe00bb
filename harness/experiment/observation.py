"""Observation: the snapshot of what a user (and the cloud) can see after a step, read
through the engine's public API and its read-only view of the simulated cloud only. Raw
here; harness.experiment.normalize makes them comparable."""

from __future__ import annotations

from typing import Any

from engines.core.context import RequestContext
from engines.core.errors import NotFound
from engines.service import EngineService
from scenarios.steps.paths import join


class Observer:
    """Takes one snapshot per step; events are reported as what happened since the
    previous snapshot, per resource, in order.

    Nested stacks are part of the snapshot: the resources of the stack a stack resource
    owns are listed under their path (``db/R``, ``group/0/A``: scenarios/steps/paths.py),
    each nested stack's status under ``stacks`` (keyed by its owner's path), its events
    under the paths too (``db/stack`` for the nested stack's own), and the cloud's copies
    by path. A nested stack once seen is remembered, so that the events and leftovers of
    one its parent no longer shows (a resource an update removed) are still told; one
    made and deleted between two snapshots (a rollback's) is found through its owner's
    events, which carry its id."""

    def __init__(self, service: EngineService, ctx: RequestContext) -> None:
        self.service = service
        self.cloud = service.cloud
        self.ctx = ctx
        self._events_seen: dict[str, int] = {}  # stack id -> its events already reported
        self._prefixes: dict[str, str] = {}  # stack id -> path of its owner ("": the root)
        self._not_stacks: set[str] = set()  # physical ids of events known not to be stacks

    def take(self, step: int, op: str, stack_id: str | None, result: dict[str, Any],
             waited_for: str | None = None, settles: bool = True
             ) -> tuple[dict[str, Any], dict[str, Any]]:
        """(what expectations are checked against, what is recorded for the diff). A step
        that does not wait for anything (signal, fault, mark, an operation with wait: false)
        records only its result: the state right after it is a race by construction."""
        snap: dict[str, Any] = {"step": step, "op": op, "result": result, "stack": None,
                                "resources": {}, "outputs": {}, "events": {},
                                "event_copies": {}, "reality": {}}
        if stack_id is None:
            snap["reality"] = self.cloud.copies()
            return snap, snap
        try:
            view = self.service.show_stack(self.ctx, stack_id)
            self._prefixes.setdefault(stack_id, "")
            tree = self._tree(stack_id)
        except NotFound:
            snap["reality"] = self._reality()
            return snap, snap
        snap["stack"] = {"status": view["stack_status"], "reason": view["status_reason"]}
        snap["outputs"] = view["outputs"]
        for prefix, rows, nested_view in tree:
            if prefix:
                snap.setdefault("stacks", {})[prefix] = {
                    "status": nested_view["stack_status"],
                    "reason": nested_view["status_reason"],
                    "outputs": nested_view["outputs"]}
            snap["resources"].update({join(prefix, r["name"]): {
                "status": r["resource_status"], "type": r["type"],
                "physical_id": r["physical_id"], "properties": r["properties"],
                "attributes": r["attributes"], "hooks": r["hooks_pending"]} for r in rows})
            # for expectations only (the paths word their reasons differently): never recorded
            snap.setdefault("resource_reasons", {}).update(
                {join(prefix, r["name"]): r.get("status_reason") for r in rows})
        snap["reality"] = self._reality()
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
        for one, prefix in list(self._prefixes.items()):
            self._add_events(snap, one, prefix)
        return snap, {k: v for k, v in snap.items() if k != "resource_reasons"}

    def _tree(self, stack_id: str, prefix: str = ""
              ) -> list[tuple[str, list[dict[str, Any]], dict[str, Any] | None]]:
        """(owner path, resources, nested stack's view) of the stack and, depth first,
        of every nested stack its stack resources own now."""
        rows = self.service.list_resources(self.ctx, stack_id)
        found: list[tuple[str, list[dict[str, Any]], dict[str, Any] | None]] = [
            (prefix, rows, None)]
        for row in rows:
            child = row.get("physical_id")
            if not child or not self._is_stack(child):
                continue
            path = join(prefix, row["name"])
            self._prefixes[child] = path
            nested_view = self.service.show_stack(self.ctx, child)
            if nested_view["deleted"]:
                continue
            below = self._tree(child, path)
            below[0] = (path, below[0][1], nested_view)
            found.extend(below)
        return found

    def _is_stack(self, physical_id: str) -> bool:
        """Whether a physical id is a nested stack's (a stack resource's): the engine
        knows it as a stack whose parent is in the tree."""
        if physical_id in self._prefixes:
            return True
        try:
            parent = self.service.show_stack(self.ctx, physical_id).get("parent")
        except NotFound:
            return False
        return parent in self._prefixes

    def _add_events(self, snap: dict[str, Any], stack_id: str, prefix: str) -> None:
        try:
            events = self.service.list_events(self.ctx, stack_id)
            stack_name = self.service.show_stack(self.ctx, stack_id)["name"]
        except NotFound:
            return
        born: list[tuple[str, str]] = []
        for event in events[self._events_seen.get(stack_id, 0):]:
            own = event["resource_name"] == stack_name and \
                event["resource_type"] == "OS::Heat::Stack"
            name = join(prefix, "stack" if own else event["resource_name"])
            snap["events"].setdefault(name, []).append(f"{event['action']}_{event['status']}")
            # which physical copy each event is of: normalisation needs it to tell two
            # copies' concurrent actions apart (it drops this key)
            snap["event_copies"].setdefault(name, []).append(event.get("physical_id"))
            child = event.get("physical_id")
            if not own and child and self._unseen_stack(child):
                self._prefixes[child] = name
                born.append((child, name))
        self._events_seen[stack_id] = len(events)
        # a nested stack made and deleted between two snapshots (a rollback's) was never
        # in a tree: its owner's events name it, and its own events are told too
        for child, name in born:
            self._add_events(snap, child, name)

    def _unseen_stack(self, physical_id: str) -> bool:
        """Whether an event's physical id is a nested stack not known yet."""
        if physical_id in self._prefixes or physical_id in self._not_stacks:
            return False
        if self._is_stack(physical_id):
            return True
        self._not_stacks.add(physical_id)
        return False

    def _reality(self) -> dict[str, int]:
        """Physical copies per resource path: those of a nested stack under its owner's
        path, the rest (the scenario's stack, or one never seen) by their logical name."""
        counts: dict[str, int] = {}
        for copy in self.cloud.resources():
            name = join(self._prefixes.get(copy.stack_id, ""), copy.logical_name)
            counts[name] = counts.get(name, 0) + 1
        return counts

    def values(self, stack_id: str | None) -> dict[str, Any]:
        """The stack's outputs and every resource's attributes (by path) now: what a
        mark remembers for a later ``changed_since``."""
        if stack_id is None:
            return {}
        self._prefixes.setdefault(stack_id, "")
        return {"outputs": self.service.show_stack(self.ctx, stack_id)["outputs"],
                "attributes": {join(prefix, r["name"]): r["attributes"]
                               for prefix, rows, _ in self._tree(stack_id) for r in rows}}

    def physical_ids(self, stack_id: str | None) -> dict[str, str | None]:
        """Physical ids now, whatever the stack is doing (for marks and ``replaced``), of
        nested resources too, by path."""
        if stack_id is None:
            return {}
        self._prefixes.setdefault(stack_id, "")
        return {join(prefix, r["name"]): r["physical_id"]
                for prefix, rows, _ in self._tree(stack_id) for r in rows}
