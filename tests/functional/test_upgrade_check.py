"""``dualpath upgrade-check`` answers what an operator asks before new code and before the
flip, with oslo.upgradecheck's exit codes: 0 ready, 1 a warning, 2 a failure."""

from __future__ import annotations

import json
import uuid

import pytest
import sqlalchemy as sa

from engines.convergence.worker_service import BINARY as WORKER_BINARY
from engines.core.context import RequestContext
from engines.core.models import RawTemplate, Service, Stack, StackLock, utcnow
from harness.cli.main import main
from tests.functional.templates import hot, res


def _check(capsys: pytest.CaptureFixture[str], url: str, *extra: str) -> tuple[int, dict]:
    code = main(["upgrade-check", "--database-url", url, "--json", *extra])
    report = json.loads(capsys.readouterr().out)
    return code, {c["check"]: c for c in report["checks"]}


def test_a_database_without_the_schema_fails_naming_the_command(tmp_path, capsys):
    url = f"sqlite:///{tmp_path}/empty.sqlite"
    code, checks = _check(capsys, url)
    assert code == 2
    assert checks["Database schema"]["result"] == 2
    assert "dualpath db upgrade" in checks["Database schema"]["details"]


@pytest.mark.engine_path("legacy")
def test_legacy_stacks_are_counted_with_how_many_can_move(dualpath_service, capsys):
    ctx = RequestContext(project_id="p")
    done = dualpath_service.create_stack(ctx, "done", hot({"A": res()}))
    dualpath_service.wait_stack(ctx, done, timeout=30)
    failed = dualpath_service.create_stack(ctx, "failed", hot({"A": res(fail=True)}),
                                           disable_rollback=True)
    dualpath_service.wait_stack(ctx, failed, timeout=30)
    code, checks = _check(capsys, dualpath_service.database_url)
    assert checks["Database schema"]["result"] == 0
    assert checks["Stacks stuck IN_PROGRESS"]["result"] == 0
    legacy = checks["Stacks still on the legacy path"]
    assert legacy["result"] == 1
    assert "2 stack(s) on the legacy path: 1 COMPLETE and movable" in legacy["details"]
    assert "dualpath db migrate-stacks --all" in legacy["details"]
    assert code == 1


@pytest.mark.engine_path("convergence")
def test_a_deployment_on_convergence_only_is_ready(dualpath_service, capsys):
    ctx = RequestContext(project_id="p")
    stack_id = dualpath_service.create_stack(ctx, "s", hot({"A": res()}))
    dualpath_service.wait_stack(ctx, stack_id, timeout=30)
    code, checks = _check(capsys, dualpath_service.database_url)
    assert {name: c["result"] for name, c in checks.items()} == {
        "Database schema": 0, "Stacks stuck IN_PROGRESS": 0,
        "Stacks still on the legacy path": 0, "Convergence workers": 0}
    assert code == 0


def test_a_stack_left_in_progress_by_a_dead_engine_is_a_failure(dualpath_service, capsys):
    # what an engine killed mid-operation leaves: the stack IN_PROGRESS, its lock held by
    # an engine id that no longer heartbeats
    with dualpath_service.rt.db.session() as s:
        template = RawTemplate(template={"heat_template_version": "2015-04-30"})
        s.add(template)
        s.flush()
        stack_id = str(uuid.uuid4())
        s.add(Stack(id=stack_id, name="orphan", project_id="p", raw_template_id=template.id,
                    action="UPDATE", status="IN_PROGRESS", convergence=False,
                    created_at=utcnow()))
        s.flush()
        s.add(StackLock(stack_id=stack_id, engine_id=str(uuid.uuid4())))
    code, checks = _check(capsys, dualpath_service.database_url)
    stuck = checks["Stacks stuck IN_PROGRESS"]
    assert stuck["result"] == 2 and f"orphan ({stack_id}, UPDATE)" in stuck["details"]
    assert code == 2
    with dualpath_service.rt.db.session() as s:  # the check changed nothing
        assert s.scalar(sa.select(Stack.status).where(Stack.id == stack_id)) == "IN_PROGRESS"


def test_no_worker_on_rabbit_warns_before_the_flip_and_fails_after(dualpath_service, capsys,
                                                                   tmp_path):
    # only the service table is read: no broker is contacted
    conf = tmp_path / "rabbit.conf"
    conf.write_text("[DEFAULT]\ntransport_url = rabbit://guest:guest@localhost:5672/\n")
    url = dualpath_service.database_url
    _, before = _check(capsys, url, "--config-file", str(conf))
    assert before["Convergence workers"]["result"] == 1
    assert "start 'dualpath worker'" in before["Convergence workers"]["details"]
    conf.write_text(conf.read_text() + "convergence_engine = true\n")
    _, after = _check(capsys, url, "--config-file", str(conf))
    assert after["Convergence workers"]["result"] == 2
    # a worker that heartbeats is found (its row as a worker process writes it)
    with dualpath_service.rt.db.session() as s:
        s.add(Service(id=str(uuid.uuid4()), engine_id="w1", host="h", binary=WORKER_BINARY,
                      report_interval=1.0, created_at=utcnow(), updated_at=utcnow()))
    _, alive = _check(capsys, url, "--config-file", str(conf))
    assert alive["Convergence workers"]["result"] == 0
    assert "1 convergence worker(s) alive" in alive["Convergence workers"]["details"]
