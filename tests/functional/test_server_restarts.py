"""Servers that restart under the engine: a PostgreSQL and a RabbitMQ of the test's own
(harness/infra/private_servers.py: the shared ones serve tests running in parallel) are
stopped and started while stacks are being worked on. No stack may stay IN_PROGRESS once
they are back, every operation completes or fails with a reason (and then converges when
run again), and the cloud keeps nothing it should not.

The private servers need PostgreSQL's server binaries (apt-get install postgresql) and
rabbitmq-server (apt-get install rabbitmq-server); neither has to be running. Without
them these tests skip, or fail under ``DUALPATH_REQUIRE_SERVERS=1``.
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
import threading
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from engines.core import db as dbmod
from engines.core.liveness import alive_engines
from engines.core.models import Service, utcnow
from harness.cli.main import main
from harness.infra.databases import DatabaseFactory
from harness.infra.private_servers import PrivatePostgres, ServerUnavailable
from tests.conftest import unavailable
from tests.functional.log_events import said

pytestmark = [pytest.mark.slow]
RABBIT_SCRIPT = "/usr/lib/rabbitmq/bin/rabbitmq-server"
WAIT = 60.0  # s: bounds every wait below; a restart takes well under a second


@pytest.fixture(scope="module")
def pg() -> Iterator[PrivatePostgres]:
    try:
        server = PrivatePostgres().__enter__()
    except ServerUnavailable as exc:
        unavailable(str(exc))
        raise
    try:
        yield server
    finally:
        server.__exit__(None, None, None)


@pytest.fixture
def database(pg: PrivatePostgres) -> Iterator[dbmod.Database]:
    factory = DatabaseFactory.prepare(pg.url)
    url = factory.new(f"restart_{uuid.uuid4().hex[:8]}")
    try:
        yield dbmod.Database(url)
    finally:
        dbmod.dispose(url)
        factory.drop(url)
        factory.close()


def _while_down(pg: PrivatePostgres, work: Callable[[], object]) -> object:
    """Stop the server, run ``work`` in a thread until it is waiting for the server (it
    says so in the log), start the server, and return what ``work`` returned."""
    result: dict[str, object] = {}
    thread = threading.Thread(target=lambda: result.update(value=work()), daemon=True)
    pg.stop()
    try:
        with said(dbmod.__name__, "does not answer") as waiting:
            thread.start()
            assert waiting.wait(WAIT), "the transaction never waited for the server"
        assert thread.is_alive(), "the transaction ended while the server was down"
    finally:
        pg.start()
    thread.join(WAIT)
    assert not thread.is_alive(), f"the transaction still waits {WAIT}s after the restart"
    return result["value"]


def test_a_transaction_begun_while_the_database_is_down_runs_once_it_is_back(
        pg: PrivatePostgres, database: dbmod.Database) -> None:
    with database.connection() as conn:  # a pooled connection the restart will break
        conn.execute(sa.text("CREATE TABLE kept (n integer)"))

    def write() -> int:
        with database.connection() as conn:
            conn.execute(sa.text("INSERT INTO kept VALUES (1)"))
        with database.session() as s:
            return s.execute(sa.text("SELECT count(*) FROM kept")).scalar_one()

    assert _while_down(pg, write) == 1


def test_engines_whose_heartbeats_went_stale_in_an_outage_are_not_taken_for_dead(
        pg: PrivatePostgres, database: dbmod.Database) -> None:
    """Every heartbeat goes stale while the database is away; taking their engines for
    dead right after it is back would break live locks and fail live stacks."""
    from engines.core.models import Base

    Base.metadata.create_all(database.engine, tables=[Service.__table__])
    old = utcnow() - dt.timedelta(seconds=30)
    with database.session() as s:
        s.add(Service(id=str(uuid.uuid4()), engine_id="quiet-engine", host="h",
                      binary="dualpath-engine", pid=1, report_interval=1.0, created_at=old,
                      updated_at=old))
    assert "quiet-engine" not in alive_engines(database, stale_after=10.0)
    _while_down(pg, lambda: alive_engines(database, stale_after=10.0))
    assert "quiet-engine" in alive_engines(database, stale_after=10.0)
    assert "quiet-engine" not in alive_engines(database, stale_after=0.0)


def _chaos(tmp_path: Path, *args: str) -> dict:
    out = tmp_path / "chaos.json"
    code = main(["chaos", "--quiet", "--json", str(out), *args])
    data = json.loads(out.read_text())
    assert code == 0, json.dumps(data["per_trial"], indent=1)
    return data


@pytest.fixture
def rabbitmq_server() -> None:
    """The chaos run starts a RabbitMQ node of its own: it needs the server installed."""
    if not shutil.which("rabbitmq-server") and not Path(RABBIT_SCRIPT).exists():
        unavailable("rabbitmq-server is not installed: apt-get install rabbitmq-server")


@pytest.mark.postgresql
def test_legacy_stacks_come_through_database_restarts(pg: PrivatePostgres,
                                                      tmp_path: Path) -> None:
    data = _chaos(tmp_path, "--path", "legacy", "--restart", "database", "--trials", "3",
                  "--seed", "3")
    assert (data["trials"], data["passed"]) == (3, 3)
    assert (data["stuck"], data["leaked"], data["duplicated"]) == (0, 0, 0)
    assert data["restarted"] == 3 and data["max_unanswered_s"] > 0.5


@pytest.mark.postgresql
@pytest.mark.rabbit
def test_convergence_stacks_on_workers_come_through_database_and_broker_restarts(
        pg: PrivatePostgres, rabbitmq_server: None, tmp_path: Path) -> None:
    data = _chaos(tmp_path, "--restart", "database,broker", "--trials", "4", "--seed", "1",
                  "--workers", "2")
    modes = {t["mode"] for t in data["per_trial"]}
    assert modes == {"restart-database", "restart-broker"}, modes
    assert (data["trials"], data["passed"]) == (4, 4)
    assert (data["stuck"], data["leaked"], data["duplicated"]) == (0, 0, 0)
    # every operation ended COMPLETE or FAILED with a reason, and converged when run again
    for trial in data["per_trial"]:
        assert "IN_PROGRESS" not in trial["what_happened"], trial
