"""A step is one definition (scenarios/steps/<op>.py): registering it is all the loader,
the schema and the executor need to know of it."""

from __future__ import annotations

import textwrap
from pathlib import Path
from types import SimpleNamespace

import pytest

from scenarios import validation
from scenarios.loader import ScenarioError, load_scenario
from scenarios.steps import STEPS, checks, fault, paths, signal
from scenarios.steps import expect as expect_step
from scenarios.steps.base import StepKind, no_error
from scenarios.steps.operation import files_of, stack_options

SCENARIO = """\
description: d
templates:
  v1:
    heat_template_version: 2015-04-30
    resources:
      A: {type: OS::Heat::TestResource}
steps:
  - create: {template: v1}
  - nudge: {resource: %s}
"""


@pytest.fixture
def nudge(monkeypatch: pytest.MonkeyPatch) -> list[tuple[list, dict]]:
    """A step of a test's own, registered the way a module of scenarios/steps is."""
    seen: list[tuple[list, dict]] = []

    def check(checker, at, args):  # noqa: ANN001, ANN202
        seen.append((at, args))
        checker.resource(at + ["resource"], args["resource"])

    kind = StepKind("nudge", {"type": "object", "required": ["resource"],
                              "additionalProperties": False,
                              "properties": {"resource": {"$ref": "#/$defs/resourceName"}}},
                    lambda run, args: no_error(), check=check, needs_stack=True)
    monkeypatch.setitem(STEPS, "nudge", kind)
    validation.schema.cache_clear()
    validation._validator.cache_clear()
    yield seen
    monkeypatch.undo()
    validation.schema.cache_clear()
    validation._validator.cache_clear()


def _write(tmp_path: Path, resource: str) -> Path:
    path = tmp_path / "group" / "case.yaml"
    path.parent.mkdir()
    path.write_text(textwrap.dedent(SCENARIO % resource), encoding="utf-8")
    return path


def test_a_registered_step_is_loaded_and_checked(nudge, tmp_path):
    scenario = load_scenario(_write(tmp_path, "A"), tmp_path)
    assert [(s.op, s.args) for s in scenario.steps][1] == ("nudge", {"resource": "A"})
    assert nudge == [(["steps", 1, "nudge"], {"resource": "A"})]


def test_its_semantic_check_refuses_with_the_file_step_and_reason(nudge, tmp_path):
    with pytest.raises(ScenarioError) as caught:
        load_scenario(_write(tmp_path, "Z"), tmp_path)
    assert (caught.value.step, caught.value.field) == (1, "steps[1].nudge.resource")
    assert "resource 'Z' is not in any template" in caught.value.reason


def test_without_the_registration_the_operation_is_unknown(tmp_path):
    with pytest.raises(ScenarioError) as caught:
        load_scenario(_write(tmp_path, "A"), tmp_path)
    assert "unknown operation 'nudge'" in caught.value.reason


# -- nested stacks and checks: what the steps do with them -----------------------------------


class FakeService:
    """Stacks by id -> their resources; records what the steps ask of it."""

    def __init__(self, stacks: dict[str, list[dict]]) -> None:
        self.stacks = stacks
        self.calls: list[tuple] = []

    def list_resources(self, ctx, stack_id):  # noqa: ANN001, ANN201
        return self.stacks[stack_id]

    def signal_hook(self, ctx, stack_id, name, hook):  # noqa: ANN001, ANN201
        self.calls.append(("signal", stack_id, name, hook))
        return "released"

    def inject_fault(self, name, action, **options):  # noqa: ANN001, ANN003, ANN201
        self.calls.append(("fault", name, action, options["stack_id"]))


def fake_run(stacks: dict[str, list[dict]], files: dict[str, str] | None = None):  # noqa: ANN201
    return SimpleNamespace(service=FakeService(stacks), ctx=None, stack=lambda: "root",
                           scenario=SimpleNamespace(files=files or {}))


TREE = {"root": [{"name": "db", "physical_id": "child"}, {"name": "A", "physical_id": "a1"}],
        "child": [{"name": "group", "physical_id": "grand"}, {"name": "R", "physical_id": "r"}],
        "grand": [{"name": "0", "physical_id": "member"}], "member": []}


def test_a_path_is_resolved_through_the_physical_ids_of_stack_resources():
    run = fake_run(TREE)
    assert paths.resolve(run, "A") == ("root", "A")
    assert paths.resolve(run, "db/R") == ("child", "R")
    assert paths.resolve(run, "db/group/0/X") == ("member", "X")
    assert paths.resolve(run, "nope/R") is None
    with pytest.raises(LookupError, match="'nope/R'"):
        paths.resolve_now(run, "nope/R")


def test_signal_and_fault_act_on_the_nested_stack_a_path_names():
    run = fake_run(TREE)
    signal.run(run, {"resource": "db/R", "hook": "pre-create"})
    fault.run(run, {"resource": "db/R", "action": "CREATE"})
    fault.run(run, {"resource": "R", "action": "DELETE"})  # a plain name: any stack
    assert run.service.calls == [("signal", "child", "R", "pre-create"),
                                 ("fault", "R", "CREATE", "child"),
                                 ("fault", "R", "DELETE", None)]


def test_files_go_to_the_engine_all_by_default_or_as_the_step_names_them():
    run = fake_run({}, files={"db.yaml": "v1", "db_v2": "v2"})
    assert files_of(run, {}) == {"db.yaml": "v1", "db_v2": "v2"}
    assert files_of(run, {"files": ["db.yaml"]}) == {"db.yaml": "v1"}
    assert files_of(run, {"files": {"db.yaml": "db_v2"}}) == {"db.yaml": "v2"}
    assert stack_options({"timeout": 5}, run)["files"] == {"db.yaml": "v1", "db_v2": "v2"}
    assert "files" not in stack_options({}, fake_run({}))  # no files: the call as before


@pytest.mark.parametrize(("value", "expected", "ok"), [
    ("abc", {"length": 3}, True), ([1, 2], {"length": 3}, False), (5, {"length": 1}, False),
    ("a stack failed", {"contains": "failed"}, True), (["x"], {"contains": "x"}, True),
    ({"k": 1}, {"contains": "k"}, True), (None, {"contains": "x"}, False),
    (None, {"not_null": True}, False), (0, {"not_null": True}, True),
    ({"length": 3}, {"equals": {"length": 3}}, True), ({"a": 1, "b": 2}, {"a": 1, "b": 2}, True),
])
def test_checks_hold_or_say_why(value, expected, ok):
    assert checks.holds(value, expected)[0] is ok


def test_changed_since_compares_with_the_value_at_the_mark():
    assert checks.holds("new", {"changed_since": "m"}, "old")[0]
    assert not checks.holds("old", {"changed_since": "m"}, "old")[0]
    assert checks.holds("old", {"unchanged_since": "m"}, "old")[0]
    assert checks.holds("x", {"changed_since": "m"})[0]  # nothing at the mark: changed


def test_events_exactly_or_as_a_subsequence():
    seen = ["CREATE_IN_PROGRESS", "CREATE_COMPLETE", "UPDATE_IN_PROGRESS", "UPDATE_COMPLETE"]
    assert checks.events_hold(seen, list(seen))
    assert not checks.events_hold(seen, seen[:2])
    assert checks.events_hold(seen, {"subsequence": ["CREATE_COMPLETE", "UPDATE_COMPLETE"]})
    assert not checks.events_hold(seen, {"subsequence": ["UPDATE_COMPLETE", "CREATE_COMPLETE"]})


SNAP = {
    "stack": {"status": "CREATE_FAILED", "reason": "Resource CREATE failed: db: nested"},
    "resources": {
        "db": {"status": "CREATE_COMPLETE", "physical_id": "child", "attributes": {}},
        "db/R": {"status": "CREATE_COMPLETE", "physical_id": "r1",
                 "attributes": {"output": "new"}}},
    "resource_reasons": {"db": "state changed", "db/R": "injected fault: CREATE of R"},
    "stacks": {"db": {"status": "CREATE_COMPLETE"}},
    "outputs": {"o": [1, 2, 3], "p": "new"},
    "reality": {"db/R": 1},
}


def _check(expect: dict, **extra) -> list:
    options = {"last_error": None, "before": {}, "marks": {}, "templates": {"t": {"db"}},
               "current_template": "t", **extra}
    return expect_step.check(3, expect, SNAP, **options)


def test_expect_checks_outputs_attributes_reasons_and_events():
    marks = {"m": {"outputs": {"p": "old"}, "attributes": {"db/R": {"output": "new"}}}}
    assert _check({"status_reason": {"contains": "nested"},
                   "resources": {"db/R": {"status": "CREATE_COMPLETE",
                                          "status_reason": {"contains": "injected"}}},
                   "outputs": {"o": {"length": 3}, "p": {"changed_since": "m"}},
                   "attributes": {"db/R": {"output": {"unchanged_since": "m"}}},
                   "events": {"db/R": {"subsequence": ["CREATE_COMPLETE"]}}},
                  mark_values=marks,
                  events={"db/R": ["CREATE_IN_PROGRESS", "CREATE_COMPLETE"]}) == []
    failures = _check({"status_reason": "other", "outputs": {"o": {"length": 2}},
                       "resources": {"db": {"status_reason": {"contains": "nested"}}},
                       "attributes": {"db/R": {"output": {"changed_since": "m"}}},
                       "events": {"db/R": ["CREATE_COMPLETE"]}}, mark_values=marks,
                      events={})
    assert [f.check for f in failures] == ["status_reason", "resources.db.status_reason",
                                           "outputs.o", "attributes.db/R.output", "events.db/R"]


def test_converged_counts_nested_resources_and_not_their_owner():
    assert _check({"converged": True}) == []
    broken = dict(SNAP, reality={"db/R": 2, "ghost": 1},
                  stacks={"db": {"status": "CREATE_FAILED"}})
    problems = expect_step._convergence_problems(broken, {"db"})
    assert "the nested stack of db is CREATE_FAILED" in problems
    assert "db/R has 2 physical copies" in problems
    assert "physical resources not in the template: ['ghost']" in problems


# -- PATCH updates and previews -------------------------------------------------------------
class PreviewService:
    """Records the calls a step makes; a preview answers ``answer`` (or raises it)."""

    def __init__(self, answer: object) -> None:
        self.answer = answer
        self.calls: list[tuple] = []

    def preview_update_stack(self, ctx, stack_id, template, environment, parameters,
                             **options):  # noqa: ANN001, ANN003, ANN201
        self.calls.append(("preview", stack_id, template, environment, parameters, options))
        if isinstance(self.answer, Exception):
            raise self.answer
        return self.answer

    def update_stack(self, ctx, stack_id, template, environment, parameters,
                     **options):  # noqa: ANN001, ANN003, ANN201
        self.calls.append(("update", stack_id, template, environment, parameters, options))


def preview_run(answer: object) -> SimpleNamespace:
    return SimpleNamespace(
        service=PreviewService(answer), ctx=None, stack=lambda: "root", history=["v1"],
        last_error=None, for_path=lambda value: value,
        scenario=SimpleNamespace(files={}, templates={"v1": {"t": 1}}, environments={}))


ANSWER = {"added": [{"name": "db/X", "type": "OS::Heat::None"}],
          "updated": [{"name": "db", "type": "db.yaml"}], "replaced": [], "deleted": [],
          "unchanged": [{"name": "A", "type": "OS::Heat::TestResource"}]}


def test_a_preview_asks_the_engine_and_its_answer_is_the_step_s_result():
    run = preview_run(ANSWER)
    kind = STEPS["preview"]
    outcome = kind.run(run, {"existing": True, "parameters": {"p": 1}})
    assert outcome == {"error": None, "preview": ANSWER}
    assert run.service.calls == [("preview", "root", None, None, {"p": 1},
                                  {"existing": True})]
    assert run.last_error is None  # not an operation: a later expect's error is the update's
    assert not kind.operation and kind.settles({}) and kind.needs_stack
    args = {"template": "v1", "expect": {"added": ["db/X"], "unchanged": ["A"]}}
    assert kind.verify(run, 3, args, {}, kind.run(run, args)) == []
    wrong = {"template": "v1", "expect": {"updated": [], "added": ["db/X", "B"]}}
    failures = kind.verify(run, 3, wrong, {}, kind.run(run, wrong))
    assert [(f.check, f.expected, f.actual) for f in failures] == [
        ("preview.updated", [], ["db"]), ("preview.added", ["B", "db/X"], ["db/X"])]


def test_a_refused_preview_is_an_outcome_and_expect_error_checks_it():
    from engines.core.errors import ParameterError

    run = preview_run(ParameterError("parameters.p", "no such parameter"))
    kind = STEPS["preview"]
    outcome = kind.run(run, {"template": "v1"})
    assert outcome["error"] == "ParameterError"
    assert kind.verify(run, 1, {"template": "v1", "expect_error": "ValidationError"}, {},
                       outcome) == []
    assert [f.check for f in kind.verify(run, 1, {"template": "v1"}, {}, outcome)] == [
        "expect_error"]


def test_a_patch_update_gives_existing_and_keeps_the_template_in_the_history():
    run = preview_run(None)
    STEPS["update"].run(run, {"existing": True, "clear_parameters": ["q"], "wait": False})
    assert run.service.calls == [("update", "root", None, None, None,
                                  {"existing": True, "clear_parameters": ["q"]})]
    assert run.history == ["v1", "v1"]  # the stack's template: the last one accepted
    STEPS["update"].run(run, {"template": "v1", "wait": False})
    assert run.service.calls[-1][2] == {"t": 1} and "existing" not in run.service.calls[-1][5]
