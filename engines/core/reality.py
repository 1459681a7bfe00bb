"""The simulated cloud ("reality"): what physically exists, outside the engine's schema.

It keeps its own tables (``cloud_*``, own MetaData) in a database, so that every process
(engine, workers, harness) sees the same physical world, and a fault injected by a scenario
reaches whichever worker acts. Every create/update/delete is a recorded API call. Its tables
are made when a database is prepared (:func:`create_tables`, through ``dualpath db upgrade``);
a process starting on it only checks (:func:`require_tables`).
"""

from __future__ import annotations

import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from engines.core.errors import Cancelled, DualpathError
from engines.core.models import JSONText, Timestamp, utcnow

if TYPE_CHECKING:
    # only a type here: migrations/api.py prepares databases with this module, without oslo.db
    from engines.core.db import Database

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

ACTIONS = ("CREATE", "UPDATE", "DELETE")
LOCK_WAIT = 60  # seconds a preparer waits for another one making the same cloud's tables


class CloudError(Exception):
    """The cloud refused an API call (an injected fault)."""


@dataclass(frozen=True)
class PhysicalResource:
    physical_id: str
    stack_id: str
    logical_name: str
    type: str
    properties: dict[str, Any]


class CloudSchemaMissing(DualpathError):
    """A process started on a server database whose simulated cloud was never made."""


def schema_lock_name(database: str | None) -> str:
    """The name of the server-side lock that serialises preparers of ``database``'s cloud."""
    return f"dualpath_cloud_schema.{database or ''}"[:64]  # MySQL's limit on lock names


def missing_tables(engine: sa.Engine) -> list[str]:
    """The cloud's tables that ``engine``'s database lacks."""
    inspector = sa.inspect(engine)
    return [t.name for t in metadata.sorted_tables if not inspector.has_table(t.name)]


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
                metadata.create_all(conn, checkfirst=True)
            except BaseException:
                conn.exec_driver_sql("ROLLBACK")
                raise
            conn.exec_driver_sql("COMMIT")
    elif dialect == "postgresql":
        with engine.begin() as conn:
            conn.execute(sa.text("SELECT pg_advisory_xact_lock(hashtext(:name))"),
                         {"name": schema_lock_name(database)})
            metadata.create_all(conn, checkfirst=True)
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
                metadata.create_all(conn, checkfirst=True)
                conn.commit()
            finally:
                conn.execute(sa.text("SELECT RELEASE_LOCK(:name)"), {"name": name})
    else:
        metadata.create_all(engine, checkfirst=True)


def require_tables(engine: sa.Engine) -> None:
    """What a process does at start: the cloud's tables are there, or it says what to run.

    On SQLite (the embedded default, a file only this machine uses) the tables are made on
    first use, so that a fresh clone runs with nothing prepared. A server database is
    prepared once, before any engine or worker uses it (``dualpath db upgrade``, or the
    harness's template database): processes starting there never create anything, so they
    cannot race each other, and need no right to run DDL.
    """
    missing = missing_tables(engine)
    if not missing:
        return
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


class Reality:
    """API of the simulated cloud, for plugins (through ActionScope) and for observers."""

    def __init__(self, db: Database) -> None:
        self.db = db
        require_tables(db.engine)

    # -- the API plugins call -----------------------------------------------------------
    def create(
        self, stack_id: str, logical_name: str, type_name: str, properties: dict[str, Any],
        wait: Callable[[float], None] | None = None,
    ) -> str:
        self._apply_faults(stack_id, logical_name, "CREATE", wait)
        physical_id = str(uuid.uuid4())
        now = utcnow()
        with self.db.session() as s:
            s.execute(cloud_resource.insert().values(
                physical_id=physical_id, stack_id=stack_id, logical_name=logical_name,
                type=type_name, properties=properties, created_at=now,
            ))
            self._record(s, stack_id, logical_name, "CREATE", physical_id, True, None)
        return physical_id

    def update(
        self, stack_id: str, logical_name: str, physical_id: str | None,
        properties: dict[str, Any], wait: Callable[[float], None] | None = None,
    ) -> None:
        self._apply_faults(stack_id, logical_name, "UPDATE", wait)
        with self.db.session() as s:
            found = s.execute(
                cloud_resource.update()
                .where(cloud_resource.c.physical_id == physical_id)
                .values(properties=properties, updated_at=utcnow())
            ).rowcount
            self._record(s, stack_id, logical_name, "UPDATE", physical_id, bool(found),
                         None if found else "no such physical resource")
        if not found:
            raise CloudError(f"update of {logical_name}: physical resource {physical_id} "
                             "does not exist")

    def delete(
        self, stack_id: str, logical_name: str, physical_id: str,
        wait: Callable[[float], None] | None = None,
    ) -> None:
        self._apply_faults(stack_id, logical_name, "DELETE", wait)
        with self.db.session() as s:
            gone = s.execute(
                cloud_resource.delete().where(cloud_resource.c.physical_id == physical_id)
            ).rowcount
            # deleting what is already gone succeeds, as cloud APIs' 404-on-delete does
            self._record(s, stack_id, logical_name, "DELETE", physical_id, True,
                         None if gone else "already gone")

    def get(self, physical_id: str | None) -> dict[str, Any] | None:
        if not physical_id:
            return None
        with self.db.session() as s:
            row = s.execute(
                sa.select(cloud_resource).where(cloud_resource.c.physical_id == physical_id)
            ).mappings().first()
        return dict(row) if row else None

    # -- fault injection ----------------------------------------------------------------
    def inject_fault(
        self, logical_name: str, action: str, *, times: int = 1, stack_id: str | None = None,
        latency: float = 0.0, message: str | None = None,
    ) -> None:
        """Fail (or, with ``latency``, slow down) the next ``times`` ``action`` calls of
        ``logical_name`` (-1: every call). Any process acting on it sees the fault."""
        action = action.upper()
        if action not in ACTIONS:
            raise ValueError(f"fault action must be one of {ACTIONS}, not {action!r}")
        with self.db.session() as s:
            s.execute(cloud_fault.insert().values(
                stack_id=stack_id, logical_name=logical_name, action=action,
                kind="latency" if latency else "fail", remaining=times, latency=latency,
                message=message or f"injected fault: {action} of {logical_name} refused",
            ))

    def _apply_faults(
        self, stack_id: str, logical_name: str, action: str,
        wait: Callable[[float], None] | None,
    ) -> None:
        with self.db.session() as s:
            faults = s.execute(
                sa.select(cloud_fault)
                .where(cloud_fault.c.logical_name == logical_name,
                       cloud_fault.c.action == action,
                       cloud_fault.c.remaining != 0,
                       sa.or_(cloud_fault.c.stack_id.is_(None),
                              cloud_fault.c.stack_id == stack_id))
                .order_by(cloud_fault.c.id)
            ).mappings().all()
        for fault in faults:
            if fault["remaining"] > 0 and not self._consume(fault["id"]):
                continue  # another worker took this one
            if fault["kind"] == "latency":
                (wait or time.sleep)(fault["latency"])
                continue
            with self.db.session() as s:
                self._record(s, stack_id, logical_name, action, None, False, fault["message"])
            raise CloudError(fault["message"])

    def _consume(self, fault_id: int) -> bool:
        with self.db.session() as s:
            return bool(s.execute(
                cloud_fault.update()
                .where(cloud_fault.c.id == fault_id, cloud_fault.c.remaining > 0)
                .values(remaining=cloud_fault.c.remaining - 1)
            ).rowcount)

    @staticmethod
    def _record(s: Any, stack_id: str, logical_name: str, action: str,
                physical_id: str | None, ok: bool, detail: str | None) -> None:
        s.execute(cloud_call.insert().values(
            stack_id=stack_id, logical_name=logical_name, action=action,
            physical_id=physical_id, ok=ok, detail=detail, at=utcnow(),
        ))

    # -- what observers (the harness, tests) may read -----------------------------------
    def resources(self, stack_id: str | None = None) -> list[PhysicalResource]:
        query = sa.select(cloud_resource).order_by(cloud_resource.c.created_at)
        if stack_id is not None:
            query = query.where(cloud_resource.c.stack_id == stack_id)
        with self.db.session() as s:
            rows = s.execute(query).mappings().all()
        return [PhysicalResource(r["physical_id"], r["stack_id"], r["logical_name"], r["type"],
                                 r["properties"] or {}) for r in rows]

    def copies(self, stack_id: str | None = None) -> dict[str, int]:
        """How many physical copies of each logical resource exist."""
        return dict(Counter(r.logical_name for r in self.resources(stack_id)))

    def calls(self, stack_id: str | None = None) -> list[dict[str, Any]]:
        query = sa.select(cloud_call).order_by(cloud_call.c.id)
        if stack_id is not None:
            query = query.where(cloud_call.c.stack_id == stack_id)
        with self.db.session() as s:
            return [dict(r) for r in s.execute(query).mappings().all()]


class ActionScope:
    """What one resource action may touch: the cloud, as that resource, and a cancellable
    clock. ``cancelled`` is asked between steps and while waiting, so a stopped operation
    (delete during create, a superseded traversal) gives up promptly."""

    def __init__(
        self, reality: Reality, stack_id: str, logical_name: str,
        cancelled: Callable[[], bool] | None = None, poll_interval: float = 0.02,
    ) -> None:
        self.reality = reality
        self.stack_id = stack_id
        self.logical_name = logical_name
        self._cancelled = cancelled or (lambda: False)
        self.poll_interval = poll_interval
        self._event = threading.Event()
        self.nested: Any = None  # engines.core.nested.NestedStacks, for stack resources

    def check(self) -> None:
        if self._cancelled():
            raise Cancelled(self.logical_name)

    def wait(self, seconds: float) -> None:
        """Let ``seconds`` of simulated work pass, giving up if the action is cancelled."""
        deadline = time.monotonic() + seconds
        while True:
            self.check()
            left = deadline - time.monotonic()
            if left <= 0:
                return
            # an Event wait is a clock here, not synchronisation: nothing sets it
            self._event.wait(min(left, self.poll_interval * 5))

    def cloud_create(self, type_name: str, properties: dict[str, Any]) -> str:
        self.check()
        return self.reality.create(self.stack_id, self.logical_name, type_name, properties,
                                   self.wait)

    def cloud_update(self, physical_id: str | None, properties: dict[str, Any]) -> None:
        self.check()
        self.reality.update(self.stack_id, self.logical_name, physical_id, properties, self.wait)

    def cloud_delete(self, physical_id: str) -> None:
        self.reality.delete(self.stack_id, self.logical_name, physical_id, self.wait)

    def cloud_get(self, physical_id: str | None) -> dict[str, Any] | None:
        return self.reality.get(physical_id)
