"""``dualpath upgrade-check``: is the configured deployment ready (schema at head, no stack
stuck, how many stacks still on legacy, workers alive)? oslo.upgradecheck's exit codes:
0 every check passed, 1 a warning, 2 a failure."""

from __future__ import annotations

import argparse
import json

from rich.console import Console
from rich.table import Table

from engines.service import database_url as configured_url
from engines.service import new_conf
from engines.upgrade_checks import Code, DualpathChecks

LABELS = {Code.SUCCESS: "[green]Success[/]", Code.WARNING: "[yellow]Warning[/]",
          Code.FAILURE: "[red]Failure[/]"}


def add_parser(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("upgrade-check", help="is this deployment ready for the new code "
                            "and the flip? (exit 0 ok, 1 warning, 2 failure)")
    parser.add_argument("--database-url", help="instead of [database] connection")
    parser.add_argument("--json", action="store_true", help="machine-readable output")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    conf = new_conf(args.config_file)
    url = args.database_url or configured_url(conf)
    checks = DualpathChecks(conf, url)
    try:
        results = checks.results()
    finally:
        checks.close()
    worst = max((result.code for _, result in results), default=Code.SUCCESS)
    if args.json:
        print(json.dumps({"name": checks.display_title, "code": int(worst), "checks": [
            {"check": name, "result": int(r.code), "details": r.details}
            for name, r in results]}, indent=2))
    else:
        table = Table(title=checks.display_title)
        for column in ("check", "result", "details"):
            table.add_column(column)
        for name, result in results:
            table.add_row(name, LABELS[result.code], result.details or "")
        Console().print(table)
    return int(worst)
