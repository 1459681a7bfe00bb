"""The engine's one poll loop, on a fake clock: what it returns, when it gives up and how
its pauses grow. No real time passes."""

from __future__ import annotations

from collections.abc import Callable
from types import SimpleNamespace

import pytest

from engines.core import waiting
from engines.core.errors import WaitTimeout


class Clock:
    """time.monotonic and threading.Event for waiting.py; a pause advances the clock."""

    def __init__(self) -> None:
        self.now = 0.0
        self.pauses: list[float] = []

    def install(self, monkeypatch: pytest.MonkeyPatch) -> None:
        clock = self

        class Event:
            def wait(self, seconds: float) -> bool:
                clock.pauses.append(round(seconds, 6))
                clock.now += seconds
                return False

        monkeypatch.setattr(waiting, "time", SimpleNamespace(monotonic=lambda: self.now))
        monkeypatch.setattr(waiting, "threading", SimpleNamespace(Event=Event))


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    fake = Clock()
    fake.install(monkeypatch)
    return fake


def answers(*values: object) -> Callable[[], object]:
    """A predicate giving ``values`` in turn (and the last one for ever after)."""
    queue = list(values)
    return lambda: queue.pop(0) if len(queue) > 1 else queue[0]


def test_it_returns_what_the_predicate_returned_once_it_holds(clock):
    assert waiting.wait_until(answers(None, 0, "there"), timeout=10, interval=0.5,
                              what="x") == "there"
    assert clock.pauses == [0.5, 0.5]


def test_it_times_out_naming_what_it_waited_for(clock):
    with pytest.raises(WaitTimeout, match=r"timed out after 1\.0s waiting for the moon"):
        waiting.wait_until(answers(False), timeout=1.0, interval=0.4, what="the moon")
    # the last pause ends at the deadline, where the predicate is asked once more
    assert clock.pauses == [0.4, 0.4, 0.2]


def test_a_condition_that_holds_at_the_deadline_is_not_a_timeout(clock):
    assert waiting.wait_until(answers(False, False, False, "just in time"), timeout=1.0,
                              interval=0.4, what="x") == "just in time"


def test_pauses_grow_by_the_backoff_up_to_the_cap(clock):
    waiting.wait_until(answers(*[False] * 6, True), timeout=None, interval=0.1, backoff=2,
                       max_interval=0.5, what="x")
    assert clock.pauses == [0.1, 0.2, 0.4, 0.5, 0.5, 0.5]


def test_without_a_timeout_it_waits_as_long_as_it_takes(clock):
    waiting.wait_until(answers(*[False] * 1000, True), timeout=None, interval=1, what="x")
    assert len(clock.pauses) == 1000


def test_what_the_predicate_raises_ends_the_wait(clock):
    def broken() -> bool:
        raise LookupError("gone")

    with pytest.raises(LookupError):
        waiting.wait_until(broken, timeout=None, interval=1, what="x")
    assert clock.pauses == []


@pytest.mark.parametrize("interval, backoff", [(0, 1), (-1, 1), (1, 0.5)])
def test_a_pause_that_cannot_end_or_shrinks_is_refused(interval, backoff):
    with pytest.raises(ValueError):
        waiting.wait_until(lambda: True, timeout=1, interval=interval, backoff=backoff,
                           what="x")


def test_keep_trying_retries_what_it_is_told_to_and_raises_the_last_error_at_the_deadline():
    calls: list[int] = []

    def flaky() -> str:
        calls.append(1)
        if len(calls) < 3:
            raise ConnectionError(f"try {len(calls)}")
        return "done"

    seen: list[str] = []
    assert waiting.keep_trying(flaky, lambda e: isinstance(e, ConnectionError), timeout=5,
                       interval=0.001, max_interval=0.002,
                       on_retry=lambda e: seen.append(str(e))) == "done"
    assert seen == ["try 1", "try 2"]

    def never() -> None:
        raise ConnectionError("still down")

    with pytest.raises(ConnectionError, match="still down"):
        waiting.keep_trying(never, lambda e: isinstance(e, ConnectionError), timeout=0.01,
                    interval=0.001, max_interval=0.002)
    with pytest.raises(ValueError):  # not retryable: raised at once
        waiting.keep_trying(lambda: int("x"), lambda e: isinstance(e, ConnectionError), timeout=5,
                    interval=0.001, max_interval=0.002)
