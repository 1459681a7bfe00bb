"""Writes that race: a lost compare-and-swap, a deadlock, a serialization failure, a lock
that keeps changing hands. The rival writes are injected at a precise statement through
SQLAlchemy events, so each race happens exactly when the test says; on SQLite always, on
PostgreSQL and MariaDB where their servers answer."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable, Iterator
from types import SimpleNamespace

import pytest
import sqlalchemy as sa
from oslo_db import api as oslo_db_api
from oslo_db import exception as db_exc
from sqlalchemy import event

from engines.convergence import resource_lock, sync_point
from engines.core import config, db
from engines.core.errors import ActionInProgress
from engines.core.models import Base, RawTemplate, Resource, Stack, StackLock, SyncPoint
from engines.core.runtime import Runtime
from engines.legacy import stack_lock

TRAVERSAL = "00000000-0000-0000-0000-000000000001"


@pytest.fixture
def database(db_url: str) -> Iterator[db.Database]:
    """Our Database on a new database of each backend, with the schema at head."""
    database = db.Database(db_url)
    Base.metadata.create_all(database.engine)
    yield database
    db.dispose(db_url)


@pytest.fixture
def pauses(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """The pauses oslo.db's retry loop takes, recorded instead of slept."""
    taken: list[float] = []
    monkeypatch.setattr(oslo_db_api, "time", SimpleNamespace(sleep=taken.append))
    return taken


def new_stack(database: db.Database) -> str:
    stack_id = str(uuid.uuid4())
    with database.session() as s:
        template = RawTemplate(template={})
        s.add(template)
        s.flush()
        s.add(Stack(id=stack_id, name="s", project_id="p", raw_template_id=template.id,
                    action="CREATE", status="IN_PROGRESS"))
    return stack_id


def new_sync_point(database: db.Database, entity: str = "C") -> str:
    stack_id = new_stack(database)
    with database.session() as s:
        sync_point.create_all(s, stack_id, TRAVERSAL, [(entity, True)])
    return stack_id


def stored_inputs(database: db.Database, entity: str = "C") -> tuple[dict, int]:
    with database.session() as s:
        row = s.get(SyncPoint, (entity, TRAVERSAL, True))
        return dict(row.input_data), row.atomic_key


def before(database: db.Database, prefix: str, action: Callable[[], None],
           times: int | None = 1) -> list[int]:
    """Run ``action`` just before each of the next ``times`` statements (None: all) that
    start with ``prefix`` reach the driver; the statements ``action`` runs itself do not
    count. Returns a list that grows by one per injection."""
    fired: list[int] = []
    busy = threading.local()

    def hook(conn, cursor, statement, params, context, executemany):  # noqa: ANN001
        if getattr(busy, "on", False) or not statement.lstrip().upper().startswith(prefix):
            return
        if times is not None and len(fired) >= times:
            return
        busy.on = True
        try:
            fired.append(1)
            action()
        finally:
            busy.on = False

    event.listen(database.engine, "before_cursor_execute", hook)
    return fired


# -- sync points -----------------------------------------------------------------------------
def test_a_lost_compare_and_swap_is_retried_after_a_pause_and_wins(database, pauses):
    new_sync_point(database)
    rival: list[object] = []
    # B's input lands between A's read of the row and A's write
    before(database, "UPDATE SYNC_POINT", lambda: rival.append(
        sync_point.sync(database, TRAVERSAL, "C", True, "B", "b", {"A", "B"})))

    result = sync_point.sync(database, TRAVERSAL, "C", True, "A", "a", {"A", "B"})

    assert rival == [None]  # B's write did not complete the set
    assert result == {"A": "a", "B": "b"}  # A's retry did, so A moves the traversal on
    assert stored_inputs(database) == ({"A": "a", "B": "b"}, 2)
    assert pauses == [db.RETRY_INTERVAL]  # one retry, after the first pause


def test_a_compare_and_swap_that_keeps_losing_gives_up_with_growing_jittered_pauses(
        database, pauses):
    new_sync_point(database)

    def bump() -> None:
        with database.engine.begin() as conn:
            conn.execute(sa.update(SyncPoint).values(atomic_key=SyncPoint.atomic_key + 1))

    before(database, "UPDATE SYNC_POINT", bump, times=None)
    with pytest.raises(db.LostRace):
        sync_point.sync(database, TRAVERSAL, "C", True, "A", "a", {"A", "B"})

    assert len(pauses) == 2 + db.MAX_RETRIES  # the number of inputs, plus the allowance
    assert pauses[0] == db.RETRY_INTERVAL
    assert all(0 <= p <= db.MAX_RETRY_INTERVAL for p in pauses)
    assert len(set(pauses)) > 1  # jittered: not one fixed interval
    assert stored_inputs(database)[0] == {}  # nothing half written


def test_a_deadlock_raised_once_is_retried(database, pauses):
    new_sync_point(database)

    def deadlock() -> None:
        raise db_exc.DBDeadlock()

    injected = before(database, "UPDATE SYNC_POINT", deadlock)
    result = sync_point.sync(database, TRAVERSAL, "C", True, "A", "a", {"A"})

    assert injected == [1]
    assert result == {"A": "a"}
    assert stored_inputs(database) == ({"A": "a"}, 1)
    assert len(pauses) == 1


def test_two_threads_merging_inputs_into_one_sync_point_lose_nothing(database):
    new_sync_point(database)
    senders = [[f"t{t}-{i}" for i in range(15)] for t in range(2)]
    required = {s for group in senders for s in group}
    start = threading.Barrier(2)
    completions: list[dict] = []
    errors: list[BaseException] = []

    def merge(group: list[str]) -> None:
        try:
            start.wait(timeout=30)
            for sender in group:
                result = sync_point.sync(database, TRAVERSAL, "C", True, sender, sender,
                                         required)
                if result is not None:
                    completions.append(result)
        except BaseException as exc:  # noqa: BLE001 - reported by the main thread
            errors.append(exc)

    threads = [threading.Thread(target=merge, args=(group,)) for group in senders]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)

    assert not errors
    inputs, key = stored_inputs(database)
    assert inputs == {s: s for s in required}  # every input kept: no lost update
    assert key == len(required)  # one successful swap per input
    assert completions == [inputs]  # exactly one writer saw the set complete



def test_inputs_counted_in_batches_count_once_each_and_one_batch_completes(database):
    stack_id = new_sync_point(database, entity="S")

    def count(*senders: str) -> bool:
        return sync_point.count_many(database, stack_id, TRAVERSAL, "S", True,
                                     list(senders), required=4)

    assert count("A", "B") is False
    # B again beside a new C: the batch is undone and each counted on its own
    assert count("B", "C") is False
    assert stored_inputs(database, "S")[1] == 3
    assert count("D") is True  # the last input in
    assert count("D", "A") is False  # sent again after the set was complete
    assert stored_inputs(database, "S")[1] == 4

# -- locks -----------------------------------------------------------------------------------
def test_a_deadlock_taking_a_resource_lock_is_retried(database, pauses):
    stack_id = new_stack(database)
    with database.session() as s:
        row = Resource(uuid=str(uuid.uuid4()), stack_id=stack_id, name="A", type="T",
                       action="INIT", status="COMPLETE")
        s.add(row)
    injected = before(database, "UPDATE RESOURCE", _raise_deadlock)

    assert resource_lock.try_acquire(database, row.id, "me")
    assert injected == [1] and len(pauses) == 1
    assert resource_lock.holder(database, row.id) == "me"


def _raise_deadlock() -> None:
    raise db_exc.DBDeadlock()


@pytest.fixture
def rt(database: db.Database) -> Runtime:
    conf = config.new_conf(**{"database.connection": database.url})
    return Runtime(conf=conf, db=database, reality=None, engine_id="me")  # type: ignore


def test_a_stack_lock_that_keeps_changing_hands_is_refused_after_bounded_tries(
        rt, database, pauses):
    stack_id = new_stack(database)

    def rival_takes_it() -> None:
        with database.engine.begin() as conn:
            conn.execute(sa.insert(StackLock).values(stack_id=stack_id, engine_id="rival"))

    def rival_releases_it() -> None:
        with database.engine.begin() as conn:
            conn.execute(sa.delete(StackLock).where(StackLock.stack_id == stack_id))

    # another engine takes the lock just before each of our inserts, and releases it just
    # before each look at who holds it
    inserts = before(database, "INSERT INTO STACK_LOCK", rival_takes_it, times=None)
    before(database, "SELECT STACK_LOCK.ENGINE_ID", rival_releases_it, times=None)

    with pytest.raises(ActionInProgress, match="keeps changing hands"):
        stack_lock.acquire(rt, stack_id)

    assert len(inserts) == stack_lock.LOCK_RETRIES + 1
    assert len(pauses) == stack_lock.LOCK_RETRIES


def test_a_stack_lock_released_once_in_between_is_taken(rt, database, pauses):
    stack_id = new_stack(database)
    with database.session() as s:
        s.add(StackLock(stack_id=stack_id, engine_id="rival"))

    def rival_releases_it() -> None:
        with database.engine.begin() as conn:
            conn.execute(sa.delete(StackLock).where(StackLock.stack_id == stack_id))

    before(database, "SELECT STACK_LOCK.ENGINE_ID", rival_releases_it)
    assert stack_lock.acquire(rt, stack_id) is None  # a fresh lock, nobody's taken over
    assert stack_lock.holder(rt, stack_id) == "me"
    assert len(pauses) == 1


# -- what the servers' errors become ---------------------------------------------------------
def test_a_duplicate_key_is_translated_on_every_backend(database):
    stack_id = new_stack(database)
    with database.session() as s:
        s.add(StackLock(stack_id=stack_id, engine_id="one"))
    with pytest.raises(db_exc.DBDuplicateEntry), database.session() as s:
        s.add(StackLock(stack_id=stack_id, engine_id="two"))


@pytest.mark.parametrize("backend", [
    pytest.param("postgresql", marks=pytest.mark.postgresql),
    pytest.param("mysql", marks=pytest.mark.mysql)])
def test_a_real_deadlock_becomes_dbdeadlock_and_both_transactions_commit(database):
    """Two transactions lock two rows in opposite orders: the server picks a victim, which
    oslo.db's filters turn into DBDeadlock, and the retry commits it after the other."""
    stack_id = new_sync_point(database, "X")
    with database.session() as s:
        sync_point.create_all(s, stack_id, TRAVERSAL, [("Y", True)])
    both_hold_one = threading.Barrier(2)
    seen: list[BaseException] = []
    errors: list[BaseException] = []

    def transaction(first: str, second: str) -> None:
        attempts = 0

        @db.retry_on_race()
        def attempt() -> None:
            nonlocal attempts
            attempts += 1
            try:
                with database.session() as s:
                    for entity in (first, second):
                        s.execute(sa.select(SyncPoint).where(
                            SyncPoint.entity_id == entity).with_for_update())
                        if entity == first and attempts == 1:
                            both_hold_one.wait(timeout=30)
                    s.execute(sa.update(SyncPoint).where(SyncPoint.entity_id == first)
                              .values(atomic_key=SyncPoint.atomic_key + 1))
            except db_exc.DBDeadlock as exc:
                seen.append(exc)
                raise
        try:
            attempt()
        except BaseException as exc:  # noqa: BLE001 - reported by the main thread
            errors.append(exc)

    threads = [threading.Thread(target=transaction, args=pair)
               for pair in (("X", "Y"), ("Y", "X"))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert not errors
    assert len(seen) == 1  # one victim, retried once
    with database.session() as s:
        keys = sorted(s.scalars(sa.select(SyncPoint.atomic_key)))
    assert keys == [1, 1]  # both committed, once each


@pytest.mark.parametrize("backend", [pytest.param("postgresql",
                                                  marks=pytest.mark.postgresql)])
def test_a_serialization_failure_is_retried(database, pauses):
    """Under REPEATABLE READ, PostgreSQL refuses to update a row changed since the
    transaction's snapshot; oslo.db leaves that error as it is, and our retry catches it."""
    new_sync_point(database)
    attempts = 0

    @db.retry_on_race()
    def bump() -> None:
        nonlocal attempts
        attempts += 1
        with database.engine.connect() as conn:
            conn = conn.execution_options(isolation_level="REPEATABLE READ")
            with conn.begin():
                conn.execute(sa.select(SyncPoint.atomic_key)).all()  # the snapshot is taken
                if attempts == 1:
                    with database.engine.begin() as rival:
                        rival.execute(sa.update(SyncPoint).values(
                            atomic_key=SyncPoint.atomic_key + 1))
                conn.execute(sa.update(SyncPoint).values(atomic_key=SyncPoint.atomic_key + 10))

    bump()
    assert attempts == 2 and len(pauses) == 1
    assert stored_inputs(database)[1] == 11


def test_mariadb_record_changed_since_last_read_counts_as_a_serialization_failure():
    class DriverError(Exception):
        pass

    changed = sa.exc.OperationalError("UPDATE", {}, DriverError(
        1020, "Record has changed since last read in table 'sync_point'"))
    other = sa.exc.OperationalError("UPDATE", {}, DriverError(1205, "Lock wait timeout"))
    assert db.is_serialization_failure(changed)
    assert not db.is_serialization_failure(other)
    assert not db.is_serialization_failure(ValueError("no driver error at all"))
