"""A step is one definition (scenarios/steps/<op>.py): registering it is all the loader,
the schema and the executor need to know of it."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from scenarios import validation
from scenarios.loader import ScenarioError, load_scenario
from scenarios.steps import STEPS
from scenarios.steps.base import StepKind, no_error

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
