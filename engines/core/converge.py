"""Converging one resource to its definition: the decision both paths share, as Heat's two
engines share ``Resource.update``.

A resource never made is created. Otherwise its properties are resolved (a reference that
cannot be resolved fails the resource at once, with the action it was about to do), and
it is left unchanged, updated in place, or replaced: a change of type, a failed or
interrupted resource, or a property that cannot change in place needs a new physical
resource -- unless an old copy the path still keeps already is what the definition wants
(a rollback), which then comes back instead, so the same physical resource returns.

The paths differ only in *where* old copies live -- legacy: the backup stack; convergence:
rows linked by ``replaces`` / ``replaced_by`` -- which is the ``Copies`` they pass in, and
*when* this runs, which is theirs alone.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any, Protocol

from oslo_log import log as logging

from engines.core import restrictions, stack_store
from engines.core.errors import Cancelled, UpdateReplace, ValidationError
from engines.core.models import Resource
from engines.core.reality import Reality
from engines.core.resource_actions import UNCHANGED, UPDATED, ResourceActions
from engines.core.status import COMPLETE, CREATE, UPDATE
from engines.core.template import Lookup, Template

LOG = logging.getLogger(__name__)

CREATED, REPLACED, RESTORED = "created", "replaced", "restored"
OUTCOMES = {CREATED: "created", UNCHANGED: "unchanged", UPDATED: "updated in place",
            REPLACED: "replaced by a new copy", RESTORED: "replaced by restoring an old copy"}


class Superseded(Cancelled):
    """The work this check belongs to was superseded before it acted: nothing was done."""


@dataclass(frozen=True)
class Converged:
    row: Resource  # the row that stands for the resource now
    outcome: str  # one of OUTCOMES


class Copies(Protocol):
    """Where a path keeps the copies of a resource that a replacement leaves behind."""

    def old_copies(self, current: Resource) -> list[Resource]:
        """Copies of ``current``'s resource that could come back, newest first."""

    def bring_back(self, current: Resource, copy: Resource) -> Resource | None:
        """Make ``copy`` stand for the resource again instead of ``current``; None if it
        cannot be had (another worker holds it)."""

    def new_copy(self, current: Resource, type_name: str) -> AbstractContextManager[Resource]:
        """Store the row of a new copy that replaces ``current``, for the time it is made."""


def _always_current() -> None:
    return None


def resolve(actions: ResourceActions, template: Template, row: Resource, lookup: Lookup,
            action: str) -> dict[str, Any]:
    """``row``'s properties from ``template``; a resolution error fails ``row`` with
    ``action`` (raises ResourceFailure)."""
    try:
        return template.resolve_properties(row.name, lookup)
    except ValidationError as exc:
        actions.mark_failed(row, action, str(exc))
        raise  # unreachable: mark_failed raises


def create(actions: ResourceActions, template: Template, row: Resource,
           lookup: Lookup) -> None:
    """Create ``row`` as ``template`` defines it (a row stored earlier under another type
    takes the template's)."""
    defn = template.resources[row.name]
    if row.type != defn.concrete_type:
        stack_store.update_resource(actions.rt.db, row.id, type=defn.concrete_type)
        row.type = defn.concrete_type
    actions.create(row, resolve(actions, template, row, lookup, CREATE))


def restorable(copy: Resource, type_name: str, wanted: dict[str, Any],
               reality: Reality) -> bool:
    """Whether an old copy already is what the definition wants, and still exists."""
    return bool(copy.type == type_name and copy.status == COMPLETE
                and copy.physical_resource_id and copy.properties_data == wanted
                and reality.get(copy.physical_resource_id) is not None)


def converge(actions: ResourceActions, template: Template, row: Resource, lookup: Lookup,
             copies: Copies, still_current: Callable[[], None] = _always_current
             ) -> Converged:
    """Bring the resource ``row`` stands for to its definition in ``template``.

    ``still_current`` raises Superseded when the work this belongs to no longer counts;
    it is asked before each step that writes (convergence: the traversal still current).
    """
    defn = template.resources[row.name]
    still_current()
    if actions.needs_create(row):
        create(actions, template, row, lookup)
        return _decided(actions, Converged(row, CREATED))
    wanted = resolve(actions, template, row, lookup, UPDATE)
    # Heat's Resource.update: the pause comes before the decision, so an unchanged
    # resource and one about to be replaced stop there too
    actions.pause_before_update(row)
    still_current()
    restrictions.enforce(actions, defn, row, wanted)
    try:
        if row.type != defn.concrete_type:
            raise UpdateReplace(row.name)
        return _decided(actions, Converged(row, actions.update(row, wanted)))
    except UpdateReplace:
        pass
    still_current()
    for copy in copies.old_copies(row):
        if restorable(copy, defn.concrete_type, wanted, actions.rt.reality):
            back = copies.bring_back(row, copy)
            if back is not None:
                return _decided(actions, Converged(back, RESTORED), replaced=row)
    with copies.new_copy(row, defn.concrete_type) as new:
        LOG.info("stack %s: resource %s (id %s) needs replacement: creating copy id %s",
                 actions.stack_id, row.name, row.id, new.id)
        # its hooks were the update's: no pre-create; ``row``'s token, if its own create
        # may have left a physical resource behind
        actions.create(new, wanted, replaces=row)
    return _decided(actions, Converged(new, REPLACED), replaced=row)


def _decided(actions: ResourceActions, result: Converged,
             replaced: Resource | None = None) -> Converged:
    row = result.row
    was = f", replacing id {replaced.id}" if replaced is not None else ""
    LOG.info("stack %s: resource %s (id %s) %s%s", actions.stack_id, row.name, row.id,
             OUTCOMES[result.outcome], was)
    return result
