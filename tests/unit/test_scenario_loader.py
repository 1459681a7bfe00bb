"""The scenario format: the shipped corpus loads, and malformed scenarios are refused with
the file, the step and the reason."""

from __future__ import annotations

import fnmatch
import json
import pickle
import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml
from jsonschema import Draft202012Validator

from engines.core import errors as engine_errors
from scenarios.document import MAX_BYTES
from scenarios.loader import (
    Scenario,
    ScenarioError,
    corpus_root,
    load_corpus,
    load_scenario,
)
from scenarios.validation import SCHEMA_PATH

REQUIRED_GROUPS = {"create", "update", "delete", "rollback", "failures", "overlap", "hooks",
                   "noise", "bad_input"}
ENDS_WITHOUT_DELETE = {"bad_input"}  # what they refuse never makes a stack to delete

TEMPLATE = """\
templates:
  v1:
    heat_template_version: 2015-04-30
    resources:
      A: {type: OS::Heat::TestResource, properties: {value: a}}
      B: {type: OS::Heat::TestResource, depends_on: [A]}
"""


@pytest.fixture(scope="module")
def corpus() -> list[Scenario]:
    return load_corpus(corpus_root())


Write = Callable[..., Path]


@pytest.fixture
def write(tmp_path: Path) -> Write:
    """write(text, name="group/name") -> the path of a scenario file under tmp_path."""

    def make(text: str, name: str = "group/case") -> Path:
        path = tmp_path / f"{name}.yaml"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text), encoding="utf-8")
        return path

    return make


def scenario(steps: str, head: str = "description: d\n" + TEMPLATE) -> str:
    return head + "steps:\n" + textwrap.indent(textwrap.dedent(steps), "  ")


def refused(path: Path, root: Path) -> ScenarioError:
    with pytest.raises(ScenarioError) as caught:
        load_scenario(path, root)
    error = caught.value
    assert error.path == path
    text = str(error)  # "FILE: FIELD: REASON", the file as the user would open it
    assert text.split(": ", 1)[0].endswith(path.name)
    assert text.endswith(f"{error.field}: {error.reason}" if error.field else error.reason)
    return error


# -- the corpus ---------------------------------------------------------------------------
def test_corpus_loads_and_is_big_enough(corpus: list[Scenario]) -> None:
    assert len(corpus) >= 44
    assert len({s.id for s in corpus}) == len(corpus)
    assert {s.group for s in corpus} >= REQUIRED_GROUPS


def test_every_group_has_its_share(corpus: list[Scenario]) -> None:
    counts = {g: sum(1 for s in corpus if s.group == g) for g in REQUIRED_GROUPS}
    assert counts["bad_input"] >= 6
    assert all(n >= 3 for n in counts.values()), counts


def test_ids_follow_the_files(corpus: list[Scenario]) -> None:
    for s in corpus:
        assert s.id == f"{s.group}/{s.name}"
        assert s.path == corpus_root() / s.group / f"{s.name}.yaml"
        assert s.description and s.steps
        assert set(s.engines) <= {"legacy", "convergence"}


def test_scenarios_clean_up_after_themselves(corpus: list[Scenario]) -> None:
    for s in corpus:
        if s.group in ENDS_WITHOUT_DELETE:
            continue
        last = s.steps[-1]
        assert any(step.op == "delete" for step in s.steps), s.id
        assert last.op == "expect" and last.args.get("stack") == "DELETE_COMPLETE", s.id
        assert "count" in last.args.get("reality", {}), s.id


def test_bad_input_expects_an_error(corpus: list[Scenario]) -> None:
    for s in corpus:
        if s.group == "bad_input":
            assert any("expect_error" in step.args for step in s.steps
                       if isinstance(step.args, dict)), s.id


def test_overlap_has_one_scenario_per_path_and_one_for_both(corpus: list[Scenario]) -> None:
    overlap = {s.id: s.engines for s in corpus if s.group == "overlap"}
    assert overlap["overlap/update_during_create_legacy"] == ("legacy",)
    assert overlap["overlap/update_during_create_convergence"] == ("convergence",)
    assert overlap["overlap/update_during_update_legacy"] == ("legacy",)
    assert overlap["overlap/update_during_update_convergence"] == ("convergence",)
    assert overlap["overlap/update_during_create"] == ("legacy", "convergence")


def _numbers(node: object, keys: set[str]) -> list[float]:
    found: list[float] = []
    if isinstance(node, dict):
        for key, value in node.items():
            if key in keys and isinstance(value, int | float):
                found.append(float(value))
            elif key in keys and isinstance(value, dict):
                found += [float(v) for v in value.values() if isinstance(v, int | float)]
            else:
                found += _numbers(value, keys)
    elif isinstance(node, list):
        for item in node:
            found += _numbers(item, keys)
    return found


def test_corpus_stays_fast(corpus: list[Scenario]) -> None:
    # the corpus runs on two paths, twice each, on every CI run
    for s in corpus:
        waits = _numbers(s.templates, {"wait_secs", "action_wait_secs"})
        waits += _numbers([st.args for st in s.steps if st.op == "fault"], {"latency"})
        # an interruption scenario stops its slow actions: they are never waited for
        assert "interruption" in s.tags or all(w <= 0.5 for w in waits), (s.id, waits)
        for template in s.templates.values():
            assert 1 <= len(template.get("resources") or {}) <= 6, s.id


def test_file_references_are_read_and_versions_stay_strings(corpus: list[Scenario]) -> None:
    by_id = {s.id: s for s in corpus}
    hooks = by_id["hooks/pre_create"]
    assert hooks.templates["t"]["heat_template_version"] == "2015-04-30"
    assert hooks.environments["hold_b"] == {
        "resource_registry": {"resources": {"B": {"hooks": "pre-create"}}}}
    assert all(isinstance(t.get("heat_template_version"), str)
               for s in corpus for t in s.templates.values())
    assert not any(s.group.startswith("_") for s in corpus)


def test_scenarios_survive_a_process_boundary(corpus: list[Scenario]) -> None:
    # the runner hands scenarios to a spawn process pool
    assert pickle.loads(pickle.dumps(corpus[0])) == corpus[0]


def test_pattern_selects_by_id_or_group(corpus: list[Scenario]) -> None:
    root = corpus_root()
    update = load_corpus(root, "update/*")
    assert update and all(s.group == "update" for s in update)
    assert [s.id for s in load_corpus(root, "update")] == [s.id for s in update]
    assert [s.id for s in load_corpus(root, "create/chain")] == ["create/chain"]
    assert load_corpus(root, "no_such_group/*") == []


def test_schema_is_valid_and_knows_every_engine_error() -> None:
    schema = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    Draft202012Validator.check_schema(schema)
    engine_classes = {name for name, value in vars(engine_errors).items()
                      if isinstance(value, type) and issubclass(value, engine_errors.DualpathError)}
    assert set(schema["$defs"]["errorClass"]["enum"]) == engine_classes


def test_divergence_registry_names_real_two_path_scenarios(corpus: list[Scenario]) -> None:
    entries = yaml.safe_load((corpus_root().parent / "divergences.yaml").read_text())
    assert isinstance(entries, list) and entries
    two_path = [s.id for s in corpus if len(s.engines) == 2]
    for entry in entries:
        assert set(entry) <= {"scenario", "path", "legacy", "convergence", "reason"}
        assert entry["path"].startswith("$.steps") and entry["reason"].strip()
        assert fnmatch.filter(two_path, entry["scenario"]), entry
    first = entries[0]
    assert (first["scenario"], first["legacy"], first["convergence"]) == (
        "overlap/update_during_create", "ActionInProgress", None)


# -- a valid scenario, read in detail ---------------------------------------------------
def test_a_scenario_becomes_steps(write: Write, tmp_path: Path) -> None:
    path = write(scenario("""\
        - create: {template: v1, parameters: {x: 1}, environment: {parameters: {}}}
        - mark: start
        - delete:
        - expect: {stack: DELETE_COMPLETE, reality: {count: 0}, unchanged: [A], since: start}
    """), name="demo/story")
    s = load_scenario(path, tmp_path)
    assert (s.id, s.group, s.name, s.engines) == ("demo/story", "demo", "story",
                                                  ("legacy", "convergence"))
    assert [(st.index, st.op) for st in s.steps] == [
        (0, "create"), (1, "mark"), (2, "delete"), (3, "expect")]
    assert s.steps[1].args == "start"
    assert s.steps[2].args == {}
    assert s.templates["v1"]["heat_template_version"] == "2015-04-30"


def test_error_text_names_file_field_and_reason(write: Write, tmp_path: Path) -> None:
    path = write(scenario("""\
        - create: {template: v1}
        - update: {template: v3}
    """), name="update/replace")
    error = refused(path, tmp_path)
    assert (error.step, error.field) == (1, "steps[1].update.template")
    assert str(error).endswith(
        "update/replace.yaml: steps[1].update.template: template 'v3' is not defined"
        " (defined: v1)")


# -- malformed scenarios -----------------------------------------------------------------
def test_yaml_syntax_error(write: Write, tmp_path: Path) -> None:
    error = refused(write("description: [unclosed\nsteps: []\n"), tmp_path)
    assert error.step is None and "not valid YAML" in error.reason and "line" in error.reason


def test_not_a_mapping(write: Write, tmp_path: Path) -> None:
    error = refused(write("- create: {template: v1}\n"), tmp_path)
    assert error.step is None and "must be a mapping" in error.reason


def test_empty_file(write: Write, tmp_path: Path) -> None:
    error = refused(write(""), tmp_path)
    assert error.step is None and "an empty file" in error.reason


def test_missing_description(write: Write, tmp_path: Path) -> None:
    error = refused(write(scenario("- create: {template: v1}\n", head=TEMPLATE)), tmp_path)
    assert (error.step, error.field) == (None, "description")
    assert "missing required field 'description'" in error.reason


def test_unknown_top_level_key(write: Write, tmp_path: Path) -> None:
    error = refused(write("description: d\nstepz: []\nsteps:\n  - wait: {}\n"), tmp_path)
    assert (error.step, error.field) == (None, "stepz")
    assert "unknown top-level key 'stepz'" in error.reason


def test_empty_steps(write: Write, tmp_path: Path) -> None:
    error = refused(write("description: d\nsteps: []\n"), tmp_path)
    assert (error.step, error.field) == (None, "steps")
    assert "non-empty list of steps" in error.reason


def test_step_with_two_operations(write: Write, tmp_path: Path) -> None:
    error = refused(write(scenario("""\
        - create: {template: v1}
        - update: {template: v1}
          delete: {}
    """)), tmp_path)
    assert (error.step, error.field) == (1, "steps[1]")
    assert "exactly one operation, found 2: update, delete" in error.reason


def test_duplicate_operation_key_in_one_step(write: Write, tmp_path: Path) -> None:
    error = refused(write(scenario("""\
        - create: {template: v1}
          create: {template: v1}
    """)), tmp_path)
    assert (error.step, error.field) == (0, "steps[0].create")
    assert "duplicate key 'create'" in error.reason


def test_unknown_operation(write: Write, tmp_path: Path) -> None:
    error = refused(write(scenario("""\
        - create: {template: v1}
        - frobnicate: {}
    """)), tmp_path)
    assert (error.step, error.field) == (1, "steps[1].frobnicate")
    assert "unknown operation 'frobnicate'" in error.reason


def test_undefined_template(write: Write, tmp_path: Path) -> None:
    error = refused(write(scenario("- create: {template: v2}\n")), tmp_path)
    assert (error.step, error.field) == (0, "steps[0].create.template")
    assert "template 'v2' is not defined" in error.reason


def test_undefined_environment(write: Write, tmp_path: Path) -> None:
    error = refused(write(scenario("- create: {template: v1, environment: hooks}\n")),
                    tmp_path)
    assert (error.step, error.field) == (0, "steps[0].create.environment")
    assert "environment 'hooks' is not defined" in error.reason


def test_mark_used_before_it_is_defined(write: Write, tmp_path: Path) -> None:
    error = refused(write(scenario("""\
        - create: {template: v1}
        - update: {template: v1}
        - expect: {unchanged: [A], since: before}
        - mark: before
    """)), tmp_path)
    assert (error.step, error.field) == (2, "steps[2].expect.since")
    assert "mark 'before' is not defined before this step" in error.reason


def test_mark_defined_twice(write: Write, tmp_path: Path) -> None:
    error = refused(write(scenario("- mark: m\n- mark: m\n")), tmp_path)
    assert error.step == 1 and "already defined at steps[0]" in error.reason


def test_file_reference_missing(write: Write, tmp_path: Path) -> None:
    path = write("description: d\ntemplates:\n  v1: {file: nowhere.yaml}\n"
                 "steps:\n  - create: {template: v1}\n")
    error = refused(path, tmp_path)
    assert (error.step, error.field) == (None, "templates.v1.file")
    assert "'nowhere.yaml': file not found" in error.reason


def test_file_reference_escaping_the_root(write: Write, tmp_path: Path) -> None:
    root = tmp_path / "root"
    (tmp_path / "secret.yaml").write_text("heat_template_version: 2015-04-30\n")
    path = write("description: d\nenvironments:\n  e: {file: ../../secret.yaml}\n"
                 "steps:\n  - wait: {}\n", name="root/group/case")
    error = refused(path, root)
    assert (error.step, error.field) == (None, "environments.e.file")
    assert "escapes the scenario root" in error.reason


def test_file_reference_is_read(write: Write, tmp_path: Path) -> None:
    shared = tmp_path / "_shared" / "t.yaml"
    shared.parent.mkdir()
    shared.write_text("heat_template_version: 2015-04-30\nresources:\n"
                      "  A: {type: OS::Heat::None}\n")
    path = write("description: d\ntemplates:\n  t: {file: ../_shared/t.yaml}\n"
                 "steps:\n  - create: {template: t}\n  - signal: {resource: A, hook: pre-create}\n")
    s = load_scenario(path, tmp_path)
    assert s.templates["t"]["resources"] == {"A": {"type": "OS::Heat::None"}}
    assert [x.id for x in load_corpus(tmp_path)] == ["group/case"]


def test_bad_engines_value(write: Write, tmp_path: Path) -> None:
    error = refused(write("description: d\nengines: [legacy, turbo]\nsteps:\n  - wait: {}\n"),
                    tmp_path)
    assert (error.step, error.field) == (None, "engines[1]")
    assert "legacy or convergence" in error.reason and "'turbo'" in error.reason


def test_bad_status_in_expect(write: Write, tmp_path: Path) -> None:
    error = refused(write(scenario("""\
        - create: {template: v1}
        - expect: {stack: CREATE_DONE}
    """)), tmp_path)
    assert (error.step, error.field) == (1, "steps[1].expect.stack")
    assert "like CREATE_COMPLETE" in error.reason and "CREATE_DONE" in error.reason


def test_bad_resource_status_in_expect(write: Write, tmp_path: Path) -> None:
    error = refused(write(scenario("""\
        - create: {template: v1}
        - expect: {resources: {A: complete}}
    """)), tmp_path)
    assert (error.step, error.field) == (1, "steps[1].expect.resources.A")
    assert "resource status" in error.reason


def test_expect_with_nothing_to_check(write: Write, tmp_path: Path) -> None:
    error = refused(write(scenario("""\
        - create: {template: v1}
        - expect: {}
    """)), tmp_path)
    assert (error.step, error.field) == (1, "steps[1].expect")
    assert "nothing to check" in error.reason


def test_since_without_replaced_or_unchanged(write: Write, tmp_path: Path) -> None:
    error = refused(write(scenario("""\
        - create: {template: v1}
        - mark: m
        - expect: {stack: CREATE_COMPLETE, since: m}
    """)), tmp_path)
    assert error.step == 2 and "since applies to replaced/unchanged" in error.reason


def test_signal_with_unknown_hook(write: Write, tmp_path: Path) -> None:
    error = refused(write(scenario("""\
        - create: {template: v1, wait: false}
        - signal: {resource: B, hook: mid-create}
    """)), tmp_path)
    assert (error.step, error.field) == (1, "steps[1].signal.hook")
    assert "pre- or post- create, update or delete" in error.reason


def test_signal_for_a_resource_in_no_template(write: Write, tmp_path: Path) -> None:
    error = refused(write(scenario("""\
        - create: {template: v1, wait: false}
        - signal: {resource: Z, hook: pre-create}
    """)), tmp_path)
    assert (error.step, error.field) == (1, "steps[1].signal.resource")
    assert "resource 'Z' is not in any template" in error.reason


def test_fault_with_bad_action(write: Write, tmp_path: Path) -> None:
    error = refused(write(scenario("""\
        - fault: {resource: A, action: EXPLODE}
        - create: {template: v1}
    """)), tmp_path)
    assert (error.step, error.field) == (0, "steps[0].fault.action")
    assert "CREATE, UPDATE or DELETE" in error.reason


def test_fault_with_zero_times(write: Write, tmp_path: Path) -> None:
    error = refused(write(scenario("- fault: {resource: A, action: CREATE, times: 0}\n")),
                    tmp_path)
    assert (error.step, error.field) == (0, "steps[0].fault.times")
    assert "-1 for always" in error.reason


def test_wait_for_without_status_or_hook(write: Write, tmp_path: Path) -> None:
    error = refused(write(scenario("""\
        - create: {template: v1, wait: false}
        - wait_for: {resource: B}
    """)), tmp_path)
    assert (error.step, error.field) == (1, "steps[1].wait_for")
    assert "exactly one of status or hook" in error.reason


def test_wait_for_with_both_status_and_hook(write: Write, tmp_path: Path) -> None:
    error = refused(write(scenario("""\
        - create: {template: v1, wait: false}
        - wait_for: {resource: B, hook: pre-create, status: CREATE_IN_PROGRESS}
    """)), tmp_path)
    assert error.step == 1 and "exactly one of status or hook" in error.reason


def test_step_that_needs_a_stack_before_any_create(write: Write, tmp_path: Path) -> None:
    error = refused(write(scenario("""\
        - create: {template: v1, expect_error: ValidationError}
        - delete: {}
    """)), tmp_path)
    assert (error.step, error.field) == (1, "steps[1].delete")
    assert "no create before this step" in error.reason


def test_unknown_error_class(write: Write, tmp_path: Path) -> None:
    error = refused(write(scenario("- create: {template: v1, expect_error: Oops}\n")),
                    tmp_path)
    assert (error.step, error.field) == (0, "steps[0].create.expect_error")
    assert "error class of engines/core/errors.py" in error.reason


def test_per_engine_error_for_an_engine_not_declared(write: Write, tmp_path: Path) -> None:
    head = "description: d\nengines: [legacy]\n" + TEMPLATE
    error = refused(write(scenario("""\
        - create: {template: v1}
        - update: {template: v1, expect_error: {convergence: ActionInProgress}}
    """, head=head)), tmp_path)
    assert (error.step, error.field) == (1, "steps[1].update.expect_error.convergence")
    assert "not one of this scenario's engines" in error.reason


def test_unknown_field_in_an_operation(write: Write, tmp_path: Path) -> None:
    error = refused(write(scenario("- create: {template: v1, wiat: false}\n")), tmp_path)
    assert (error.step, error.field) == (0, "steps[0].create.wiat")
    assert "unknown field 'wiat'" in error.reason


def test_yaml_aliases_are_refused(write: Write, tmp_path: Path) -> None:
    error = refused(write(scenario("""\
        - create: &op {template: v1}
        - update: *op
    """)), tmp_path)
    assert error.step is None and "aliases" in error.reason


def test_file_too_large(write: Write, tmp_path: Path) -> None:
    padding = "#" * (MAX_BYTES + 1)
    error = refused(write(scenario("- wait: {}\n") + padding + "\n"), tmp_path)
    assert error.step is None and "larger than" in error.reason


def test_scenario_outside_group_layout(tmp_path: Path) -> None:
    path = tmp_path / "loose.yaml"
    path.write_text("description: d\nsteps:\n  - wait: {}\n")
    error = refused(path, tmp_path)
    assert "<group>/<name>.yaml" in error.reason


def test_readme_example_loads(write: Write, tmp_path: Path) -> None:
    readme = (corpus_root().parent / "README.md").read_text(encoding="utf-8")
    example = readme.split("```yaml\n", 1)[1].split("```", 1)[0]
    s = load_scenario(write(example, name="docs/example"), tmp_path)
    assert [step.op for step in s.steps][-2:] == ["delete", "expect"]
