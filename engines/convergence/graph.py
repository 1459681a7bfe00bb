"""The traversal graph: (entity, is_update) nodes and what each waits for.

Update nodes are one per resource *name* of the target template and follow its
dependencies. Clean-up nodes are one per stored resource *row* (``name#row_id``): an old
copy left by a replacement and the copy that replaced it are different physical resources
with different dependants, so ordering their deletion by name can only be wrong -- after a
replacement that turned a dependency around (B needed A; now A needs B) the two
generations ask for opposite orders, and a by-name graph has a cycle and never starts.
Clean-up nodes run after every update node, so that a failure during the update phase
always finds the old copies still there for a rollback to bring back: they all wait,
directly or through each other, for one barrier node that waits, directly or through each
other, for every update node (at most n + m sync-point writes rather than n * m); among
themselves a row is cleaned up only after every row that required it, and an old copy only
after the copy that replaced it (as Heat's graph orders them: two copies of one resource
deleted at once would interleave their events differently from run to run). The barrier and the
stack's own completion count their inputs rather than collect them (``sync_point.count``):
their in-degree can be the whole stack.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from oslo_log import log as logging

from engines.core.dependencies import Dependencies

LOG = logging.getLogger(__name__)

Node = tuple[str, bool]  # (resource name | "name#row_id", is_update)
# every update node is done: no resource name contains it as a clean-up entity would ("#")
BARRIER = ("#updates-done", False)


def key(node: Node) -> str:
    return f"{node[0]}:{'update' if node[1] else 'cleanup'}"


def parse_key(text: str) -> Node:
    name, kind = text.rsplit(":", 1)
    return (name, kind == "update")


def cleanup_entity(name: str, row_id: int) -> str:
    return f"{name}#{row_id}"


def cleanup_row_id(entity: str) -> int:
    return int(entity.rsplit("#", 1)[1])


def cleanup_name(entity: str) -> str:
    """The resource name of a clean-up entity (``name#row_id``)."""
    return entity.rsplit("#", 1)[0]


@dataclass(frozen=True)
class Graph:
    requires: Dependencies[Node] = field(default_factory=Dependencies)

    @classmethod
    def build(cls, template_deps: Mapping[str, Iterable[str]],
              existing: Mapping[int, tuple[str, Iterable[int]]],
              replaces: Mapping[int, int] | None = None) -> Graph:
        """``template_deps``: name -> names it requires in the target template.
        ``existing``: row id -> (name, ids of the rows it required when last made or
        updated), for every stored row. ``replaces``: row id -> the id of the row it
        replaced (a replacement's new copy -> the old one)."""
        requires: dict[Node, set[Node]] = {}
        for name, deps in template_deps.items():
            requires[(name, True)] = {(d, True) for d in deps if d in template_deps}
        nodes = {rid: (cleanup_entity(name, rid), False) for rid, (name, _) in existing.items()}
        for node in nodes.values():
            requires[node] = set()
        for rid, (_, deps) in existing.items():
            for dep in deps:
                if dep in nodes and dep != rid:
                    # the dependency's clean-up waits for its dependant's
                    requires[nodes[dep]].add(nodes[rid])
        for rid, old in (replaces or {}).items():
            if rid in nodes and old in nodes and old != rid:
                requires[nodes[old]].add(nodes[rid])
        deps = _without_loops(Dependencies(requires))
        if not (template_deps and nodes):
            return cls(deps)
        # Only the edges the order needs: every update node comes before an update node
        # nothing waits for, and every clean-up after a clean-up that waits for no other;
        # so the barrier waits for the former and the latter wait for the barrier, and
        # the rest follows. Fewer edges, fewer sync-point writes: n + m at most.
        with_barrier: dict[Node, set[Node]] = {n: set(r) for n, r in deps.items()}
        with_barrier[BARRIER] = {n for n in deps.roots() if n[1]}
        for node in nodes.values():
            if not with_barrier[node]:
                with_barrier[node].add(BARRIER)
        return cls(Dependencies(with_barrier))

    @property
    def nodes(self) -> list[Node]:
        return list(self.requires)

    def successors(self, node: Node) -> list[Node]:
        return self.requires.required_by(node)

    def leaves(self) -> list[Node]:
        """Nodes that wait for nothing: where a traversal starts."""
        return self.requires.leaves()

    def roots(self) -> list[Node]:
        """Nodes nothing waits for: the stack node waits for these."""
        return list(self._roots)

    @cached_property
    def _roots(self) -> tuple[Node, ...]:
        return tuple(self.requires.roots())

    @cached_property
    def _root_set(self) -> frozenset[Node]:
        return frozenset(self._roots)

    def is_root(self, node: Node) -> bool:
        return node in self._root_set

    def required_keys(self, node: Node) -> set[str]:
        """The sync-point keys of what ``node`` waits for."""
        return {key(r) for r in self.requires[node]}

    def to_json(self) -> list[list[Any]]:
        return [[key(n), sorted(key(r) for r in reqs)] for n, reqs in self.requires.items()]

    @classmethod
    def from_json(cls, data: list[list[Any]]) -> Graph:
        return cls(Dependencies({parse_key(n): [parse_key(r) for r in reqs]
                                 for n, reqs in data}))


def _without_loops(deps: Dependencies[Node]) -> Dependencies[Node]:
    """Stored requirements are written as each row is made, in the dependency order of its
    template, so they do not loop (and update nodes follow a validated template); if rows
    written by operations that overlapped ever do, drop an edge of the loop: deleting in a
    slightly wrong order beats a traversal that never starts."""
    while (loop := deps.find_cycle()) is not None:
        # the edge out of the loop's smallest node, whichever node the search met first
        i = min(range(len(loop) - 1), key=loop.__getitem__)
        node, dep = loop[i], loop[i + 1]
        LOG.warning("clean-up order loops between %s and %s; ignoring that the first waits "
                    "for the second", key(node), key(dep))
        deps = deps.without(node, dep)
    return deps
