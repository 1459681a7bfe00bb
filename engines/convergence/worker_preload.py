"""What the worker forkserver imports before its first fork (engines/convergence/
worker_fork.py): the worker's modules and those it would import at start (the database
drivers, kombu's AMQP transport, alembic's script machinery for the schema check), then
every object they made moved out of the garbage collector's sight, so that no collection
in a forked worker writes to (and so copies) the pages it shares with the server."""

import contextlib
import gc
import importlib

import engines.cli_worker  # noqa: F401 - imported for the forks to share
from migrations import api as migrations

LAZY = ("kombu.transport.pyamqp", "sqlalchemy.dialects.postgresql.psycopg2",
        "sqlalchemy.dialects.mysql.pymysql", "sqlalchemy.dialects.sqlite.pysqlite",
        "psycopg2", "pymysql", "psycopg2.extras", "alembic.runtime.migration",
        "alembic.autogenerate")

for name in LAZY:
    with contextlib.suppress(ImportError):  # a driver this machine lacks is never used
        importlib.import_module(name)
migrations.heads()  # imports what reading the revisions needs (mako, and what it loads)
gc.freeze()
