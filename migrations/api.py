"""What ``dualpath db upgrade|downgrade|current`` calls: the schema history, by URL.

Works from any working directory and from an installed package: the alembic configuration
is built here, pointing at this package's directory, instead of being read from the
repository's ``alembic.ini``.
"""

from __future__ import annotations

import io
import os

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.pool import NullPool

SCRIPT_LOCATION = os.path.dirname(os.path.abspath(__file__))


def alembic_config(url: str | None = None) -> Config:
    """An alembic Config for this package's history; ``url`` (if given) is the database."""
    config = Config()
    config.set_main_option("script_location", SCRIPT_LOCATION)
    config.set_main_option("path_separator", "os")
    # as in alembic.ini: the revision id is the file name, NNNN_what_it_does
    config.set_main_option("file_template", "%%(rev)s")
    if url is not None:
        config.set_main_option("sqlalchemy.url", _escape(url))
    return config


def _escape(url: str) -> str:
    # the option goes through ConfigParser interpolation: a % in a password must survive
    return url.replace("%", "%%")


def upgrade(url: str, revision: str = "head") -> None:
    """Upgrade the database at ``url`` to ``revision``, one transaction per revision, and make
    the simulated cloud's tables there if they are missing.

    The cloud is not the engine's schema (its own tables, no revisions, untouched by a
    downgrade), but it lives in the same database and must exist before any engine or
    worker starts on it: preparing the database is the one moment that happens once.
    """
    command.upgrade(alembic_config(url), revision)
    prepare_cloud(url)


def prepare_cloud(url: str) -> None:
    """Make the simulated cloud's tables in the database at ``url`` (safe to run again, and
    at the same time as another preparer)."""
    from engines.core import reality

    engine = sa.create_engine(url, poolclass=NullPool)
    try:
        reality.create_tables(engine)
    finally:
        engine.dispose()


def downgrade(url: str, revision: str) -> None:
    """Downgrade the database at ``url`` to ``revision`` (``"base"``: drop the schema)."""
    command.downgrade(alembic_config(url), revision)


def current(url: str) -> str | None:
    """The revision the database at ``url`` is at; None when it has never been migrated."""
    engine = sa.create_engine(url, poolclass=NullPool)
    try:
        with engine.connect() as connection:
            return MigrationContext.configure(connection).get_current_revision()
    finally:
        engine.dispose()


def heads() -> list[str]:
    """The head revision(s) of the history (one, unless someone branched it)."""
    return list(ScriptDirectory.from_config(alembic_config()).get_heads())


def offline_sql(revision: str = "head", dialect_url: str = "sqlite://") -> str:
    """The SQL that upgrading to ``revision`` runs, for the dialect of ``dialect_url``
    (which is not connected to). ``revision`` may be a range, ``"0001_pre_convergence:head"``.
    """
    buffer = io.StringIO()
    config = alembic_config(dialect_url)
    config.output_buffer = buffer
    command.upgrade(config, revision, sql=True)
    return buffer.getvalue()
