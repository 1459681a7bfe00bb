"""The engine's schema history (alembic); :mod:`migrations.api` is the entry point.

Besides the package marker, this holds what ``env.py``, the revisions and the tests share:
which tables belong to the engine, and how a revision changes a live table without queueing
behind, and so blocking, the traffic on it.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Iterator
from typing import Any

import sqlalchemy as sa
from alembic import context, op
from sqlalchemy.schema import CreateColumn

#: the simulated cloud keeps its tables in the engine's database; they are not ours to migrate
CLOUD_TABLE_PREFIX = "cloud_"

#: how long a revision may wait for a table lock before it gives up (seconds)
DEFAULT_LOCK_TIMEOUT = 5.0

#: how long one statement of a revision may run on PostgreSQL (seconds): the revisions are
#: catalogue changes and instant ALTERs; anything near this is a rewrite nobody meant
DEFAULT_STATEMENT_TIMEOUT = 60.0

# MySQL/MariaDB errors meaning "this ALTER cannot run with the ALGORITHM asked for"
_MYSQL_ALGORITHM_UNSUPPORTED = {1800, 1845, 1846}


def include_object(
    obj: Any, name: str | None, type_: str, reflected: bool, compare_to: Any
) -> bool:
    """Alembic ``include_object`` hook: everything but the simulated cloud's tables."""
    if type_ == "table" and name is not None and name.startswith(CLOUD_TABLE_PREFIX):
        return False
    table = getattr(obj, "table", None)
    if table is not None and str(table.name).startswith(CLOUD_TABLE_PREFIX):
        return False
    return True


def _boolean_literal(text: str | None) -> bool | None:
    if text is None:
        return None
    word = text.strip().strip("()").strip("'\"").lower()
    return {"0": False, "false": False, "1": True, "true": True}.get(word)


def compare_server_default(
    migration_context: Any,
    inspected_column: Any,
    metadata_column: Any,
    inspected_default: str | None,
    metadata_default: Any,
    rendered_metadata_default: str | None,
) -> bool | None:
    """Alembic ``compare_server_default`` hook: MariaDB reflects a boolean default of false
    as ``'0'``, which alembic alone reports as a change. True when different, None to let
    alembic decide."""
    if not isinstance(metadata_column.type, sa.Boolean):
        return None
    inspected = _boolean_literal(inspected_default)
    rendered = _boolean_literal(rendered_metadata_default)
    if inspected is None or rendered is None:
        return None
    return inspected != rendered


def autogenerate_options() -> dict[str, Any]:
    """The comparison settings ``env.py`` gives alembic, for tests that compare by hand."""
    return {
        "include_object": include_object,
        "compare_type": True,
        # stack.convergence's server default is what makes old writers legacy: compare it
        "compare_server_default": compare_server_default,
    }


def _seconds(name: str, default: float) -> float:
    # config.attributes (a caller's), else -x name=... (the command line), else the default
    config = context.config
    value = config.attributes.get(name)
    if value is None:
        value = context.get_x_argument(as_dictionary=True).get(name)
    return default if value is None else float(value)


def lock_timeout() -> float:
    """Seconds a DDL statement may wait for its lock: ``config.attributes["lock_timeout"]``,
    else ``-x lock_timeout=...``, else :data:`DEFAULT_LOCK_TIMEOUT`."""
    return _seconds("lock_timeout", DEFAULT_LOCK_TIMEOUT)


def statement_timeout() -> float:
    """Seconds one statement of a revision may run (PostgreSQL), set like
    :func:`lock_timeout`; default :data:`DEFAULT_STATEMENT_TIMEOUT`."""
    return _seconds("statement_timeout", DEFAULT_STATEMENT_TIMEOUT)


@contextlib.contextmanager
def bounded_ddl() -> Iterator[None]:
    """Run the DDL inside with bounded waits: every revision after the first wraps its
    upgrade and its downgrade in this (tests/functional/test_migration_rules.py checks).

    An ALTER that waits for a lock behind a long transaction holds its place in the lock
    queue, and every later query on the table queues behind it: the live system stops. Better
    that the migration fails fast, harmlessly, and is retried. On PostgreSQL a statement that
    runs long (a rewrite nobody expected) is cut off too, and rolled back with its revision.
    """
    seconds = lock_timeout()
    dialect = op.get_context().dialect.name
    if dialect == "postgresql":
        # LOCAL: dies with the revision's transaction (env.py runs one per revision)
        op.execute(sa.text(f"SET LOCAL lock_timeout = '{int(seconds * 1000)}ms'"))
        op.execute(sa.text(
            f"SET LOCAL statement_timeout = '{int(statement_timeout() * 1000)}ms'"))
        yield
    elif dialect == "mysql":
        # the metadata lock an ALTER needs waits lock_wait_timeout (by default a day on
        # MariaDB, a year on MySQL); SET is not transactional: restore the session's value.
        # No statement limit here: MariaDB's DDL is not transactional, and one cut off half
        # way is worse than one that takes its time without holding a lock others wait for
        op.execute(sa.text("SET @dualpath_lock_wait_timeout = @@SESSION.lock_wait_timeout"))
        op.execute(sa.text(f"SET SESSION lock_wait_timeout = {max(1, math.ceil(seconds))}"))
        try:
            yield
        finally:
            op.execute(sa.text("SET SESSION lock_wait_timeout = @dualpath_lock_wait_timeout"))
    else:
        # SQLite locks the whole file; its busy_timeout is the caller's business
        yield


def add_columns_online(table: str, columns: list[sa.Column[Any]]) -> None:
    """Add ``columns`` to a live ``table`` without rewriting or write-locking it.

    PostgreSQL (11+) and SQLite add a nullable or constant-default column as a catalogue
    change. MySQL/MariaDB get one ALTER with ``ALGORITHM=INSTANT``, so that a server which
    would silently fall back to copying the table refuses instead; where instant is
    impossible (e.g. a ROW_FORMAT=COMPRESSED table) the online in-place form is used, which
    rebuilds the table but lets reads and writes go on.
    """
    migration_context = op.get_context()
    dialect = migration_context.dialect
    if not migration_context.as_sql:
        # MySQL (and SQLite as alembic drives it) commit each DDL statement, and a revision
        # commits between tables (commit_point): one that failed or was killed half way has
        # added some columns already, and must be able to run again
        present = {c["name"] for c in sa.inspect(op.get_bind()).get_columns(table)}
        columns = [column for column in columns if column.name not in present]
        if not columns:
            return
    if dialect.name != "mysql":
        for column in columns:
            op.add_column(table, column)
        return
    adds = ", ".join(
        "ADD COLUMN " + str(CreateColumn(column).compile(dialect=dialect)) for column in columns
    )
    alter = f"ALTER TABLE {dialect.identifier_preparer.quote(table)} {adds}"
    if migration_context.as_sql:
        op.execute(sa.text(alter + ", ALGORITHM=INSTANT"))
        return
    try:
        op.execute(sa.text(alter + ", ALGORITHM=INSTANT"))
    except sa.exc.DBAPIError as exc:
        if _mysql_errno(exc) not in _MYSQL_ALGORITHM_UNSUPPORTED:
            raise
        op.execute(sa.text(alter + ", ALGORITHM=INPLACE, LOCK=NONE"))


def table_exists(name: str) -> bool:
    """Whether ``name`` exists already (never, offline). Lets a revision that creates tables
    run again after failing half way where DDL is not transactional (MySQL/MariaDB)."""
    if op.get_context().as_sql:
        return False
    return sa.inspect(op.get_bind()).has_table(name)


OWNS_TRANSACTIONS = "dualpath_owns_transactions"  # config.attributes key set by env.py


def commit_point() -> None:
    """End the revision's transaction here and go on in a new one (PostgreSQL, online, when
    alembic runs the transactions rather than a caller's connection).

    A revision that alters two live tables in one transaction holds the first one's ACCESS
    EXCLUSIVE lock while it waits for the second's. The previous release takes the locks of
    one write in either order (creating a stack: raw_template's, then stack's; writing a
    stack that names a template: stack's, then raw_template's through the foreign key), so
    some write waits for the revision while the revision waits for it, and PostgreSQL ends
    the deadlock by failing one of the two -- a user's write, as likely as not. One table's
    lock per transaction cannot deadlock so. Call ``bounded_ddl`` again after this: its
    timeouts were the committed transaction's.
    """
    context = op.get_context()
    if context.as_sql or context.dialect.name != "postgresql":
        return
    if not context.config or not context.config.attributes.get(OWNS_TRANSACTIONS):
        return  # a caller's transaction: theirs to commit, all at once
    with context.autocommit_block():
        pass  # the block commits what came before; alembic begins the next transaction


def create_index_once(name: str, table: str, columns: list[str]) -> None:
    """Create index ``name`` unless it exists: a revision killed between creating a table
    and its index (MySQL/MariaDB commit each DDL statement) must not, run again, skip the
    index with the table."""
    if not op.get_context().as_sql and any(
            index["name"] == name for index in sa.inspect(op.get_bind()).get_indexes(table)):
        return
    op.create_index(name, table, columns)


def _mysql_errno(exc: sa.exc.DBAPIError) -> int | None:
    args = getattr(exc.orig, "args", ())
    return args[0] if args and isinstance(args[0], int) else None
