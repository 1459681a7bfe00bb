"""``dualpath db upgrade|downgrade|current``: the schema history on the configured database;
``dualpath db migrate-stacks``: COMPLETE legacy stacks moved onto the convergence path
(engines.migrate_stacks), one line per stack; exit 0 all moved (or already there), 1 one
refused, 2 an unknown stack name."""

from __future__ import annotations

import argparse
import sys

from engines import migrate_stacks
from engines.core.errors import NotFound
from engines.service import database_url as configured_url
from engines.service import new_conf, safe_url
from migrations import api as migrations


def add_parser(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("db", help="migrate the engine's database")
    parser.add_argument("--database-url", help="instead of [database] connection")
    db_sub = parser.add_subparsers(dest="db_command", required=True)
    up = db_sub.add_parser("upgrade", help="upgrade to a revision (default: head)")
    up.add_argument("revision", nargs="?", default="head")
    up.add_argument("--sql", action="store_true", help="print the DDL instead of running it")
    down = db_sub.add_parser("downgrade", help="downgrade to a revision ('base': empty)")
    down.add_argument("revision")
    db_sub.add_parser("current", help="print the database's revision")
    move = db_sub.add_parser("migrate-stacks", help="move COMPLETE legacy stacks onto the "
                             "convergence path, keeping every physical resource")
    which = move.add_mutually_exclusive_group(required=True)
    which.add_argument("--all", action="store_true", help="every live top-level stack")
    which.add_argument("stacks", nargs="*", default=[], metavar="STACK", help="id or name")
    move.add_argument("--dry-run", action="store_true",
                      help="say what would be done for each stack, change nothing")
    parser.set_defaults(handler=run)


def database_url(args: argparse.Namespace) -> str:
    if getattr(args, "database_url", None):
        return args.database_url
    return configured_url(new_conf(args.config_file))


def run(args: argparse.Namespace) -> int:
    url = database_url(args)
    if args.db_command == "migrate-stacks":
        return migrate(args, url)
    if args.db_command == "upgrade":
        if args.sql:
            print(migrations.offline_sql(args.revision, url))
            return 0
        migrations.upgrade(url, args.revision)
        print(f"{safe_url(url)}: at {migrations.current(url)}")
    elif args.db_command == "downgrade":
        migrations.downgrade(url, args.revision)
        print(f"{safe_url(url)}: at {migrations.current(url) or 'base'}")
    else:
        print(migrations.current(url) or "base (no schema)")
    return 0


def migrate(args: argparse.Namespace, url: str) -> int:
    at, heads = migrations.current(url), migrations.heads()
    if at not in heads:
        print(f"error: {safe_url(url)} is at {at or 'no revision'}, not {heads[0]}: run "
              "'dualpath db upgrade' first", file=sys.stderr)
        return 1
    try:
        outcomes = migrate_stacks.migrate_stacks(url, args.stacks, every=args.all,
                                                 dry_run=args.dry_run,
                                                 config_files=args.config_file)
    except NotFound as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    for outcome in outcomes:
        print(outcome.line())
    if not outcomes:
        print("no stack to move")
    return 1 if any(o.refused for o in outcomes) else 0
