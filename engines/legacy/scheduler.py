"""Runs resource actions concurrently in dependency order (the legacy task scheduler).

A node starts once everything it needs is done. After the first failure nothing new starts;
actions already running are let finish (they see cancellation themselves if the operation is
stopped), then the first real failure is raised.
"""

from __future__ import annotations

import concurrent.futures as cf
from collections.abc import Callable, Hashable, Mapping

from engines.core.errors import Cancelled, DependencyCycle


class DependencyScheduler:
    def __init__(self, threads: int) -> None:
        self.threads = threads

    def run(self, needs: Mapping[Hashable, set[Hashable]],
            act: Callable[[Hashable], None]) -> None:
        """Call ``act(node)`` for every node of ``needs`` (node -> nodes it waits for)."""
        waiting = {node: set(deps) & set(needs) for node, deps in needs.items()}
        done: set[Hashable] = set()
        errors: list[BaseException] = []
        with cf.ThreadPoolExecutor(max_workers=self.threads,
                                   thread_name_prefix="legacy-task") as pool:
            running: dict[cf.Future, Hashable] = {}

            def launch() -> None:
                if errors:
                    return
                for node in [n for n, deps in waiting.items() if deps <= done]:
                    del waiting[node]
                    running[pool.submit(act, node)] = node

            launch()
            if waiting and not running:
                raise DependencyCycle("", f"cannot order {sorted(map(str, waiting))}")
            while running:
                finished, _ = cf.wait(running, return_when=cf.FIRST_COMPLETED)
                for future in finished:
                    node = running.pop(future)
                    exc = future.exception()
                    if exc is not None:
                        errors.append(exc)
                    else:
                        done.add(node)
                launch()
        if errors:
            # a real failure explains more than the cancellations it caused
            real = [e for e in errors if not isinstance(e, Cancelled)]
            raise (real or errors)[0]


def reverse(needs: Mapping[Hashable, set[Hashable]]) -> dict[Hashable, set[Hashable]]:
    """The graph for deleting: a node waits for everything that needed it."""
    result: dict[Hashable, set[Hashable]] = {node: set() for node in needs}
    for node, deps in needs.items():
        for dep in deps:
            if dep in result:
                result[dep].add(node)
    return result
