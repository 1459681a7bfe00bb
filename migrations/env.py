"""Alembic environment: where the database comes from, and how revisions run.

Online, the database is, in this order: ``config.attributes["connection"]`` (a Connection,
used as is, or an Engine), the URL on the alembic config (``-x url=...``, else
``sqlalchemy.url``), the URL in the dualpath configuration (``[database] connection``).
Offline (``--sql``), the URL only chooses the SQL dialect.

Each revision runs in a transaction of its own, so that a revision that fails (a lock timeout,
say) leaves the database at the previous revision, not half way, on the backends with
transactional DDL; and so that ``SET LOCAL`` in a revision lasts for that revision only.
"""

from __future__ import annotations

import logging.config

import sqlalchemy as sa
from alembic import context
from sqlalchemy.pool import NullPool

import migrations
from engines.core import models

config = context.config
if config.config_file_name is not None:
    # the command line: log as alembic.ini says, without muting loggers set up before
    logging.config.fileConfig(config.config_file_name, disable_existing_loggers=False)
target_metadata = models.Base.metadata


def _configured_url() -> str:
    url = context.get_x_argument(as_dictionary=True).get("url")
    if url:
        return url
    url = config.get_main_option("sqlalchemy.url")
    if url:
        return url
    from engines.core import config as dualpath_config

    return dualpath_config.database_url(dualpath_config.CONF)


def _configure(**kwargs: object) -> None:
    context.configure(
        target_metadata=target_metadata,
        transaction_per_migration=True,
        **migrations.autogenerate_options(),
        **kwargs,
    )


def run_migrations_offline() -> None:
    url = _configured_url()
    _configure(
        url=url,
        literal_binds=True,
        dialect_opts={"paramstyle": "named"},
        render_as_batch=url.startswith("sqlite"),
    )
    with context.begin_transaction():
        context.run_migrations()


def _run_on(connection: sa.Connection) -> None:
    _configure(
        connection=connection, render_as_batch=connection.dialect.name == "sqlite"
    )
    # if the caller's Connection is already in a transaction, alembic leaves it to the caller
    # to commit; otherwise it commits each revision itself (and a revision may commit
    # between tables: migrations.commit_point)
    config.attributes[migrations.OWNS_TRANSACTIONS] = not connection.in_transaction()
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    given = config.attributes.get("connection")
    if isinstance(given, sa.Connection):
        _run_on(given)
        return
    if isinstance(given, sa.Engine):
        with given.connect() as connection:
            _run_on(connection)
            # our own connection: keep what alembic did outside any revision (creating
            # alembic_version when there was nothing to upgrade)
            connection.commit()
        return
    if given is not None:
        raise TypeError(
            f"config.attributes['connection'] must be a Connection or an Engine, not {given!r}"
        )
    # NullPool: a migration is one short session; leave no idle connection behind that
    # would block a DROP DATABASE or hold a metadata lock
    engine = sa.create_engine(_configured_url(), poolclass=NullPool)
    try:
        with engine.connect() as connection:
            _run_on(connection)
            connection.commit()
    finally:
        engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
