"""OS::Heat::TestResource: a resource whose behaviour a template controls, as Heat's."""

from __future__ import annotations

from typing import Any

from engines.core.errors import ResourceFailure, UpdateReplace
from engines.core.properties import BOOLEAN, MAP, NUMBER, STRING, Property
from engines.core.resource import Resource
from engines.core.status import CREATE, UPDATE


class TestResource(Resource):
    __test__ = False  # not a pytest class

    properties_schema = {
        "value": Property(STRING, default="test_string", description="The attribute `output`."),
        "update_replace": Property(
            BOOLEAN, default=False, description="Every update replaces the resource."
        ),
        "update_replace_value": Property(
            STRING, update_allowed=False, description="A change forces replacement."
        ),
        "fail": Property(BOOLEAN, default=False, description="Create and update fail."),
        "wait_secs": Property(NUMBER, default=0, description="Seconds every action takes."),
        "action_wait_secs": Property(
            MAP,
            default=None,
            description="Seconds per action: {create, update, delete}.",
            schema={
                "create": Property(NUMBER, default=None),
                "update": Property(NUMBER, default=None),
                "delete": Property(NUMBER, default=None),
            },
        ),
    }
    attributes_schema = {"output": "The value of the `value` property, from the cloud."}

    def _wait(self, action: str) -> None:
        per_action = (self.properties.get("action_wait_secs") or {}).get(action)
        secs = per_action if per_action is not None else self.properties.get("wait_secs") or 0
        if secs:
            self.scope.wait(float(secs))

    def handle_create(self) -> str:
        physical_id = self.scope.cloud_create(self.type_name, self.properties)
        self.physical_id = physical_id
        return physical_id

    def check_create_complete(self) -> bool:
        self._wait("create")
        if self.properties.get("fail"):
            raise ResourceFailure(self.name, CREATE, "Test Resource failed (fail: true)")
        return True

    def needs_replace(self, old: dict[str, Any], new: dict[str, Any]) -> bool:
        if new.get("update_replace") and old != new:
            return True
        return super().needs_replace(old, new)

    def handle_update(self, old: dict[str, Any], new: dict[str, Any]) -> None:
        if self.needs_replace(old, new):
            raise UpdateReplace(self.name)
        self.properties = new
        self._wait("update")
        if old != new:
            self.scope.cloud_update(self.physical_id, new)
        if new.get("fail"):
            raise ResourceFailure(self.name, UPDATE, "Test Resource failed (fail: true)")

    def handle_delete(self) -> None:
        self._wait("delete")
        super().handle_delete()

    def get_attribute(self, name: str) -> Any:
        if name != "output":
            raise KeyError(name)
        physical = self.scope.cloud_get(self.physical_id)
        return None if physical is None else physical["properties"].get("value")
