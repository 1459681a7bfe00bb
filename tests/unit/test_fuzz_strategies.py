"""The fuzzer's generator: every case it draws is a valid scenario of our format, its
templates are DAGs, and the isolation that makes interleavings deterministic holds."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from harness.fuzz.model import Model, Res, render
from harness.fuzz.story import Story, load
from harness.fuzz.strategies import cases, models
from scenarios.loader import ScenarioError

FAST = settings(max_examples=80, deadline=None, database=None,
                suppress_health_check=list(HealthCheck))


@FAST
@given(case=cases(max_resources=5))
def test_every_case_loads_as_a_valid_scenario(case, tmp_path_factory):
    scenario = load(case, "case", "a generated case", tmp_path_factory.mktemp("fuzz"))
    assert scenario.id == "fuzz/case"
    assert scenario.steps[0].op in ("create", "fault")
    # every story ends with the stack deleted (or stopped by a delete mid-operation)
    assert any(step.op == "delete" for step in scenario.steps)
    assert set(scenario.engines) <= {"legacy", "convergence"}


@FAST
@given(model=models(max_resources=6))
def test_models_are_dags_within_the_limit(model):
    assert 1 <= len(model.resources) <= 6
    assert model.acyclic()
    template = render(model)
    assert set(template["resources"]) == set(model.resources)


@FAST
@given(model=models(max_resources=6), data=st.data())
def test_isolate_leaves_nothing_beside_the_chosen_resource(model, data):
    name = data.draw(st.sampled_from(sorted(model.resources)))
    model.isolate(name)
    assert model.acyclic()
    related = model.ancestors(name) | model.descendants(name) | {name}
    assert related == set(model.resources)


def test_mutations_keep_references_valid():
    model = Model(resources={
        "A": Res("test", "a0"),
        "B": Res("test", "b0", [("A", "get_attr")]),
    }, outputs={"b": ("B", "get_attr")})
    assert model.rename("A") == "rename A to C"
    assert model.resources["B"].refs == [("C", "get_attr")]
    assert model.invert("B", 0) == "invert B -> C"
    assert model.resources["C"].refs == [("B", "get_attr")] and model.acyclic()
    assert model.force_replace("B", "type", "x") is None  # its attribute is read
    assert model.force_replace("C", "type", "x") == "change C's type"
    assert model.remove("B") == "remove B"
    assert model.outputs == {} and model.resources["C"].refs == []
    assert model.remove("C") is None  # a stack keeps at least one resource


def test_a_generator_bug_is_refused_by_the_loader(tmp_path):
    story = Story()
    story.operate("create", Model(resources={"A": Res("test", "a0")}))
    case = story.case()
    case.steps.append({"signal": {"resource": "Nowhere", "hook": "pre-create"}})
    with pytest.raises(ScenarioError, match="Nowhere"):
        load(case, "broken", "a broken case", tmp_path)


def test_every_update_passes_the_parameters_the_stack_has_now():
    """A PUT update that leaves a parameter out resets it to its default (Heat's stack
    update without ``existing``): a generated act that means to keep the stack as it is
    must pass the values again, or it replaces what reads them (the story behind fuzz
    finding error_8035fb76, where a delete's breakpoint was never reached)."""
    model = Model(resources={"A": Res("random", "a0", param="p")}, parameters={"p": "p0"})
    story = Story()
    story.operate("create", model)
    story.operate("update", model, parameters={"p": "p5"})
    story.operate("update", model, environment=story.hold("A", "pre-delete"))
    assert story.steps[-1]["update"]["parameters"] == {"p": "p5"}
    story.operate("update", model, parameters={})
    assert "parameters" not in story.steps[-1]["update"]
    assert story.params == {}
    without = Model(resources={"A": Res("test", "a0")})
    story.params = {"p": "p5"}
    story.operate("update", without)
    assert "parameters" not in story.steps[-1]["update"]  # the template has no p any more
