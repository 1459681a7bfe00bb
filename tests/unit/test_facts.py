"""Facts defined once in the code, and the documents that must spell them the same: the
path names, the verdicts and the exit codes, the run file's schema, the scenario schema
written out beside its source."""

from __future__ import annotations

import json
from pathlib import Path

from engines.service import PATH_NAMES
from harness.cli import run as cli_run
from harness.cli.main import EXIT_AGAINST, EXIT_BAD_INPUT, EXIT_OK
from reports import runfile
from reports.verdicts import BAD_VERDICTS, VERDICTS
from scenarios import schema as scenario_schema
from scenarios.steps import STEPS

ROOT = Path(__file__).resolve().parents[2]


def test_reports_name_the_paths_as_the_engine_does():
    assert runfile.ENGINES == PATH_NAMES


def test_the_run_file_schema_knows_the_paths_and_the_verdicts():
    schema = runfile.schema()
    assert tuple(schema["$defs"]["engine"]["enum"]) == PATH_NAMES
    assert set(schema["$defs"]["verdict"]["enum"]) == set(VERDICTS)
    assert set(VERDICTS) <= set(schema["$defs"]["summary"]["required"])
    assert schema["properties"]["schema_version"]["const"] == runfile.SCHEMA_VERSION


def test_every_verdict_has_a_style_and_the_bad_ones_are_verdicts():
    assert set(cli_run.VERDICT_STYLE) == set(VERDICTS)
    assert BAD_VERDICTS < set(VERDICTS)


def test_exit_codes_are_the_documented_ones():
    assert (EXIT_OK, EXIT_AGAINST, EXIT_BAD_INPUT) == (0, 1, 2)
    assert "Exit codes: 0 ok, 1 a verdict against" in (ROOT / "README.md").read_text()


def test_the_scenario_schema_file_is_the_assembled_one():
    written = scenario_schema.SCHEMA_PATH.read_text(encoding="utf-8")
    assert written == scenario_schema.render(), \
        "scenarios/schema.json is stale: run python -m scenarios.schema"
    assert tuple(json.loads(written)["$defs"]["engine"]["enum"]) == PATH_NAMES


def test_the_schema_lists_exactly_the_registered_steps_in_order():
    steps = scenario_schema.assemble()["$defs"]["step"]["properties"]
    assert list(steps) == list(STEPS) == [
        "create", "update", "delete", "rollback", "cancel", "migrate", "preview", "wait",
        "wait_for", "signal", "fault", "mark", "expect"]
    assert {k for k, s in STEPS.items() if s.operation} == {
        "create", "update", "delete", "rollback", "cancel", "migrate"}
    assert {k for k, s in STEPS.items() if s.needs_stack} == {
        "update", "delete", "rollback", "cancel", "migrate", "preview", "wait", "wait_for",
        "signal"}
