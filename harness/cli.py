"""The ``dualpath`` command. Exit codes: 0 ok, 1 a verdict against (or an operation that
failed), 2 bad input."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from engines.core.errors import DualpathError, ValidationError
from harness import cli_db, cli_demo, cli_run, cli_stack, cli_worker

EXIT_OK, EXIT_AGAINST, EXIT_BAD_INPUT = 0, 1, 2


def build_parser() -> argparse.ArgumentParser:
    from reports import cli as reports_cli

    parser = argparse.ArgumentParser(
        prog="dualpath",
        description="Run an orchestration engine on its legacy and convergence paths at "
        "once, and prove the switch safe.")
    parser.add_argument("--config-file", action="append", default=[], metavar="PATH",
                        help="oslo.config file(s); later files win")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    cli_stack.add_parser(sub)
    cli_db.add_parser(sub)
    cli_demo.add_parser(sub)
    cli_run.add_parser(sub)
    cli_worker.add_parser(sub)
    reports_cli.add_parsers(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
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
