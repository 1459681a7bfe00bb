"""Database connections: one SQLAlchemy engine per URL per process, built by oslo.db so that
MySQL sql_mode, SQLite pragmas and connection retries are those OpenStack services use."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from typing import Any

import sqlalchemy as sa
from oslo_db.sqlalchemy import engines as oslo_engines
from sqlalchemy import event
from sqlalchemy.orm import Session, sessionmaker

_ENGINES: dict[str, sa.Engine] = {}
_LOCK = threading.Lock()


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    # WAL lets the engine's threads read while one writes; busy_timeout makes writers queue
    # instead of failing with "database is locked".
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA busy_timeout=30000")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.close()


def get_engine(url: str) -> sa.Engine:
    """The process-wide engine for ``url`` (created on first use)."""
    with _LOCK:
        engine = _ENGINES.get(url)
        if engine is None:
            if url.startswith("sqlite"):
                engine = sa.create_engine(
                    url, connect_args={"check_same_thread": False, "timeout": 30}
                )
                event.listen(engine, "connect", _sqlite_pragmas)
            else:
                engine = oslo_engines.create_engine(
                    url, max_retries=3, retry_interval=1, max_pool_size=20, max_overflow=20
                )
            _ENGINES[url] = engine
        return engine


def dispose(url: str | None = None) -> None:
    """Close pooled connections (all engines, or the one for ``url``)."""
    with _LOCK:
        urls = [url] if url else list(_ENGINES)
        for u in urls:
            engine = _ENGINES.pop(u, None)
            if engine is not None:
                engine.dispose()


class Database:
    """Sessions on one database, with deadlock retry for the writes that race."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.engine = get_engine(url)
        self._sessions = sessionmaker(bind=self.engine, expire_on_commit=False)

    @contextlib.contextmanager
    def session(self) -> Iterator[Session]:
        """A transaction: committed on success, rolled back on error."""
        with self._sessions() as session, session.begin():
            yield session

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name
