"""The convergence template cache parses once however many checks ask at once."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from engines.convergence.template_cache import TemplateCache, key
from engines.core.template import parse

WAIT = 10  # seconds; only a deadlocked cache gets near it


def _template(size: int):
    return parse({"heat_template_version": "2015-04-30",
                  "resources": {f"R{i}": {"type": "OS::Heat::TestResource"}
                                for i in range(size)}}, {}, {})


def test_threads_that_ask_at_once_share_one_parse():
    cache, parses, asking = TemplateCache(), [], threading.Semaphore(0)

    def slow_parse():
        parses.append(1)
        # the parse lasts until every asker has asked: a cache that let a second asker
        # parse too would count it here
        for _ in range(8):
            assert asking.acquire(timeout=WAIT)
        return _template(3)

    def ask(_: int):
        asking.release()
        return cache.get(key("t1", 1, {}), slow_parse)

    with ThreadPoolExecutor(8) as pool:
        templates = [f.result(timeout=WAIT) for f in [pool.submit(ask, i) for i in range(8)]]
    assert len(parses) == 1
    assert all(t is templates[0] for t in templates)


def test_a_failed_parse_is_not_kept_and_a_waiter_parses_again():
    cache = TemplateCache()
    with pytest.raises(RuntimeError):
        cache.get(key("t1", 1, {}), lambda: (_ for _ in ()).throw(RuntimeError("db gone")))
    template = _template(1)
    assert cache.get(key("t1", 1, {}), lambda: template) is template


def test_keys_part_traversals_and_parameters():
    assert key("t1", 1, {"a": 1, "b": 2}) == key("t1", 1, {"b": 2, "a": 1})
    assert key("t1", 1, {}) == key("t1", 1, None)
    assert key("t1", 1, {}) != key("t2", 1, {})  # a template id may be given again
    assert key("t1", 1, {"a": 1}) != key("t1", 1, {"a": 2})


def test_the_budget_counts_resources_and_keeps_the_newest():
    cache = TemplateCache(budget=10)
    small, big = _template(4), _template(20)
    cache.get(key("a", 1, {}), lambda: small)
    cache.get(key("b", 2, {}), lambda: small)
    assert cache.peek(key("a", 1, {})) is small
    cache.get(key("c", 3, {}), lambda: big)  # over budget on its own: it alone stays
    assert cache.peek(key("a", 1, {})) is None and cache.peek(key("b", 2, {})) is None
    assert cache.peek(key("c", 3, {})) is big
    cache.get(key("d", 4, {}), lambda: small)
    assert cache.peek(key("c", 3, {})) is None and cache.peek(key("d", 4, {})) is small
