"""The parsed templates of running traversals, one parse per traversal per process.

A traversal's checks all read the same template. Parsed per worker thread, the first
checks of a traversal (its leaves, as many at once as there are threads) each parsed it
at the same moment: a 10,000-resource template is 7 MB decoded and 16 MB parsed, eight
of them at once were most of a worker's peak memory. Here the first asker parses and the
others wait for its result, the traversal's start being the first asker in the process
that starts it.

Entries are keyed by traversal as well as by template id: a template row freed by one
operation may give its id to the next one's (SQLite hands out the highest id again), and
a traversal id is never reused. The cache is bounded by the resources it holds, not by
entries, so that many small stacks share it as well as one big one does."""

from __future__ import annotations

import json
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field

from engines.core.template import Template

# about 16 MB per 10,000 resources parsed: two stacks of the largest size a test runs
CACHED_RESOURCES = 25_000

Key = tuple[str, int | None, str]  # traversal, template id, parameters as sorted JSON


def key(traversal_id: str, template_id: int | None, parameters: dict | None) -> Key:
    return traversal_id, template_id, json.dumps(parameters or {}, sort_keys=True)


@dataclass
class _Entry:
    ready: threading.Event = field(default_factory=threading.Event)
    template: Template | None = None
    failed: bool = False


def _weight(template: Template | None) -> int:
    return 1 + (len(template.resources) if template is not None else 0)


class TemplateCache:
    def __init__(self, budget: int = CACHED_RESOURCES) -> None:
        self.budget = budget
        self._entries: OrderedDict[Key, _Entry] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: Key, parse: Callable[[], Template | None]) -> Template | None:
        """The template of ``key``, parsed by ``parse`` once however many threads ask at
        once. A parse that raises is not cached: its waiters ask again, and one of them
        parses (the error was the asker's, a lost connection, say, not the template's)."""
        while True:
            with self._lock:
                entry = self._entries.get(key)
                owner = entry is None
                if owner:
                    entry = self._entries[key] = _Entry()
                else:
                    self._entries.move_to_end(key)
            if owner:
                return self._fill(key, entry, parse)
            entry.ready.wait()  # bounded by one parse: the owner always sets it
            if not entry.failed:
                return entry.template

    def peek(self, key: Key) -> Template | None:
        """The template of ``key`` if it is parsed already; None otherwise."""
        with self._lock:
            entry = self._entries.get(key)
        return entry.template if entry is not None and entry.ready.is_set() else None

    def _fill(self, key: Key, entry: _Entry, parse: Callable[[], Template | None]
              ) -> Template | None:
        try:
            entry.template = parse()
        except BaseException:
            entry.failed = True
            with self._lock:
                if self._entries.get(key) is entry:
                    del self._entries[key]
            raise
        finally:
            entry.ready.set()
        with self._lock:
            self._evict()
        return entry.template

    def _evict(self) -> None:
        """Oldest first, until what is parsed fits; the newest entry always stays."""
        held = sum(_weight(e.template) for e in self._entries.values() if e.ready.is_set())
        for key in list(self._entries):
            if held <= self.budget or len(self._entries) <= 1:
                return
            entry = self._entries[key]
            if entry.ready.is_set():
                held -= _weight(entry.template)
                del self._entries[key]


TEMPLATES = TemplateCache()
