"""The dependency graph every part of the engine orders its work by: node -> the nodes it
requires. One type for a template's resources, the legacy scheduler's rows and the
convergence traversal's nodes, so "what waits for what" means the same everywhere.

Built on the standard library's ``graphlib``: a ``TopologicalSorter`` hands out the nodes
whose requirements are met (the legacy scheduler runs them as they come), ``CycleError``
names a loop (template validation reports it). Deleting goes the other way round:
``reversed()`` makes every node wait for its dependants.
"""

from __future__ import annotations

import graphlib
from collections.abc import Hashable, Iterable, Iterator, Mapping
from typing import Generic, TypeVar

N = TypeVar("N", bound=Hashable)


class Sorter(graphlib.TopologicalSorter, Generic[N]):
    """A prepared ``TopologicalSorter`` whose ready nodes come in the graph's node order
    (template order for a template): among nodes free to start, the first written goes
    first, so a run reads the same every time."""

    def __init__(self, rank: Mapping[N, int]) -> None:
        super().__init__()
        self._rank = rank

    def get_ready(self) -> tuple[N, ...]:
        return tuple(sorted(super().get_ready(), key=self._rank.__getitem__))


class Dependencies(Mapping[N, frozenset[N]], Generic[N]):
    """A read-only mapping node -> the nodes it requires, in the order nodes were given.
    A requirement on a node outside the graph counts as met (it is not part of this
    piece of work)."""

    def __init__(self, requires: Mapping[N, Iterable[N]] | None = None) -> None:
        requires = requires or {}
        self._requires: dict[N, frozenset[N]] = {
            node: frozenset(r for r in reqs if r in requires) for node, reqs in requires.items()}
        self._rank = {node: i for i, node in enumerate(self._requires)}
        self._required_by: dict[N, list[N]] = {node: [] for node in self._requires}
        for node, reqs in self._requires.items():
            for req in reqs:
                self._required_by[req].append(node)

    # -- Mapping --------------------------------------------------------------------------
    def __getitem__(self, node: N) -> frozenset[N]:
        return self._requires[node]

    def __iter__(self) -> Iterator[N]:
        return iter(self._requires)

    def __len__(self) -> int:
        return len(self._requires)

    def __repr__(self) -> str:
        return f"Dependencies({self._requires!r})"

    # -- shape ----------------------------------------------------------------------------
    def required_by(self, node: N) -> list[N]:
        """The nodes that wait for ``node``, in node order."""
        return list(self._required_by.get(node, ()))

    def leaves(self) -> list[N]:
        """Nodes that wait for nothing: where work starts."""
        return [node for node, reqs in self._requires.items() if not reqs]

    def roots(self) -> list[N]:
        """Nodes nothing waits for: the last to finish."""
        return [node for node, deps in self._required_by.items() if not deps]

    def reversed(self) -> Dependencies[N]:
        """The graph for deleting: every node waits for everything that required it."""
        return Dependencies({node: self._required_by[node] for node in self._requires})

    def without(self, node: N, requirement: N) -> Dependencies[N]:
        """The same graph without the edge ``node`` requires ``requirement``."""
        return Dependencies({n: (reqs - {requirement} if n == node else reqs)
                             for n, reqs in self._requires.items()})

    # -- order ----------------------------------------------------------------------------
    def _unprepared(self) -> Sorter[N]:
        sorter: Sorter[N] = Sorter(self._rank)
        for node in self._requires:  # every node first: ready order follows node order
            sorter.add(node)
        for node, reqs in self._requires.items():
            sorter.add(node, *reqs)
        return sorter

    def sorter(self) -> Sorter[N]:
        """A prepared sorter over the graph (``get_ready`` / ``done`` / ``is_active``).
        Raises ``graphlib.CycleError`` if the graph has a loop."""
        sorter = self._unprepared()
        sorter.prepare()
        return sorter

    def find_cycle(self) -> list[N] | None:
        """A loop, in the direction of requirement (``[a, b, a]``: a requires b, b requires
        a), or None."""
        try:
            self._unprepared().prepare()
        except graphlib.CycleError as exc:
            # graphlib lists each node before the node that requires it
            return list(reversed(exc.args[1]))
        return None
