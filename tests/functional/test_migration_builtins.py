"""pytest-alembic's built-in tests of the schema history, once per database.

One head, an upgrade from nothing to head, models that match the migrated DDL (an
autogenerate finds nothing, with env.py's own comparison settings) and every revision down
and up again. They are the library's tests, not ours: this module only hands them a
database, through the plugin's ``alembic_config`` / ``alembic_engine`` fixtures, and runs
each on SQLite and, when their servers answer, PostgreSQL and MariaDB.

The plugin's ``--test-alembic`` collection makes one item per built-in test and cannot be
parametrized, so it would test one database per session; calling the built-ins with the
plugin's ``alembic_runner`` gives one item per test and database (ids ``[sqlite-...]``, so
``-k sqlite`` selects them as it selects the rest of the migration tests). Our own tests,
with data and live traffic, are in ``test_migrations.py``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
import pytest_alembic.tests
import sqlalchemy as sa
from alembic.config import Config
from sqlalchemy.pool import NullPool

from migrations import api

# whatever this version of pytest-alembic ships as its default set
BUILTINS = sorted(name for name in dir(pytest_alembic.tests) if name.startswith("test_"))


@pytest.fixture
def alembic_config() -> Config:
    """The history as ``dualpath db`` runs it (migrations/api.py), not alembic.ini's:
    no database URL, so the one ``alembic_engine`` hands env.py is the only one."""
    return api.alembic_config()


@pytest.fixture
def alembic_engine(
    backend: str, new_database: Callable[[str], str]
) -> Iterator[sa.Engine]:
    """A throwaway database of its own for every test (xdist-safe), dropped after it."""
    engine = sa.create_engine(new_database(backend), poolclass=NullPool)
    yield engine
    engine.dispose()


def test_every_default_builtin_is_run() -> None:
    # a release that renames or drops one should be noticed, not silently run less
    assert {
        "test_model_definitions_match_ddl", "test_single_head_revision",
        "test_up_down_consistency", "test_upgrade",
    } <= set(BUILTINS)


@pytest.mark.parametrize("builtin", BUILTINS)
def test_pytest_alembic(builtin: str, alembic_runner: Any) -> None:
    getattr(pytest_alembic.tests, builtin)(alembic_runner)
