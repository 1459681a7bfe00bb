"""Checks of stack resources, run beside the worker's thread pool instead of in it.

A stack resource's check waits for its nested stack's own traversal, whose checks come to
the same workers. Held in the pool, a few such waits (a group of nested stacks, or nesting
a few levels deep) would take every thread the nested traversals need, and nothing would
move again. Heat runs its checks on green threads and has no such bound; here each waiting
check gets a thread of its own, which costs nothing while it waits, and the pool stays
for the checks that do the work.

The number of these threads is bounded by the stack resources in progress at once, which
``max_resources_per_stack`` and ``max_nested_stack_depth`` bound in turn.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from engines.core.plugins.stack_resource import TemplateResource
from engines.core.registry import resolve_type
from engines.core.template import Template


def is_stack_resource(type_name: str | None) -> bool:
    """Whether a resource of ``type_name`` owns a nested stack (so its actions wait)."""
    if not type_name:
        return False
    try:
        _, plugin = resolve_type(type_name)
    except Exception:  # noqa: BLE001 - an unknown type fails in the check itself
        return False
    return issubclass(plugin, TemplateResource)


def waits_on_nested(template: Template | None, name: str) -> bool:
    defn = template.resources.get(name) if template is not None else None
    return defn is not None and issubclass(defn.plugin, TemplateResource)


class NestedWaits:
    """Threads of the checks that wait on nested stacks, joined when the worker stops."""

    def __init__(self) -> None:
        self._threads: set[threading.Thread] = set()
        self._lock = threading.Lock()

    def run(self, name: str, work: Callable[[], None]) -> None:
        def body() -> None:
            try:
                work()
            finally:
                with self._lock:
                    self._threads.discard(threading.current_thread())

        thread = threading.Thread(target=body, name=f"nested-check-{name}", daemon=True)
        with self._lock:
            self._threads.add(thread)
        thread.start()

    def running(self) -> int:
        with self._lock:
            return len(self._threads)

    def join(self, timeout: float = 30.0) -> None:
        """Wait for the checks in flight; the caller has set ``stopping``, which makes them
        give up their waits."""
        with self._lock:
            threads = list(self._threads)
        for thread in threads:
            thread.join(timeout)
