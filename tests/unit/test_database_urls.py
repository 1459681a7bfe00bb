"""Database URLs as users write them."""

from __future__ import annotations

import importlib.util

import pytest
import sqlalchemy as sa

import engines  # noqa: F401 - what it registers is under test


@pytest.mark.skipif(importlib.util.find_spec("psycopg") is not None,
                    reason="psycopg 3 is installed: SQLAlchemy's own default applies")
def test_a_bare_postgresql_url_uses_the_driver_we_ship():
    # no connection is made: only which driver the URL resolves to
    engine = sa.create_engine("postgresql://root@localhost/test")
    assert engine.dialect.driver == "psycopg2"
    engine.dispose()
