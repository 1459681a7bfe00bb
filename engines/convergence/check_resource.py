"""check_resource's node logic: what a worker does with one node of one traversal while it
holds the resource's own lock.

An update node converges the resource to the traversal's template: the decision is the
one both paths share (``engines.core.converge``); this module only says which row stands
for the resource and keeps replaced copies as rows linked by ``replaces`` /
``replaced_by``. A clean-up node deletes an old copy, unless it is (again) the current
one of a resource the target template keeps.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator
from typing import Any, NamedTuple

import sqlalchemy as sa
from oslo_log import log as logging

from engines.convergence import propagate, resource_lock
from engines.convergence.interruption import Interruption
from engines.convergence.traversal import StackStatus, Traversals, stack_status
from engines.convergence.traversal_state import TraversalState
from engines.core import converge, stack_store
from engines.core.db import Database, retry_on_race
from engines.core.liveness import is_alive
from engines.core.models import Resource
from engines.core.resource_actions import ResourceActions
from engines.core.runtime import Runtime
from engines.core.template import Template

LOG = logging.getLogger(__name__)


class Locked(Exception):  # noqa: N818 - control flow
    """Another worker holds the resource; it will re-send this check when it is done."""


class StillCurrent:
    """Asked before each step of a check that writes: a traversal superseded since the
    check was sent may have been passed by its successor already (a rollback that went by
    this resource), and what the stale check did then would stay. Raises Superseded.

    A question is answered by the last read of the stack while that read is less than
    ``fresh_for`` seconds old (the engine's poll interval, as for every look at a running
    operation), the first one after the resource's lock was taken by what the check read
    in the transaction that took it (``vouch``): a newer traversal cannot pass the
    resource while the lock is held, and one that started within a poll interval is
    noticed at the next question, as if it had started just after it."""

    def __init__(self, db: Database, stack_id: str, traversal_id: str,
                 fresh_for: float = 0.0,
                 also: Callable[[StackStatus | None], None] | None = None) -> None:
        self.db = db
        self.stack_id = stack_id
        self.traversal_id = traversal_id
        self.fresh_for = fresh_for
        self._read: tuple[float, StackStatus | None] | None = None
        self._also = also  # told of the read too: the check's Interruption

    def vouch(self, stack: StackStatus | None) -> None:
        self._read = (time.monotonic(), stack)
        if self._also is not None:
            self._also(stack)

    def __call__(self) -> None:
        now = time.monotonic()
        if self._read is not None and now - self._read[0] <= self.fresh_for:
            stack = self._read[1]
        else:
            stack = stack_status(self.db, self.stack_id)
            self._read = (now, stack)
        if stack is None or stack.current_traversal != self.traversal_id:
            raise converge.Superseded(
                f"traversal {self.traversal_id} of stack {self.stack_id} was superseded")


class Locking:
    """A held lock: the row as read under it, and what the release writes with it, in its
    transaction (set once the check's work is done): ``values`` for the row's columns,
    ``also`` for statements of their own."""

    def __init__(self, row: Resource) -> None:
        self.row = row
        self.row_id = row.id
        self.values: dict[str, Any] = {}
        self.also: list[Callable[[sa.orm.Session], None]] = []

    def complete_with_release(self, row: Resource, values: dict[str, Any],
                              event: Callable[[sa.orm.Session], None]) -> bool:
        """``ResourceActions.complete_with``: the COMPLETE state of the locked row (not of
        a new copy, whose lock is its own) is written by the release, with its event."""
        if row.id != self.row_id:
            return False
        self.values.update(values)
        self.also.append(event)
        return True


class Released:
    """The stack's status as the release of a check's lock read it, in its transaction:
    what the check's propagation then goes by instead of reading it once more."""

    def __init__(self) -> None:
        self.stack: StackStatus | None | object = propagate.READ_IT  # until released

    def note(self, stack: StackStatus | None) -> None:
        self.stack = stack


class InputLookup:
    """get_resource / get_attr answered from what the predecessors sent."""

    def __init__(self, data: dict[str, Any]) -> None:
        self.data = data

    def physical_id(self, name: str) -> str | None:
        return (self.data.get(name) or {}).get("physical_id")

    def attribute(self, name: str, attr: str) -> Any:
        return ((self.data.get(name) or {}).get("attrs") or {}).get(attr)


def rows_named(db: Database, stack_id: str, name: str) -> list[Resource]:
    """Every stored copy of resource ``name``, oldest first."""
    with db.session() as s:
        return list(s.scalars(sa.select(Resource).where(
            Resource.stack_id == stack_id, Resource.name == name).order_by(Resource.id)))


class RowRef(NamedTuple):
    """What a check needs to know of a row before it holds the lock (its id, its name,
    whether it was replaced), read without loading the row."""

    id: int
    name: str
    replaced_by: int | None


_R = Resource.__table__
_REF = sa.select(_R.c.id, _R.c.name, _R.c.replaced_by)
_CURRENT = (_REF.where(_R.c.stack_id == sa.bindparam("stack"), _R.c.name == sa.bindparam("name"),
                       _R.c.replaced_by.is_(None))
            .order_by(_R.c.id.desc()).limit(1))
_BY_ID = _REF.where(_R.c.id == sa.bindparam("id"))


def current_ref(db: Database, stack_id: str, name: str) -> RowRef | None:
    """The newest row that stands for ``name`` (not replaced), if any."""
    with db.connection() as c:
        row = c.execute(_CURRENT, {"stack": stack_id, "name": name}).first()
    return RowRef(*row) if row else None


def ref_by_id(db: Database, resource_id: int) -> RowRef | None:
    with db.connection() as c:
        row = c.execute(_BY_ID, {"id": resource_id}).first()
    return RowRef(*row) if row else None


def referenced_attributes(template: Template) -> frozenset[str]:
    """Names of the resources whose attributes some resource of ``template`` reads
    (``get_attr``, or ``get_resource`` of a resource referred to by an attribute of its
    own, as a RandomString is by its string): a check sends a resource's attributes on
    only if they are wanted, since reading them costs a look at the cloud. Computed once
    per template."""
    found = _REFERENCED.get(id(template))
    if found is not None and found[0] is template:
        return found[1]
    names: set[str] = set()

    def by_value(name: str) -> bool:
        defn = template.resources.get(name)
        return defn is not None and defn.reference_attribute is not None

    def walk(snippet: Any) -> None:
        if isinstance(snippet, dict):
            for fn, args in snippet.items():
                if fn == "get_attr" and isinstance(args, list) and args:
                    names.add(str(args[0]))
                elif fn == "get_resource" and isinstance(args, str) and by_value(args):
                    names.add(args)
                walk(args)
        elif isinstance(snippet, list):
            for item in snippet:
                walk(item)

    for defn in template.resources.values():
        walk(defn.properties)
    result = frozenset(names)
    if len(_REFERENCED) > 64:
        _REFERENCED.clear()
    _REFERENCED[id(template)] = (template, result)
    return result


_REFERENCED: dict[int, tuple[Template, frozenset[str]]] = {}


def row_by_id(db: Database, resource_id: int) -> Resource | None:
    with db.session() as s:
        return s.get(Resource, resource_id)


class ReplacedRows:
    """Old copies are rows a newer row replaced (``converge.Copies`` for convergence)."""

    def __init__(self, rt: Runtime, stack_id: str) -> None:
        self.rt = rt
        self.stack_id = stack_id

    def old_copies(self, current: Resource) -> list[Resource]:
        return [row for row in reversed(rows_named(self.rt.db, self.stack_id, current.name))
                if row.replaced_by is not None and row.id != current.id]

    def bring_back(self, current: Resource, copy: Resource) -> Resource | None:
        # a clean-up of the copy may be running (a superseded traversal's): not that one
        if not resource_lock.try_acquire(self.rt.db, copy.id, self.rt.engine_id):
            return None
        with self.rt.db.session() as s:
            s.execute(sa.update(Resource).where(Resource.id == copy.id)
                      .values(replaced_by=None, replaces=None))
            s.execute(sa.update(Resource).where(Resource.id == current.id)
                      .values(replaced_by=copy.id))
        resource_lock.release(self.rt.db, copy.id, self.rt.engine_id)
        return row_by_id(self.rt.db, copy.id)

    @contextlib.contextmanager
    def new_copy(self, current: Resource, type_name: str) -> Iterator[Resource]:
        # born locked: no other check may act on it before it exists physically
        new = stack_store.add_resource(self.rt.db, self.stack_id, current.name, type_name,
                                       replaces=current.id, engine_id=self.rt.engine_id,
                                       atomic_key=1)
        stack_store.update_resource(self.rt.db, current.id, replaced_by=new.id)
        try:
            yield new
        finally:
            resource_lock.release(self.rt.db, new.id, self.rt.engine_id)


class CheckResource:
    def __init__(self, rt: Runtime, traversals: Traversals) -> None:
        self.rt = rt
        self.traversals = traversals

    def still_current(self, stack_id: str, traversal_id: str,
                      watch: Interruption | None = None) -> StillCurrent:
        return StillCurrent(self.rt.db, stack_id, traversal_id, self.rt.poll_interval,
                            None if watch is None else watch.vouch)

    def _take(self, resource_id: int, stack_id: str, traversal_id: str
              ) -> tuple[Resource, StackStatus] | None:
        """Take the lock and read, under it, the row and the stack's status: one
        transaction. None if another engine holds the lock (or the row is gone).

        Superseded if the traversal no longer runs (it failed, or a newer one started,
        since the check read the stack): the transaction that took the lock rolls back,
        so nobody ever sees it taken. A lock taken and given back after the stack had
        failed made a stack that a wait had found settled busy again."""
        with self.rt.db.session() as s:
            if not resource_lock.acquire_in(s, resource_id, self.rt.engine_id):
                return None
            row = s.get(Resource, resource_id)
            stack = stack_status(self.rt.db, stack_id, session=s)
            if stack is None or not stack.runs(traversal_id):
                raise converge.Superseded(
                    f"traversal {traversal_id} of stack {stack_id} no longer runs")
            return row, stack

    @contextlib.contextmanager
    def locked(self, row: Resource | RowRef, stack_id: str, traversal_id: str,
               still_current: StillCurrent | None = None,
               released: Released | None = None) -> Iterator[Locking]:
        """Hold ``row``'s lock (breaking a dead engine's); raise Locked if a live one has it.
        Yields the row as read under the lock and where to put what the release writes
        with it. On release, a newer traversal's checks that gave up on the lock are sent
        again, and ``released`` notes the stack's status read then."""
        taken = self._take(row.id, stack_id, traversal_id)
        if taken is None:
            holder = resource_lock.holder(self.rt.db, row.id)
            if holder and not is_alive(self.rt.db, holder, self.rt.conf.service_stale_after):
                resource_lock.break_lock(self.rt.db, row.id, holder)
                taken = self._take(row.id, stack_id, traversal_id)
            if taken is None:
                LOG.info("stack %s: lock of resource %s (id %s) refused to engine %s: held "
                         "by %s; traversal %s leaves it to the holder", stack_id, row.name,
                         row.id, self.rt.engine_id, holder, traversal_id)
                raise Locked(row.name)
        fresh, stack = taken
        LOG.debug("stack %s: engine %s took the lock of resource %s (id %s)", stack_id,
                  self.rt.engine_id, row.name, row.id)
        if still_current is not None:
            still_current.vouch(stack)
        locking = Locking(fresh)
        try:
            yield locking
        finally:
            self._release(locking, stack_id, traversal_id, row, released)

    def _release(self, locking: Locking, stack_id: str, traversal_id: str,
                 row: Resource | RowRef, released: Released | None) -> None:
        @retry_on_race()  # a release lost to a deadlock would leave it locked
        def release() -> StackStatus | None:
            with self.rt.db.session() as s:
                resource_lock.release_in(s, locking.row_id, self.rt.engine_id,
                                         **locking.values)
                for statement in locking.also:
                    statement(s)
                return stack_status(self.rt.db, stack_id, session=s)
        stack = release()
        if released is not None:
            released.note(stack)
        if stack is not None:
            propagate.resend_waiting(self.rt, self.traversals, stack, traversal_id, row)

    # -- update node ------------------------------------------------------------------------
    def update(self, stack_id: str, traversal_id: str, template_id: int | None,
               template: Template, name: str, data: dict[str, Any],
               actions: ResourceActions, released: Released | None = None,
               watch: Interruption | None = None) -> dict[str, Any]:
        defn = template.resources[name]
        still_current = self.still_current(stack_id, traversal_id, watch)
        ref: Resource | RowRef | None = current_ref(self.rt.db, stack_id, name)
        if ref is None:
            still_current()
            ref = stack_store.add_resource(self.rt.db, stack_id, name, defn.concrete_type)
        with self.locked(ref, stack_id, traversal_id, still_current, released) as lock:
            actions.complete_with = lock.complete_with_release
            # converge asks still_current first of all, answered by what was read with the
            # lock: a newer traversal cannot pass this resource any more until it is released
            row = converge.converge(actions, template, lock.row, InputLookup(data),
                                    ReplacedRows(self.rt, stack_id), still_current).row
            # the rows it was made against, so clean-ups can be ordered copy by copy
            required = sorted(data[dep]["id"] for dep in defn.requires
                              if "id" in data.get(dep, {}))
            values = dict(requires=required, current_template_id=template_id)
            if row.id == lock.row_id:
                lock.values.update(values)  # written with the release
            else:  # a new copy or one brought back: a row of its own, released already
                stack_store.update_resource(self.rt.db, row.id, **values)
        wanted = name in referenced_attributes(template)
        return {"id": row.id, "physical_id": row.physical_resource_id,
                "attrs": actions.attributes(row) if wanted else {}}

    # -- clean-up node ----------------------------------------------------------------------
    def cleanup(self, stack_id: str, traversal_id: str, template: Template | None,
                row_id: int, state: TraversalState, actions: ResourceActions,
                released: Released | None = None, watch: Interruption | None = None
                ) -> dict[str, Any]:
        """Delete this copy unless it is (again) the current one of a resource the target
        template keeps."""
        def wanted(row: Resource | RowRef) -> bool:
            return (template is not None and row.name in template.resources
                    and row.replaced_by is None)

        ref = ref_by_id(self.rt.db, row_id)
        if ref is None or wanted(ref):
            return {}
        still_current = self.still_current(stack_id, traversal_id, watch)
        with self.locked(ref, stack_id, traversal_id, still_current, released) as lock:
            row = lock.row
            if row is None or wanted(row):  # a rollback brought it back meanwhile
                return {}
            still_current()
            LOG.info("stack %s: traversal %s cleans up resource %s (id %s)", stack_id,
                     traversal_id, row.name, row.id)
            actions.complete_with = lock.complete_with_release
            actions.delete(row, retain=row.name in state.retain)

            def forget(s: sa.orm.Session, row: Resource = row) -> None:
                s.execute(sa.update(_R).where(_R.c.replaces == row.id).values(replaces=None))
                actions.forget(row, s)
            lock.also.append(forget)  # with the release: one transaction, not three
        return {}
