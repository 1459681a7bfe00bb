"""Runs resource actions concurrently in dependency order (the legacy task scheduler).

A node starts once everything it needs is done. After the first failure nothing new starts;
actions already running are let finish (they see cancellation themselves if the operation is
stopped), then the first real failure is raised.
"""

from __future__ import annotations

import concurrent.futures as cf
import graphlib
from collections.abc import Callable, Hashable

from engines.core.dependencies import Dependencies
from engines.core.errors import Cancelled, DependencyCycle


class DependencyScheduler:
    def __init__(self, threads: int) -> None:
        self.threads = threads

    def run(self, deps: Dependencies, act: Callable[[Hashable], None]) -> None:
        """Call ``act(node)`` for every node of ``deps``, each after the nodes it requires."""
        try:
            sorter = deps.sorter()
        except graphlib.CycleError as exc:
            raise DependencyCycle("", f"cannot order {sorted(map(str, exc.args[1]))}") from exc
        errors: list[BaseException] = []
        with cf.ThreadPoolExecutor(max_workers=self.threads,
                                   thread_name_prefix="legacy-task") as pool:
            running: dict[cf.Future, Hashable] = {}

            def launch() -> None:
                if not errors:
                    for node in sorter.get_ready():
                        running[pool.submit(act, node)] = node

            launch()
            while running:
                finished, _ = cf.wait(running, return_when=cf.FIRST_COMPLETED)
                for future in finished:
                    node = running.pop(future)
                    exc = future.exception()
                    if exc is not None:
                        errors.append(exc)
                    else:
                        sorter.done(node)
                launch()
        if errors:
            # a real failure explains more than the cancellations it caused
            real = [e for e in errors if not isinstance(e, Cancelled)]
            raise (real or errors)[0]
