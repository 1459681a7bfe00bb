"""Deliberately broken variants of the convergence path, to prove the harness catches
regressions: a run with a mutant applied must report an unexpected divergence or a failed
expectation somewhere. Each mutant patches only names the convergence path uses, in the
process that runs the scenario."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


def _skip_replaced_cleanup() -> None:
    """Old copies left by a replacement are never deleted."""
    from engines.convergence import worker

    original = worker.Worker._cleanup

    def cleanup(self: Any, stack_id: str, traversal_id: str, template: Any, row_id: int,
                *args: Any) -> dict:
        row = self._rows_by_id(row_id)
        if template is not None and row is not None and row.name in template.resources:
            return {}
        return original(self, stack_id, traversal_id, template, row_id, *args)

    worker.Worker._cleanup = cleanup


def _ignore_depends_on() -> None:
    """Update nodes ignore dependencies: everything starts at once."""
    from engines.convergence import graph

    original = graph.Graph.build.__func__

    def build(cls: Any, template_deps: Any, *args: Any, **kwargs: Any) -> Any:
        return original(cls, {name: () for name in template_deps}, *args, **kwargs)

    graph.Graph.build = classmethod(build)


def _complete_early() -> None:
    """The stack is marked complete when the first node finishes."""
    from engines.convergence import worker

    original = worker.Worker._propagate

    def propagate(self: Any, stack_id: str, traversal_id: str, template_id: Any,
                  graph: Any, node: Any, output: Any, *args: Any, **kwargs: Any) -> None:
        original(self, stack_id, traversal_id, template_id, graph, node, output, *args,
                 **kwargs)
        self.traversals.complete(stack_id, traversal_id)

    worker.Worker._propagate = propagate


def _drop_complete_event() -> None:
    """Resources reach CREATE_COMPLETE without saying so in their events."""
    from engines.convergence import worker
    from engines.core import events, resource_actions

    class Quiet(resource_actions.ResourceActions):
        def _set_state(self, row: Any, action: str, status: str, reason: Any,
                       **values: Any) -> None:
            if (action, status) != ("CREATE", "COMPLETE"):
                return super()._set_state(row, action, status, reason, **values)
            emit = events.emit
            events.emit = lambda *a, **k: None
            try:
                super()._set_state(row, action, status, reason, **values)
            finally:
                events.emit = emit

        # the COMPLETE state a check writes with its lock's release: its event goes too
        def _complete(self, row: Any, action: str, *args: Any, **values: Any) -> None:
            deferred = getattr(self, "complete_with", None)
            if action != "CREATE" or deferred is None:
                return super()._complete(row, action, *args, **values)
            self.complete_with = lambda r, state, event: deferred(r, state, lambda s: None)
            try:
                super()._complete(row, action, *args, **values)
            finally:
                self.complete_with = deferred

    worker.ResourceActions = Quiet


MUTANTS: dict[str, Callable[[], None]] = {
    "skip-replaced-cleanup": _skip_replaced_cleanup,
    "ignore-depends-on": _ignore_depends_on,
    "complete-before-last-node": _complete_early,
    "drop-create-complete-event": _drop_complete_event,
}


_APPLIED: set[str] = set()


def apply_once(name: str) -> None:
    """Apply mutant ``name`` in this process (a pool process lives for many units)."""
    if name not in MUTANTS:
        raise ValueError(f"unknown mutant {name!r}; one of {', '.join(MUTANTS)}")
    if name not in _APPLIED:
        MUTANTS[name]()
        _APPLIED.add(name)
