"""The simulated cloud ("reality"): what physically exists, outside the engine's schema.

It keeps its own tables (``cloud_*``, own MetaData) in a database, so that every process
(engine, workers, harness) sees the same physical world, and a fault injected by a scenario
reaches whichever worker acts. Every create/update/delete is a recorded API call; a create
may carry a client token that makes it idempotent, as real clouds' do. Its tables, and how a
database gets them, are engines/core/cloud_schema.py.
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

from engines.core import crash_points
from engines.core.cloud_schema import (  # noqa: F401 - the cloud's schema, as callers know it
    CloudSchemaMissing,
    cloud_call,
    cloud_fault,
    cloud_resource,
    create_tables,
    metadata,
    missing_tables,
    require_tables,
    schema_lock_name,
)
from engines.core.errors import Cancelled
from engines.core.models import utcnow

if TYPE_CHECKING:
    # only a type here: migrations/api.py prepares databases with this module, without oslo.db
    from engines.core.db import Database

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


class Reality:
    """API of the simulated cloud, for plugins (through ActionScope) and for observers."""

    def __init__(self, db: Database) -> None:
        self.db = db
        require_tables(db.engine)

    # -- the API plugins call -----------------------------------------------------------
    def create(
        self, stack_id: str, logical_name: str, type_name: str, properties: dict[str, Any],
        wait: Callable[[float], None] | None = None, token: str | None = None,
    ) -> str:
        """Make a physical resource; returns its id. A ``token`` this cloud has seen on a
        resource that still exists returns that resource (given ``properties``) instead:
        a caller that died before it could record the id it got asks again, and adopts."""
        self._apply_faults(stack_id, logical_name, "CREATE", wait)
        physical_id = str(uuid.uuid4())
        now = utcnow()
        try:
            with self.db.session() as s:
                if token is not None and (seen := self._adopt(s, token, properties)):
                    self._record(s, stack_id, logical_name, "CREATE", seen, True,
                                 f"client token {token} seen: resource returned")
                    return seen
                s.execute(cloud_resource.insert().values(
                    physical_id=physical_id, stack_id=stack_id, logical_name=logical_name,
                    type=type_name, properties=properties, created_at=now,
                    client_token=token,
                ))
                self._record(s, stack_id, logical_name, "CREATE", physical_id, True, None)
        except sa.exc.IntegrityError:
            # another create with this token got in between our look and our insert
            with self.db.session() as s:
                seen = self._adopt(s, token, properties) if token is not None else None
                if seen is None:
                    raise
                self._record(s, stack_id, logical_name, "CREATE", seen, True,
                             f"client token {token} seen: resource returned")
                return seen
        return physical_id

    @staticmethod
    def _adopt(s: Any, token: str, properties: dict[str, Any]) -> str | None:
        found = s.execute(sa.select(cloud_resource.c.physical_id, cloud_resource.c.properties)
                          .where(cloud_resource.c.client_token == token)).first()
        if found is None:
            return None
        if found.properties != properties:  # the retry's definition is the one that counts
            s.execute(cloud_resource.update()
                      .where(cloud_resource.c.physical_id == found.physical_id)
                      .values(properties=properties, updated_at=utcnow()))
        return found.physical_id

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

    def by_token(self, token: str) -> str | None:
        """The physical resource a create with ``token`` made, if it still exists."""
        with self.db.session() as s:
            return s.scalar(sa.select(cloud_resource.c.physical_id)
                            .where(cloud_resource.c.client_token == token))

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
        # what makes this action's create idempotent (engines/core/client_token.py)
        self.client_token: str | None = None

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
        physical_id = self.reality.create(self.stack_id, self.logical_name, type_name,
                                          properties, self.wait, self.client_token)
        crash_points.after_cloud_create(self.logical_name)
        return physical_id

    def cloud_update(self, physical_id: str | None, properties: dict[str, Any]) -> None:
        self.check()
        self.reality.update(self.stack_id, self.logical_name, physical_id, properties, self.wait)

    def cloud_delete(self, physical_id: str) -> None:
        self.reality.delete(self.stack_id, self.logical_name, physical_id, self.wait)

    def cloud_get(self, physical_id: str | None) -> dict[str, Any] | None:
        return self.reality.get(physical_id)
