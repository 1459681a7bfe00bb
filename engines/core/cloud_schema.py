"""The simulated cloud's schema: its tables (``cloud_*``, a MetaData of their own, outside
the engine's alembic history) and how a database gets them, once (:func:`create_tables`,
through ``dualpath db upgrade``) and how a process starting on it checks
(:func:`require_tables`). The cloud's API is engines/core/reality.py."""

from __future__ import annotations

import sqlalchemy as sa

from engines.core.errors import DualpathError
from engines.core.models import JSONText, Timestamp

metadata = sa.MetaData()

cloud_resource = sa.Table(
    "cloud_resource", metadata,
    sa.Column("physical_id", sa.String(36), primary_key=True),
    sa.Column("stack_id", sa.String(36), nullable=False, index=True),
    sa.Column("logical_name", sa.String(255), nullable=False),
    sa.Column("type", sa.String(255), nullable=False),
    sa.Column("properties", JSONText, nullable=True),
    sa.Column("created_at", Timestamp, nullable=False),
    sa.Column("updated_at", Timestamp, nullable=True),
    # the caller's idempotency token (a real cloud's client token): a create that carries
    # one already seen returns that resource instead of making a second one
    sa.Column("client_token", sa.String(255), nullable=True),
    sa.Index("uniq_cloud_resource_client_token", "client_token", unique=True),
)

cloud_call = sa.Table(
    "cloud_call", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("stack_id", sa.String(36), nullable=False, index=True),
    sa.Column("logical_name", sa.String(255), nullable=False),
    sa.Column("action", sa.String(16), nullable=False),
    sa.Column("physical_id", sa.String(36), nullable=True),
    sa.Column("ok", sa.Boolean, nullable=False),
    sa.Column("detail", sa.Text, nullable=True),
    sa.Column("at", Timestamp, nullable=False),
)

cloud_fault = sa.Table(
    "cloud_fault", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("stack_id", sa.String(36), nullable=True),
    sa.Column("logical_name", sa.String(255), nullable=False),
    sa.Column("action", sa.String(16), nullable=False),
    sa.Column("kind", sa.String(16), nullable=False),  # fail | latency
    sa.Column("remaining", sa.Integer, nullable=False),  # -1: every time
    sa.Column("latency", sa.Float, nullable=False, default=0.0),
    sa.Column("message", sa.Text, nullable=True),
)

LOCK_WAIT = 60  # seconds a preparer waits for another one making the same cloud's tables


class CloudSchemaMissing(DualpathError):
    """A process started on a server database whose simulated cloud was never made."""


def schema_lock_name(database: str | None) -> str:
    """The name of the server-side lock that serialises preparers of ``database``'s cloud."""
    return f"dualpath_cloud_schema.{database or ''}"[:64]  # MySQL's limit on lock names


def missing_tables(engine: sa.Engine) -> list[str]:
    """The cloud's tables that ``engine``'s database lacks."""
    inspector = sa.inspect(engine)
    return [t.name for t in metadata.sorted_tables if not inspector.has_table(t.name)]


def _lacks_token(conn: sa.Connection | sa.Engine) -> bool:
    """A cloud made before client tokens (its tables are not migrated: made once, kept)."""
    inspector = sa.inspect(conn)
    return inspector.has_table("cloud_resource") and "client_token" not in {
        c["name"] for c in inspector.get_columns("cloud_resource")}


def _create_all(conn: sa.Connection) -> None:
    metadata.create_all(conn, checkfirst=True)
    if _lacks_token(conn):
        conn.execute(sa.text("ALTER TABLE cloud_resource ADD COLUMN client_token VARCHAR(255)"))
        conn.execute(sa.text("CREATE UNIQUE INDEX uniq_cloud_resource_client_token "
                             "ON cloud_resource (client_token)"))


def create_tables(engine: sa.Engine) -> None:
    """Make the cloud's tables where missing, once: whoever else prepares the same database at
    the same moment waits, then finds them made.

    Checking and creating happen under one lock of the database's own, so no two processes
    can both find a table missing: SQLite's write lock (BEGIN IMMEDIATE, its DDL is
    transactional), a PostgreSQL advisory lock held by the transaction that creates, a
    MariaDB/MySQL named lock around DDL that commits by itself.
    """
    dialect = engine.dialect.name
    database = engine.url.database
    if dialect == "sqlite":
        # the driver must not begin (or end) transactions on its own: this one spans the DDL
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("BEGIN IMMEDIATE")
            try:
                _create_all(conn)
            except BaseException:
                conn.exec_driver_sql("ROLLBACK")
                raise
            conn.exec_driver_sql("COMMIT")
    elif dialect == "postgresql":
        with engine.begin() as conn:
            conn.execute(sa.text("SELECT pg_advisory_xact_lock(hashtext(:name))"),
                         {"name": schema_lock_name(database)})
            _create_all(conn)
    elif dialect == "mysql":
        with engine.connect() as conn:
            name = schema_lock_name(database)
            got = conn.execute(sa.text("SELECT GET_LOCK(:name, :wait)"),
                               {"name": name, "wait": LOCK_WAIT}).scalar()
            if got != 1:
                raise CloudSchemaMissing(
                    f"could not take the lock {name!r} to make the simulated cloud's tables "
                    f"in {_safe(engine)} within {LOCK_WAIT} s: another preparer holds it")
            try:
                _create_all(conn)
                conn.commit()
            finally:
                conn.execute(sa.text("SELECT RELEASE_LOCK(:name)"), {"name": name})
    else:
        with engine.begin() as conn:
            _create_all(conn)


def require_tables(engine: sa.Engine) -> None:
    """What a process does at start: the cloud's tables are there, or it says what to run.

    On SQLite (the embedded default, a file only this machine uses) the tables are made on
    first use, so that a fresh clone runs with nothing prepared. A server database is
    prepared once, before any engine or worker uses it (``dualpath db upgrade``, or the
    harness's template database): processes starting there never create anything, so they
    cannot race each other, and need no right to run DDL.
    """
    missing = missing_tables(engine)
    if not missing and not _lacks_token(engine):
        return
    missing = missing or ["cloud_resource.client_token"]
    if engine.dialect.name == "sqlite":
        create_tables(engine)
        return
    url = _safe(engine)
    raise CloudSchemaMissing(
        f"the simulated cloud's tables ({', '.join(missing)}) are missing in database "
        f"{engine.url.database!r} ({url}); prepare it before starting engines or workers: "
        f"dualpath db upgrade --database-url {url}")


def _safe(engine: sa.Engine) -> str:
    return engine.url.render_as_string(hide_password=True)
