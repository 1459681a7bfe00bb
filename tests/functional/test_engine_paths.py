"""Path-specific behaviour, and proof of which path acted (what each writes: the stack lock,
or traversals and sync points). These tests pick their path with the engine_path marker."""

from __future__ import annotations

import threading

import pytest
import sqlalchemy as sa

from engines.core import errors
from engines.core.context import RequestContext
from engines.core.models import RawTemplate, Resource, Stack, StackLock, SyncPoint
from engines.service import EngineService
from tests.functional.templates import ABC_V1, ABC_V2, hooks_env, hot, res


def _count(service, model) -> int:
    with service.rt.db.session() as s:
        return int(s.scalar(sa.select(sa.func.count()).select_from(model)))


def _stack_row(service, stack_id) -> Stack:
    with service.rt.db.session() as s:
        return s.get(Stack, stack_id)


# -- legacy -----------------------------------------------------------------------------------
@pytest.mark.engine_path("legacy")
def test_legacy_second_operation_on_a_busy_stack_is_refused(driver, engine_mode):
    stack_id = driver.create(hot({"A": res("one")}))
    driver.update(stack_id, hot({"A": res("two")}), environment=hooks_env(A="pre-update"),
                  wait=False)
    driver.wait_hook(stack_id, "A", "pre-update")
    assert _count(driver.service, StackLock) == 1   # the legacy path's mark
    assert _count(driver.service, SyncPoint) == 0
    with pytest.raises(errors.ActionInProgress):
        driver.update(stack_id, hot({"A": res("three")}))
    driver.signal(stack_id, "A", "pre-update")
    assert driver.wait(stack_id)["stack_status"] == "UPDATE_COMPLETE"
    assert _count(driver.service, StackLock) == 0
    assert driver.resources(stack_id)["A"]["attributes"] == {"output": "two"}


@pytest.mark.engine_path("legacy")
def test_legacy_delete_during_update_stops_the_update(driver, engine_mode):
    stack_id = driver.create(ABC_V1)
    driver.update(stack_id, ABC_V2, environment=hooks_env(A="pre-update"), wait=False)
    driver.wait_hook(stack_id, "A", "pre-update")
    driver.delete(stack_id)
    assert driver.show(stack_id)["stack_status"] == "DELETE_COMPLETE"
    assert driver.copies(stack_id) == {}
    assert _count(driver.service, StackLock) == 0


# -- convergence -------------------------------------------------------------------------------
@pytest.mark.engine_path("convergence")
def test_convergence_update_during_create_converges_to_the_newer_template(driver, engine_mode):
    v1 = hot({"A": res("a1"), "B": res("b1"), "C": {**res("c1"), "depends_on": ["A"]}})
    v2 = hot({"A": res("a2"), "B": res("b2"), "D": res("d2")})
    stack_id = driver.create(v1, environment=hooks_env(A="pre-create"), wait=False)
    driver.wait_hook(stack_id, "A", "pre-create")
    first = _stack_row(driver.service, stack_id).current_traversal
    assert _count(driver.service, SyncPoint) > 0     # the convergence path's marks
    assert _count(driver.service, StackLock) == 0
    driver.update(stack_id, v2)                      # accepted: supersedes the create
    view = driver.show(stack_id)
    assert view["stack_status"] == "UPDATE_COMPLETE", view["status_reason"]
    assert _stack_row(driver.service, stack_id).current_traversal != first
    # the hook the superseded traversal waited on blocks nothing; nothing leaked
    assert driver.copies(stack_id) == {"A": 1, "B": 1, "D": 1}
    attrs = {n: r["attributes"]["output"] for n, r in driver.resources(stack_id).items()}
    assert attrs == {"A": "a2", "B": "b2", "D": "d2"}
    assert _count(driver.service, SyncPoint) == 0    # cleaned up with the traversal


@pytest.mark.engine_path("convergence")
def test_convergence_update_during_update(driver, engine_mode):
    stack_id = driver.create(ABC_V1)
    driver.update(stack_id, ABC_V2, environment=hooks_env(A="pre-update"), wait=False)
    driver.wait_hook(stack_id, "A", "pre-update")
    v3 = ABC_V1.replace("value: initial", "value: third")
    driver.update(stack_id, v3)
    view = driver.show(stack_id)
    assert view["stack_status"] == "UPDATE_COMPLETE", view["status_reason"]
    assert view["outputs"] == {"c": "c", "a": "third"}
    assert driver.copies(stack_id) == {"A": 1, "B": 1, "C": 1}


@pytest.mark.engine_path("convergence")
def test_convergence_delete_during_slow_create_leaks_nothing(driver, engine_mode):
    slow = {"action_wait_secs": {"create": 0.3}}
    stack_id = driver.create(hot({"A": res(**slow), "B": {**res(), "depends_on": ["A"]}}),
                             wait=False)
    driver.service.wait_resource(driver.ctx, stack_id, "A", status="CREATE_IN_PROGRESS",
                                 timeout=10)
    driver.delete(stack_id)
    assert driver.show(stack_id)["stack_status"] == "DELETE_COMPLETE"
    assert driver.copies(stack_id) == {}
    with driver.service.rt.db.session() as s:
        assert s.scalar(sa.select(sa.func.count()).select_from(Resource)) == 0


@pytest.mark.engine_path("convergence")
def test_convergence_resource_locks_are_per_resource(driver, engine_mode):
    stack_id = driver.create(hot({"A": res(), "B": res()}),
                             environment=hooks_env(A="pre-create"), wait=False)
    driver.wait_hook(stack_id, "A", "pre-create")
    with driver.service.rt.db.session() as s:
        held = {r.name: r.engine_id for r in s.scalars(sa.select(Resource))}
    assert held["A"] == driver.service.engine_id     # A is locked by the worker acting
    driver.service.wait_resource(driver.ctx, stack_id, "B", status="CREATE_COMPLETE",
                                 timeout=10)          # B went on meanwhile
    driver.signal(stack_id, "A", "pre-create")
    driver.wait(stack_id)
    with driver.service.rt.db.session() as s:
        assert {r.engine_id for r in s.scalars(sa.select(Resource))} == {None}


# -- both: sticky paths, bad input, a build without a path ------------------------------------
@pytest.mark.parametrize("created_on", ["legacy", "convergence"])
def test_a_stack_keeps_its_path_when_the_option_flips(dualpath_conf_factory, created_on):
    ctx = RequestContext("p")
    conf = dualpath_conf_factory(convergence_engine=created_on == "convergence")
    with EngineService(conf) as service:
        stack_id = service.create_stack(ctx, "s", hot({"A": res("one")}),
                                        environment=hooks_env(A="pre-update"))
        service.wait_stack(ctx, stack_id)
        conf.set_override("convergence_engine", created_on != "convergence")  # the flip
        for operation in ("update", "rollback", "delete"):
            if operation == "update":
                service.update_stack(ctx, stack_id, hot({"A": res("two")}),
                                     environment=hooks_env(A="pre-update"))
            elif operation == "rollback":
                service.update_stack(ctx, stack_id, hot({"A": res("three")}),
                                     environment=hooks_env(A="pre-update"))
            else:
                service.delete_stack(ctx, stack_id)
            if operation != "delete":
                service.wait_resource(ctx, stack_id, "A", hook="pre-update", timeout=10)
                locks = _count(service, StackLock)
                points = _count(service, SyncPoint)
                assert (locks, points > 0) == ((1, False) if created_on == "legacy"
                                               else (0, True)), operation
                if operation == "rollback":
                    service.rollback_stack(ctx, stack_id)
                    # the template it returns to holds A at pre-update too: Heat's
                    # rollback updates A back, and pre-update passes every update
                    service.wait_resource(ctx, stack_id, "A", hook="pre-update", timeout=10)
                    service.signal_hook(ctx, stack_id, "A", "pre-update")
                else:
                    service.signal_hook(ctx, stack_id, "A", "pre-update")
            view = service.wait_stack(ctx, stack_id, timeout=20)
            assert view["engine"] == created_on
        assert view["stack_status"] == "DELETE_COMPLETE"
        events = service.list_events(ctx, stack_id)
        assert all(e["engine_id"] == service.engine_id for e in events)
        # and a new stack takes the flipped default
        other = service.create_stack(ctx, "t", hot({"A": res()}))
        assert service.wait_stack(ctx, other)["engine"] != created_on


@pytest.mark.parametrize("bad", [
    hot({"A": {"type": "OS::No::Such"}}),
    hot({"A": res(nope=1)}),
    hot({"A": {**res(), "depends_on": ["B"]}, "B": {**res(), "depends_on": ["A"]}}),
    "heat_template_version: 2015-04-30\nresources: [",
], ids=["unknown-type", "unknown-property", "cycle", "yaml-syntax"])
def test_bad_input_stores_nothing(dualpath_service, bad, engine_mode):
    ctx = RequestContext("p")
    with pytest.raises(errors.ValidationError):
        dualpath_service.create_stack(ctx, "s", bad)
    assert _count(dualpath_service, Stack) == 0
    assert _count(dualpath_service, RawTemplate) == 0
    assert _count(dualpath_service, Resource) == 0
    assert dualpath_service.rt.reality.copies() == {}


def test_bad_update_changes_nothing(driver, engine_mode):
    stack_id = driver.create(hot({"A": res()}))
    with pytest.raises(errors.InvalidReference):
        driver.update(stack_id, hot({"A": res(value={"get_attr": ["Z", "output"]})}))
    assert driver.show(stack_id)["stack_status"] == "CREATE_COMPLETE"
    assert _count(driver.service, RawTemplate) == 1


def test_a_build_without_convergence_refuses_its_stacks_loudly(dualpath_conf_factory):
    from engines.legacy.path import Path as LegacyPath

    conf = dualpath_conf_factory(convergence_engine=True)
    service = EngineService(conf, start=False, paths={})
    service._paths = {"legacy": LegacyPath(service.rt), "convergence": None}
    service.start()
    try:
        with pytest.raises(errors.PathNotAvailable, match="convergence path not available"):
            service.create_stack(RequestContext("p"), "s", hot({"A": res()}))
        assert _count(service, Stack) == 0 and _count(service, RawTemplate) == 0
    finally:
        service.stop()


@pytest.mark.engine_path("convergence")
def test_a_finished_traversal_does_not_clean_up_the_next_ones_sync_points(
        driver, engine_mode, monkeypatch):
    """The caller may start the next operation the moment the stack reads COMPLETE, before
    the finished traversal has cleaned up after itself; that clean-up must leave the new
    traversal's sync points alone, or the new traversal never completes."""
    from engines.convergence import traversal as traversal_module

    stack_id = driver.create(hot({"A": res("one"), "B": res("b")}))
    real_set_state = traversal_module.stack_store.set_state
    started = threading.Event()

    def set_state_then_update(db, sid, action, status, *args, **kwargs):
        done = real_set_state(db, sid, action, status, *args, **kwargs)
        if done and status == "COMPLETE" and not started.is_set():
            # a user who reacts at once: before the finished traversal's clean-up runs
            driver.update(stack_id, hot({"A": res("three"), "B": res("b")}), wait=False)
            started.set()
        return done

    monkeypatch.setattr(traversal_module.stack_store, "set_state", set_state_then_update)
    driver.update(stack_id, hot({"A": res("two"), "B": res("b")}), wait=False)
    assert started.wait(timeout=15), "the first update never completed"
    view = driver.wait(stack_id, timeout=15)
    assert view["stack_status"] == "UPDATE_COMPLETE"
    assert driver.resources(stack_id)["A"]["attributes"] == {"output": "three"}
