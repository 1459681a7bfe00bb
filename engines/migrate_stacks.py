"""Moving COMPLETE legacy stacks onto the convergence path (Heat's ``heat-manage
migrate_convergence_1``, ``Stack.migrate_to_convergence``): ``dualpath db migrate-stacks``
and the scenarios' ``migrate`` step.

Nothing happens in the cloud: every resource row is kept, with its physical id. What
changes is what the convergence path reads of a stack it has finished an operation on:
``stack.convergence``, a fresh ``current_traversal`` (no worker holds a message of it),
``current_deps`` (the state of a traversal that brought the stack to its template from
the rows it has, as a completed one leaves it), no ``prev_raw_template_id`` (a completed
convergence operation leaves nothing to roll back to), and on each resource row the
template it was made from (``current_template_id``) and the rows it was made against
(``requires``), which order a later clean-up copy by copy.

One transaction per stack, the stack row locked for update; anything that makes the
stack unsafe to move refuses it with the reason and changes nothing for it."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass

import sqlalchemy as sa
from oslo_log import log as logging

from engines.convergence.graph import Graph
from engines.convergence.traversal_state import TraversalState
from engines.core.config import database_url, new_conf
from engines.core.db import dispose
from engines.core.errors import NotFound
from engines.core.models import Resource, Stack, StackLock, utcnow
from engines.core.path import stored_template
from engines.core.plugins.stack_resource import TemplateResource
from engines.core.runtime import Runtime
from engines.core.status import COMPLETE
from engines.core.template import Template

LOG = logging.getLogger(__name__)

MIGRATED, WOULD_MIGRATE, ALREADY, REFUSED = "migrated", "would migrate", "already", "refused"


@dataclass(frozen=True)
class Outcome:
    """What happened to one stack (``result``: one of the four above), and why."""

    stack_id: str
    name: str
    result: str
    reason: str

    @property
    def refused(self) -> bool:
        return self.result == REFUSED

    def line(self) -> str:
        return f"{self.name} ({self.stack_id}): {self.result}: {self.reason}"


class Refused(Exception):  # noqa: N818 - a reason, carried out of the transaction
    pass


def _template(rt: Runtime, stack: Stack) -> Template:
    """The stack's template, parsed as the engine stored it (read before the stack's
    transaction: a second connection taken while one is held can run a pool dry)."""
    return stored_template(rt, stack.raw_template_id, stack.parameters)


def _check_stack(stack: Stack) -> None:
    if stack.deleted_at is not None:
        raise Refused("the stack is deleted")
    if stack.backup:
        raise Refused("a legacy backup stack moves with the stack it backs up")
    if stack.owner_id is not None:
        raise Refused("a nested stack moves with its root stack, not on its own")
    if stack.status != COMPLETE:
        raise Refused(f"stack is {stack.action}_{stack.status}: only a COMPLETE stack can "
                      "be moved (let its operation end, or update or roll it back first)")


def _check_template(template: Template) -> None:
    nested = sorted(n for n, d in template.resources.items()
                    if issubclass(d.plugin, TemplateResource))
    if nested:
        raise Refused(f"nested stack resources ({', '.join(nested)}) are not supported on "
                      "the convergence path in this build")


def _check_rows(rows: list[Resource], template: Template) -> None:
    names = [r.name for r in rows]
    copies = sorted({n for n in names if names.count(n) > 1})
    if copies:
        raise Refused(f"more than one stored copy of {', '.join(copies)}")
    strays = sorted(set(names) - set(template.resources))
    if strays:
        raise Refused(f"stored resources not in the stack's template: {', '.join(strays)}")
    unsettled = sorted(f"{r.name}={r.action}_{r.status}" for r in rows
                       if r.status != COMPLETE or r.engine_id is not None)
    if unsettled:
        raise Refused(f"resources not settled: {', '.join(unsettled)}")


def migrate_stack(rt: Runtime, stack_id: str, *, dry_run: bool = False) -> Outcome:
    """Move one stack onto convergence (with ``dry_run``: say what would be done)."""
    with rt.db.session() as s:
        first = s.get(Stack, stack_id)
    if first is None:
        raise NotFound(f"stack {stack_id} not found")
    if first.convergence:
        return Outcome(first.id, first.name, ALREADY, "already on the convergence path")
    try:
        _check_stack(first)
        template = _template(rt, first)
        _check_template(template)
        with rt.db.session() as s:
            stack = s.get(Stack, stack_id, with_for_update=True, populate_existing=True)
            if stack is None:
                raise NotFound(f"stack {stack_id} not found")
            if stack.convergence:
                return Outcome(stack.id, stack.name, ALREADY, "already on the convergence "
                               "path (moved meanwhile)")
            _check_stack(stack)
            if stack.raw_template_id != first.raw_template_id:
                raise Refused("its template changed while it was being read: try again")
            holder = s.scalar(sa.select(StackLock.engine_id)
                              .where(StackLock.stack_id == stack.id))
            if holder is not None:
                raise Refused(f"engine {holder} holds its stack lock (an operation is "
                              "starting or running)")
            backup = s.scalar(sa.select(Stack.id).where(Stack.owner_id == stack.id,
                                                        Stack.backup.is_(True)))
            if backup is not None:
                raise Refused(f"a legacy backup stack ({backup}) is left from an update: "
                              "a COMPLETE stack must not have one")
            rows = list(s.scalars(sa.select(Resource).where(Resource.stack_id == stack.id)
                                  .order_by(Resource.id)))
            _check_rows(rows, template)
            summary = _summary(rows)
            if dry_run:
                return Outcome(stack.id, stack.name, WOULD_MIGRATE, summary)
            _convert(s, stack, rows, template)
    except Refused as exc:
        LOG.warning("stack %s (%s) not moved onto convergence: %s", first.name, first.id, exc)
        return Outcome(first.id, first.name, REFUSED, str(exc))
    LOG.info("stack %s (%s) moved onto the convergence path: %s", first.name, first.id,
             summary)
    return Outcome(first.id, first.name, MIGRATED, summary)


def _summary(rows: list[Resource]) -> str:
    kept = sum(1 for r in rows if r.physical_resource_id)
    return (f"{len(rows)} resource row(s) kept, {kept} physical resource(s) kept, nothing "
            "created or deleted")


def _convert(s: sa.orm.Session, stack: Stack, rows: list[Resource],
             template: Template) -> None:
    """The writes, in the caller's transaction."""
    deps = template.dependencies()
    ids = {row.name: row.id for row in rows}
    existing: dict[int, tuple[str, list[int]]] = {}
    for row in rows:
        requires = sorted(ids[d] for d in deps.get(row.name, ()) if d in ids)
        existing[row.id] = (row.name, requires)
        s.execute(sa.update(Resource).where(Resource.id == row.id).values(
            requires=requires, current_template_id=stack.raw_template_id))
    state = TraversalState.new(
        Graph.build(deps, existing), action=stack.action, template_id=stack.raw_template_id,
        retain=frozenset(n for n, d in template.resources.items() if d.retained),
        hooks=template.environment.hooks)
    changed = s.execute(sa.update(Stack).where(
        Stack.id == stack.id, Stack.convergence.is_(False), Stack.status == COMPLETE).values(
        convergence=True, current_traversal=str(uuid.uuid4()),
        current_deps=state.to_json(), prev_raw_template_id=None,
        updated_at=utcnow())).rowcount
    if changed != 1:
        raise Refused("the stack changed while it was being moved: try again")


# -- what the operator's command asks for --------------------------------------------------
def select(rt: Runtime, names: Iterable[str], every: bool) -> list[str]:
    """The ids of the stacks named (by id or name, any project), or with ``every`` of
    every live top-level stack. NotFound names the first unknown or ambiguous name."""
    stack = Stack.__table__
    live = sa.select(stack.c.id, stack.c.name).where(
        stack.c.deleted_at.is_(None), stack.c.backup.is_(False))
    with rt.db.connection() as c:
        if every:
            return [r.id for r in c.execute(live.where(stack.c.owner_id.is_(None))
                                            .order_by(stack.c.created_at))]
        found = []
        for name in names:
            hits = [r.id for r in c.execute(live.where(
                sa.or_(stack.c.id == name, stack.c.name == name)))]
            if len(hits) != 1:
                raise NotFound(f"stack {name!r} " + ("not found" if not hits else
                                                     f"is ambiguous: {', '.join(hits)}"))
            found.append(hits[0])
        return found


def migrate_stacks(url: str | None, names: Iterable[str] = (), *, every: bool = False,
                   dry_run: bool = False, config_files: Iterable[str] = ()) -> list[Outcome]:
    """The command's work: each stack in turn, on the database at ``url`` (None: the
    configuration's ``[database] connection``)."""
    conf = new_conf(list(config_files))
    url = url or database_url(conf)
    conf.set_override("connection", url, group="database")
    rt = Runtime.from_conf(conf)
    try:
        return [migrate_stack(rt, stack_id, dry_run=dry_run)
                for stack_id in select(rt, names, every)]
    finally:
        dispose(url)
