"""``dualpath db upgrade|downgrade|current``: the schema history on the configured database."""

from __future__ import annotations

import argparse

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
    parser.set_defaults(handler=run)


def database_url(args: argparse.Namespace) -> str:
    if getattr(args, "database_url", None):
        return args.database_url
    return configured_url(new_conf(args.config_file))


def run(args: argparse.Namespace) -> int:
    url = database_url(args)
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
