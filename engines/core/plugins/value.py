"""OS::Heat::Value: holds a value (of a declared type) and exposes it as attribute `value`."""

from __future__ import annotations

from typing import Any

from engines.core.errors import PropertyError
from engines.core.properties import ANY, STRING, Property, coerce
from engines.core.resource import Resource

_TYPES = {"string": STRING, "number": "number", "json": "map", "boolean": "boolean",
          "comma_delimited_list": "list"}


class ValueResource(Resource):
    properties_schema = {
        "value": Property(ANY, required=True, description="The value."),
        "type": Property(
            STRING, default=None, description="string, number, json, boolean or "
            "comma_delimited_list; checked against value."
        ),
    }
    attributes_schema = {"value": "The value, from the cloud."}

    @classmethod
    def check_properties(cls, props: dict[str, Any], path: str) -> None:
        kind = props.get("type")
        if kind is None:
            return
        if kind not in _TYPES:
            raise PropertyError(f"{path}.type", f"unknown value type {kind!r}")
        coerce(props.get("value"), Property(_TYPES[kind]), f"{path}.value")

    def get_attribute(self, name: str) -> Any:
        if name != "value":
            raise KeyError(name)
        physical = self.scope.cloud_get(self.physical_id)
        return None if physical is None else physical["properties"].get("value")
