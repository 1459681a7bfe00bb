"""OS::Heat::ResourceChain: one member per type of ``resources``, named "0", "1", ...
in a nested stack, each given ``resource_properties``; unless ``concurrent``, each member
depends on the one before it, as in Heat. A type may be a template file too (Heat's chain
refused those at first; the nested-stack machinery here makes them cost nothing), and
``resource_properties`` change in place (``concurrent`` is a replacement, as in Heat)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from engines.core.errors import PropertyError
from engines.core.plugins.group_template import GroupResource, make_template
from engines.core.properties import BOOLEAN, LIST, MAP, Property


class ResourceChain(GroupResource):
    properties_schema = {
        "resources": Property(LIST, required=True, description="The members' types."),
        "concurrent": Property(BOOLEAN, default=False, update_allowed=False,
                               description="Members made at once, not one after another."),
        "resource_properties": Property(MAP, default=None,
                                        description="Properties of every member."),
    }
    member_properties = "resource_properties"

    @classmethod
    def member_types(cls, props: Mapping[str, Any]) -> list[str]:
        return list(dict.fromkeys(props["resources"]))

    @classmethod
    def check_properties(cls, props: dict[str, Any], path: str) -> None:
        for i, type_name in enumerate(props.get("resources") or []):
            if not isinstance(type_name, str) or not type_name:
                raise PropertyError(f"{path}.resources.{i}",
                                    f"expected a resource type, got {type_name!r}")

    @classmethod
    def static_types(cls, properties: Mapping[str, Any], values: Mapping[str, Any],
                     path: str) -> list[tuple[str, str]]:
        types = properties.get("resources")
        if not isinstance(types, list):
            return []
        return [(f"{path}.resources.{i}", t) for i, t in enumerate(types)
                if isinstance(t, str)]

    @classmethod
    def validation_template(cls, values: dict[str, Any]) -> dict[str, Any] | None:
        return make_template(cls.members(values), {}) if values.get("resources") else None

    @classmethod
    def place_in_group(cls, path: str, base: str) -> str:
        parts = path.split(".", 3)
        if len(parts) >= 3 and parts[0] == "resources" and parts[2] == "type":
            return f"{base}.resources.{parts[1]}"
        return super().place_in_group(path, base)

    @staticmethod
    def members(props: Mapping[str, Any]) -> list[tuple[str, dict[str, Any]]]:
        given = props.get("resource_properties")
        members: list[tuple[str, dict[str, Any]]] = []
        for i, type_name in enumerate(props["resources"]):
            member: dict[str, Any] = {"type": type_name}
            if given:
                member["properties"] = dict(given)
            if i and not props.get("concurrent"):
                member["depends_on"] = [str(i - 1)]
            members.append((str(i), member))
        return members

    def child_template(self, props: dict[str, Any], current: Mapping[str, Any]
                       ) -> dict[str, Any]:
        members = self.members(props)
        attrs = {name: self.member_attributes(props, member["type"])
                 for name, member in members}
        return make_template(members, attrs)
