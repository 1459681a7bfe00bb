"""The simulated cloud's schema is made once, where a database is prepared, never raced.

An engine and its worker processes start on one database at the same moment. When each of
them created the cloud's tables that were missing, two could find a table missing and both
create it; on PostgreSQL and MariaDB the loser's "already exists" came wrapped by oslo.db,
and the worker died at start. Now preparing a database (``dualpath db upgrade``,
``migrations.api.upgrade``, which the harness's template databases go through) makes the
cloud's tables, serialised against any other preparer, and a process starting on a server
database only checks that they are there. The embedded SQLite database still gets them on
first use, in one write transaction, so a clone with nothing installed just works.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

from engines.core import db as engine_db
from engines.core import reality
from migrations import api

SERVERS = [
    pytest.param("postgresql", marks=pytest.mark.postgresql),
    pytest.param("mysql", marks=pytest.mark.mysql),
]
CLOUD_TABLES = {t.name for t in reality.metadata.sorted_tables}
WAIT = 30.0  # seconds: generous, for a loaded machine; reaching it is a failure


@pytest.fixture
def creations() -> Iterator[list[str]]:
    """The name of every cloud table this process creates, while the test runs."""
    made: list[str] = []

    def record(table: sa.Table, connection: sa.Connection, **kw: object) -> None:
        made.append(table.name)

    for table in reality.metadata.sorted_tables:
        sa.event.listen(table, "before_create", record)
    yield made
    for table in reality.metadata.sorted_tables:
        sa.event.remove(table, "before_create", record)


def _tables(url: str) -> set[str]:
    engine = sa.create_engine(url, poolclass=NullPool)
    try:
        return set(sa.inspect(engine).get_table_names()) & CLOUD_TABLES
    finally:
        engine.dispose()


def _start(url: str) -> reality.Reality:
    """What an engine or worker process does at start: its Database, then its cloud."""
    return reality.Reality(engine_db.Database(url))


def test_sqlite_gets_the_tables_on_first_use_in_one_write_transaction(
    tmp_path, creations: list[str]
) -> None:
    url = f"sqlite:///{tmp_path / 'cloud.sqlite'}"
    rival = sa.create_engine(url, poolclass=NullPool, connect_args={"timeout": 0})
    refused: list[BaseException] = []
    tried: list[bool] = []

    # the moment this process is about to create cloud_resource, another one tries to: it
    # must find the database locked, from our check until our commit, and not get in between
    @sa.event.listens_for(reality.cloud_resource, "before_create")
    def rival_tries(table: sa.Table, connection: sa.Connection, **kw: object) -> None:
        if not tried:
            tried.append(True)
            try:
                with rival.begin() as other:
                    table.create(other)
            except sa.exc.OperationalError as exc:
                refused.append(exc)
            else:
                refused.append(AssertionError("the rival created the table in between"))

    try:
        _start(url)
    finally:
        sa.event.remove(reality.cloud_resource, "before_create", rival_tries)
        rival.dispose()
        engine_db.dispose(url)
    assert len(refused) == 1 and "locked" in str(refused[0]), refused
    # each made once, by us (the rival's attempt fired the hook too, and was refused)
    assert sorted(creations) == sorted([*CLOUD_TABLES, "cloud_resource"])
    assert _tables(url) == CLOUD_TABLES
    # and a second start finds them: nothing made again
    made = list(creations)
    _start(url)
    engine_db.dispose(url)
    assert creations == made


@pytest.mark.parametrize("server", SERVERS)
def test_processes_starting_at_once_on_a_server_database_create_nothing(
    server: str, new_database: Callable[[str], str], creations: list[str]
) -> None:
    url = new_database(server)
    api.upgrade(url)  # the database is prepared, as `dualpath db upgrade` or a run does
    made_by_preparing = list(creations)
    rival = sa.create_engine(url, poolclass=NullPool)
    raced: list[str] = []

    # what killed workers: while one process creates a table, another creates it first, and
    # the first one's "already exists" arrives wrapped by oslo.db
    @sa.event.listens_for(reality.cloud_resource, "before_create")
    def rival_gets_there_first(table: sa.Table, connection: sa.Connection, **kw: object):
        if not raced:
            raced.append(table.name)
            with rival.begin() as other:
                table.create(other, checkfirst=True)

    try:
        first, second = _start(url), _start(url)
        assert first.resources() == second.resources() == []
    finally:
        sa.event.remove(reality.cloud_resource, "before_create", rival_gets_there_first)
        rival.dispose()
        engine_db.dispose(url)
    assert raced == [] and creations == made_by_preparing  # starting made nothing
    assert sorted(made_by_preparing) == sorted(CLOUD_TABLES)


@pytest.mark.parametrize("server", SERVERS)
def test_a_server_database_nobody_prepared_is_refused_with_the_command_to_run(
    server: str, new_database: Callable[[str], str], creations: list[str]
) -> None:
    url = new_database(server)
    with pytest.raises(reality.CloudSchemaMissing) as refused:
        _start(url)
    engine_db.dispose(url)
    message = str(refused.value)
    assert make_url(url).database in message
    assert "dualpath db upgrade --database-url" in message
    assert creations == [] and _tables(url) == set()


def test_preparing_a_database_makes_the_cloud_schema(db_url: str) -> None:
    api.upgrade(db_url)
    assert _tables(db_url) == CLOUD_TABLES
    api.upgrade(db_url)  # again, at head: nothing to do, nothing fails
    assert _tables(db_url) == CLOUD_TABLES


def _waiting_for_the_schema_lock(admin: sa.Engine, database: str) -> bool:
    with admin.connect() as conn:
        if admin.dialect.name == "postgresql":
            return bool(conn.execute(sa.text(
                "SELECT COUNT(*) FROM pg_locks l JOIN pg_database d ON d.oid = l.database "
                "WHERE l.locktype = 'advisory' AND NOT l.granted AND d.datname = :db"
            ), {"db": database}).scalar())
        return bool(conn.execute(sa.text(
            "SELECT COUNT(*) FROM information_schema.processlist "
            "WHERE state = 'User lock' AND info LIKE :name"
        ), {"name": f"%{reality.schema_lock_name(database)}%"}).scalar())


@pytest.mark.parametrize("server", SERVERS)
def test_two_preparers_at_once_make_each_table_once(
    server: str, new_database: Callable[[str], str], creations: list[str]
) -> None:
    url = new_database(server)
    database = make_url(url).database
    first, second = (sa.create_engine(url, poolclass=NullPool) for _ in range(2))
    admin = sa.create_engine(url, poolclass=NullPool)
    outcome: dict[str, BaseException] = {}

    def prepare_second() -> None:
        try:
            reality.create_tables(second)
        except BaseException as exc:  # reported to the test thread
            outcome["error"] = exc

    rival = threading.Thread(target=prepare_second, daemon=True)

    # the first preparer is creating: the second one starts then, and must wait for it
    @sa.event.listens_for(reality.cloud_resource, "before_create")
    def second_starts(table: sa.Table, connection: sa.Connection, **kw: object) -> None:
        if not rival.is_alive() and "started" not in outcome:
            outcome["started"] = RuntimeError("started")
            rival.start()
            waited = threading.Event()
            for _ in range(int(WAIT / 0.05)):
                if _waiting_for_the_schema_lock(admin, database):
                    break
                waited.wait(0.05)  # polling a server-side state, with a deadline
            else:
                pytest.fail("the second preparer never waited for the first")

    try:
        reality.create_tables(first)
        rival.join(WAIT)
        assert not rival.is_alive(), "the second preparer hung"
    finally:
        sa.event.remove(reality.cloud_resource, "before_create", second_starts)
        for engine in (first, second, admin):
            engine.dispose()
    assert "error" not in outcome, outcome.get("error")
    assert sorted(creations) == sorted(CLOUD_TABLES)  # each table made once, not twice
    assert _tables(url) == CLOUD_TABLES
