"""Where the ``dualpath`` command takes its options: an option declared at one level is
taken at every level below it too (parsing only; nothing runs)."""

from __future__ import annotations

import pytest

from harness.cli.main import build_parser, parse


@pytest.mark.parametrize("argv", [
    ["--config-file", "a", "stack", "--json", "show", "s1"],
    ["stack", "show", "s1", "--json", "--config-file", "a"],
    ["stack", "--config-file", "a", "show", "--json", "s1"],
])
def test_json_and_config_file_before_or_after_the_subcommand(argv):
    args = parse(build_parser(), argv)
    assert (args.command, args.stack_command, args.stack) == ("stack", "show", "s1")
    assert (args.json, args.config_file) == (True, ["a"])


def test_config_files_given_at_several_levels_add_up_in_order():
    args = parse(build_parser(), ["--config-file", "a", "db", "--config-file", "b",
                                  "upgrade", "--config-file", "c"])
    assert args.config_file == ["a", "b", "c"]


def test_an_option_not_repeated_below_keeps_its_value_from_above():
    args = parse(build_parser(), ["stack", "--project", "p", "--timeout", "5", "list"])
    assert (args.project, args.timeout, args.json) == ("p", 5.0, False)
    args = parse(build_parser(), ["stack", "list", "--project", "q", "--timeout", "7"])
    assert (args.project, args.timeout) == ("q", 7.0)


@pytest.mark.parametrize("command", [["run"], ["worker"], ["gate", "x.json"],
                                     ["report", "x.json"], ["demo"]])
def test_every_command_takes_config_file_after_it(command):
    args = parse(build_parser(), [*command, "--config-file", "late.conf"])
    assert args.config_file == ["late.conf"]


def test_the_database_url_of_db_is_taken_after_its_subcommand():
    args = parse(build_parser(), ["db", "current", "--database-url", "sqlite://"])
    assert args.database_url == "sqlite://"
