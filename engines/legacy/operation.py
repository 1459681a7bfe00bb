"""A running legacy operation: the thread that holds the stack lock, and how it is told to
stop (a user delete or rollback, its timeout, or the lock taken by another engine)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from engines.core.runtime import Runtime
from engines.legacy import stack_lock


class Operation:
    def __init__(self, rt: Runtime, stack_id: str, kind: str, timeout: float | None) -> None:
        self.rt = rt
        self.stack_id = stack_id
        self.kind = kind
        self.timeout = timeout
        self.after: str | None = None  # what the user asked for next (DELETE, ROLLBACK)
        self._stop = threading.Event()
        self._deadline = time.monotonic() + timeout if timeout else None
        self._lock_checked = 0.0
        self._lock_lost = False
        self.thread: threading.Thread | None = None
        self.done = threading.Event()

    def begin(self, kind: str, timeout: float | None = None) -> None:
        """Start the next phase (e.g. the delete that follows a stopped create)."""
        self.kind = kind
        self._stop.clear()
        self._deadline = time.monotonic() + (timeout or self.timeout) if (
            timeout or self.timeout) else None

    def request(self, then: str | None) -> None:
        """Ask the running phase to stop, then do ``then`` in this same thread."""
        self.after = then
        self._stop.set()

    @property
    def stopping(self) -> bool:
        """Asked to stop already (by a cancel, rollback or delete)."""
        return self._stop.is_set()

    @property
    def timed_out(self) -> bool:
        return self._deadline is not None and time.monotonic() >= self._deadline

    @property
    def lock_lost(self) -> bool:
        now = time.monotonic()
        if not self._lock_lost and now - self._lock_checked >= self.rt.poll_interval:
            self._lock_checked = now
            self._lock_lost = not stack_lock.held_by_me(self.rt, self.stack_id)
        return self._lock_lost

    def cancelled(self) -> bool:
        return self._stop.is_set() or self.timed_out or self.lock_lost

    def run_in_thread(self, body: Callable[[Operation], None]) -> None:
        def target() -> None:
            try:
                body(self)
            finally:
                self.done.set()
        self.thread = threading.Thread(target=target, name=f"legacy-{self.kind}-{self.stack_id}",
                                       daemon=True)
        self.thread.start()
