"""The engine says what it decides, through oslo.log, with the ids an operator needs to
find a stuck stack: read here through the standard logging module (caplog)."""

from __future__ import annotations

import configparser
import logging
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from engines.convergence import resource_lock
from engines.core import config, db
from engines.core.context import RequestContext
from engines.core.errors import ActionInProgress
from engines.core.models import Base, RawTemplate, Resource, Stack, StackLock
from engines.core.runtime import Runtime
from engines.legacy import stack_lock
from tests.functional.templates import hooks_env, hot, res

ROOT = Path(__file__).resolve().parents[2]


def messages(caplog: pytest.LogCaptureFixture, logger: str) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == logger]


# -- through the service, on the session's path(s) -------------------------------------------
def test_the_engine_logs_a_hook_reached_and_released_with_ids(dualpath_service, caplog):
    caplog.set_level(logging.INFO)
    ctx = RequestContext(project_id="p")
    stack_id = dualpath_service.create_stack(ctx, "s", hot({"A": res("a")}),
                                             hooks_env(A="pre-create"))
    view = dualpath_service.wait_resource(ctx, stack_id, "A", hook="pre-create", timeout=30)
    reached = [m for m in messages(caplog, "engines.core.hooks") if "reached" in m]
    assert len(reached) == 1
    assert stack_id in reached[0] and "resource A" in reached[0]
    assert "hook pre-create" in reached[0] and "CREATE" in reached[0]

    dualpath_service.signal_hook(ctx, stack_id, "A", "pre-create")
    dualpath_service.wait_stack(ctx, stack_id, timeout=30)
    released = [m for m in messages(caplog, "engines.core.hooks") if "released" in m]
    assert released == [f"stack {stack_id}: hook pre-create of resource A released by a "
                        "signal"]
    assert view["name"] == "A"


@pytest.mark.engine_path("legacy")
def test_the_engine_logs_a_refused_stack_lock_with_the_stack_and_its_holder(
        dualpath_service, caplog):
    caplog.set_level(logging.INFO)
    ctx = RequestContext(project_id="p")
    stack_id = dualpath_service.create_stack(ctx, "s", hot({"A": res("a")}),
                                             hooks_env(A="pre-create"))
    dualpath_service.wait_resource(ctx, stack_id, "A", hook="pre-create", timeout=30)
    with pytest.raises(ActionInProgress):
        dualpath_service.update_stack(ctx, stack_id, hot({"A": res("b")}))
    engine = dualpath_service.engine_id
    assert messages(caplog, "engines.legacy.stack_lock") == [
        f"stack {stack_id}: stack lock refused to engine {engine}: held by {engine}"]
    dualpath_service.delete_stack(ctx, stack_id)
    dualpath_service.wait_stack(ctx, stack_id, timeout=30)


# -- the lock modules on their own -----------------------------------------------------------
@pytest.fixture
def rt(new_database) -> Iterator[Runtime]:
    url = new_database("sqlite")
    database = db.Database(url)
    Base.metadata.create_all(database.engine)
    conf = config.new_conf(**{"database.connection": url})
    yield Runtime(conf=conf, db=database, reality=None, engine_id="me")  # type: ignore
    db.dispose(url)


def new_stack(rt: Runtime) -> str:
    stack_id = str(uuid.uuid4())
    with rt.db.session() as s:
        template = RawTemplate(template={})
        s.add(template)
        s.flush()
        s.add(Stack(id=stack_id, name="s", project_id="p", raw_template_id=template.id,
                    action="CREATE", status="IN_PROGRESS"))
    return stack_id


def test_a_refused_resource_lock_is_logged_with_stack_resource_and_holder(rt, caplog):
    caplog.set_level(logging.INFO)
    stack_id = new_stack(rt)
    with rt.db.session() as s:
        row = Resource(uuid=str(uuid.uuid4()), stack_id=stack_id, name="web", type="T",
                       action="INIT", status="COMPLETE")
        s.add(row)
    assert resource_lock.try_acquire(rt.db, row.id, "engine-1")
    assert not resource_lock.try_acquire(rt.db, row.id, "engine-2")
    assert messages(caplog, "engines.convergence.resource_lock") == [
        f"stack {stack_id}: lock of resource web (id {row.id}) refused to engine engine-2: "
        "held by engine-1"]


def test_a_stack_lock_stolen_from_a_dead_engine_is_a_warning(rt, caplog):
    caplog.set_level(logging.INFO)
    stack_id = new_stack(rt)
    with rt.db.session() as s:
        s.add(StackLock(stack_id=stack_id, engine_id="dead"))  # no heartbeat: dead
    assert stack_lock.acquire(rt, stack_id) == "dead"
    [record] = [r for r in caplog.records if r.name == "engines.legacy.stack_lock"]
    assert record.levelno == logging.WARNING
    assert record.getMessage() == (f"stack {stack_id}: engine me stole the stack lock of "
                                   "dead engine dead")


# -- oslo.log's options and set-up -----------------------------------------------------------
SETUP = """
import sys
from oslo_log import log
from engines.core import config

log_file = sys.argv[1]
conf = config.new_conf(log_file=log_file) if log_file else config.new_conf()
# an embedded engine without a log destination leaves the host's logging alone
assert config.setup_logging(config.new_conf(), embedded=True) is False
assert config.setup_logging(conf, embedded=bool(log_file)) is True
assert config.setup_logging(conf) is False  # once per process
log.getLogger("engines.test").info("stack %s: decided", "s-1")
"""


@pytest.mark.parametrize("destination", ["file", "stdout"])
def test_a_process_hands_its_logging_to_oslo_log_once(tmp_path, destination):
    log_file = str(tmp_path / "engine.log") if destination == "file" else ""
    done = subprocess.run([sys.executable, "-c", SETUP, log_file], cwd=ROOT,
                          capture_output=True, text=True, check=True)
    written = Path(log_file).read_text() if log_file else done.stdout
    [line] = [line for line in written.splitlines() if "engines.test" in line]
    # oslo.log's format: time, pid, level, logger, request context, message
    assert " INFO engines.test [-] stack s-1: decided" in line


def test_the_sample_config_documents_oslo_logs_options(tmp_path):
    generator_conf = tmp_path / "generator.conf"
    sample = tmp_path / "dualpath.conf.sample"
    generator_conf.write_text(
        (ROOT / "etc" / "dualpath-config-generator.conf").read_text()
        .replace("etc/dualpath.conf.sample", str(sample)))
    subprocess.run([sys.executable, "-m", "oslo_config.generator",
                    "--config-file", str(generator_conf)], check=True, cwd=ROOT)
    parsed = configparser.ConfigParser(interpolation=None, strict=False)
    parsed.read_string("\n".join(line[1:] if line.startswith("#") and " = " in line else line
                                 for line in sample.read_text().splitlines()))
    for option in ("debug", "log_file", "log_dir", "use_stderr", "log_config_append"):
        assert option in parsed["DEFAULT"], option
    assert parsed["DEFAULT"]["convergence_engine"] == "false"  # ours are still there
