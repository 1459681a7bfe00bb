"""The pytest plugin, seen from a user's project: --engine-mode runs unchanged tests on
either path, scenario files become test items, failures say which expectation broke."""

from __future__ import annotations

import textwrap

import pytest

SCENARIO = """
description: two resources, created and deleted
templates:
  t:
    heat_template_version: 2015-04-30
    resources:
      A: {type: OS::Heat::TestResource, properties: {value: a}}
steps:
  - create: {template: t}
  - expect: {stack: CREATE_COMPLETE, outputs: {}, reality: {A: %d}}
  - delete: {}
"""

ENGINE_TEST = """
from engines.core.context import RequestContext

def test_path_is_the_session_default(dualpath_service, engine_mode):
    ctx = RequestContext("p")
    stack_id = dualpath_service.create_stack(ctx, "s", "heat_template_version: 2015-04-30")
    view = dualpath_service.wait_stack(ctx, stack_id)
    assert view["engine"] == engine_mode
"""


@pytest.fixture
def project(pytester: pytest.Pytester) -> pytest.Pytester:
    pytester.makepyfile(test_engine=ENGINE_TEST)
    tree = pytester.path / "my_scenarios" / "basic"
    tree.mkdir(parents=True)
    (tree / "good.yaml").write_text(SCENARIO % 1)
    (tree / "bad.yaml").write_text(SCENARIO % 2)
    only = SCENARIO % 1 + "engines: [convergence]\n"
    (tree / "only_convergence.yaml").write_text(textwrap.dedent(only))
    return pytester


@pytest.mark.parametrize("mode,expected_engines", [
    ("legacy", ["legacy"]), ("convergence", ["convergence"]),
    ("both", ["legacy", "convergence"])])
def test_engine_mode_runs_existing_tests_unchanged(project, mode, expected_engines):
    result = project.runpytest_subprocess("test_engine.py", f"--engine-mode={mode}", "-v")
    result.assert_outcomes(passed=len(expected_engines))
    for engine in expected_engines:
        result.stdout.fnmatch_lines([f"*test_path_is_the_session_default?engine={engine}? PASSED*"])


def test_scenarios_are_collected_per_path_and_failures_name_the_expectation(project):
    result = project.runpytest_subprocess("--scenarios", "my_scenarios", "my_scenarios",
                                          "--engine-mode=both", "-v")
    # good and bad on both paths, the path-specific one on its own path
    result.assert_outcomes(passed=3, failed=2)
    result.stdout.fnmatch_lines([
        "*basic/good[[]legacy[]] PASSED*", "*basic/only_convergence[[]convergence[]] PASSED*",
        "*scenario basic/bad on the legacy path*",
        "*step 1 reality.A: the cloud has 1 copies of A (expected 2, got 1)*",
    ])


def test_scenario_items_are_safe_under_xdist(project):
    result = project.runpytest_subprocess("--scenarios", "my_scenarios", "my_scenarios",
                                          "test_engine.py", "--engine-mode=both", "-n", "2")
    result.assert_outcomes(passed=5, failed=2)
