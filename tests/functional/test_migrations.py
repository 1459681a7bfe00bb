"""The schema history is safe on live stacks, on SQLite, PostgreSQL and MariaDB.

* every revision is walked with data written before it (by the code of that era, naming only
  the columns it knows) and checked after it; a revision without a check fails the walk;
* downgrades work with data present and restore the previous schema;
* the models-match check sees the server default that makes old writers' stacks legacy;
* old code keeps working on the new schema, operations IN_PROGRESS across an upgrade finish;
* an ALTER never queues behind a long transaction: it gives up after a short lock timeout,
  and leaves the database at the previous revision, ready to try again;
* the offline SQL, and where env.py takes its database from.

The generic checks (one head, upgrade, models match the migrated DDL, every revision down and
up) are pytest-alembic's, run per database in ``test_migration_builtins.py``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import os
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.orm import Session
from sqlalchemy.pool import NullPool

import migrations
from engines.core import config as dualpath_config
from engines.core import models
from migrations import api

REPO_ROOT = Path(__file__).resolve().parents[2]
REVISIONS = ["0001_pre_convergence", "0002_engine_mode", "0003_convergence_schema",
             "0004_nested_stacks"]
HEAD = REVISIONS[-1]
SERVERS = [
    pytest.param("postgresql", marks=pytest.mark.postgresql),
    pytest.param("mysql", marks=pytest.mark.mysql),
]
# generous: the default lock timeout is 5 s; anything near this means it was not applied
HANG_LIMIT = 30.0

# what the code of each era knows of the schema, and so the only columns it ever names
_TABLES_0001 = ("raw_template", "stack", "resource", "resource_data", "event", "stack_lock")
_HEAD_COLUMNS = {
    name: [c.name for c in table.columns] for name, table in models.Base.metadata.tables.items()
}
_NEW_IN_0003 = {
    "stack": ["current_traversal", "current_deps", "prev_raw_template_id"],
    "resource": [
        "requires", "replaces", "replaced_by", "current_template_id", "atomic_key", "engine_id",
    ],
}
_NEW_IN_0004 = {"raw_template": ["files"], "stack": ["root_id"]}
ERA_COLUMNS: dict[str, dict[str, list[str]]] = {HEAD: _HEAD_COLUMNS}
ERA_COLUMNS["0003_convergence_schema"] = {
    name: [c for c in columns if c not in _NEW_IN_0004.get(name, ())]
    for name, columns in _HEAD_COLUMNS.items()
}
ERA_COLUMNS["0002_engine_mode"] = {
    name: [c for c in ERA_COLUMNS["0003_convergence_schema"][name]
           if c not in _NEW_IN_0003.get(name, ())]
    for name in _TABLES_0001
}
ERA_COLUMNS["0001_pre_convergence"] = {
    name: [c for c in columns if c != "convergence"]
    for name, columns in ERA_COLUMNS["0002_engine_mode"].items()
}
BOOLEAN_COLUMNS = {"disable_rollback", "backup", "convergence", "is_update"}
JSON_COLUMNS = {
    (table.name, column.name)
    for table in models.Base.metadata.tables.values()
    for column in table.columns
    if isinstance(column.type, models.JSONText)
}
T0 = dt.datetime(2024, 5, 1, 12, 0, 0, 123456)  # microseconds must survive every revision


# -- helpers --------------------------------------------------------------------------------


def _engine(url: str) -> sa.Engine:
    connect_args = {"timeout": 30} if url.startswith("sqlite") else {}
    return sa.create_engine(url, poolclass=NullPool, connect_args=connect_args)


@pytest.fixture
def engine_for() -> Iterator[Callable[[str], sa.Engine]]:
    engines: list[sa.Engine] = []

    def make(url: str) -> sa.Engine:
        engines.append(_engine(url))
        return engines[-1]

    yield make
    for engine in engines:
        engine.dispose()


class Writer:
    """The engine code of one schema era, writing rows: it names only the columns it knows,
    whatever the table has, as the previous release does during a rolling upgrade."""

    def __init__(self, conn: sa.Connection, era: str) -> None:
        self.conn = conn
        self.known = ERA_COLUMNS[era]
        self.meta = sa.MetaData()

    def _table(self, name: str) -> sa.Table:
        if name not in self.meta.tables:
            sa.Table(name, self.meta, autoload_with=self.conn)
        return self.meta.tables[name]

    def _values(self, name: str, values: dict[str, Any]) -> dict[str, Any]:
        unknown = set(values) - set(self.known[name])
        assert not unknown, f"code of this era does not know {name}.{sorted(unknown)}"
        return {
            k: json.dumps(v, sort_keys=True) if (name, k) in JSON_COLUMNS else v
            for k, v in values.items()
        }

    def insert(self, name: str, /, **values: Any) -> Any:
        result = self.conn.execute(sa.insert(self._table(name)).values(self._values(name, values)))
        return result.inserted_primary_key[0]

    def update(self, name: str, where: dict[str, Any], /, **values: Any) -> int:
        table = self._table(name)
        stmt = sa.update(table).values(self._values(name, values))
        for k, v in where.items():
            stmt = stmt.where(table.c[k] == v)
        return self.conn.execute(stmt).rowcount

    def delete(self, name: str, /, **where: Any) -> int:
        table = self._table(name)
        stmt = sa.delete(table)
        for k, v in where.items():
            stmt = stmt.where(table.c[k] == v)
        return self.conn.execute(stmt).rowcount


def _write_legacy_population(w: Writer, label: str) -> dict[str, Any]:
    """What a legacy engine leaves in the database: stacks in many states, some of them
    IN_PROGRESS and holding the stack lock, their resources, a pending hook, events."""
    template_id = w.insert(
        "raw_template",
        template={
            "heat_template_version": "2016-10-14",
            "resources": {
                "server": {"type": "OS::Heat::TestResource"},
                "port": {"type": "OS::Heat::TestResource"},
                "suffix": {"type": "OS::Heat::RandomString", "properties": {"length": 8}},
            },
        },
        environment={"parameters": {"flavor": "m1.small"}},
        created_at=T0,
    )
    states = [
        ("CREATE", "COMPLETE"), ("CREATE", "IN_PROGRESS"), ("UPDATE", "IN_PROGRESS"),
        ("DELETE", "IN_PROGRESS"), ("UPDATE", "FAILED"), ("ROLLBACK", "COMPLETE"),
        ("SUSPEND", "COMPLETE"),
    ]
    stacks: dict[str, str] = {}
    locked: list[str] = []
    resources: dict[str, list[int]] = {}
    for i, (action, status) in enumerate(states):
        key = f"{action}_{status}"
        stacks[key] = sid = str(uuid.uuid4())
        w.insert(
            "stack", id=sid, name=f"{label}-{key.lower()}", project_id=f"project-{i % 2}",
            raw_template_id=template_id, parameters={"flavor": "m1.small"},
            action=action, status=status, status_reason=f"Stack {action} {status}",
            disable_rollback=i % 3 == 0, timeout=60, backup=False,
            created_at=T0 + dt.timedelta(seconds=i), updated_at=T0 + dt.timedelta(minutes=i),
        )
        if status == "IN_PROGRESS":
            w.insert("stack_lock", stack_id=sid, engine_id="legacy-engine-1", created_at=T0)
            locked.append(sid)
        resources[sid] = []
        for j, (name, rtype) in enumerate(
            [("server", "OS::Heat::TestResource"), ("port", "OS::Heat::TestResource"),
             ("suffix", "OS::Heat::RandomString")]
        ):
            # in an IN_PROGRESS stack: one resource mid-action, one not started, one done
            r_action, r_status = action, status
            if status == "IN_PROGRESS" and j == 1:
                r_action, r_status = "INIT", "COMPLETE"
            elif status == "IN_PROGRESS" and j == 2:
                r_action, r_status = "CREATE", "COMPLETE"
            rid = w.insert(
                "resource", uuid=str(uuid.uuid4()), stack_id=sid, name=name, type=rtype,
                physical_resource_id=None if r_action == "INIT" else f"phys-{uuid.uuid4()}",
                action=r_action, status=r_status, status_reason="",
                properties_data={"value": f"{name}-{i}", "fail": False},
                created_at=T0 + dt.timedelta(microseconds=j),
            )
            resources[sid].append(rid)
            for k, ev_status in enumerate(["IN_PROGRESS", r_status]):
                w.insert(
                    "event", uuid=str(uuid.uuid4()), stack_id=sid, resource_name=name,
                    physical_resource_id=None, resource_type=rtype, resource_action=r_action,
                    resource_status=ev_status, resource_status_reason="state changed",
                    engine_id="legacy-engine-1",
                    created_at=T0 + dt.timedelta(seconds=i, microseconds=10 * j + k),
                )
    # an update waiting on a pre-update hook, with the backup stack legacy updates keep
    updating = stacks["UPDATE_IN_PROGRESS"]
    w.insert("resource_data", resource_id=resources[updating][0], key="pre-update",
             value="pending")
    stacks["backup"] = backup = str(uuid.uuid4())
    w.insert(
        "stack", id=backup, name=f"{label}-update_in_progress*", project_id="project-0",
        raw_template_id=template_id, action="CREATE", status="COMPLETE", disable_rollback=True,
        owner_id=updating, backup=True, created_at=T0,
    )
    stacks["deleted"] = deleted = str(uuid.uuid4())
    w.insert(
        "stack", id=deleted, name=f"{label}-deleted", project_id="project-1",
        raw_template_id=template_id, action="DELETE", status="COMPLETE",
        disable_rollback=False, backup=False, created_at=T0, deleted_at=T0,
    )
    return {"stacks": stacks, "locked": locked, "resources": resources,
            "template_id": template_id}


def _finish_legacy_operations(w: Writer, population: dict[str, Any]) -> None:
    """The legacy engine that started the IN_PROGRESS operations completes them after the
    upgrade: resources, events, stack status, then the stack lock is released."""
    now = T0 + dt.timedelta(hours=1)
    for sid in population["locked"]:
        for rid in population["resources"][sid]:
            w.update("resource", {"id": rid}, status="COMPLETE", updated_at=now)
        assert w.update("stack", {"id": sid}, status="COMPLETE", updated_at=now) == 1
        w.insert(
            "event", uuid=str(uuid.uuid4()), stack_id=sid, resource_name="stack",
            resource_action="UPDATE", resource_status="COMPLETE", created_at=now,
        )
        w.delete("resource_data", resource_id=population["resources"][sid][0])
        assert w.delete("stack_lock", stack_id=sid) == 1


def _norm(column: str, value: Any) -> Any:
    # MariaDB returns booleans as TINYINT
    return bool(value) if column in BOOLEAN_COLUMNS and value is not None else value


def _snapshot(conn: sa.Connection) -> dict[str, dict[tuple[Any, ...], dict[str, Any]]]:
    """Every row of every engine table, by primary key."""
    inspector = sa.inspect(conn)
    meta = sa.MetaData()
    out: dict[str, dict[tuple[Any, ...], dict[str, Any]]] = {}
    for name in models.Base.metadata.tables:
        if not inspector.has_table(name):
            continue
        table = sa.Table(name, meta, autoload_with=conn)
        pk = [c.name for c in table.primary_key.columns]
        rows = {}
        for row in conn.execute(sa.select(table)).mappings():
            values = {k: _norm(k, v) for k, v in row.items()}
            rows[tuple(values[c] for c in pk)] = values
        out[name] = rows
    return out


def _assert_kept(before: dict[str, Any], after: dict[str, Any]) -> None:
    """No row lost, no value changed, in the columns that existed before."""
    for table, rows in before.items():
        assert table in after, f"table {table} disappeared"
        for pk, row in rows.items():
            assert pk in after[table], f"{table} row {pk} disappeared"
            got = after[table][pk]
            assert {k: got.get(k) for k in row} == row, f"{table} row {pk} changed"


def _restrict(snapshot: dict[str, Any], era: str) -> dict[str, Any]:
    known = ERA_COLUMNS[era]
    return {
        table: {pk: {k: v for k, v in row.items() if k in known[table]} for pk, row in rows.items()}
        for table, rows in snapshot.items()
        if table in known
    }


def _assert_columns(conn: sa.Connection, era: str) -> None:
    inspector = sa.inspect(conn)
    engine_tables = set(inspector.get_table_names()) & set(models.Base.metadata.tables)
    assert engine_tables == set(ERA_COLUMNS[era])
    for table, columns in ERA_COLUMNS[era].items():
        assert {c["name"] for c in inspector.get_columns(table)} == set(columns), table


def _schema(conn: sa.Connection) -> dict[str, Any]:
    """The engine tables' DDL as reflected, in a form two databases can be compared by:
    unnamed constraints by their columns (their names are the server's choice)."""
    inspector = sa.inspect(conn)
    out: dict[str, Any] = {}
    for table in sorted(set(inspector.get_table_names()) & set(models.Base.metadata.tables)):
        out[table] = {
            "columns": [
                (c["name"], str(c["type"]), c["nullable"], c.get("default"))
                for c in inspector.get_columns(table)
            ],
            "pk": inspector.get_pk_constraint(table)["constrained_columns"],
            "fks": sorted(
                (tuple(f["constrained_columns"]), f["referred_table"],
                 tuple(f["referred_columns"]), (f.get("options") or {}).get("ondelete"))
                for f in inspector.get_foreign_keys(table)
            ),
            "unique": sorted(
                tuple(u["column_names"]) for u in inspector.get_unique_constraints(table)
            ),
            "indexes": sorted(
                (i["name"], tuple(i["column_names"]), bool(i["unique"]))
                for i in inspector.get_indexes(table)
                if not i.get("duplicates_constraint")
            ),
        }
    return out


def _create_cloud_table(conn: sa.Connection) -> list[tuple[Any, ...]]:
    """The simulated cloud's own table, in the same database, made by its own code."""
    conn.execute(sa.text(
        "CREATE TABLE cloud_server (id VARCHAR(36) PRIMARY KEY, name VARCHAR(255), "
        "status VARCHAR(32))"
    ))
    conn.execute(sa.text("CREATE INDEX ix_cloud_server_name ON cloud_server (name)"))
    rows = [(str(uuid.uuid4()), "vm-1", "ACTIVE"), (str(uuid.uuid4()), "vm-2", "BUILD")]
    for row in rows:
        conn.execute(
            sa.text("INSERT INTO cloud_server (id, name, status) VALUES (:i, :n, :s)"),
            {"i": row[0], "n": row[1], "s": row[2]},
        )
    return sorted(rows)


def _cloud_rows(conn: sa.Connection) -> list[tuple[Any, ...]]:
    return sorted(
        tuple(r) for r in conn.execute(sa.text("SELECT id, name, status FROM cloud_server"))
    )


def _model_diff(conn: sa.Connection) -> list[Any]:
    context = MigrationContext.configure(conn, opts=migrations.autogenerate_options())
    return compare_metadata(context, models.Base.metadata)


def _write_convergence_stack(conn: sa.Connection) -> str:
    """What the convergence engine writes, through the head models."""
    traversal = str(uuid.uuid4())
    with Session(bind=conn) as session:
        template = models.RawTemplate(template={"resources": {"a": {}, "b": {}}}, created_at=T0)
        session.add(template)
        session.flush()
        stack = models.Stack(
            id=str(uuid.uuid4()), name="convergent", project_id="project-c",
            raw_template_id=template.id, action="CREATE", status="IN_PROGRESS",
            convergence=True, current_traversal=traversal,
            current_deps={"edges": [[["a", True], ["b", True]]]},
            prev_raw_template_id=None, created_at=T0,
        )
        session.add(stack)
        session.flush()
        a = models.Resource(
            uuid=str(uuid.uuid4()), stack_id=stack.id, name="a", type="OS::Heat::None",
            action="CREATE", status="COMPLETE", requires=[], current_template_id=template.id,
            atomic_key=1, engine_id=None, created_at=T0,
        )
        b = models.Resource(
            uuid=str(uuid.uuid4()), stack_id=stack.id, name="b", type="OS::Heat::None",
            action="CREATE", status="IN_PROGRESS", requires=[], current_template_id=template.id,
            atomic_key=2, engine_id="convergence-engine-1", created_at=T0,
        )
        session.add_all([a, b])
        session.flush()
        b.requires = [a.id]
        session.add_all([
            models.SyncPoint(entity_id=str(a.id), traversal_id=traversal, is_update=True,
                             stack_id=stack.id, atomic_key=0, input_data={}, created_at=T0),
            models.SyncPoint(entity_id=str(b.id), traversal_id=traversal, is_update=True,
                             stack_id=stack.id, atomic_key=1,
                             input_data={str(a.id): {"attrs": {}}}, created_at=T0),
            models.SyncPoint(entity_id=stack.id, traversal_id=traversal, is_update=True,
                             stack_id=stack.id, atomic_key=0, input_data=None, created_at=T0),
            models.Service(id=str(uuid.uuid4()), engine_id="convergence-engine-1",
                           host="host-1", binary="dualpath-engine", topic="engine", pid=4242,
                           report_interval=1.0, created_at=T0, updated_at=T0),
        ])
        session.flush()
        stack_id = stack.id
    return stack_id


# -- a. the walk ----------------------------------------------------------------------------
# For each revision R: _pre_upgrade_R(conn) writes data at R's parent (what the code of that
# era writes); _check_R(conn, data) verifies it, and old code, after upgrading to R.


def _pre_upgrade_0001_pre_convergence(conn: sa.Connection) -> dict[str, Any]:
    # an empty database but for the simulated cloud, which creates its tables itself
    return {"cloud": _create_cloud_table(conn)}


def _check_0001_pre_convergence(conn: sa.Connection, data: dict[str, Any]) -> None:
    _assert_columns(conn, "0001_pre_convergence")
    assert _cloud_rows(conn) == data["cloud"]


def _pre_upgrade_0002_engine_mode(conn: sa.Connection) -> dict[str, Any]:
    population = _write_legacy_population(Writer(conn, "0001_pre_convergence"), "pre-0002")
    return {"population": population, "before": _snapshot(conn), "cloud": _cloud_rows(conn)}


def _check_0002_engine_mode(conn: sa.Connection, data: dict[str, Any]) -> None:
    _assert_columns(conn, "0002_engine_mode")
    after = _snapshot(conn)
    _assert_kept(data["before"], after)
    # every stack that existed is a legacy stack
    assert after["stack"] and all(row["convergence"] is False for row in after["stack"].values())
    column = {c["name"]: c for c in sa.inspect(conn).get_columns("stack")}["convergence"]
    assert column["nullable"] is False and column["default"] is not None
    # the locks taken before the upgrade are still held, by the same engine
    assert {k[0]: r["engine_id"] for k, r in after["stack_lock"].items()} == {
        sid: "legacy-engine-1" for sid in data["population"]["locked"]
    }
    # old code, which does not name the column, still creates stacks: legacy ones
    old = Writer(conn, "0001_pre_convergence")
    template_id = data["population"]["template_id"]
    old_sid, new_sid = str(uuid.uuid4()), str(uuid.uuid4())
    old.insert("stack", id=old_sid, name="by-old-code", project_id="p", action="CREATE",
               raw_template_id=template_id, status="IN_PROGRESS", disable_rollback=False,
               backup=False, created_at=T0)
    Writer(conn, "0002_engine_mode").insert(
        "stack", id=new_sid, name="by-new-code", project_id="p", raw_template_id=template_id,
        action="CREATE", status="IN_PROGRESS", disable_rollback=False, backup=False,
        convergence=True, created_at=T0,
    )
    flags = _snapshot(conn)["stack"]
    assert flags[(old_sid,)]["convergence"] is False
    assert flags[(new_sid,)]["convergence"] is True
    # and the operations that were IN_PROGRESS during the upgrade finish
    _finish_legacy_operations(old, data["population"])
    final = _snapshot(conn)
    assert not final["stack_lock"]
    for sid in data["population"]["locked"]:
        assert final["stack"][(sid,)]["status"] == "COMPLETE"
        assert final["stack"][(sid,)]["convergence"] is False
    assert _cloud_rows(conn) == data["cloud"]


def _pre_upgrade_0003_convergence_schema(conn: sa.Connection) -> dict[str, Any]:
    # mid rolling upgrade: the previous release is still starting legacy operations
    population = _write_legacy_population(Writer(conn, "0001_pre_convergence"), "pre-0003")
    return {"population": population, "before": _snapshot(conn), "cloud": _cloud_rows(conn)}


def _check_0003_convergence_schema(conn: sa.Connection, data: dict[str, Any]) -> None:
    _assert_columns(conn, "0003_convergence_schema")
    after = _snapshot(conn)
    _assert_kept(data["before"], after)
    # untouched by convergence: NULL everywhere, nothing in the new tables
    for sid in data["population"]["stacks"].values():
        assert after["stack"][(sid,)]["convergence"] is False
    for row in after["stack"].values():
        assert all(row[c] is None for c in _NEW_IN_0003["stack"]), row
    for row in after["resource"].values():
        assert all(row[c] is None for c in _NEW_IN_0003["resource"]), row
    assert after["sync_point"] == {} and after["service"] == {}
    assert len(after["stack_lock"]) == len(data["population"]["locked"])

    # the previous release keeps working: creates a stack, finishes what it started
    old = Writer(conn, "0001_pre_convergence")
    sid = str(uuid.uuid4())
    old.insert("stack", id=sid, name="by-old-code", project_id="p", action="CREATE",
               raw_template_id=data["population"]["template_id"], status="COMPLETE",
               disable_rollback=False, backup=False, created_at=T0)
    old.insert("resource", uuid=str(uuid.uuid4()), stack_id=sid, name="r", type="OS::Heat::None",
               action="CREATE", status="COMPLETE", created_at=T0)
    _finish_legacy_operations(old, data["population"])
    assert not _snapshot(conn)["stack_lock"]
    assert _cloud_rows(conn) == data["cloud"]


def _pre_upgrade_0004_nested_stacks(conn: sa.Connection) -> dict[str, Any]:
    # the previous release, legacy and convergence stacks alike
    population = _write_legacy_population(Writer(conn, "0003_convergence_schema"), "pre-0004")
    return {"population": population, "before": _snapshot(conn), "cloud": _cloud_rows(conn)}


def _check_0004_nested_stacks(conn: sa.Connection, data: dict[str, Any]) -> None:
    _assert_columns(conn, HEAD)
    after = _snapshot(conn)
    _assert_kept(data["before"], after)
    # every template had no files, every stack is a root
    assert all(row["files"] is None for row in after["raw_template"].values())
    assert all(row["root_id"] is None for row in after["stack"].values())
    # the previous release keeps working: it names neither column
    old = Writer(conn, "0003_convergence_schema")
    sid = str(uuid.uuid4())
    old.insert("stack", id=sid, name="by-old-code", project_id="p", action="CREATE",
               raw_template_id=data["population"]["template_id"], status="COMPLETE",
               disable_rollback=False, backup=False, convergence=False, created_at=T0)
    _finish_legacy_operations(old, data["population"])
    assert not _snapshot(conn)["stack_lock"]

    # the convergence engine works, through the head models, next to the legacy rows
    conv_sid = _write_convergence_stack(conn)
    with Session(bind=conn) as session:
        stacks = {s.id: s for s in session.scalars(sa.select(models.Stack))}
        assert stacks[sid].convergence is False and stacks[sid].current_traversal is None
        assert stacks[conv_sid].convergence is True
        assert stacks[conv_sid].current_deps == {"edges": [[["a", True], ["b", True]]]}
        legacy = [s for s in stacks.values() if not s.convergence]
        assert legacy and all(s.parameters in (None, {"flavor": "m1.small"}) for s in legacy)
        points = session.scalars(
            sa.select(models.SyncPoint).where(models.SyncPoint.stack_id == conv_sid)
        ).all()
        assert len(points) == 3
        resources = session.scalars(
            sa.select(models.Resource).where(models.Resource.stack_id == conv_sid)
        ).all()
        by_name = {r.name: r for r in resources}
        assert by_name["b"].requires == [by_name["a"].id]
        assert by_name["b"].engine_id == "convergence-engine-1"
    assert _cloud_rows(conn) == data["cloud"]


def _script() -> ScriptDirectory:
    return ScriptDirectory.from_config(api.alembic_config())


def _revisions_base_to_head() -> list[str]:
    return [r.revision for r in reversed(list(_script().walk_revisions("base", "heads")))]


def _without_check(revisions: list[str]) -> list[str]:
    return [rev for rev in revisions if not callable(globals().get(f"_check_{rev}"))]


def test_every_revision_needs_a_check() -> None:
    # the walk must refuse a revision nobody wrote a check for
    assert _without_check(["0001_pre_convergence", "9999_unchecked"]) == ["9999_unchecked"]


def test_walk_every_revision_with_data(db_url: str, engine_for: Callable[[str], sa.Engine]) -> None:
    revisions = _revisions_base_to_head()
    missing = _without_check(revisions)
    assert not missing, (
        f"revisions without a _check_<rev>(conn, data) in this file: {missing}; "
        "write one (and a _pre_upgrade_<rev>(conn) for its data)"
    )
    engine = engine_for(db_url)
    for rev in revisions:
        data = None
        pre_upgrade = globals().get(f"_pre_upgrade_{rev}")
        if pre_upgrade is not None:
            with engine.begin() as conn:
                data = pre_upgrade(conn)
        api.upgrade(db_url, rev)
        assert api.current(db_url) == rev
        with engine.begin() as conn:
            globals()[f"_check_{rev}"](conn, data)


# -- b. what pytest-alembic does not check --------------------------------------------------
# (one head, upgrade, models match the DDL, down and up: test_migration_builtins.py)


@pytest.mark.parametrize("server", SERVERS)
def test_model_comparison_sees_the_server_default(
    server: str, new_database: Callable[[str], str], engine_for: Callable[[str], sa.Engine]
) -> None:
    """stack.convergence's server default is what makes old writers' stacks legacy: the
    models-match check must notice when it is missing (env.py's comparison hook), and must
    not see MariaDB's '0' for false as a difference."""
    url = new_database(server)
    api.upgrade(url)
    engine = engine_for(url)
    with engine.connect() as conn:
        assert _model_diff(conn) == []
    with engine.begin() as conn:
        conn.execute(sa.text("ALTER TABLE stack ALTER COLUMN convergence DROP DEFAULT"))
    with engine.connect() as conn:
        assert [d[0][0] for d in _model_diff(conn)] == ["modify_default"]


def test_revisions_are_named_by_id_and_documented() -> None:
    # REVISIONS, which the tests below walk, is the history in order
    assert REVISIONS == _revisions_base_to_head()
    script = _script()
    for rev_id in REVISIONS:
        revision = script.get_revision(rev_id)
        assert Path(revision.path).stem == rev_id
        assert revision.doc and revision.module.__doc__.count("\n") > 3, rev_id


# -- d. downgrades --------------------------------------------------------------------------


def test_downgrade_to_base_and_up_again_with_data(
    backend: str, new_database: Callable[[str], str], engine_for: Callable[[str], sa.Engine]
) -> None:
    url = new_database(backend)
    engine = engine_for(url)
    with engine.begin() as conn:
        cloud = _create_cloud_table(conn)
    api.upgrade(url)
    with engine.begin() as conn:
        _write_legacy_population(Writer(conn, "0001_pre_convergence"), "legacy")
        _write_convergence_stack(conn)
        before = _snapshot(conn)
    assert before["sync_point"] and before["service"]

    for rev in ("0002_engine_mode", "0001_pre_convergence"):
        api.downgrade(url, rev)
        assert api.current(url) == rev
        with engine.begin() as conn:
            _assert_columns(conn, rev)
            _assert_kept(_restrict(before, rev), _snapshot(conn))
            schema = _schema(conn)
        # the previous revision's schema, exactly, not merely its column names
        reference = new_database(backend)
        api.upgrade(reference, rev)
        with engine_for(reference).connect() as conn:
            assert schema == _schema(conn)

    api.downgrade(url, "base")
    assert api.current(url) is None
    with engine.connect() as conn:
        assert not set(sa.inspect(conn).get_table_names()) & set(models.Base.metadata.tables)
        assert _cloud_rows(conn) == cloud

    api.upgrade(url)
    assert api.current(url) == HEAD
    with engine.begin() as conn:
        _write_legacy_population(Writer(conn, HEAD), "again")
        _write_convergence_stack(conn)
        assert _model_diff(conn) == []


# -- e. offline SQL -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "dialect_url", ["sqlite://", "postgresql+psycopg2://", "mysql+pymysql://"]
)
def test_offline_sql(dialect_url: str) -> None:
    sql = api.offline_sql("head", dialect_url)
    for table in models.Base.metadata.tables:
        assert f"CREATE TABLE {table} (" in sql, table
    assert "ALTER TABLE stack ADD COLUMN convergence" in sql
    assert "ALTER TABLE stack ADD COLUMN current_traversal" in sql
    assert "ADD COLUMN atomic_key" in sql
    positions = [sql.index(f"-> {rev}") for rev in REVISIONS]
    assert positions == sorted(positions)
    engine_mode = sql[positions[1]:positions[2]]
    if dialect_url.startswith("postgresql"):
        # the lock timeout comes first, inside the revision's own transaction
        assert engine_mode.index("SET LOCAL lock_timeout") < engine_mode.index("ALTER TABLE")
        assert sql.count("BEGIN;") == len(REVISIONS)
    if dialect_url.startswith("mysql"):
        assert "ALGORITHM=INSTANT" in engine_mode
        assert engine_mode.index("SET SESSION lock_wait_timeout = 5") < engine_mode.index(
            "ALTER TABLE"
        )
    # from a revision on: only what is newer
    tail = api.offline_sql(f"{REVISIONS[0]}:head", dialect_url)
    assert "CREATE TABLE stack (" not in tail and "CREATE TABLE sync_point (" in tail


def test_alembic_command_line_from_repo_root() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "alembic", "-x", "url=postgresql+psycopg2://", "upgrade",
         "head", "--sql"],
        cwd=REPO_ROOT, capture_output=True, text=True, timeout=HANG_LIMIT, check=True,
    )
    assert "ALTER TABLE stack ADD COLUMN convergence BOOLEAN DEFAULT false NOT NULL" in (
        result.stdout
    )


def test_api_from_another_directory(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'elsewhere.sqlite'}"
    code = (
        "from migrations import api; "
        f"api.upgrade({url!r}); print(api.current({url!r}), api.heads())"
    )
    env = {**os.environ, "DUALPATH_STATE": str(tmp_path / "state")}
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True,
        timeout=HANG_LIMIT, check=True, env=env,
    )
    assert result.stdout.split()[0] == HEAD


# -- f. where env.py gets its database ------------------------------------------------------

NOWHERE = "sqlite:////nonexistent-dualpath-dir/never.sqlite"


def test_env_takes_a_connection(db_url: str, engine_for: Callable[[str], sa.Engine]) -> None:
    config = api.alembic_config(NOWHERE)  # must not be used: the connection comes first
    with engine_for(db_url).begin() as conn:
        config.attributes["connection"] = conn
        command.upgrade(config, "0002_engine_mode")
        # in the caller's transaction: the caller commits
    assert api.current(db_url) == "0002_engine_mode"


def test_env_takes_an_engine(db_url: str, engine_for: Callable[[str], sa.Engine]) -> None:
    config = api.alembic_config(NOWHERE)
    config.attributes["connection"] = engine_for(db_url)
    command.upgrade(config, "head")
    assert api.current(db_url) == HEAD


def test_env_refuses_something_else() -> None:
    config = api.alembic_config(NOWHERE)
    config.attributes["connection"] = "not a connection"
    with pytest.raises(TypeError, match="Connection or an Engine"):
        command.upgrade(config, "head")


def test_env_takes_urls_in_order(db_url: str) -> None:
    # -x url= beats sqlalchemy.url
    config = api.alembic_config(NOWHERE)
    config.cmd_opts = argparse.Namespace(x=[f"url={db_url}"])
    command.upgrade(config, REVISIONS[0])
    assert api.current(db_url) == REVISIONS[0]
    # sqlalchemy.url beats the dualpath configuration
    dualpath_config.CONF.set_override("connection", NOWHERE, group="database")
    try:
        command.upgrade(api.alembic_config(db_url), REVISIONS[1])
    finally:
        dualpath_config.CONF.clear_override("connection", group="database")
    assert api.current(db_url) == REVISIONS[1]
    # nothing given: the dualpath configuration's [database] connection
    dualpath_config.CONF.set_override("connection", db_url, group="database")
    try:
        command.upgrade(api.alembic_config(), "head")
    finally:
        dualpath_config.CONF.clear_override("connection", group="database")
    assert api.current(db_url) == HEAD


# -- g. no ALTER queues behind a long transaction -------------------------------------------


def _upgrade_behind_lock(
    url: str, engine: sa.Engine, locked_table: str, revision: str
) -> tuple[BaseException | None, float]:
    """Run the upgrade while another session has read ``locked_table`` in a transaction it
    keeps open. Returns the upgrade's error and how long it took; fails if it hangs."""
    outcome: dict[str, BaseException] = {}

    def run() -> None:
        try:
            api.upgrade(url, revision)
        except BaseException as exc:  # reported to the test thread
            outcome["error"] = exc

    holder = engine.connect()
    try:
        holder.begin()
        # a long report, say: holds a shared lock on the table until it commits
        holder.execute(sa.text(f"SELECT COUNT(*) FROM {locked_table}")).scalar()
        worker = threading.Thread(target=run, daemon=True)
        start = time.monotonic()
        worker.start()
        worker.join(timeout=HANG_LIMIT)
        elapsed = time.monotonic() - start
        hung = worker.is_alive()
    finally:
        holder.rollback()
        holder.close()
    if hung:
        worker.join(timeout=HANG_LIMIT)
        pytest.fail(f"upgrade to {revision} waited {elapsed:.0f}s for the lock: no timeout")
    return outcome.get("error"), elapsed


def _is_lock_timeout(error: BaseException | None) -> bool:
    orig = getattr(error, "orig", None)
    if getattr(orig, "pgcode", None) == "55P03":  # lock_not_available
        return True
    args = getattr(orig, "args", ())
    return bool(args) and args[0] == 1205  # ER_LOCK_WAIT_TIMEOUT


@pytest.mark.parametrize("server", SERVERS)
def test_engine_mode_gives_up_behind_a_long_transaction(
    server: str, new_database: Callable[[str], str], engine_for: Callable[[str], sa.Engine]
) -> None:
    url = new_database(server)
    engine = engine_for(url)
    api.upgrade(url, REVISIONS[0])
    with engine.begin() as conn:
        before = _write_legacy_population(Writer(conn, REVISIONS[0]), "live")
        snapshot = _snapshot(conn)

    error, elapsed = _upgrade_behind_lock(url, engine, "stack", "0002_engine_mode")
    assert _is_lock_timeout(error), f"expected a lock timeout, got {error!r}"
    assert elapsed < migrations.DEFAULT_LOCK_TIMEOUT + 10
    # nothing half done
    assert api.current(url) == REVISIONS[0]
    with engine.connect() as conn:
        _assert_columns(conn, REVISIONS[0])
        assert _snapshot(conn) == snapshot

    # once the long transaction is over, the same upgrade goes through
    api.upgrade(url, "0002_engine_mode")
    with engine.begin() as conn:
        assert all(not row["convergence"] for row in _snapshot(conn)["stack"].values())
        _finish_legacy_operations(Writer(conn, REVISIONS[0]), before)


@pytest.mark.parametrize("server", SERVERS)
def test_convergence_schema_can_be_retried_after_a_lock_timeout(
    server: str, new_database: Callable[[str], str], engine_for: Callable[[str], sa.Engine]
) -> None:
    url = new_database(server)
    engine = engine_for(url)
    api.upgrade(url, REVISIONS[1])
    # stack is free, resource is held: the revision fails after altering stack
    error, _ = _upgrade_behind_lock(url, engine, "resource", HEAD)
    assert _is_lock_timeout(error), f"expected a lock timeout, got {error!r}"
    assert api.current(url) == REVISIONS[1]
    with engine.connect() as conn:
        stack_columns = {c["name"] for c in sa.inspect(conn).get_columns("stack")}
        resource_columns = {c["name"] for c in sa.inspect(conn).get_columns("resource")}
    # the stack ALTER was committed before the resource one waited (MySQL's DDL commits by
    # itself; on PostgreSQL the revision commits between tables, so that it never holds
    # one table's lock while it waits for another's): the stack columns stay, the resource
    # ones were not added, and the retry skips what is there
    assert set(_NEW_IN_0003["stack"]) <= stack_columns
    assert not set(_NEW_IN_0003["resource"]) & resource_columns
    api.upgrade(url)
    assert api.current(url) == HEAD
    with engine.connect() as conn:
        assert _model_diff(conn) == []


@pytest.mark.mysql
def test_engine_mode_where_instant_alter_is_impossible(
    new_database: Callable[[str], str], engine_for: Callable[[str], sa.Engine]
) -> None:
    """MariaDB cannot add a column instantly to a ROW_FORMAT=COMPRESSED table: the revisions
    fall back to the online in-place ALTER, which still lets traffic through."""
    url = new_database("mysql")
    engine = engine_for(url)
    api.upgrade(url, REVISIONS[0])
    with engine.begin() as conn:
        try:
            for table in ("stack", "resource"):
                conn.execute(sa.text(f"ALTER TABLE {table} ROW_FORMAT=COMPRESSED"))
        except sa.exc.DBAPIError as exc:
            pytest.skip(f"this server has no compressed tables: {exc.orig}")
        # so the revisions cannot take the instant path here
        with pytest.raises(sa.exc.DBAPIError, match="ALGORITHM=INSTANT is not supported"):
            conn.execute(sa.text("ALTER TABLE stack ADD COLUMN probe INT, ALGORITHM=INSTANT"))
        _write_legacy_population(Writer(conn, REVISIONS[0]), "compressed")
        before = _snapshot(conn)
    api.upgrade(url)
    with engine.connect() as conn:
        after = _snapshot(conn)
        assert _model_diff(conn) == []
    _assert_kept(before, after)
    assert all(row["convergence"] is False for row in after["stack"].values())


# -- the live system during the upgrade -----------------------------------------------------


def test_upgrade_under_live_legacy_traffic(
    db_url: str, engine_for: Callable[[str], sa.Engine]
) -> None:
    """The previous release keeps writing while every revision is applied: nothing it does
    fails, and every stack it creates, before, during or after, is a legacy stack."""
    api.upgrade(db_url, REVISIONS[0])
    engine = engine_for(db_url)
    with engine.begin() as conn:
        population = _write_legacy_population(Writer(conn, REVISIONS[0]), "live")
    stop = threading.Event()
    progress = threading.Condition()
    created: list[str] = []
    errors: list[BaseException] = []

    def legacy_engine() -> None:
        stack_ids = list(population["stacks"].values())
        i = 0
        while not stop.is_set():
            sid = str(uuid.uuid4())
            try:
                with engine.begin() as conn:
                    w = Writer(conn, REVISIONS[0])
                    w.insert("stack", id=sid, name=f"live-{i}", project_id="p",
                             raw_template_id=population["template_id"], action="CREATE",
                             status="COMPLETE", disable_rollback=False, backup=False,
                             created_at=T0)
                    target = stack_ids[i % len(stack_ids)]
                    w.update("stack", {"id": target}, updated_at=T0 + dt.timedelta(seconds=i))
                    w.insert("event", uuid=str(uuid.uuid4()), stack_id=target,
                             resource_name="server", resource_action="UPDATE",
                             resource_status="IN_PROGRESS", created_at=T0)
            except BaseException as exc:  # reported to the test thread
                errors.append(exc)
                return
            with progress:
                created.append(sid)
                progress.notify_all()
            i += 1
            stop.wait(0.002)  # pacing, so that the migration gets its turn on SQLite

    def wait_for(count: int) -> None:
        with progress:
            assert progress.wait_for(lambda: len(created) >= count or errors, HANG_LIMIT)

    writer = threading.Thread(target=legacy_engine, daemon=True)
    writer.start()
    try:
        # revision by revision, with the legacy engine making progress at every step: its
        # writes land before, between (and, as the timing falls, during) the ALTERs
        for rev in REVISIONS[1:]:
            wait_for(len(created) + 5)
            api.upgrade(db_url, rev)
        wait_for(len(created) + 5)  # and it goes on after the upgrade
    finally:
        stop.set()
        writer.join(timeout=HANG_LIMIT)
    assert not writer.is_alive()
    assert not errors, errors
    assert api.current(db_url) == HEAD
    with engine.connect() as conn:
        stacks = _snapshot(conn)["stack"]
    assert all((sid,) in stacks for sid in created)
    assert all(row["convergence"] is False for row in stacks.values())


# -- a migration killed midway --------------------------------------------------------------

# An upgrade in a process of its own that SIGKILLs itself right after its Nth DDL statement
# (with KILL_AFTER 0: never; it prints how many it ran): the moment an operator's ^C, an OOM
# kill or a lost host would leave, on MariaDB with part of a revision's DDL committed.
_KILLED_UPGRADE = """
import os, signal, sys
import sqlalchemy as sa
from sqlalchemy import event
from migrations import api

url, kill_after = sys.argv[1], int(sys.argv[2])
ddl = [0]

@event.listens_for(sa.engine.Engine, "after_cursor_execute")
def _count(conn, cursor, statement, parameters, context, executemany):
    if statement.lstrip().split(None, 1)[0].upper() in ("CREATE", "ALTER", "DROP"):
        ddl[0] += 1
        if ddl[0] == kill_after:
            os.kill(os.getpid(), signal.SIGKILL)

api.upgrade(url)
print(ddl[0])
"""


def _killed_upgrade(url: str, kill_after: int) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", _KILLED_UPGRADE, url, str(kill_after)],
                          capture_output=True, text=True, timeout=120, cwd=REPO_ROOT)


def _checksums(conn: sa.Connection, columns: dict[str, set[str]]) -> dict[str, str]:
    """Per table of ``columns``, a digest of its rows in those columns, in key order."""
    sums = {}
    for table, rows in _snapshot(conn).items():
        if table not in columns:
            continue
        digest = hashlib.sha256()
        for pk in sorted(rows, key=repr):
            row = rows[pk]
            digest.update(repr(sorted((k, row[k]) for k in columns[table])).encode())
        sums[table] = f"{len(rows)}:{digest.hexdigest()[:16]}"
    return sums


@pytest.mark.parametrize("backend", ["sqlite", *SERVERS])
def test_an_upgrade_killed_after_any_ddl_statement_completes_when_run_again(
    backend: str, new_database: Callable[[str], str], engine_for: Callable[[str], sa.Engine]
) -> None:
    """Killed after each DDL statement in turn, from the pre-convergence schema to head:
    the next upgrade completes, the schema is head's, and every table that held rows has
    the same rows (checksums over the columns it had) as before."""
    probe = new_database(backend)
    api.upgrade(probe, REVISIONS[0])
    whole = _killed_upgrade(probe, 0)
    assert whole.returncode == 0, whole.stderr[-2000:]
    statements = int(whole.stdout.split()[-1])
    assert statements >= len(REVISIONS) - 1, whole.stdout
    for kill_after in range(1, statements + 1):
        url = new_database(backend)
        api.upgrade(url, REVISIONS[0])
        engine = engine_for(url)
        with engine.begin() as conn:
            _write_legacy_population(Writer(conn, REVISIONS[0]), f"killed{kill_after}")
        with engine.connect() as conn:
            columns = {t: set(c) for t, c in ERA_COLUMNS[REVISIONS[0]].items()}
            before = _checksums(conn, columns)
        killed = _killed_upgrade(url, kill_after)
        assert killed.returncode == -9, (kill_after, killed.returncode, killed.stderr[-2000:])
        api.upgrade(url)
        assert api.current(url) == HEAD, kill_after
        with engine.connect() as conn:
            assert _model_diff(conn) == [], kill_after
            assert _checksums(conn, columns) == before, kill_after
