"""The convergence path spread over processes: the engine is this test process (it serves
the API and casts, with no worker of its own); ``dualpath worker`` processes do every
check_resource, over RabbitMQ, on one SQLite file. Every test has a topic of its own, so
parallel runs never share a queue; queues are auto-deleted when their workers are gone.

Runs where RabbitMQ answers on localhost:5672 (``DUALPATH_TEST_RABBIT_URL`` points
elsewhere); skips otherwise, or fails with ``DUALPATH_REQUIRE_SERVERS=1``.
"""

from __future__ import annotations

import os
import threading
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from engines.core import config, db, stack_store
from engines.core.context import RequestContext
from engines.core.models import Service
from engines.core.status import STACK_TYPE
from engines.processes import WorkerProcesses, broker_problem, isolated_bus, write_config
from engines.service import EngineService
from tests.conftest import unavailable
from tests.functional.conftest import Driver
from tests.functional.log_events import said
from tests.functional.templates import hot, res

pytestmark = pytest.mark.rabbit

RABBIT_URL = os.environ.get("DUALPATH_TEST_RABBIT_URL", "rabbit://guest:guest@localhost:5672/")
# The same for every process: heartbeats short enough that a killed worker is found out
# within seconds, and a bus of the test's own that the broker cleans up after it.
HEARTBEAT = {"heartbeat_interval": 0.2, "service_stale_after": 1.5}


@pytest.fixture(scope="module")
def rabbit_url() -> str:
    unavailable(broker_problem(RABBIT_URL))
    return RABBIT_URL


@pytest.fixture
def topic() -> str:
    return f"dualpath-test-{uuid.uuid4().hex}"


@pytest.fixture
def settings_file(tmp_path: Path, topic: str) -> Path:
    return write_config(tmp_path / "dualpath.conf", {**HEARTBEAT, **isolated_bus(topic)})


@pytest.fixture
def engine(rabbit_url: str, settings_file: Path, topic: str,
           dualpath_database: str) -> Iterator[EngineService]:
    conf = config.new_conf([str(settings_file)], **{
        "database.connection": dualpath_database, "convergence_engine": True,
        "transport_url": rabbit_url, "convergence_topic": topic,
        "convergence_local_workers": 0})
    service = EngineService(conf)
    try:
        yield service
    finally:
        service.stop()
        db.dispose(service.rt.db.url)


@pytest.fixture
def start_workers(rabbit_url: str, settings_file: Path, topic: str, dualpath_database: str,
                  tmp_path: Path) -> Iterator[Callable[[int], WorkerProcesses]]:
    started: list[WorkerProcesses] = []

    def start(count: int) -> WorkerProcesses:
        group = WorkerProcesses.start(
            count, database_url=dualpath_database, transport_url=rabbit_url, topic=topic,
            threads=4, config_files=[settings_file], log_dir=tmp_path / f"workers{len(started)}")
        started.append(group)
        return group

    yield start
    for group in started:
        group.stop()
        for worker in group.workers:  # shown by pytest when the test failed
            print(f"--- worker {worker.index} {worker.engine_id} "
                  f"(exit {worker.process.returncode}):\n{worker.tail(15)}")


@pytest.fixture
def driver(engine: EngineService, ctx: RequestContext) -> Driver:
    return Driver(engine, ctx)


# -- reading the events -------------------------------------------------------------------
def resource_events(driver: Driver, stack_id: str, since: int = 0) -> list[dict[str, Any]]:
    return [e for e in driver.events(stack_id)[since:] if e["resource_type"] != STACK_TYPE]


def who_did_what(events: list[dict[str, Any]], names: dict[str, str]) -> dict[str, str]:
    """Resource -> the workers (by label) that acted on it, from the events."""
    found: dict[str, set[str]] = {}
    for e in events:
        found.setdefault(e["resource_name"], set()).add(names.get(e["engine_id"], e["engine_id"]))
    return {name: ",".join(sorted(labels)) for name, labels in sorted(found.items())}


def wait_for_event(driver: Driver, stack_id: str,
                   match: Callable[[dict[str, Any]], bool], what: str) -> dict[str, Any]:
    def found() -> dict[str, Any] | None:
        return next((e for e in driver.events(stack_id) if match(e)), None)
    return driver.service.wait_until(found, 30, what)


# -- (a) work spread over two workers -----------------------------------------------------
SPREAD = 6  # independent resources: enough that round-robin gives both workers some


def spread_template(token: str) -> str:
    slow = {"create": 0.2, "delete": 0.2}
    resources: dict[str, Any] = {
        f"R{i}": res(f"r{i}-{token}", update_replace_value=token, action_wait_secs=slow)
        for i in range(SPREAD)}
    resources["Top"] = {
        **res("top", update_replace_value={"get_attr": ["R0", "output"]}),
        "depends_on": [f"R{i}" for i in range(SPREAD)]}
    return hot(resources, outputs={"top": {"value": {"get_attr": ["Top", "output"]}}})


def test_two_workers_create_replace_and_delete_a_stack(driver, start_workers):
    workers = start_workers(2)
    names = {eid: f"worker-{i}" for i, eid in enumerate(workers.engine_ids)}
    all_names = sorted(names.values())
    stack_id = driver.create(spread_template("one"))
    view = driver.show(stack_id)
    assert view["stack_status"] == "CREATE_COMPLETE", view["status_reason"]
    expected = {f"R{i}": 1 for i in range(SPREAD)} | {"Top": 1}
    assert driver.copies(stack_id) == expected
    created = resource_events(driver, stack_id)
    print("create:", who_did_what(created, names))
    assert {names.get(e["engine_id"]) for e in created} == set(all_names), \
        "every resource event comes from a worker, and both workers did some"

    before = driver.physical_ids(stack_id)
    update_from = len(driver.events(stack_id))
    driver.update(stack_id, spread_template("two"))
    view = driver.show(stack_id)
    assert view["stack_status"] == "UPDATE_COMPLETE", view["status_reason"]
    after = driver.physical_ids(stack_id)
    assert all(after[name] != before[name] for name in expected), "all were replaced"
    assert driver.copies(stack_id) == expected
    updated = resource_events(driver, stack_id, since=update_from)
    print("update:", who_did_what(updated, names))
    assert {names.get(e["engine_id"]) for e in updated} == set(all_names)

    delete_from = len(driver.events(stack_id))
    driver.delete(stack_id)
    assert driver.show(stack_id)["stack_status"] == "DELETE_COMPLETE"
    deleted = resource_events(driver, stack_id, since=delete_from)
    print("delete:", who_did_what(deleted, names))
    assert {names.get(e["engine_id"]) for e in deleted} == set(all_names)
    assert driver.service.rt.reality.resources() == [], "nothing left in the cloud"
    assert workers.stop() == [0, 0]


# -- (b) a worker killed while it holds a resource ------------------------------------------
def test_a_killed_workers_resource_fails_and_the_next_update_converges(driver, start_workers):
    workers = start_workers(2)
    v1 = hot({"S": res("s", action_wait_secs={"create": 120}),
              **{f"F{i}": res(f"f{i}") for i in range(4)},
              "D": {**res("d"), "depends_on": ["S"]}})
    stack_id = driver.create(v1, disable_rollback=True, wait=False)
    started = wait_for_event(driver, stack_id, lambda e: e["resource_name"] == "S"
                             and e["status"] == "IN_PROGRESS", "S to start")
    victim = started["engine_id"]
    survivor = next(eid for eid in workers.engine_ids if eid != victim)
    # Kill once S's physical id is recorded (its create is waiting for completion) and the
    # F's are done, so that S is all the victim holds. A worker killed between a cloud
    # create and recording its id would leak that physical resource: nothing knows of it.
    def settled() -> bool:
        now = driver.resources(stack_id)
        return bool(now["S"]["physical_id"]) and all(
            now[f"F{i}"]["resource_status"] == "CREATE_COMPLETE" for i in range(4))
    driver.service.wait_until(settled, 30, "S to be created and the F's to be done")
    assert workers.by_engine(victim).kill() == -9

    view = driver.wait(stack_id, timeout=30)
    assert view["stack_status"] == "CREATE_FAILED"
    assert f"Engine {victim} went down during CREATE of S" in view["status_reason"]
    s = driver.resources(stack_id)["S"]
    assert s["resource_status"] == "CREATE_FAILED"
    assert victim in s["status_reason"]
    assert [r.engine_id for r in stack_store.resources(driver.service.rt.db, stack_id)
            if r.engine_id] == [], "no lock is left held"
    failed = [e for e in driver.events(stack_id)
              if e["resource_name"] == "S" and e["status"] == "FAILED"]
    assert len(failed) == 1 and failed[0]["engine_id"] != victim

    update_from = len(driver.events(stack_id))
    final = {"S": res("s2"), "F0": res("f0"), "F1": res("f1"), "N": res("n"),
             "D": {**res("d"), "depends_on": ["S"]}}
    driver.update(stack_id, hot(final))
    view = driver.show(stack_id)
    assert view["stack_status"] == "UPDATE_COMPLETE", view["status_reason"]
    assert driver.copies(stack_id) == {name: 1 for name in final}
    assert {r.logical_name for r in driver.service.rt.reality.resources()} == set(final)
    updated = resource_events(driver, stack_id, since=update_from)
    print("update after the kill:", who_did_what(updated, {survivor: "survivor"}))
    assert {e["engine_id"] for e in updated} == {survivor}
    assert dict(zip(workers.engine_ids, workers.stop(), strict=True)) == {
        victim: -9, survivor: 0}


# -- (c) a worker stopped with SIGTERM ------------------------------------------------------
def test_a_terminated_worker_finishes_its_resource_and_leaves_the_service_table(
        driver, start_workers):
    workers = start_workers(2)
    names = [f"R{i}" for i in range(4)]
    stack_id = driver.create(hot({n: res(n, action_wait_secs={"create": 1.0})
                                  for n in names}), wait=False)
    started = wait_for_event(driver, stack_id, lambda e: e["resource_type"] != STACK_TYPE
                             and e["status"] == "IN_PROGRESS", "a resource to start")
    leaving, held = started["engine_id"], started["resource_name"]

    assert workers.by_engine(leaving).terminate(timeout=30) == 0
    done = [e for e in driver.events(stack_id) if e["resource_name"] == held
            and e["action"] == "CREATE" and e["status"] == "COMPLETE"]
    assert [e["engine_id"] for e in done] == [leaving], "it finished what it held"
    with driver.service.rt.db.session() as s:
        rows = s.scalars(sa.select(Service).where(Service.engine_id == leaving)).all()
    assert len(rows) == 1 and rows[0].deleted_at is not None
    assert rows[0].binary == "dualpath-worker"

    view = driver.wait(stack_id, timeout=30)
    assert view["stack_status"] == "CREATE_COMPLETE", view["status_reason"]
    assert driver.copies(stack_id) == {n: 1 for n in names}


class _Recorder:
    """A check_resource endpoint that only records what it was sent."""

    def __init__(self) -> None:
        self.names: list[str] = []
        self.got = threading.Event()

    def check_resource(self, ctxt: dict, **kwargs: object) -> None:
        self.names.append(str(kwargs["name"]))
        self.got.set()


def test_a_check_sent_before_any_worker_queue_exists_is_sent_again_not_lost(
        rabbit_url: str, tmp_path: Path, topic: str) -> None:
    """After a broker restart the engine may reconnect before the workers have declared
    their queues again: a cast then meets a topic no queue is bound to, which the broker
    drops without a word. The engine's casts are mandatory, so the broker hands such a
    message back, and it is sent again until a worker's queue takes it."""
    from engines.convergence import messaging

    conf = config.new_conf([str(write_config(tmp_path / "bus.conf", isolated_bus(topic)))],
                           transport_url=rabbit_url)
    transport = messaging.get_transport(conf)
    client = messaging.worker_client(conf, transport, topic)
    sent = threading.Thread(target=lambda: client.check_resource(
        stack_id="s", traversal_id="t", template_id=None, name="A", is_update=True,
        data={}), daemon=True)
    recorder = _Recorder()
    server = None
    try:
        with said(messaging.__name__, "no worker's queue takes topic") as retried:
            sent.start()
            assert retried.wait(30), "the cast was neither refused nor sent again"
        server = messaging.WorkerServer(conf, transport, topic, "w", recorder, threads=1)
        server.start()
        assert recorder.got.wait(30), "the check never reached the worker that came"
        sent.join(30)
        assert not sent.is_alive() and recorder.names == ["A"]
    finally:
        if server is not None:
            server.stop()
        transport.cleanup()
