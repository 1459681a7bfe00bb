"""The small rules behind cancel, hooks and the stack timeout (issue 11), on their own."""

from __future__ import annotations

import pytest

from engines.convergence.graph import Graph
from engines.convergence.traversal_state import TraversalState
from engines.core.environment import hooks_matching, parse_environment
from engines.core.errors import InvalidReference, ValidationError
from engines.service import check_timeout
from scenarios.steps import STEPS
from scenarios.steps.operation import harness_wait


def _env(**hooks: object):
    return parse_environment({"resource_registry": {"resources": {
        name: {"hooks": kinds} for name, kinds in hooks.items()}}}, max_size=10_000)


def test_hooks_match_names_and_wildcards():
    env = _env(web_1="pre-create", **{"web_*": ["post-update"], "db?": "pre-delete"})
    assert env.hooks_for("web_1") == {"pre-create", "post-update"}
    assert env.hooks_for("web_22") == {"post-update"}
    assert env.hooks_for("db1") == {"pre-delete"}
    assert env.hooks_for("db12") == frozenset()
    assert hooks_matching({}, "web_1") == frozenset()


def test_every_hook_type_of_heat_is_accepted():
    env = _env(A=["pre-create", "post-create", "pre-update", "post-update", "pre-delete",
                  "post-delete"])
    assert len(env.hooks_for("A")) == 6
    with pytest.raises(ValidationError, match="unknown hook type 'mid-create'"):
        _env(A="mid-create")


def test_a_hook_must_match_some_resource():
    _env(**{"web_*": "pre-create"}).check_hook_names({"web_1", "db"})
    with pytest.raises(InvalidReference) as err:
        _env(**{"web_*": "pre-create"}).check_hook_names({"db"})
    assert err.value.path == "environment.resource_registry.resources.web_*"


@pytest.mark.parametrize("timeout", [1, 60, 3600.0, None])
def test_good_timeouts(timeout):
    check_timeout(timeout)


@pytest.mark.parametrize("timeout", [-1, 0, -0.5, 1.5, "10", True])
def test_bad_timeouts_name_the_field(timeout):
    with pytest.raises(ValidationError) as err:
        check_timeout(timeout)
    assert err.value.path == "timeout"


def test_traversal_state_keeps_hooks_and_stop_epoch():
    state = TraversalState.new(Graph(), action="DELETE", hooks={"web_*": frozenset(
        {"pre-delete"})}, stop_epoch=3)
    again = TraversalState.from_json(state.to_json())
    assert (again.hooks, again.stop_epoch) == ({"web_*": {"pre-delete"}}, 3)
    older = TraversalState.from_json({"delete_hooks": {"A": ["pre-delete"]}})
    assert (older.hooks, older.stop_epoch) == ({"A": {"pre-delete"}}, 0)


def test_traversal_state_keeps_its_nested_rows_and_older_states_have_none():
    state = TraversalState.new(Graph(), action="DELETE", nested_rows=frozenset({7, 3}))
    assert TraversalState.from_json(state.to_json()).nested_rows == {3, 7}
    assert TraversalState.new(Graph(), nested_rows=frozenset()).to_json()["nested_rows"] == []
    # written before nested_rows was stored: unknown, so a clean-up reads the row's type
    assert TraversalState.from_json({"action": "DELETE"}).nested_rows is None


def test_the_rows_owning_a_nested_stack_are_told_by_their_type():
    from types import SimpleNamespace

    from engines.convergence.traversal import nested_rows

    rows = [SimpleNamespace(id=1, type="OS::Heat::Stack"),
            SimpleNamespace(id=2, type="OS::Heat::TestResource"),
            SimpleNamespace(id=3, type="OS::Heat::ResourceGroup"),
            SimpleNamespace(id=4, type="No::Such::Type")]
    assert nested_rows(rows) == {1, 3}


def test_the_cancel_step_is_registered_and_waits_past_the_stack_timeout():
    assert STEPS["cancel"].operation and STEPS["cancel"].needs_stack
    assert harness_wait({"timeout": 100}, stack_timeout=True) > 100
    assert harness_wait({"timeout": -1}, stack_timeout=True) > 0
    assert harness_wait({"timeout": 5}, stack_timeout=False) == 5


class _CountingDb:
    """Stands for the engine's database: every look at the stack is one session."""

    def __init__(self, current: str) -> None:
        self.current = current
        self.sessions = 0

    def session(self):  # noqa: ANN201
        import contextlib
        from unittest import mock

        self.sessions += 1
        return contextlib.nullcontext(mock.Mock(scalar=lambda _query: self.current))


def _watch(monkeypatch: pytest.MonkeyPatch, db: _CountingDb, clock: list[float]):
    from types import SimpleNamespace

    from engines.convergence import interruption

    monkeypatch.setattr(interruption.time, "monotonic", lambda: clock[0])
    stack = SimpleNamespace(id="s", timeout=None, disable_rollback=True, action="UPDATE")
    state = TraversalState.new(Graph(), action="UPDATE")
    rt = SimpleNamespace(db=db, poll_interval=1.0)
    return interruption.Interruption(rt, None, stack, "t1", state)


def _status(current: str):
    from engines.convergence.traversal import StackStatus

    return StackStatus(id="s", current_traversal=current, action="UPDATE",
                       status="IN_PROGRESS", timeout=None, disable_rollback=True,
                       parameters=None)


def test_a_read_under_the_lock_that_finds_the_traversal_current_counts_as_a_look(
        monkeypatch):
    db, clock = _CountingDb("t1"), [100.0]
    watch = _watch(monkeypatch, db, clock)
    clock[0] += 5  # the check waited for its lock longer than a poll interval
    watch.vouch(_status("t1"))
    assert watch.cancelled() is False
    assert db.sessions == 0  # the action's first question read nothing
    clock[0] += 1.5
    assert watch.cancelled() is False
    assert db.sessions == 1  # a poll interval later it looks again


def test_a_read_that_shows_another_traversal_does_not_count_as_a_look(monkeypatch):
    db, clock = _CountingDb("t1"), [100.0]
    watch = _watch(monkeypatch, db, clock)
    clock[0] += 5
    watch.vouch(_status("t2"))
    watch.vouch(None)
    assert watch.cancelled() is False
    assert db.sessions == 1
