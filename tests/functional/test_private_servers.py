"""Private servers: they answer, stop answering when stopped, answer again when started,
and keep what was written before the outage. One server per kind for the whole module,
because a RabbitMQ node takes seconds to boot."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TypeVar

import kombu
import pytest
import sqlalchemy as sa
from kombu.exceptions import OperationalError as KombuOperationalError
from sqlalchemy.pool import NullPool

from harness.infra import private_servers
from harness.infra.private_servers import PrivatePostgres, PrivateRabbit, ServerUnavailable
from tests.conftest import unavailable

Server = TypeVar("Server", PrivatePostgres, PrivateRabbit)


def private(kind: type[Server]) -> Iterator[Server]:
    """A started server of ``kind`` for the module, or a skip saying why there is none."""
    try:
        server = kind().__enter__()
    except ServerUnavailable as exc:
        unavailable(str(exc))  # a skip, or a failure under DUALPATH_REQUIRE_SERVERS
        raise
    try:
        yield server
    finally:
        server.__exit__(None, None, None)


@pytest.fixture(scope="module")
def pg() -> Iterator[PrivatePostgres]:
    yield from private(PrivatePostgres)


@pytest.fixture(scope="module")
def rabbit() -> Iterator[PrivateRabbit]:
    yield from private(PrivateRabbit)


def scalar(url: str, *statements: str) -> object:
    """Run ``statements`` in one transaction; the last one's scalar, if it returns rows."""
    # NullPool: a pooled connection would outlive the server it was made to
    engine = sa.create_engine(url, poolclass=NullPool)
    try:
        with engine.begin() as conn:
            for sql in statements:
                result = conn.execute(sa.text(sql))
            return result.scalar() if result.returns_rows else None
    finally:
        engine.dispose()


def test_postgres_answers_stops_and_keeps_data(pg: PrivatePostgres) -> None:
    assert scalar(pg.url, "select 1") == 1
    assert pg.url.endswith(f":{pg.port}/test") and pg.port != 5432
    scalar(pg.url, "create table kept (v int)", "insert into kept values (42)")
    pg.stop()
    with pytest.raises(sa.exc.OperationalError):
        scalar(pg.url, "select 1")
    pg.start()
    assert scalar(pg.url, "select v from kept") == 42


def test_postgres_restart_survives_crash(pg: PrivatePostgres) -> None:
    scalar(pg.url, "create table crashed (v int)", "insert into crashed values (7)")
    down = pg.restart(down_for=0.2, immediate=True)
    assert down >= 0.2
    assert scalar(pg.url, "select v from crashed") == 7


def connect(url: str) -> kombu.Connection:
    # interval_start=0: a refused connection need not wait 2 s before its one retry
    conn = kombu.Connection(url, transport_options={"confirm_publish": True})
    conn.ensure_connection(max_retries=1, interval_start=0)
    return conn


def test_rabbit_answers_and_stops(rabbit: PrivateRabbit) -> None:
    assert rabbit.url.startswith("rabbit://") and rabbit.port != 5672
    connect(rabbit.amqp_url).release()
    rabbit.stop()
    with pytest.raises(KombuOperationalError):
        connect(rabbit.amqp_url)
    rabbit.start()
    connect(rabbit.amqp_url).release()


def test_rabbit_restart_keeps_persistent_message(rabbit: PrivateRabbit) -> None:
    queue = kombu.Queue("kept", kombu.Exchange("kept", "direct", durable=True),
                        routing_key="kept", durable=True)
    with connect(rabbit.amqp_url) as conn:
        # confirm_publish: returns once the broker has taken the message
        conn.Producer().publish({"n": 1}, exchange=queue.exchange, routing_key="kept",
                                declare=[queue], delivery_mode="persistent")
    assert rabbit.restart(immediate=True) > 0  # SIGKILL: confirmed messages are on disk
    with connect(rabbit.amqp_url) as conn:
        message = queue(conn.default_channel).get(no_ack=True)
        assert message is not None and message.payload == {"n": 1}


def test_missing_binaries_say_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(private_servers.glob, "glob", lambda pattern: [])
    with pytest.raises(ServerUnavailable, match="apt-get install postgresql"):
        PrivatePostgres()
    monkeypatch.setattr(private_servers.shutil, "which", lambda name, path=None: None)
    with pytest.raises(ServerUnavailable, match="apt-get install rabbitmq-server"):
        PrivateRabbit()
