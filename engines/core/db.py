"""Database connections: one SQLAlchemy engine per URL per process, built by oslo.db so that
MySQL sql_mode, SQLite pragmas, connection retries and the translation of driver errors
(a deadlock becomes ``DBDeadlock``, a duplicate key ``DBDuplicateEntry``) are those OpenStack
services use; and the retry policy for the writes that race."""

from __future__ import annotations

import contextlib
import re
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, TypeVar

import sqlalchemy as sa
import sqlalchemy.exc as sa_exc
from oslo_db import api as oslo_db_api
from oslo_db import exception as db_exc
from oslo_db.sqlalchemy import engines as oslo_engines
from oslo_db.sqlalchemy import exc_filters
from oslo_log import log as logging
from sqlalchemy import event
from sqlalchemy.orm import Session, sessionmaker

from engines.core import waiting
from engines.core.errors import EngineOverloaded

LOG = logging.getLogger(__name__)

_ENGINES: dict[tuple[str, str], sa.Engine] = {}
_LOCK = threading.Lock()
_ROLE = threading.local()  # which pool this thread's statements take a connection from

API, BACKGROUND = "api", "background"


@dataclass(frozen=True)
class PoolBudget:
    """Connections one process may hold to a database, per pool: ``[database]
    max_pool_size`` kept open, ``max_overflow`` more when busy, ``pool_timeout`` seconds
    an API call waits for one before the engine answers EngineOverloaded. The engine's
    own work (convergence workers, legacy operations, heartbeats) has a pool of the same
    size of its own and waits as long as it takes, so neither can starve the other."""

    size: int = 5
    overflow: int = 10
    timeout: float = 30.0
    reconnect_timeout: float = 120.0  # [database] reconnect_timeout

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
    # instead of failing with "database is locked". WAL is a property of the file, set
    # once, so it is asked only of a file not in WAL yet; a look that meets a lock the
    # busy timeout does not wait for is made again (a worker process died at start so).
    cur.execute("PRAGMA busy_timeout=30000")

    def in_wal() -> bool:
        try:
            mode = str(cur.execute("PRAGMA journal_mode").fetchone()[0]).lower()
            if mode not in ("wal", "memory"):
                cur.execute("PRAGMA journal_mode=WAL")
            return True
        except sqlite3.OperationalError as exc:
            # the busy timeout does not cover every lock a first look at a file may meet
            # (another process's switch, or its last connection's closing checkpoint)
            if "locked" not in str(exc):
                raise
            return False

    waiting.wait_until(in_wal, timeout=30, interval=0.01, backoff=2, max_interval=0.5,
                       what="the SQLite file to be in WAL mode")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.close()


_WRITERS: dict[str, threading.RLock] = {}  # SQLite file -> its writers in this process
_DML = ("INSERT", "UPDATE", "DELETE", "REPLACE")


def _info(connection: Any) -> dict[str, Any]:
    """The pool's info of a connection the dialect is handed; the engine's first connect
    hands it one that has none (and was never written on)."""
    try:
        return connection.info
    except (AttributeError, NotImplementedError):
        return {}


def _queue_writers(engine: sa.Engine, url: str) -> None:
    """SQLite lets one transaction write at a time; a writer that finds the file locked
    sleeps in the driver's busy handler (1, 2, 5 ... 100 ms) and tries again, so under
    contention ready work waits for sleeps rather than for the writer before it. Writers
    of this process queue on a lock instead, taken at a transaction's first write (when
    the driver opens it) and given back once the database has ended it: after the
    driver's commit or rollback, not at SQLAlchemy's commit event, which comes before
    them and let the next writer meet the file still locked (and sleep in the busy
    handler). Other processes still meet busy_timeout. Re-entrant: a second connection of
    the same thread passes, and meets the database's own lock as before."""
    lock = _WRITERS.setdefault(url, threading.RLock())

    def before_execute(conn: sa.Connection, cursor: Any, statement: str, *args: Any) -> None:
        if conn.info.get("writing") or not statement.lstrip()[:7].upper().startswith(_DML):
            return
        lock.acquire()
        conn.info["writing"] = True

    def ending(end: Callable[[Any], None]) -> Callable[[Any], None]:
        # the dialect is this engine's own: its pool's reset on check-in comes here too
        def then_release(dbapi_connection: Any) -> None:
            try:
                end(dbapi_connection)
            finally:
                if _info(dbapi_connection).pop("writing", False):
                    lock.release()
        return then_release

    event.listen(engine, "before_cursor_execute", before_execute)
    engine.dialect.do_commit = ending(engine.dialect.do_commit)  # type: ignore[method-assign]
    engine.dialect.do_rollback = ending(engine.dialect.do_rollback)  # type: ignore[method-assign]


def _create_engine(url: str, budget: PoolBudget, role: str) -> sa.Engine:
    # the engine's own work never gives up waiting for a connection: it is bounded by
    # its threads, and failing it would fail stacks for a busy API
    timeout = budget.timeout if role == API else 24 * 3600.0
    if not url.startswith("sqlite"):
        return oslo_engines.create_engine(
            url, max_retries=3, retry_interval=1, max_pool_size=budget.size,
            max_overflow=budget.overflow, pool_timeout=timeout)
    # Not oslo.db's create_engine on SQLite: it makes every transaction open with a
    # deferred BEGIN, so a transaction that read before it writes fails at once ("database
    # is locked", busy_timeout does not apply) when another thread wrote in between. The
    # driver's own transactions start at the first write and queue behind busy_timeout.
    pool: dict[str, Any] = {}
    if ":memory:" not in url and url not in ("sqlite://", "sqlite:///"):
        pool = dict(pool_size=budget.size, max_overflow=budget.overflow,
                    pool_timeout=timeout)
    engine = sa.create_engine(url, connect_args={"check_same_thread": False, "timeout": 30},
                              **pool)
    event.listen(engine, "connect", _sqlite_pragmas)
    _queue_writers(engine, url)
    # ... but errors are translated as on the servers, so that callers catch one set
    exc_filters.register_engine(engine)
    return engine


def get_engine(url: str, budget: PoolBudget | None = None, role: str = BACKGROUND
               ) -> sa.Engine:
    """The process-wide engine for ``url`` and ``role`` (created on first use, with the
    first budget asked for)."""
    with _LOCK:
        engine = _ENGINES.get((url, role))
        if engine is None:
            engine = _ENGINES[(url, role)] = _create_engine(url, budget or PoolBudget(), role)
        return engine


def dispose(url: str | None = None) -> None:
    """Close pooled connections (all engines, or those for ``url``)."""
    with _LOCK:
        keys = [k for k in _ENGINES if url is None or k[0] == url]
        for k in keys:
            _ENGINES.pop(k).dispose()


@contextlib.contextmanager
def serving_api() -> Iterator[None]:
    """Statements this thread runs meanwhile take their connections from the API's pool
    (a service call), whose wait is bounded: past it, EngineOverloaded."""
    before = getattr(_ROLE, "name", BACKGROUND)
    _ROLE.name = API
    try:
        yield
    finally:
        _ROLE.name = before


@contextlib.contextmanager
def serving_engine() -> Iterator[None]:
    """The opposite of serving_api, for the engine's own clean-up inside an API call."""
    before = getattr(_ROLE, "name", BACKGROUND)
    _ROLE.name = BACKGROUND
    try:
        yield
    finally:
        _ROLE.name = before


@contextlib.contextmanager
def _overload_as_ours() -> Iterator[None]:
    try:
        yield
    except sa_exc.TimeoutError as exc:  # the pool's: no connection within pool_timeout
        raise EngineOverloaded(
            "the engine is overloaded: no database connection was free in time; "
            "nothing was changed, try again") from exc


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


# What a server that is not there (stopped, restarting, failing over) answers, as the
# drivers word it. oslo.db's filters know libpq's older "could not connect to server" but
# not libpq 14+'s "connection to server at ... failed", and a refused first connection
# is no disconnect to SQLAlchemy: both would fail at once what a wait would let through.
_UNREACHABLE = re.compile(
    r"connection to server|could not connect|connection refused|the database system is "
    r"(shutting down|starting up|in recovery)|terminating connection|server closed the "
    r"connection|no connection to the server|connection already closed|SSL SYSCALL",
    re.IGNORECASE)
# MySQL/MariaDB client errors: can't connect (2002, 2003), gone away (2006), lost (2013),
# server shutdown in progress (1053)
_MYSQL_UNREACHABLE = {1053, 2002, 2003, 2006, 2013}


def is_connection_error(exc: BaseException) -> bool:
    """The server could not be reached, or the connection to it was lost: nothing of the
    transaction was kept, and a wait for the server lets it run again."""
    if isinstance(exc, db_exc.DBConnectionError):
        return True
    if isinstance(exc, db_exc.DBError) and exc.inner_exception is not None:
        exc = exc.inner_exception
    if not isinstance(exc, sa_exc.DBAPIError):
        return False
    if exc.connection_invalidated:
        return True
    orig = exc.orig
    if orig is not None and orig.args and orig.args[0] in _MYSQL_UNREACHABLE:
        return True
    return isinstance(exc, (sa_exc.OperationalError, sa_exc.InterfaceError)) and \
        bool(_UNREACHABLE.search(str(orig)))


def _retryable(exc: BaseException) -> bool:
    # a connection lost mid-transaction (a restarted server) rolled it back: run it
    # again, once the next checkout has waited for the server to come back
    return isinstance(exc, LostRace) or is_connection_error(exc) or \
        is_serialization_failure(exc)


# Backoff of a checkout while the server does not answer: short at first (a pooled
# connection a restart broke is replaced at once), then every RECONNECT_MAX_PAUSE.
RECONNECT_FIRST_PAUSE = 0.05
RECONNECT_MAX_PAUSE = 1.0


def connect(engine: sa.Engine, wait: float) -> sa.Connection:
    """A connection of ``engine``, waiting up to ``wait`` seconds for a server that does
    not answer (DBConnectionError: refused, reset, "terminating connection due to
    administrator command") to answer again; then its last error is raised. A checkout
    is where a restart meets a transaction that had not begun: waiting there lets it run
    once the server is back instead of failing the operation it belongs to."""
    waited: list[BaseException] = []

    def note(exc: BaseException) -> None:
        if not waited:
            LOG.warning("database %s does not answer (%s); waiting up to %.0fs for it",
                        engine.url.render_as_string(hide_password=True), exc, wait)
        waited[:] = [exc]

    connection = waiting.keep_trying(engine.connect, is_connection_error, timeout=wait,
                                     interval=RECONNECT_FIRST_PAUSE,
                                     max_interval=RECONNECT_MAX_PAUSE, on_retry=note)
    if waited:
        _ANSWERED_AGAIN[engine.url.render_as_string(hide_password=False)] = time.monotonic()
        LOG.warning("database %s answers again",
                    engine.url.render_as_string(hide_password=True))
    return connection


_ANSWERED_AGAIN: dict[str, float] = {}  # URL -> when a checkout last waited for it, ended


def answered_again_within(url: str, seconds: float) -> bool:
    """This process waited for the server of ``url`` to answer again less than
    ``seconds`` ago: an outage every process saw, during which no heartbeat could be
    written."""
    at = _ANSWERED_AGAIN.get(sa.engine.make_url(url).render_as_string(hide_password=False))
    return at is not None and time.monotonic() - at < seconds


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

    def __init__(self, url: str, budget: PoolBudget | None = None) -> None:
        self.url = url
        self.budget = budget or PoolBudget()
        self.engine = get_engine(url, self.budget)  # the engine's own work
        self._sessions = sessionmaker(bind=self.engine, expire_on_commit=False)
        self._api: tuple[sa.Engine, sessionmaker] | None = None

    def _api_pool(self) -> tuple[sa.Engine, sessionmaker]:
        if self._api is None:
            # an in-memory database is one connection's own: one engine, shared
            memory = ":memory:" in self.url or self.url in ("sqlite://", "sqlite:///")
            engine = self.engine if memory else get_engine(self.url, self.budget, API)
            self._api = (engine, sessionmaker(bind=engine, expire_on_commit=False))
        return self._api

    def _current(self) -> tuple[sa.Engine, sessionmaker]:
        if getattr(_ROLE, "name", BACKGROUND) == API:
            return self._api_pool()
        return self.engine, self._sessions

    @contextlib.contextmanager
    def session(self) -> Iterator[Session]:
        """A transaction: committed on success, rolled back on error."""
        engine, sessions = self._current()
        with _overload_as_ours(), connect(engine, self.budget.reconnect_timeout) as conn, \
                sessions(bind=conn) as session, session.begin():
            yield session

    @contextlib.contextmanager
    def connection(self) -> Iterator[sa.Connection]:
        """A transaction on a plain connection, for statements on tables that need no ORM
        objects: what the convergence path runs for every node costs far less this way
        than through a Session (no unit of work, no identity map)."""
        engine = self._current()[0]
        with _overload_as_ours(), connect(engine, self.budget.reconnect_timeout) as conn, \
                conn.begin():
            yield conn
