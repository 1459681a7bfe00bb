"""The ``dualpath`` command: builds the parser from each command's module and maps what a
command raises to the exit codes every dualpath command shares (reports/verdicts.py): 0 ok,
1 a verdict against (or an operation that failed), 2 bad input.

An option belongs to the level that declares it and to every level below: ``dualpath
--config-file F stack --json show s1`` and ``dualpath stack show s1 --json --config-file F``
mean the same, as people type them either way.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Sequence

from engines import cli_worker
from engines.core.errors import DualpathError, ValidationError
from harness.cli import bench, chaos, db, demo, fuzz, run, stack, upgrade_check
from reports import cli as reports_cli
from reports.verdicts import EXIT_AGAINST, EXIT_BAD_INPUT, EXIT_OK

__all__ = ["EXIT_AGAINST", "EXIT_BAD_INPUT", "EXIT_OK", "build_parser", "main", "parse"]

# dest of an appending option given N levels below the one declaring it: lateN_<dest>
_LATE = re.compile(r"late(\d+)_(.+)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="dualpath",
        description="Run an orchestration engine on its legacy and convergence paths at "
        "once, and prove the switch safe.")
    parser.add_argument("--config-file", action="append", default=[], metavar="PATH",
                        help="oslo.config file(s); later files win")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    stack.add_parser(sub)
    db.add_parser(sub)
    demo.add_parser(sub)
    run.add_parser(sub)
    upgrade_check.add_parser(sub)
    fuzz.add_parser(sub)
    bench.add_parser(sub)
    chaos.add_parser(sub)
    cli_worker.add_parser(sub)
    reports_cli.add_parsers(sub)
    _inherit_options(parser)
    return parser


def _subparsers(parser: argparse.ArgumentParser) -> list[argparse.ArgumentParser]:
    return [child for action in parser._actions
            if isinstance(action, argparse._SubParsersAction)
            for child in dict.fromkeys(action.choices.values())]


def _inherit_options(parser: argparse.ArgumentParser,
                     inherited: Sequence[argparse.Action] = (), depth: int = 0) -> None:
    """Give every subcommand the options of the levels above it. The copy has no default
    (argparse.SUPPRESS), so that an option not repeated below keeps the value given above;
    an appending option collects at each level into a dest of its own (a subcommand's
    values replace its parent's in argparse), merged by ``parse``."""
    own = [a for a in parser._actions if a.option_strings and a.dest != "help"]
    taken = {s for a in own for s in a.option_strings}
    for action in inherited:
        if taken.isdisjoint(action.option_strings):
            appends = isinstance(action, argparse._AppendAction)
            parser.add_argument(
                *action.option_strings, action=type(action), dest=(
                    f"late{depth}_{action.dest}" if appends else action.dest),
                default=argparse.SUPPRESS, help=action.help,
                **({"type": action.type, "metavar": action.metavar}
                   if action.nargs != 0 else {}),
                **({"choices": action.choices} if action.choices else {}))
    for child in _subparsers(parser):
        _inherit_options(child, [*inherited, *own], depth + 1)


def parse(parser: argparse.ArgumentParser, argv: Sequence[str] | None) -> argparse.Namespace:
    """Parse ``argv``; appending options given at several levels add up, top level first."""
    args = parser.parse_args(argv)
    late = sorted((int(m[1]), m[2], key) for key in vars(args) if (m := _LATE.fullmatch(key)))
    for _depth, name, key in late:
        setattr(args, name, [*getattr(args, name, []), *getattr(args, key)])
        delattr(args, key)
    return args


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parse(parser, argv)
    try:
        return int(args.handler(args) or EXIT_OK)
    except ValidationError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except (OSError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except DualpathError as exc:
        print(f"error: {type(exc).__name__}: {exc}", file=sys.stderr)
        return EXIT_AGAINST
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
