"""Waiting for a condition another thread or process brings about: the one poll loop of the
engine, with a deadline, a pause between looks that may grow, and a timeout that says what
was awaited."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import TypeVar

from engines.core.errors import WaitTimeout

T = TypeVar("T")


def wait_until(predicate: Callable[[], T], *, timeout: float | None, interval: float,
               what: str, backoff: float = 1.0, max_interval: float | None = None) -> T:
    """Call ``predicate`` until it returns something truthy, and return that.

    Between two calls the pause is ``interval``, multiplied by ``backoff`` after each call
    up to ``max_interval``. ``timeout`` None waits for ever; otherwise WaitTimeout names
    ``what`` once the deadline has passed (the predicate is asked once more at the
    deadline, so a condition that holds by then is never reported as timed out). What the
    predicate raises ends the wait.
    """
    if interval <= 0 or backoff < 1:
        raise ValueError("wait_until needs interval > 0 and backoff >= 1")
    deadline = None if timeout is None else time.monotonic() + timeout
    pause = threading.Event()  # never set: only its timed wait is used
    while True:
        result = predicate()
        if result:
            return result
        if deadline is not None:
            left = deadline - time.monotonic()
            if left <= 0:
                raise WaitTimeout(f"timed out after {timeout}s waiting for {what}")
        else:
            left = interval
        pause.wait(min(interval, left))
        interval *= backoff
        if max_interval is not None:
            interval = min(interval, max_interval)


def keep_trying(action: Callable[[], T], retryable: Callable[[BaseException], bool], *,
                timeout: float, interval: float, max_interval: float,
                on_retry: Callable[[BaseException], None] | None = None) -> T:
    """Call ``action`` until it returns without an error ``retryable`` accepts, with the
    pauses of :func:`wait_until` (doubling up to ``max_interval``), and return what it
    returned. Past ``timeout`` the last such error is raised as it was; ``on_retry`` sees
    each one before its pause."""
    last: list[BaseException] = []
    done: list[T] = []

    def attempt() -> bool:
        try:
            done.append(action())
            return True
        except Exception as exc:
            if not retryable(exc):
                raise
            if on_retry is not None:
                on_retry(exc)
            last[:] = [exc]
            return False

    try:
        wait_until(attempt, timeout=timeout, interval=interval, what="a retried call",
                   backoff=2.0, max_interval=max_interval)
    except WaitTimeout:
        raise last[0] from None
    return done[0]
