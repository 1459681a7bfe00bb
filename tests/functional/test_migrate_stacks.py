"""Legacy stacks moved onto convergence (``dualpath db migrate-stacks``, the service's
``migrate_stack``): every physical resource kept, the convergence path then runs the
stack's updates and its delete; what is not safe to move is refused with nothing changed."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
import sqlalchemy as sa

from engines.core import errors
from engines.core.models import Resource, Stack, StackLock, SyncPoint, utcnow
from engines.service import EngineService
from harness.cli.main import main
from tests.functional.conftest import Driver
from tests.functional.templates import hooks_env, hot, res

# A <- B (B reads A), C replaced when its update_replace_value changes, D dropped in V2
V1 = hot({
    "A": res("a"),
    "B": {**res("b", update_replace_value={"get_attr": ["A", "output"]})},
    "C": {**res("c1", update_replace_value="one"), "depends_on": ["A"]},
    "D": {**res("d"), "depends_on": ["B"]},
}, outputs={"c": {"value": {"get_attr": ["C", "output"]}}})
V2 = hot({
    "A": res("a"),
    "B": {**res("b", update_replace_value={"get_attr": ["A", "output"]})},
    "C": {**res("c2", update_replace_value="two"), "depends_on": ["A"]},
}, outputs={"c": {"value": {"get_attr": ["C", "output"]}}})


@pytest.fixture
def legacy(dualpath_conf_factory) -> Any:
    """A started engine whose new stacks go down the legacy path, whatever the test mode."""
    service = EngineService(dualpath_conf_factory(convergence_engine=False))
    try:
        yield service
    finally:
        service.stop()


@pytest.fixture
def drive(legacy, ctx) -> Driver:
    return Driver(legacy, ctx)


def _rows(service: EngineService, stack_id: str) -> dict[str, dict[str, Any]]:
    with service.rt.db.session() as s:
        rows = s.scalars(sa.select(Resource).where(Resource.stack_id == stack_id))
        return {r.name: {"id": r.id, "physical": r.physical_resource_id, "requires": r.requires,
                         "template": r.current_template_id, "status": r.status}
                for r in rows}


def _stack(service: EngineService, stack_id: str) -> dict[str, Any]:
    with service.rt.db.session() as s:
        row = s.get(Stack, stack_id)
        return {"convergence": row.convergence, "traversal": row.current_traversal,
                "deps": row.current_deps, "prev": row.prev_raw_template_id,
                "template": row.raw_template_id, "status": f"{row.action}_{row.status}"}


def _count(service: EngineService, model: Any) -> int:
    with service.rt.db.session() as s:
        return int(s.scalar(sa.select(sa.func.count()).select_from(model)))


def test_a_moved_stack_keeps_its_resources_then_updates_and_deletes_on_convergence(
        drive, ctx):
    stack_id = drive.create(V1)
    before = drive.physical_ids(stack_id)
    calls = len(drive.service.cloud.calls(stack_id))
    assert drive.show(stack_id)["engine"] == "legacy"

    done = drive.service.migrate_stack(ctx, stack_id)

    assert done["result"] == "migrated"
    view = drive.show(stack_id)
    assert view["engine"] == "convergence" and view["stack_status"] == "CREATE_COMPLETE"
    assert view["outputs"] == {"c": "c1"}
    assert drive.physical_ids(stack_id) == before          # every physical resource kept
    assert drive.copies(stack_id) == {"A": 1, "B": 1, "C": 1, "D": 1}
    assert len(drive.service.cloud.calls(stack_id)) == calls  # nothing asked of the cloud
    rows, stack = _rows(drive.service, stack_id), _stack(drive.service, stack_id)
    assert stack["traversal"] and stack["prev"] is None and stack["deps"]["graph"]
    assert {n: r["template"] for n, r in rows.items()} == dict.fromkeys("ABCD",
                                                                      stack["template"])
    ids = {n: r["id"] for n, r in rows.items()}
    assert {n: r["requires"] for n, r in rows.items()} == {
        "A": [], "B": [ids["A"]], "C": [ids["A"]], "D": [ids["B"]]}

    # on convergence now: a replacement and a removal, by a traversal
    drive.update(stack_id, V2)
    view = drive.show(stack_id)
    assert view["stack_status"] == "UPDATE_COMPLETE", view["status_reason"]
    assert view["outputs"] == {"c": "c2"}
    after = drive.physical_ids(stack_id)
    assert set(after) == {"A", "B", "C"}
    assert after["A"] == before["A"] and after["B"] == before["B"]
    assert after["C"] != before["C"]                          # replaced
    assert drive.copies(stack_id) == {"A": 1, "B": 1, "C": 1}  # D and the old C are gone
    assert _stack(drive.service, stack_id)["traversal"] != stack["traversal"]
    assert _count(drive.service, StackLock) == 0               # no legacy lock was taken

    drive.delete(stack_id)
    assert drive.show(stack_id)["stack_status"] == "DELETE_COMPLETE"
    assert drive.copies(stack_id) == {}
    # the traversal's sync points go once it is done (just after its state is written)
    drive.service.wait_until(lambda: _count(drive.service, SyncPoint) == 0, 10,
                             "the delete's sync points to be purged")


def test_an_in_progress_stack_is_refused_and_left_as_it_is(drive, ctx):
    stack_id = drive.create(V1, environment=hooks_env(D="pre-create"), wait=False)
    drive.wait_hook(stack_id, "D", "pre-create")
    # C is made beside B, which D waits for: the rows change no more while D is held
    drive.service.wait_resource(ctx, stack_id, "C", status="CREATE_COMPLETE", timeout=30)
    rows, stack = _rows(drive.service, stack_id), _stack(drive.service, stack_id)
    with pytest.raises(errors.InvalidOperation, match="CREATE_IN_PROGRESS"):
        drive.service.migrate_stack(ctx, stack_id)
    assert _stack(drive.service, stack_id) == stack and stack["convergence"] is False
    assert _rows(drive.service, stack_id) == rows
    drive.signal(stack_id, "D", "pre-create")
    assert drive.wait(stack_id)["stack_status"] == "CREATE_COMPLETE"
    assert drive.show(stack_id)["engine"] == "legacy"


def test_a_failed_stack_is_refused_and_left_as_it_is(drive, ctx):
    drive.service.inject_fault("D", "CREATE")
    stack_id = drive.create(V1, disable_rollback=True)
    assert drive.show(stack_id)["stack_status"] == "CREATE_FAILED"
    rows, stack = _rows(drive.service, stack_id), _stack(drive.service, stack_id)
    with pytest.raises(errors.InvalidOperation, match="CREATE_FAILED"):
        drive.service.migrate_stack(ctx, stack_id)
    assert _stack(drive.service, stack_id) == stack
    assert _rows(drive.service, stack_id) == rows
    assert all(r["requires"] is None for r in rows.values())


def test_a_left_backup_stack_is_refused(drive, ctx):
    stack_id = drive.create(V1)
    with drive.service.rt.db.session() as s:
        owner = s.get(Stack, stack_id)
        s.add(Stack(id=str(uuid.uuid4()), name=f"{owner.name}*", project_id=owner.project_id,
                    raw_template_id=owner.raw_template_id, action="UPDATE", status="COMPLETE",
                    owner_id=stack_id, backup=True, created_at=utcnow()))
    stack = _stack(drive.service, stack_id)
    with pytest.raises(errors.InvalidOperation, match="backup stack"):
        drive.service.migrate_stack(ctx, stack_id)
    assert _stack(drive.service, stack_id) == stack


def test_a_legacy_call_that_read_the_stack_before_its_move_is_refused(drive, ctx):
    """The race the move leaves: an update or delete that chose the legacy path from the
    row it read, then took the stack lock after the move committed, must not run legacy."""
    stack_id = drive.create(V1)
    before = drive.physical_ids(stack_id)
    with drive.service.rt.db.session() as s:
        stale = s.get(Stack, stack_id)                         # read as a legacy stack
    drive.service.migrate_stack(ctx, stack_id)
    moved = _stack(drive.service, stack_id)
    legacy_path = drive.service.path_of_stack(stale)
    assert legacy_path.name == "legacy"
    request = drive.service._request(V2, None, None, False, None, None)
    with pytest.raises(errors.ActionInProgress, match="moved onto the convergence path"):
        legacy_path.update(ctx, stale, request)
    with pytest.raises(errors.ActionInProgress, match="moved onto the convergence path"):
        legacy_path.delete(ctx, stale)
    assert _stack(drive.service, stack_id) == moved
    assert _count(drive.service, StackLock) == 0
    with drive.service.rt.db.session() as s:                   # no backup stack left
        assert s.scalar(sa.select(sa.func.count()).select_from(Stack)
                        .where(Stack.owner_id == stack_id)) == 0
    assert drive.physical_ids(stack_id) == before
    drive.update(stack_id, V2)                                 # tried again: convergence
    assert drive.show(stack_id)["stack_status"] == "UPDATE_COMPLETE"


def test_a_dry_run_changes_nothing_and_a_second_move_is_a_no_op(drive, ctx):
    stack_id = drive.create(V1)
    rows, stack = _rows(drive.service, stack_id), _stack(drive.service, stack_id)
    assert drive.service.migrate_stack(ctx, stack_id, dry_run=True)["result"] == \
        "would migrate"
    assert _stack(drive.service, stack_id) == stack and _rows(drive.service, stack_id) == rows
    assert drive.service.migrate_stack(ctx, stack_id)["result"] == "migrated"
    moved_rows, moved = _rows(drive.service, stack_id), _stack(drive.service, stack_id)
    again = drive.service.migrate_stack(ctx, stack_id)
    assert again["result"] == "already"
    assert _stack(drive.service, stack_id) == moved            # same traversal: untouched
    assert _rows(drive.service, stack_id) == moved_rows


def test_the_command_s_exit_codes_and_lines(drive, dualpath_database, capsys):
    good = drive.create(V1, name="good")
    drive.service.inject_fault("D", "CREATE")
    bad = drive.create(V1, name="bad", disable_rollback=True)
    drive.service.stop()  # an operator's command, with no engine at work
    base = ["db", "migrate-stacks", "--database-url", dualpath_database]

    assert main([*base, "--dry-run", "--all"]) == 1     # bad would be refused
    out = capsys.readouterr().out.splitlines()
    assert len(out) == 2
    assert out[0].startswith(f"good ({good}): would migrate")
    assert out[1].startswith(f"bad ({bad}): refused: stack is CREATE_FAILED")
    assert _stack(drive.service, good)["convergence"] is False

    assert main([*base, "good"]) == 0
    assert capsys.readouterr().out.startswith(f"good ({good}): migrated")
    assert _stack(drive.service, good)["convergence"] is True
    assert main([*base, good]) == 0                      # by id; already there
    assert "already on the convergence path" in capsys.readouterr().out

    assert main([*base, "bad"]) == 1
    assert "refused" in capsys.readouterr().out
    assert _stack(drive.service, bad)["convergence"] is False

    assert main([*base, "good", "nosuch"]) == 2
    captured = capsys.readouterr()
    assert "nosuch" in captured.err and captured.out == ""  # nothing done for any


MIGRATE_SCENARIO = """
description: a stack moved onto convergence, then updated with a replacement and deleted
templates:
  v1:
    heat_template_version: 2015-04-30
    resources:
      A: {type: OS::Heat::TestResource, properties: {value: a}}
      C:
        type: OS::Heat::TestResource
        properties: {value: c1, update_replace_value: one}
        depends_on: [A]
  v2:
    heat_template_version: 2015-04-30
    resources:
      A: {type: OS::Heat::TestResource, properties: {value: a}}
      C:
        type: OS::Heat::TestResource
        properties: {value: c2, update_replace_value: two}
        depends_on: [A]
steps:
  - create: {template: v1}
  - mark: created
  - migrate: {}
  - expect: {stack: CREATE_COMPLETE, unchanged: [A, C], since: created, converged: true}
  - migrate: {}
  - update: {template: v2}
  - expect: {stack: UPDATE_COMPLETE, replaced: [C], unchanged: [A], reality: {A: 1, C: 1}}
  - delete: {}
  - expect: {stack: DELETE_COMPLETE, reality: {count: 0}}
"""


def test_the_migrate_step_keeps_the_stack_and_is_a_no_op_on_convergence(tmp_path):
    root = tmp_path / "mine" / "moves"
    root.mkdir(parents=True)
    (root / "migrate.yaml").write_text(MIGRATE_SCENARIO)
    out = tmp_path / "run.json"
    code = main(["run", "--quiet", "-j", "1", "--repeat", "1", "--scenarios",
                 str(root.parent), "--json", str(out)])
    item = json.loads(out.read_text())["scenarios"][0]
    assert code == 0, item
    assert item["verdict"] == "parity", item["differences"]
    for engine in ("legacy", "convergence"):
        run = item["engines"][engine]
        assert run["status"] == "passed", run["failed_expectations"]
        assert [s["result"] for s in run["snapshots"] if s["op"] == "migrate"] == \
            [{"error": None}, {"error": None}]
