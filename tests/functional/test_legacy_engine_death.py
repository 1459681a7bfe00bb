"""The legacy path when its engine dies for real: a process holding a stack's lock is
SIGKILLed mid-create; the next engine to start, once the dead one's heartbeat is stale,
fails the stack with a reason naming the dead engine and releases the lock, after which an
update and a delete converge with nothing leaked in the cloud."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from engines.core import config, db, snapshot
from engines.core.context import RequestContext
from engines.core.liveness import is_alive
from engines.service import EngineService
from tests.functional._legacy_engine_child import PROJECT
from tests.functional.conftest import Driver
from tests.functional.templates import hot, res

ROOT = Path(__file__).resolve().parents[2]
CHILD = "tests.functional._legacy_engine_child"


@pytest.fixture
def settings_file(tmp_path: Path, dualpath_database: str) -> Path:
    """One configuration for the doomed engine and its successor: short heartbeats, so
    that the death is noticed within seconds, and the same database file."""
    path = tmp_path / "dualpath.conf"
    path.write_text("[DEFAULT]\nheartbeat_interval = 0.2\nservice_stale_after = 1.5\n\n"
                    f"[database]\nconnection = {dualpath_database}\n", encoding="utf-8")
    return path


@pytest.fixture
def child_engine(tmp_path: Path, settings_file: Path) -> Iterator[tuple[subprocess.Popen, Path]]:
    ready, log_path = tmp_path / "ready.json", tmp_path / "child.log"
    with open(log_path, "wb") as log:
        child = subprocess.Popen(
            [sys.executable, "-m", CHILD, str(settings_file), str(ready)], cwd=ROOT,
            stdin=subprocess.PIPE, stdout=log, stderr=subprocess.STDOUT)
    try:
        yield child, ready
    finally:
        if child.poll() is None:
            child.kill()
        child.wait(timeout=10)
        child.stdin.close()
        print(f"--- child engine log:\n{log_path.read_text(errors='replace')[-3000:]}")


def _ready(child: subprocess.Popen, ready: Path) -> dict[str, Any] | None:
    if child.poll() is not None:
        raise AssertionError(f"the child engine exited with {child.returncode} early")
    if not ready.exists():
        return None
    return json.loads(ready.read_text(encoding="utf-8"))


def test_a_killed_legacy_engines_stack_is_failed_unlocked_and_recoverable(
        settings_file, child_engine):
    child, ready = child_engine
    conf = config.new_conf([str(settings_file)])
    observer = EngineService(conf, start=False)  # reads only: no heartbeat, no recovery
    ctx = RequestContext(project_id=PROJECT)  # the child's
    info = observer.wait_until(lambda: _ready(child, ready), 60,
                               "the child engine to pause at A's pre-create hook")
    dead, stack_id = info["engine_id"], info["stack_id"]
    view = observer.show_stack(ctx, stack_id)
    assert view["stack_status"] == "CREATE_IN_PROGRESS"
    assert snapshot.lock_holder(observer.rt, stack_id) == dead
    b_before = {r["name"]: r["physical_id"] for r in observer.list_resources(ctx, stack_id)}["B"]

    child.kill()
    assert child.wait(timeout=10) == -9
    observer.wait_until(lambda: not is_alive(observer.rt.db, dead, conf.service_stale_after),
                        30, "the dead engine's heartbeat to go stale")

    with EngineService(conf) as service:  # starting is when an engine recovers stacks
        driver = Driver(service, ctx)
        view = driver.show(stack_id)
        assert view["stack_status"] == "CREATE_FAILED"
        assert view["status_reason"] == f"Engine {dead} went down during stack CREATE"
        assert not view["busy"]
        assert snapshot.lock_holder(service.rt, stack_id) is None
        assert driver.resources(stack_id)["A"]["hooks_pending"] == []
        assert driver.copies(stack_id) == {"B": 1}

        final = {"A": res("a2"), "B": res("b"), "D": res("d")}
        driver.update(stack_id, hot(final))
        view = driver.show(stack_id)
        assert view["stack_status"] == "UPDATE_COMPLETE", view["status_reason"]
        assert driver.copies(stack_id) == {name: 1 for name in final}
        assert driver.physical_ids(stack_id)["B"] == b_before, "B was kept as it was"

        driver.delete(stack_id)
        assert driver.show(stack_id)["stack_status"] == "DELETE_COMPLETE"
        assert service.rt.reality.resources() == [], "nothing leaked in the cloud"
    db.dispose(observer.rt.db.url)
