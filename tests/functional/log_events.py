"""Waiting for what the code under test logs: a synchronisation point a test can wait on
(with a timeout) for a moment it cannot otherwise see, such as a transaction that has
begun to wait for a server."""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Iterator


class Said(logging.Handler):
    """``event`` is set once a record whose message contains ``text`` is logged, from any
    thread."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.text, self.event = text, threading.Event()

    def emit(self, record: logging.LogRecord) -> None:
        if self.text in record.getMessage():
            self.event.set()


@contextlib.contextmanager
def said(logger: str, text: str) -> Iterator[threading.Event]:
    """While inside, the event of ``text`` being logged by ``logger`` (or its children)."""
    handler = Said(text)
    logging.getLogger(logger).addHandler(handler)
    try:
        yield handler.event
    finally:
        logging.getLogger(logger).removeHandler(handler)
