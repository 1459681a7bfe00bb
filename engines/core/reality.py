"""The simulated cloud ("reality"): what physically exists, outside the engine's schema.

It keeps its own tables (``cloud_*``, own MetaData) in a database, so that every process
(engine, workers, harness) sees the same physical world, and a fault injected by a scenario
reaches whichever worker acts. Every create/update/delete is a recorded API call.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from engines.core.db import Database
from engines.core.errors import Cancelled
from engines.core.models import JSONText, Timestamp, utcnow

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


class CloudError(Exception):
    """The cloud refused an API call (an injected fault)."""


@dataclass(frozen=True)
class PhysicalResource:
    physical_id: str
    stack_id: str
    logical_name: str
    type: str
    properties: dict[str, Any]


def ensure_tables(engine: sa.Engine, attempts: int = 5) -> None:
    """Create the cloud's tables where they are missing. An engine and its worker processes
    start on one new database at the same moment: two of them can both find a table
    missing and both create it, and the second CREATE fails. That loser tries again, and
    finds what the winner made."""
    for attempt in range(attempts):
        try:
            metadata.create_all(engine, checkfirst=True)
            return
        except sa.exc.DBAPIError:
            present = set(sa.inspect(engine).get_table_names())
            if all(table.name in present for table in metadata.sorted_tables):
                return
            if attempt == attempts - 1:
                raise


class Reality:
    """API of the simulated cloud, for plugins (through ActionScope) and for observers."""

    def __init__(self, db: Database) -> None:
        self.db = db
        ensure_tables(db.engine)

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
