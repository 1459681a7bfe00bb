"""What a traversal stores on its stack (``stack.current_deps``): its graph, and the facts
about the operation that every check of it needs. Written once when the traversal starts
(``rollback_pending`` changes when it fails); read by every check, by propagation and by
the path's API calls."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from engines.convergence.graph import Graph
from engines.core.models import Stack


@dataclass(frozen=True)
class TraversalState:
    # the operation (CREATE, UPDATE, DELETE, ROLLBACK); None in rows written before it
    # was stored, where the stack's own action says it
    action: str | None = None
    template_id: int | None = None  # the target template; None: bring the stack to nothing
    graph: Graph = field(default_factory=Graph)
    # of the template the stack had when the traversal started: how its resources go
    retain: frozenset[str] = frozenset()  # deletion_policy: Retain
    # the hooks the operation runs with (resource name or wildcard -> hook types): its
    # target template's environment, or for a delete the stack's
    hooks: Mapping[str, frozenset[str]] = field(default_factory=dict)
    # counts the operations that stopped the work running before them (a delete, a
    # cancel, a user rollback, a timeout): a check of an older count is cancelled
    stop_epoch: int = 0
    # the parameters a rollback goes back to, beside stack.prev_raw_template_id
    prev_parameters: dict[str, Any] | None = None
    started: float | None = None  # time.time() when started: the stack timeout counts from it
    # failed, and its rollback traversal about to start: the stack is still busy
    rollback_pending: bool = False

    @classmethod
    def of(cls, stack: Stack) -> TraversalState:
        return cls.from_json(stack.current_deps)

    def action_of(self, stack: Stack) -> str:
        return self.action or stack.action

    def timed_out(self, timeout: float | None) -> bool:
        return bool(timeout and self.started is not None
                    and time.time() - self.started > timeout)

    def with_rollback_pending(self, pending: bool = True) -> TraversalState:
        return dataclasses.replace(self, rollback_pending=pending)

    # -- storage ----------------------------------------------------------------------------
    def to_json(self) -> dict[str, Any]:
        return {
            "action": self.action, "template_id": self.template_id,
            "graph": self.graph.to_json(), "retain": sorted(self.retain),
            "hooks": {name: sorted(hooks) for name, hooks in self.hooks.items()},
            "stop_epoch": self.stop_epoch,
            "prev_parameters": self.prev_parameters, "started": self.started,
            "rollback_pending": self.rollback_pending,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any] | None) -> TraversalState:
        """Tolerates rows written by older code: missing keys take their defaults, keys no
        longer used are ignored."""
        data = data or {}
        return cls(
            action=data.get("action"), template_id=data.get("template_id"),
            graph=Graph.from_json(data.get("graph") or []),
            retain=frozenset(data.get("retain") or ()),
            hooks={name: frozenset(hooks)
                   for name, hooks in (data.get("hooks") or data.get("delete_hooks")
                                       or {}).items()},
            stop_epoch=int(data.get("stop_epoch") or 0),
            prev_parameters=data.get("prev_parameters"), started=data.get("started"),
            rollback_pending=bool(data.get("rollback_pending")),
        )
