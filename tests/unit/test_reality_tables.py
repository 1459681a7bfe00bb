"""The cloud's tables are made by whichever process comes first; the others must cope."""

from __future__ import annotations

import sqlalchemy as sa

from engines.core import reality


def test_a_process_that_loses_the_race_to_create_the_tables_carries_on(tmp_path):
    url = f"sqlite:///{tmp_path / 'cloud.sqlite'}"
    engine = sa.create_engine(url)
    rival = sa.create_engine(url)
    raced = []

    # the moment this process has found cloud_resource missing and is about to create it,
    # another process creates it: our CREATE TABLE then fails with "already exists"
    @sa.event.listens_for(reality.cloud_resource, "before_create")
    def rival_gets_there_first(table, connection, **kw):
        if not raced:
            raced.append(True)
            with rival.begin() as other:
                table.create(other)

    try:
        reality.ensure_tables(engine)
    finally:
        sa.event.remove(reality.cloud_resource, "before_create", rival_gets_there_first)
    assert raced == [True]
    present = set(sa.inspect(engine).get_table_names())
    assert {t.name for t in reality.metadata.sorted_tables} <= present
    engine.dispose()
    rival.dispose()


def test_a_real_error_still_surfaces(tmp_path, monkeypatch):
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'cloud.sqlite'}")

    def broken(*args, **kwargs):
        raise sa.exc.OperationalError("CREATE TABLE", {}, Exception("disk I/O error"))

    monkeypatch.setattr(reality.metadata, "create_all", broken)
    try:
        reality.ensure_tables(engine)
    except sa.exc.OperationalError as exc:
        assert "disk I/O error" in str(exc)
    else:
        raise AssertionError("a failure that is not a lost race must not be swallowed")
    engine.dispose()
