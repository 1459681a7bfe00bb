"""The connection budget: [database] pool options size each pool; an API call that finds
no connection free within pool_timeout gets EngineOverloaded (not the pool's TimeoutError),
while the engine's own work has a pool of its own that API calls cannot drain."""

from __future__ import annotations

import threading

import pytest
import sqlalchemy as sa

from engines.core import config, db
from engines.core.errors import EngineOverloaded


@pytest.fixture
def database(tmp_path):
    url = f"sqlite:///{tmp_path}/pool.sqlite"
    yield db.Database(url, db.PoolBudget(size=1, overflow=0, timeout=0.2))
    db.dispose(url)


def test_pool_options_come_from_the_configuration():
    conf = config.new_conf(**{"database.max_pool_size": 3, "database.max_overflow": 4,
                              "database.pool_timeout": 7})
    assert config.pool_budget(conf) == db.PoolBudget(size=3, overflow=4, timeout=7.0)


def test_an_api_call_finding_no_connection_gets_engine_overloaded(database):
    held, done = threading.Event(), threading.Event()

    def hold() -> None:
        with db.serving_api(), database.connection():
            held.set()
            done.wait(10)

    holder = threading.Thread(target=hold)
    holder.start()
    try:
        assert held.wait(10)
        with db.serving_api(), pytest.raises(EngineOverloaded):
            with database.session() as session:
                session.execute(sa.text("select 1"))
        # the engine's own work is not starved by the API's
        with database.connection() as conn:
            assert conn.exec_driver_sql("select 1").scalar() == 1
    finally:
        done.set()
        holder.join(10)
    with db.serving_api(), database.connection() as conn:  # free again
        assert conn.exec_driver_sql("select 1").scalar() == 1


def test_sqlite_writers_queue_until_the_commit_is_done(tmp_path, monkeypatch):
    # the next writer of this process must not meet the file still locked by a commit in
    # progress (it would sleep in the driver's busy handler): the queue is held through
    # the driver's commit and given back right after it
    from sqlalchemy.dialects.sqlite.pysqlite import SQLiteDialect_pysqlite

    url = f"sqlite:///{tmp_path}/q.sqlite"
    held_during_commit = []
    original = SQLiteDialect_pysqlite.do_commit

    def commit(self, dbapi_connection):
        held_during_commit.append(db._WRITERS[url]._is_owned())
        original(self, dbapi_connection)

    monkeypatch.setattr(SQLiteDialect_pysqlite, "do_commit", commit)
    engine = db.get_engine(url)
    try:
        with engine.begin() as conn:
            conn.execute(sa.text("CREATE TABLE t (x INTEGER)"))  # schema changes do not queue
        with engine.begin() as conn:
            conn.execute(sa.text("SELECT 1")).all()  # nor do readers
        with engine.begin() as conn:
            conn.execute(sa.text("INSERT INTO t VALUES (1)"))
        assert held_during_commit == [False, False, True]
        assert not db._WRITERS[url]._is_owned()
    finally:
        db.dispose(url)


class _LockedAtFirst:
    """A DBAPI connection whose first look at the journal mode meets a lock the busy
    timeout does not wait for, as a worker process's first connection met another
    process's closing checkpoint."""

    def __init__(self, mode: str, locked_looks: int) -> None:
        self.mode, self.locked_looks, self.statements = mode, locked_looks, []

    def cursor(self) -> _LockedAtFirst:
        return self

    def execute(self, statement: str) -> _LockedAtFirst:
        import sqlite3
        self.statements.append(statement)
        if statement.startswith("PRAGMA journal_mode") and self.locked_looks:
            self.locked_looks -= 1
            raise sqlite3.OperationalError("database is locked")
        if statement == "PRAGMA journal_mode=WAL":
            self.mode = "wal"
        return self

    def fetchone(self) -> tuple[str]:
        return (self.mode,)

    def close(self) -> None:
        pass


def test_a_connection_that_meets_a_lock_at_its_first_look_looks_again():
    conn = _LockedAtFirst("wal", locked_looks=2)
    db._sqlite_pragmas(conn, None)
    assert conn.statements.count("PRAGMA journal_mode") == 3
    assert "PRAGMA journal_mode=WAL" not in conn.statements  # a WAL file is not switched


def test_a_file_not_in_wal_is_switched_once():
    conn = _LockedAtFirst("delete", locked_looks=0)
    db._sqlite_pragmas(conn, None)
    assert conn.statements.count("PRAGMA journal_mode=WAL") == 1 and conn.mode == "wal"
