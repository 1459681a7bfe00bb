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
                   "nested", "noise", "bad_input"}
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


# -- nested stacks: files, resource paths, checks ---------------------------------------------
NESTED = """\
description: d
files:
  db.yaml:
    heat_template_version: 2016-10-14
    resources:
      R: {type: OS::Heat::TestResource}
  raw.txt: "some text"
templates:
  v1:
    heat_template_version: 2016-10-14
    resources:
      A: {type: OS::Heat::TestResource}
      db: {type: db.yaml}
"""


def nested(steps: str) -> str:
    return scenario(steps, head=NESTED)


def test_files_are_given_as_text_and_steps_may_name_them(write: Write, tmp_path: Path) -> None:
    (tmp_path / "_shared").mkdir()
    (tmp_path / "_shared" / "db2.yaml").write_text("heat_template_version: 2016-10-14\n"
                                                   "resources: {S: {type: OS::Heat::None}}\n")
    text = nested("""\
        - create: {template: v1, files: [db.yaml, raw.txt]}
        - update: {template: v1, files: {db.yaml: db2}}
        - expect: {resources: {db/S: UPDATE_COMPLETE}}
    """).replace("  raw.txt:", "  db2: {file: ../_shared/db2.yaml}\n  raw.txt:")
    loaded = load_scenario(write(text), tmp_path)
    assert yaml.safe_load(loaded.files["db.yaml"])["resources"] == {
        "R": {"type": "OS::Heat::TestResource"}}
    assert loaded.files["raw.txt"] == "some text"
    assert "S:" in loaded.files["db2"]  # a file's text as written
    assert loaded.steps[1].args["files"] == {"db.yaml": "db2"}


@pytest.mark.parametrize(("step", "field"), [
    ("{template: v1, files: [nope.yaml]}", "steps[0].create.files[0]"),
    ("{template: v1, files: {db.yaml: nope}}", "steps[0].create.files.db.yaml"),
])
def test_an_unknown_file_is_refused_naming_the_field(write: Write, tmp_path: Path, step: str,
                                                     field: str) -> None:
    error = refused(write(nested(f"- create: {step}\n")), tmp_path)
    assert error.field == field and error.step == 0
    assert "file 'nope" in error.reason and "defined: db.yaml, raw.txt" in error.reason


def test_a_missing_file_reference_in_files_is_refused(write: Write, tmp_path: Path) -> None:
    text = nested("- create: {template: v1}\n").replace(
        '  raw.txt: "some text"', "  raw.txt: {file: gone.txt}")
    error = refused(write(text), tmp_path)
    assert error.field == "files.raw.txt.file" and "file not found" in error.reason


def test_a_file_name_with_spaces_is_refused_by_the_schema(write: Write, tmp_path: Path) -> None:
    error = refused(write(nested("- create: {template: v1, files: ['a b']}\n")), tmp_path)
    assert error.field.startswith("steps[0].create.files")


@pytest.mark.parametrize(("path", "reason"), [
    ("db//R", "not a resource path"),
    ("db/R/", "not a resource path"),
    ("/R", "not a resource path"),
    ("nope/R", "'nope' is not in any template"),
    ("db/Z", "'Z' is not in any template or nested template"),
])
def test_a_bad_resource_path_is_refused(write: Write, tmp_path: Path, path: str,
                                        reason: str) -> None:
    error = refused(write(nested(f"""\
        - create: {{template: v1, wait: false}}
        - wait_for: {{resource: "{path}", status: CREATE_COMPLETE}}
    """)), tmp_path)
    assert error.field == "steps[1].wait_for.resource" and reason in error.reason


def test_resource_paths_are_accepted_wherever_a_step_names_a_resource(
        write: Write, tmp_path: Path) -> None:
    loaded = load_scenario(write(nested("""\
        - fault: {resource: db/R, action: CREATE}
        - create: {template: v1, wait: false}
        - wait_for: {resource: db/R, hook: pre-create}
        - signal: {resource: db/R, hook: pre-create}
        - expect: {resources: {db/R: CREATE_COMPLETE}, reality: {db/R: 1},
                   events: {db/R: [CREATE_IN_PROGRESS], db/stack: {subsequence: [CREATE_COMPLETE]}},
                   replaced: [db/R]}
    """)), tmp_path)
    assert loaded.steps[2].args["resource"] == "db/R"


def test_a_group_member_index_may_stand_between_names(write: Write, tmp_path: Path) -> None:
    load_scenario(write(nested("""\
        - create: {template: v1}
        - expect: {resources: {db/0/R: CREATE_COMPLETE}}
    """)), tmp_path)


def test_a_group_member_may_be_named_by_its_index(write: Write, tmp_path: Path) -> None:
    load_scenario(write(nested("""\
        - create: {template: v1}
        - expect: {resources: {db/0: CREATE_COMPLETE, db/1: null}, reality: {db/0: 1}}
    """)), tmp_path)


@pytest.mark.parametrize(("expect", "field", "reason"), [
    ("{outputs: {o: {lenght: 3}}}", "steps[1].expect.outputs.o.lenght",
     "unknown check operator 'lenght'"),
    ("{attributes: {A: {output: {bigger: 1}}}}", "steps[1].expect.attributes.A.output.bigger",
     "unknown check operator 'bigger'"),
    ("{status_reason: {starts: x}}", "steps[1].expect.status_reason.starts",
     "unknown check operator 'starts'"),
    ("{resources: {A: {status_reason: {has: x}}}}",
     "steps[1].expect.resources.A.status_reason.has", "unknown check operator 'has'"),
    ("{outputs: {o: {changed_since: later}}}", "steps[1].expect.outputs.o.changed_since",
     "mark 'later' is not defined"),
])
def test_a_bad_check_is_refused(write: Write, tmp_path: Path, expect: str, field: str,
                                reason: str) -> None:
    error = refused(write(nested(f"""\
        - create: {{template: v1}}
        - expect: {expect}
    """)), tmp_path)
    assert error.field == field and reason in error.reason


@pytest.mark.parametrize(("expect", "field"), [
    ("{outputs: {o: {length: -1}}}", "steps[1].expect.outputs.o"),
    ("{events: {A: [CREATED]}}", "steps[1].expect.events.A"),
    ("{events: {A: {subsequence: []}}}", "steps[1].expect.events.A"),
    ("{resources: {A: {status: DONE}}}", "steps[1].expect.resources.A"),
    ("{attributes: {A: [output]}}", "steps[1].expect.attributes.A"),
])
def test_a_malformed_check_is_refused_by_the_schema(write: Write, tmp_path: Path, expect: str,
                                                    field: str) -> None:
    error = refused(write(nested(f"""\
        - create: {{template: v1}}
        - expect: {expect}
    """)), tmp_path)
    assert error.field.startswith(field), error


def test_checks_read_naturally(write: Write, tmp_path: Path) -> None:
    loaded = load_scenario(write(nested("""\
        - create: {template: v1}
        - mark: made
        - expect:
            status_reason: {contains: completed}
            resources: {A: {status: CREATE_COMPLETE, status_reason: {contains: ok}},
                        db/R: CREATE_COMPLETE}
            outputs: {o: {length: 3}, p: {not_null: true}, q: {changed_since: made},
                      r: {equals: {length: 3}}, s: {a: 1, b: 2}}
            attributes: {db/R: {output: {unchanged_since: made}}}
            events: {A: [CREATE_IN_PROGRESS, CREATE_COMPLETE],
                     stack: {subsequence: [CREATE_COMPLETE]}}
    """)), tmp_path)
    assert loaded.steps[2].args["outputs"]["r"] == {"equals": {"length": 3}}


# -- PATCH updates and previews -----------------------------------------------------------------
def test_a_patch_update_and_a_preview_load(write: Write, tmp_path: Path) -> None:
    loaded = load_scenario(write(nested("""\
        - create: {template: v1, parameters: {}}
        - preview: {template: v1, expect: {unchanged: [A, db], updated: [], added: [db/R]}}
        - preview: {existing: true, parameters: {p: 1}, files: {db.yaml: db.yaml}}
        - update: {existing: true, parameters: {p: 1}, clear_parameters: [q]}
        - update: {template: v1, existing: false}
    """)), tmp_path)
    assert [s.op for s in loaded.steps] == ["create", "preview", "preview", "update", "update"]
    assert loaded.steps[3].args == {"existing": True, "parameters": {"p": 1},
                                    "clear_parameters": ["q"]}


@pytest.mark.parametrize(("step", "field", "phrase"), [
    ("- update: {parameters: {p: 1}}", "steps[1].update", "template is required"),
    ("- update: {existing: false}", "steps[1].update", "template is required"),
    ("- preview: {expect: {added: [A]}}", "steps[1].preview", "template is required"),
    ("- preview: {template: v9}", "steps[1].preview.template", "template 'v9' is not defined"),
    ("- update: {existing: true, environment: nope}", "steps[1].update.environment",
     "environment 'nope' is not defined"),
    ("- preview: {existing: true, files: [nope.yaml]}", "steps[1].preview.files[0]",
     "file 'nope.yaml' is not defined"),
    ("- preview: {template: v1, expect: {added: [Z]}}", "steps[1].preview.expect.added[0]",
     "resource 'Z' is not in any template"),
    ("- preview: {template: v1, expect: {added: [db/Z]}}", "steps[1].preview.expect.added[0]",
     "'Z' is not in any template"),
    ("- preview: {template: v1, expect: {moved: [A]}}", "steps[1].preview.expect.moved",
     "unknown field 'moved'"),
    ("- preview: {template: v1, wait: true}", "steps[1].preview.wait", "unknown field 'wait'"),
    ("- update: {template: v1, clear_parameters: [p]}", "steps[1].update.clear_parameters",
     "needs existing: true"),
    ("- update: {existing: yes-please}", "steps[1].update.existing", "existing: true"),
    ("- preview: {template: v1, expect: {added: A}}", "steps[1].preview.expect.added",
     "a list of resource names"),
])
def test_a_bad_patch_or_preview_is_refused_naming_the_field(write: Write, tmp_path: Path,
                                                            step: str, field: str,
                                                            phrase: str) -> None:
    error = refused(write(nested(f"- create: {{template: v1}}\n{step}\n")), tmp_path)
    assert (error.step, error.field) == (1, field), error
    assert phrase in error.reason, error


def test_a_preview_before_any_create_is_refused(write: Write, tmp_path: Path) -> None:
    error = refused(write(scenario("- preview: {template: v1}\n")), tmp_path)
    assert error.step == 0 and "needs a stack" in error.reason
