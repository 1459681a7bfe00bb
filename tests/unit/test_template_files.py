"""The CLI reads the files a template names, as Heat's client does."""

from __future__ import annotations

from harness.cli.template_files import collect


def test_collects_template_resources_get_file_and_environment_mappings(tmp_path) -> None:
    (tmp_path / "sub").mkdir()
    (tmp_path / "main.yaml").write_text(
        "heat_template_version: 2016-10-14\nresources:\n"
        "  db: {type: sub/db.yaml}\n"
        "  v: {type: OS::Heat::Value, properties: {value: {get_file: motd.txt}}}\n")
    (tmp_path / "sub" / "db.yaml").write_text(
        "heat_template_version: 2016-10-14\nresources:\n  x: {type: inner.yaml}\n")
    (tmp_path / "sub" / "inner.yaml").write_text("heat_template_version: 2016-10-14\n")
    (tmp_path / "motd.txt").write_text("hello")
    (tmp_path / "env.yaml").write_text("resource_registry:\n  My::T: mapped.yaml\n")
    (tmp_path / "mapped.yaml").write_text("heat_template_version: 2016-10-14\n")
    files = collect(str(tmp_path / "main.yaml"), str(tmp_path / "env.yaml"))
    assert set(files) == {"sub/db.yaml", "inner.yaml", "motd.txt", "mapped.yaml"}
    assert files["motd.txt"] == "hello"


def test_a_missing_file_is_left_for_the_engine_to_name(tmp_path) -> None:
    (tmp_path / "main.yaml").write_text(
        "heat_template_version: 2016-10-14\nresources:\n  db: {type: gone.yaml}\n")
    assert collect(str(tmp_path / "main.yaml")) == {}


def test_without_a_template_only_the_environment_s_files(tmp_path) -> None:
    # a PATCH keeping the stored template: the environment may still map types on files
    (tmp_path / "env.yaml").write_text("resource_registry:\n  My::T: mapped.yaml\n")
    (tmp_path / "mapped.yaml").write_text("heat_template_version: 2016-10-14\n")
    assert set(collect(None, str(tmp_path / "env.yaml"))) == {"mapped.yaml"}
    assert collect(None) == {}


def test_a_file_that_is_not_yaml_is_left_for_the_engine_to_name(tmp_path) -> None:
    (tmp_path / "main.yaml").write_text("resources: [unclosed\n")
    assert collect(str(tmp_path / "main.yaml")) == {}
