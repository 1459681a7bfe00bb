"""The traversal graph: (entity, is_update) nodes and what each waits for.

Update nodes are one per resource *name* of the target template and follow its
dependencies. Clean-up nodes are one per stored resource *row* (``name#row_id``): an old
copy left by a replacement and the copy that replaced it are different physical resources
with different dependants, so ordering their deletion by name can only be wrong -- after a
replacement that turned a dependency around (B needed A; now A needs B) the two
generations ask for opposite orders, and a by-name graph has a cycle and never starts.
Clean-up nodes run after every update node, so that a failure during the update phase
always finds the old copies still there for a rollback to bring back: they all wait for one
barrier node that waits for every update node (n + m sync-point writes rather than n * m);
among themselves a row is cleaned up only after every row that required it.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

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


@dataclass
class Graph:
    requires: dict[Node, set[Node]] = field(default_factory=dict)

    @classmethod
    def build(cls, template_deps: Mapping[str, Iterable[str]],
              existing: Mapping[int, tuple[str, Iterable[int]]]) -> Graph:
        """``template_deps``: name -> names it requires in the target template.
        ``existing``: row id -> (name, ids of the rows it required when last made or
        updated), for every stored row."""
        graph = cls()
        updates = [(name, True) for name in template_deps]
        for name, deps in template_deps.items():
            graph.requires[(name, True)] = {(d, True) for d in deps if d in template_deps}
        nodes = {rid: (cleanup_entity(name, rid), False) for rid, (name, _) in existing.items()}
        if updates and nodes:
            graph.requires[BARRIER] = set(updates)
        for node in nodes.values():
            graph.requires[node] = {BARRIER} if updates else set()
        for rid, (_, deps) in existing.items():
            for dep in deps:
                if dep in nodes and dep != rid:
                    # the dependency's clean-up waits for its dependant's
                    graph.requires[nodes[dep]].add(nodes[rid])
        graph._break_cycles(set(nodes.values()))
        return graph

    def _break_cycles(self, among: set[Node]) -> None:
        """Stored requirements are written as each row is made, in the dependency order of
        its template, so they do not loop; if rows written by operations that overlapped
        ever do, drop the edge that closes the loop: deleting in a slightly wrong order
        beats a traversal that never starts."""
        done: set[Node] = set()
        for start in sorted(among):
            if start in done:
                continue
            path, on_path = [(start, iter(sorted(self.requires[start] & among)))], {start}
            while path:  # depth-first without recursion: chains can be long
                node, deps = path[-1]
                dep = next(deps, None)
                if dep is None:
                    path.pop()
                    on_path.discard(node)
                    done.add(node)
                elif dep in on_path:
                    LOG.warning("clean-up order loops between %s and %s; ignoring that "
                                "the first waits for the second", key(node), key(dep))
                    self.requires[node].discard(dep)
                elif dep not in done:
                    path.append((dep, iter(sorted(self.requires[dep] & among))))
                    on_path.add(dep)

    @property
    def nodes(self) -> list[Node]:
        return list(self.requires)

    def successors(self, node: Node) -> list[Node]:
        return [n for n, reqs in self.requires.items() if node in reqs]

    def leaves(self) -> list[Node]:
        """Nodes that wait for nothing: where a traversal starts."""
        return [n for n, reqs in self.requires.items() if not reqs]

    def roots(self) -> list[Node]:
        """Nodes nothing waits for: the stack node waits for these."""
        waited = {r for reqs in self.requires.values() for r in reqs}
        return [n for n in self.requires if n not in waited]

    def to_json(self) -> list[list[Any]]:
        return [[key(n), sorted(key(r) for r in reqs)] for n, reqs in self.requires.items()]

    @classmethod
    def from_json(cls, data: list[list[Any]]) -> Graph:
        return cls({parse_key(n): {parse_key(r) for r in reqs} for n, reqs in data})
