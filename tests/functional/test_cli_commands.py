"""The commands a person types: dualpath db, dualpath stack, and --config-file everywhere."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from harness.cli.main import main
from migrations import api

TEMPLATE = """
heat_template_version: 2015-04-30
parameters:
  greeting: {type: string, default: hello}
resources:
  A: {type: OS::Heat::TestResource, properties: {value: {get_param: greeting}}}
  B: {type: OS::Heat::TestResource, depends_on: [A]}
outputs:
  a: {value: {get_attr: [A, output]}}
"""


@pytest.fixture
def conf_file(tmp_path: Path) -> Path:
    path = tmp_path / "dualpath.conf"
    path.write_text(f"[DEFAULT]\nstate_path = {tmp_path / 'state'}\npoll_interval = 0.01\n"
                    f"[database]\nconnection = sqlite:///{tmp_path / 'engine.sqlite'}\n")
    return path


def _json(capsys) -> object:
    return json.loads(capsys.readouterr().out)


def test_db_upgrade_current_downgrade(conf_file, tmp_path, capsys):
    assert main(["--config-file", str(conf_file), "db", "current"]) == 0
    assert "base" in capsys.readouterr().out
    assert main(["--config-file", str(conf_file), "db", "upgrade"]) == 0
    head = api.heads()[0]
    assert api.current(f"sqlite:///{tmp_path / 'engine.sqlite'}") == head
    assert main(["--config-file", str(conf_file), "db", "downgrade", "base"]) == 0
    assert api.current(f"sqlite:///{tmp_path / 'engine.sqlite'}") is None
    capsys.readouterr()
    assert main(["--config-file", str(conf_file), "db", "upgrade", "--sql"]) == 0
    assert "ALTER TABLE stack ADD COLUMN convergence" in capsys.readouterr().out


def test_stack_commands_round_trip(conf_file, tmp_path, capsys):
    template = tmp_path / "t.yaml"
    template.write_text(TEMPLATE)
    base = ["--config-file", str(conf_file), "stack", "--json"]
    assert main([*base, "create", "web", "-t", str(template), "-P", "greeting=hi"]) == 0
    created = _json(capsys)
    assert created["stack_status"] == "CREATE_COMPLETE" and created["outputs"] == {"a": "hi"}
    assert created["engine"] == "legacy"
    assert main([*base, "list"]) == 0
    assert [s["name"] for s in _json(capsys)] == ["web"]
    assert main([*base, "update", "web", "-t", str(template), "-P", "greeting=ho"]) == 0
    assert _json(capsys)["outputs"] == {"a": "ho"}
    assert main([*base, "resources", "web"]) == 0
    assert {r["name"]: r["resource_status"] for r in _json(capsys)} == {
        "A": "UPDATE_COMPLETE", "B": "CREATE_COMPLETE"}
    assert main([*base, "events", "web"]) == 0
    assert len(_json(capsys)) >= 8
    assert main([*base, "delete", "web"]) == 0
    assert _json(capsys)["stack_status"] == "DELETE_COMPLETE"


def test_stack_commands_take_the_path_from_the_config(conf_file, tmp_path, capsys):
    conf_file.write_text(conf_file.read_text().replace(
        "[DEFAULT]\n", "[DEFAULT]\nconvergence_engine = true\n"))
    template = tmp_path / "t.yaml"
    template.write_text(TEMPLATE)
    assert main(["--config-file", str(conf_file), "stack", "--json", "create", "s", "-t",
                 str(template)]) == 0
    assert _json(capsys)["engine"] == "convergence"


def test_bad_template_exits_2_naming_file_and_field(conf_file, tmp_path, capsys):
    template = tmp_path / "bad.yaml"
    template.write_text(TEMPLATE.replace("depends_on: [A]", "depends_on: [Z]"))
    code = main(["--config-file", str(conf_file), "stack", "create", "s", "-t", str(template)])
    err = capsys.readouterr().err
    assert code == 2
    assert "bad.yaml" in err and "resources.B.depends_on" in err


def test_run_honours_the_config_file(conf_file, tmp_path):
    conf_file.write_text(conf_file.read_text().replace(
        "[DEFAULT]\n", "[DEFAULT]\nmax_resources_per_stack = 1\n"))
    scenario = tmp_path / "mine" / "basic" / "two.yaml"
    scenario.parent.mkdir(parents=True)
    scenario.write_text("""
description: two resources, one too many for this configuration
templates:
  t: {heat_template_version: 2015-04-30, resources: {A: {type: OS::Heat::None},
      B: {type: OS::Heat::None}}}
steps:
  - create: {template: t, expect_error: TooManyResources}
""")
    out = tmp_path / "run.json"
    code = main(["--config-file", str(conf_file), "run", "--quiet", "-j", "1", "--repeat", "1",
                 "--scenarios", str(tmp_path / "mine"), "--json", str(out)])
    assert code == 0
    assert json.loads(out.read_text())["scenarios"][0]["verdict"] == "parity"


def test_options_are_taken_where_people_put_them(conf_file, tmp_path, capsys):
    """``--json``, ``--project`` and ``--config-file`` after the subcommand mean what they
    mean before it; given at both levels, the config files add up, in order."""
    template = tmp_path / "t.yaml"
    template.write_text(TEMPLATE)
    late = tmp_path / "late.conf"
    late.write_text("[DEFAULT]\nconvergence_engine = true\n")
    assert main(["stack", "create", "s1", "-t", str(template), "--json",
                 "--config-file", str(conf_file), "--config-file", str(late)]) == 0
    created = _json(capsys)
    assert (created["stack_status"], created["engine"]) == ("CREATE_COMPLETE", "convergence")
    assert main(["--config-file", str(conf_file), "stack", "show", "s1", "--json"]) == 0
    assert _json(capsys)["id"] == created["id"]
    assert main(["stack", "--project", "other", "show", "s1", "--json",
                 "--config-file", str(conf_file)]) == 1, "another project's stack: NotFound"
    capsys.readouterr()
    assert main(["--config-file", str(conf_file), "stack", "--json", "show", "s1"]) == 0
    assert _json(capsys)["id"] == created["id"], "the old spelling still works"
    assert main(["db", "current", "--config-file", str(conf_file)]) == 0
    assert api.heads()[0] in capsys.readouterr().out


def test_stack_cancel_of_a_stack_with_nothing_in_progress(conf_file, tmp_path, capsys):
    template = tmp_path / "t.yaml"
    template.write_text(TEMPLATE)
    base = ["--config-file", str(conf_file), "stack", "--json"]
    assert main([*base, "create", "web", "-t", str(template), "--stack-timeout", "60"]) == 0
    capsys.readouterr()
    for words in (["cancel", "web"], ["cancel", "--no-rollback", "web"]):
        assert main([*base, *words]) == 1
        err = capsys.readouterr().err
        assert "InvalidOperation" in err and "CREATE_COMPLETE" in err
    assert main([*base, "show", "web"]) == 0
    assert _json(capsys)["stack_status"] == "CREATE_COMPLETE"


def test_a_negative_stack_timeout_is_bad_input(conf_file, tmp_path, capsys):
    template = tmp_path / "t.yaml"
    template.write_text(TEMPLATE)
    assert main(["--config-file", str(conf_file), "stack", "create", "web", "-t",
                 str(template), "--stack-timeout", "-3"]) == 2
    assert "timeout: must be a whole number of seconds" in capsys.readouterr().err


def test_stack_update_existing_and_preview(conf_file, tmp_path, capsys):
    template = tmp_path / "t.yaml"
    template.write_text(TEMPLATE)
    base = ["--config-file", str(conf_file), "stack", "--json"]
    assert main([*base, "create", "web", "-t", str(template), "-P", "greeting=hi"]) == 0
    capsys.readouterr()
    # PATCH without a template: the stored one, the stored parameter kept
    assert main([*base, "update", "web", "--existing"]) == 0
    assert _json(capsys)["outputs"] == {"a": "hi"}
    changed = tmp_path / "t2.yaml"
    changed.write_text(TEMPLATE.replace("B: {type: OS::Heat::TestResource, depends_on: [A]}",
                                        "C: {type: OS::Heat::None}"))
    assert main([*base, "preview", "web", str(changed), "--existing"]) == 0
    preview = _json(capsys)
    assert {k: [e["name"] for e in v] for k, v in preview.items()} == {
        "added": ["C"], "updated": [], "replaced": [], "deleted": ["B"], "unchanged": ["A"]}
    # a PUT preview resets the parameter: A would be updated
    assert main([*base, "preview", "web", str(changed), "-P", "greeting=hi"]) == 0
    assert [e["name"] for e in _json(capsys)["unchanged"]] == ["A"]
    assert main([*base, "preview", "web", str(changed)]) == 0
    assert [e["name"] for e in _json(capsys)["updated"]] == ["A"]
    # the table, for a person
    assert main(["--config-file", str(conf_file), "stack", "preview", "web",
                 str(changed), "--existing"]) == 0
    out = capsys.readouterr().out
    assert "update preview" in out and "added" in out and "deleted" in out
    assert main(["--config-file", str(conf_file), "stack", "preview", "web", "--existing",
                 "--clear-parameter", "greeting"]) == 0
    assert "updated" in capsys.readouterr().out
    assert main(["--config-file", str(conf_file), "stack", "preview", "web", "--existing"]) == 0
    assert "nothing would change" in capsys.readouterr().out
    # nothing was changed by the previews
    assert main([*base, "resources", "web"]) == 0
    assert sorted(r["name"] for r in _json(capsys)) == ["A", "B"]


@pytest.mark.parametrize(("words", "phrase"), [
    (["preview", "web"], "a template is required"),
    (["update", "web"], "a template is required"),
    (["preview", "web", "missing.yaml"], "missing.yaml"),
    (["update", "web", "--clear-parameter", "greeting", "-t", "T"], "only with --existing"),
    (["preview", "web", "--existing", "-P", "greeting"], "expected KEY=VALUE"),
    (["preview", "web", "BAD"], "resources.B.depends_on"),
    (["preview", "web", "--existing", "-P", "nope=1"], "parameters.nope"),
])
def test_bad_preview_and_patch_input_exits_2_naming_file_and_field(conf_file, tmp_path,
                                                                   capsys, words, phrase):
    template = tmp_path / "t.yaml"
    template.write_text(TEMPLATE)
    bad = tmp_path / "bad.yaml"
    bad.write_text(TEMPLATE.replace("depends_on: [A]", "depends_on: [Z]"))
    base = ["--config-file", str(conf_file), "stack"]
    assert main([*base, "create", "web", "-t", str(template)]) == 0
    capsys.readouterr()
    words = [str(template) if w == "T" else str(bad) if w == "BAD" else
             str(tmp_path / w) if w == "missing.yaml" else w for w in words]
    assert main([*base, *words]) == 2
    err = capsys.readouterr().err
    assert phrase in err
    if "BAD" in words or str(bad) in words:
        assert "bad.yaml" in err
