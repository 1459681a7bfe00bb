"""restricted_actions (environment, per resource): an update that would update the
resource in place, or replace it, fails that resource instead, with Heat's
ResourceActionRestricted, and leaves the physical resource as it was."""

from __future__ import annotations

from typing import Any

from engines.core.errors import ResourceActionRestricted
from engines.core.models import Resource
from engines.core.resource_actions import ResourceActions
from engines.core.status import COMPLETE, UPDATE
from engines.core.template import ResourceDefinition

UPDATE_ACTION, REPLACE_ACTION = "update", "replace"


def enforce(actions: ResourceActions, defn: ResourceDefinition, row: Resource,
            wanted: dict[str, Any]) -> None:
    """Fail ``row`` (ResourceFailure, UPDATE_FAILED) when converging it to ``wanted``
    needs an action its environment restricts; nothing is changed."""
    restricted = defn.restricted_actions
    if not restricted:
        return
    unchanged = (row.status == COMPLETE and row.type == defn.concrete_type
                 and (row.properties_data or {}) == wanted and bool(row.physical_resource_id))
    if unchanged:
        return
    replace = row.type != defn.concrete_type or actions.check_replace(row, row.type, wanted)
    needed = REPLACE_ACTION if replace else UPDATE_ACTION
    if needed in restricted:
        error = ResourceActionRestricted(f"{needed} is restricted for resource.")
        actions.mark_failed(row, UPDATE, f"ResourceActionRestricted: resources.{row.name}: "
                                         f"{error}")
