"""Database connections: one SQLAlchemy engine per URL per process, built by oslo.db so that
MySQL sql_mode, SQLite pragmas, connection retries and the translation of driver errors
(a deadlock becomes ``DBDeadlock``, a duplicate key ``DBDuplicateEntry``) are those OpenStack
services use; and the retry policy for the writes that race."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

import sqlalchemy as sa
from oslo_db import api as oslo_db_api
from oslo_db.sqlalchemy import engines as oslo_engines
from oslo_db.sqlalchemy import exc_filters
from sqlalchemy import event
from sqlalchemy.orm import Session, sessionmaker

_ENGINES: dict[str, sa.Engine] = {}
_LOCK = threading.Lock()

F = TypeVar("F", bound=Callable[..., Any])

# Backoff of a retried transaction: the first retry after RETRY_INTERVAL, each later one
# after a random pause up to twice the previous bound (jitter, so that the writers that
# collided do not collide again in step), never more than MAX_RETRY_INTERVAL. Rivals on one
# row are a few workers finishing at the same moment: they are gone within milliseconds.
RETRY_INTERVAL = 0.01
MAX_RETRY_INTERVAL = 0.5
MAX_RETRIES = 10


class LostRace(Exception):  # noqa: N818 - a retry signal, like oslo.db's RetryRequest
    """A compare-and-swap found its row changed since it was read: read again, try again."""


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    # WAL lets the engine's threads read while one writes; busy_timeout makes writers queue
    # instead of failing with "database is locked".
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA busy_timeout=30000")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.close()


def _create_engine(url: str) -> sa.Engine:
    if not url.startswith("sqlite"):
        return oslo_engines.create_engine(
            url, max_retries=3, retry_interval=1, max_pool_size=20, max_overflow=20)
    # Not oslo.db's create_engine on SQLite: it makes every transaction open with a
    # deferred BEGIN, so a transaction that read before it writes fails at once ("database
    # is locked", busy_timeout does not apply) when another thread wrote in between. The
    # driver's own transactions start at the first write and queue behind busy_timeout.
    engine = sa.create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})
    event.listen(engine, "connect", _sqlite_pragmas)
    # ... but errors are translated as on the servers, so that callers catch one set
    exc_filters.register_engine(engine)
    return engine


def get_engine(url: str) -> sa.Engine:
    """The process-wide engine for ``url`` (created on first use)."""
    with _LOCK:
        engine = _ENGINES.get(url)
        if engine is None:
            engine = _ENGINES[url] = _create_engine(url)
        return engine


def dispose(url: str | None = None) -> None:
    """Close pooled connections (all engines, or the one for ``url``)."""
    with _LOCK:
        urls = [url] if url else list(_ENGINES)
        for u in urls:
            engine = _ENGINES.pop(u, None)
            if engine is not None:
                engine.dispose()


def is_serialization_failure(exc: BaseException) -> bool:
    """A transaction the server refused because a concurrent one changed what it read:
    PostgreSQL's "could not serialize access" (SQLSTATE 40001, under REPEATABLE READ or
    SERIALIZABLE), MariaDB's "Record has changed since last read" (1020, with
    innodb_snapshot_isolation, on by default from 11.6). oslo.db maps deadlocks to
    DBDeadlock but lets these through as the driver's error. Like a deadlock, the
    transaction is sound to run again from the start."""
    orig = getattr(exc, "orig", None) or getattr(getattr(exc, "inner_exception", None),
                                                 "orig", None)
    if orig is None:
        return False
    if getattr(orig, "pgcode", None) == "40001":
        return True
    return bool(orig.args) and orig.args[0] == 1020  # MySQL drivers: args = (errno, text)


def _retryable(exc: BaseException) -> bool:
    return isinstance(exc, LostRace) or is_serialization_failure(exc)


def retry_on_race(max_retries: int = MAX_RETRIES) -> Callable[[F], F]:
    """Run the decorated function (one whole transaction) again when it lost a race: a
    deadlock (DBDeadlock), a serialization failure, or a LostRace it raised. Jittered
    exponential backoff, at most ``max_retries`` retries; then the last error is raised."""
    return oslo_db_api.wrap_db_retry(
        max_retries=max_retries, retry_interval=RETRY_INTERVAL, inc_retry_interval=True,
        max_retry_interval=MAX_RETRY_INTERVAL, retry_on_deadlock=True,
        exception_checker=_retryable, jitter=True)


class Database:
    """Sessions on one database. Writes that race are retried by their callers, around the
    whole transaction (``retry_on_race``), never inside it."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.engine = get_engine(url)
        self._sessions = sessionmaker(bind=self.engine, expire_on_commit=False)

    @contextlib.contextmanager
    def session(self) -> Iterator[Session]:
        """A transaction: committed on success, rolled back on error."""
        with self._sessions() as session, session.begin():
            yield session

    @contextlib.contextmanager
    def connection(self) -> Iterator[sa.Connection]:
        """A transaction on a plain connection, for statements on tables that need no ORM
        objects: what the convergence path runs for every node costs far less this way
        than through a Session (no unit of work, no identity map)."""
        with self.engine.begin() as conn:
            yield conn
