"""The resource plugin contract, as in Heat: create / check create complete / update in place
or raise UpdateReplace / delete; attributes are read from the physical resource."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from engines.core.errors import UpdateReplace
from engines.core.properties import Property

if TYPE_CHECKING:
    from engines.core.reality import ActionScope


class Resource:
    """Base of every resource plugin.

    A plugin instance acts on one logical resource for one action. ``properties`` are resolved
    (no intrinsic functions left) and coerced to the schema. ``scope`` is the plugin's only
    door to the simulated cloud and to cancellation.
    """

    properties_schema: ClassVar[dict[str, Property]] = {}
    attributes_schema: ClassVar[dict[str, str]] = {}
    # OS::Heat::None accepts whatever it is given
    accepts_any_property: ClassVar[bool] = False
    # a FAILED resource is replaced by an update, unless its plugin can repair it in place
    updates_failed_in_place: ClassVar[bool] = False

    def __init__(
        self,
        name: str,
        type_name: str,
        properties: dict[str, Any],
        scope: ActionScope,
        physical_id: str | None = None,
    ) -> None:
        self.name = name
        self.type_name = type_name
        self.properties = properties
        self.scope = scope
        self.physical_id = physical_id

    # -- create -------------------------------------------------------------------------
    def handle_create(self) -> str:
        """Ask the cloud for the physical resource; return its physical id."""
        return self.scope.cloud_create(self.type_name, self.properties)

    def check_create_complete(self) -> bool:
        return True

    def poll_delay(self, attempt: int) -> float:
        """Seconds before the ``attempt``-th look at whether an action is complete."""
        return self.scope.poll_interval

    # -- update -------------------------------------------------------------------------
    def needs_replace(self, old: dict[str, Any], new: dict[str, Any]) -> bool:
        """True when going from ``old`` to ``new`` properties cannot be done in place."""
        for name, prop in self.properties_schema.items():
            if not prop.update_allowed and old.get(name) != new.get(name):
                return True
        return False

    def handle_update(self, old: dict[str, Any], new: dict[str, Any]) -> None:
        """Make the physical resource match ``new``; raise UpdateReplace if impossible."""
        if self.needs_replace(old, new):
            raise UpdateReplace(self.name)
        if old != new:
            self.scope.cloud_update(self.physical_id, new)

    def handle_cancel(self) -> None:
        """The create or update under way was cancelled: stop what it started elsewhere
        (Heat's handle_create_cancel / handle_update_cancel)."""

    # -- delete -------------------------------------------------------------------------
    def handle_delete(self) -> None:
        if self.physical_id:
            self.scope.cloud_delete(self.physical_id)

    # -- attributes ---------------------------------------------------------------------
    def get_attribute(self, name: str) -> Any:
        """Resolve an attribute from the physical resource as the cloud has it."""
        raise KeyError(name)

    def all_attributes(self) -> dict[str, Any]:
        return {name: self.get_attribute(name) for name in self.attributes_schema}
