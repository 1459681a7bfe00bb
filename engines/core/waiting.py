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
