"""Mutants aimed where the paths are hardest (supersession, cancellation, breakpoints,
rollback, clean-up order, sync points): each breaks the convergence path the way a real
regression would, so the fuzzer can show it finds what nobody wrote a scenario for.

Like the mutants beside them they patch only names of the convergence path, in the process
that runs the scenario, and only through its seams (``worker.Worker``'s methods, the name
``worker.ResourceActions``, ``Graph.build``, ``sync_point.sync``), written to work whether
a seam's helpers live in ``worker`` or in the modules it was split into."""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Callable
from typing import Any

from engines.core.errors import Cancelled


def _superseded_still_writes() -> None:
    """A superseded traversal goes on acting and moving on, as if it were still current."""
    from engines.convergence import worker

    pretend = threading.local()

    def current_as(reader: Callable[..., Any]) -> Callable[..., Any]:
        def read(*args: Any, **kwargs: Any) -> Any:
            stack = reader(*args, **kwargs)
            traversal = getattr(pretend, "traversal", None)
            if stack is not None and traversal and stack.status == "IN_PROGRESS":
                if dataclasses.is_dataclass(stack):  # a StackStatus: frozen, a copy
                    return dataclasses.replace(stack, current_traversal=traversal)
                stack.current_traversal = traversal  # a detached row: nothing is written
            return stack
        return read

    if hasattr(worker.Worker, "_current"):
        worker.Worker._current = current_as(worker.Worker._current)
    # every name a check reads the stack's current traversal through, in every module
    # that has one (the seams moved as the worker was split: patch what is there)
    for module_name in ("worker", "propagate", "check_resource"):
        module = getattr(__import__("engines.convergence", fromlist=[module_name]),
                         module_name, None)
        for seam in ("stack_row", "stack_status"):
            if module is not None and hasattr(module, seam):
                setattr(module, seam, current_as(getattr(module, seam)))
    original = worker.Worker._check

    def check(self: Any, stack_id: str, traversal_id: str, *args: Any) -> None:
        pretend.traversal = traversal_id
        try:
            original(self, stack_id, traversal_id, *args)
        finally:
            pretend.traversal = None

    worker.Worker._check = check


def _actions(pause: Callable[[Any, Callable[[], None], str], None]) -> None:
    """Give the convergence worker ResourceActions whose breakpoints behave otherwise."""
    from engines.convergence import worker

    base = worker.ResourceActions

    from engines.core.environment import hooks_matching

    class Mutated(base):  # type: ignore[misc, valid-type]
        def _pause(self, row: Any, hook: str, action: str) -> None:
            if hook not in hooks_matching(self.hooks, row.name):
                return
            pause(self, lambda: base._pause(self, row, hook, action), hook)

    worker.ResourceActions = Mutated


def _cancelled_completes() -> None:
    """An action stopped at a breakpoint by a newer operation carries on and completes."""
    def pause(actions: Any, wait: Callable[[], None], hook: str) -> None:
        try:
            wait()
        except Cancelled:
            return  # should have stopped here
    _actions(pause)


def _skip_update_hook() -> None:
    """pre-update breakpoints are skipped: the update runs straight through them."""
    def pause(actions: Any, wait: Callable[[], None], hook: str) -> None:
        if hook != "pre-update":
            wait()
    _actions(pause)


def _rollback_new_copy() -> None:
    """A rollback after a replacement makes a new copy instead of bringing back the old."""
    from engines.convergence import worker

    try:
        from engines.convergence import check_resource
    except ImportError:
        check_resource = None
    if check_resource is not None and hasattr(check_resource, "ReplacedRows"):
        check_resource.ReplacedRows.old_copies = lambda self, current: []
        return
    original = worker.Worker._replace

    def replace(self: Any, stack_id: str, old: Any, *args: Any) -> Any:
        rows = self._rows
        self._rows = lambda sid, name: [r for r in rows(sid, name) if r.replaced_by is None]
        try:
            return original(self, stack_id, old, *args)
        finally:
            del self._rows

    worker.Worker._replace = replace


def _early_cleanup() -> None:
    """Clean-ups of old copies and removed resources start at once, without waiting for the
    updates (their dependants may not have moved yet)."""
    from engines.convergence import graph

    original = graph.Graph.build.__func__

    def build(cls: Any, *args: Any, **kwargs: Any) -> Any:
        built = original(cls, *args, **kwargs)
        barrier = graph.key(graph.BARRIER)
        # through the graph's JSON form, which stays plain whatever holds it in memory
        return cls.from_json([[node, [r for r in requires if not (
            r == barrier and node.endswith(":cleanup"))]] for node, requires in built.to_json()])

    graph.Graph.build = classmethod(build)


def _sync_loses_input() -> None:
    """A sync point keeps only the data of the input that completed it: the others arrive
    empty."""
    from engines.convergence import sync_point

    original = sync_point.sync

    def sync(db: Any, traversal_id: str, entity_id: str, is_update: bool, sender: str,
             value: Any, required: set[str]) -> dict[str, Any] | None:
        inputs = original(db, traversal_id, entity_id, is_update, sender, value, required)
        if inputs is None:
            return None
        return {k: (v if k == sender else {}) for k, v in inputs.items()}

    sync_point.sync = sync


MUTANTS: dict[str, Callable[[], None]] = {
    "superseded-traversal-writes": _superseded_still_writes,
    "cancelled-action-completes": _cancelled_completes,
    "skip-pre-update-hook": _skip_update_hook,
    "rollback-makes-new-copy": _rollback_new_copy,
    "cleanup-before-dependants": _early_cleanup,
    "sync-point-loses-input": _sync_loses_input,
}
