"""What a traversal stores on its stack (``stack.current_deps``): its graph, and the facts
about the operation that every check of it needs. Written once when the traversal starts
(``rollback_pending`` changes when it fails); read by every check, by propagation and by
the path's API calls."""

from __future__ import annotations

import dataclasses
import threading
import time
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from engines.convergence.graph import Graph
from engines.core.models import Stack

# decoded states kept per process: a stack of thousands of resources has a graph of
# megabytes, and a handful of traversals run at once in a worker
CACHED_STATES = 8


@dataclass(frozen=True)
class TraversalState:
    # the operation (CREATE, UPDATE, DELETE, ROLLBACK); None in rows written before it
    # was stored, where the stack's own action says it
    action: str | None = None
    template_id: int | None = None  # the target template; None: bring the stack to nothing
    # the graph as stored; decoded on first use (``graph``), so that reading a flag of a
    # big stack's traversal (``rollback_pending``) costs no graph
    graph_json: list[list[Any]] = field(default_factory=list)
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
    # the stored rows, at the start, that own a nested stack (whose clean-ups wait for it):
    # a row's type never changes, so a clean-up check need not read it; None in states
    # written before it was stored, where the check reads the row's type
    nested_rows: frozenset[int] | None = None

    @classmethod
    def of(cls, stack: Stack) -> TraversalState:
        return cls.from_json(stack.current_deps)

    @classmethod
    def new(cls, graph: Graph, **facts: Any) -> TraversalState:
        state = cls(graph_json=graph.to_json(), **facts)
        state.__dict__["graph"] = graph  # already decoded: the cached value of ``graph``
        return state

    @cached_property
    def graph(self) -> Graph:
        return Graph.from_json(self.graph_json)

    def action_of(self, stack: Stack | Any) -> str:
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
            "graph": self.graph_json or self.graph.to_json(), "retain": sorted(self.retain),
            "hooks": {name: sorted(hooks) for name, hooks in self.hooks.items()},
            "stop_epoch": self.stop_epoch,
            "prev_parameters": self.prev_parameters, "started": self.started,
            "rollback_pending": self.rollback_pending,
            "nested_rows": None if self.nested_rows is None else sorted(self.nested_rows),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any] | None) -> TraversalState:
        """Tolerates rows written by older code: missing keys take their defaults, keys no
        longer used are ignored."""
        data = data or {}
        return cls(
            action=data.get("action"), template_id=data.get("template_id"),
            graph_json=data.get("graph") or [],
            retain=frozenset(data.get("retain") or ()),
            hooks={name: frozenset(hooks)
                   for name, hooks in (data.get("hooks") or data.get("delete_hooks")
                                       or {}).items()},
            stop_epoch=int(data.get("stop_epoch") or 0),
            prev_parameters=data.get("prev_parameters"), started=data.get("started"),
            rollback_pending=bool(data.get("rollback_pending")),
            nested_rows=(None if data.get("nested_rows") is None
                         else frozenset(data["nested_rows"])),
        )


class StateCache:
    """The states of recent traversals, decoded once per process rather than once per
    check: a traversal's graph and facts never change once it has started (only
    ``rollback_pending`` does, which checks never read; the path's API calls read it from
    the stack row). One traversal per stack is kept (a newer one's checks are all that
    still count there), least recently used stacks go first; a kept state holds its
    decoded graph, not the stored form as well."""

    def __init__(self, size: int = CACHED_STATES) -> None:
        self.size = size
        self._states: OrderedDict[str, tuple[str, TraversalState]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, traversal_id: str) -> TraversalState | None:
        with self._lock:
            for stack_id, (kept, state) in self._states.items():
                if kept == traversal_id:
                    self._states.move_to_end(stack_id)
                    return state
            return None

    def put(self, stack_id: str, traversal_id: str, state: TraversalState) -> None:
        graph = state.graph  # decoded now, once; the stored form is dropped below
        state = dataclasses.replace(state, graph_json=[])
        state.__dict__["graph"] = graph
        with self._lock:
            self._states[stack_id] = (traversal_id, state)
            self._states.move_to_end(stack_id)
            while len(self._states) > self.size:
                self._states.popitem(last=False)


STATES = StateCache()
