"""The traversal graph: (resource, is_update) nodes and what each waits for.

Update nodes follow the template's dependencies. Clean-up nodes (delete what the template
dropped, and old copies left by replacements) run after every update node, so that a
failure during the update phase always finds the old copies still there for a rollback to
bring back; among themselves they run in reverse dependency order.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

Node = tuple[str, bool]  # (resource name, is_update)
STACK = ("", True)  # the stack's own node: it completes the traversal


def key(node: Node) -> str:
    return f"{node[0]}:{'update' if node[1] else 'cleanup'}"


def parse_key(text: str) -> Node:
    name, kind = text.rsplit(":", 1)
    return (name, kind == "update")


@dataclass
class Graph:
    requires: dict[Node, set[Node]] = field(default_factory=dict)

    @classmethod
    def build(cls, template_deps: Mapping[str, Iterable[str]],
              existing: Mapping[str, Iterable[str]]) -> Graph:
        """``template_deps``: name -> names it requires in the target template.
        ``existing``: name -> names its stored rows required, for every name with rows."""
        graph = cls()
        updates = [(name, True) for name in template_deps]
        for name, deps in template_deps.items():
            graph.requires[(name, True)] = {(d, True) for d in deps if d in template_deps}
        for name in existing:
            graph.requires[(name, False)] = set(updates)
        for name, deps in existing.items():
            for dep in deps:
                if dep in existing and dep != name:
                    # the dependency's clean-up waits for its old dependant's
                    graph.requires[(dep, False)].add((name, False))
        return graph

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
