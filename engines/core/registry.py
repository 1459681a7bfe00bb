"""Resource type registry: plugins from stevedore entry points, plus environment aliases."""

from __future__ import annotations

import functools

from stevedore import ExtensionManager

from engines.core.errors import UnknownResourceType
from engines.core.resource import Resource

NAMESPACE = "dualpath.resources"


@functools.cache
def _plugins() -> dict[str, type[Resource]]:
    manager = ExtensionManager(namespace=NAMESPACE, invoke_on_load=False)
    return {ext.name: ext.plugin for ext in manager}


def resolve_type(
    type_name: str, aliases: dict[str, str] | None = None, path: str = ""
) -> tuple[str, type[Resource]]:
    """Follow environment aliases to a plugin; return (concrete type name, plugin class)."""
    aliases = aliases or {}
    seen = [type_name]
    current = type_name
    while current in aliases:
        current = aliases[current]
        if current in seen:
            raise UnknownResourceType(path, f"resource_registry aliases loop: {' -> '.join(seen)}")
        seen.append(current)
    plugin = _plugins().get(current)
    if plugin is None and current.endswith((".yaml", ".yml", ".template")):
        from engines.core.plugins.stack_resource import TemplateResource

        # a template resource: what its nested template allows is checked by the parser
        return current, TemplateResource
    if plugin is None:
        via = f" (via resource_registry alias of {type_name})" if current != type_name else ""
        raise UnknownResourceType(path, f"unknown resource type {current!r}{via}")
    return current, plugin
