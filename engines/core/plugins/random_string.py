"""OS::Heat::RandomString: a real source of non-determinism. The string is made by the
cloud at create time, so two runs of the same scenario differ; the harness must see it as
noise."""

from __future__ import annotations

import secrets
import string
from typing import Any

from engines.core.properties import INTEGER, STRING, Property
from engines.core.resource import Resource

_SEQUENCES = {
    "lettersdigits": string.ascii_letters + string.digits,
    "letters": string.ascii_letters,
    "lowercase": string.ascii_lowercase,
    "uppercase": string.ascii_uppercase,
    "digits": string.digits,
    "hexdigits": string.digits + "abcdef",
}


class RandomString(Resource):
    properties_schema = {
        "length": Property(INTEGER, default=32, update_allowed=False),
        "character_classes": Property(STRING, default="lettersdigits", update_allowed=False),
        "salt": Property(STRING, default=None, update_allowed=False,
                         description="Change it to get a new string."),
    }
    attributes_schema = {"value": "The generated string."}
    # get_resource of a RandomString is its string, as in Heat
    reference_attribute = "value"

    def handle_create(self) -> str:
        alphabet = _SEQUENCES.get(self.properties.get("character_classes") or "", None)
        alphabet = alphabet or _SEQUENCES["lettersdigits"]
        length = int(self.properties.get("length") or 32)
        generated = "".join(secrets.choice(alphabet) for _ in range(length))
        physical_id = self.scope.cloud_create(
            self.type_name, dict(self.properties, value=generated)
        )
        self.physical_id = physical_id
        return physical_id

    def handle_update(self, old: dict[str, Any], new: dict[str, Any]) -> None:
        # every property is update_allowed=False; an unchanged definition is a no-op
        super().handle_update(old, new)

    def get_attribute(self, name: str) -> Any:
        if name != "value":
            raise KeyError(name)
        physical = self.scope.cloud_get(self.physical_id)
        return None if physical is None else physical["properties"].get("value")
