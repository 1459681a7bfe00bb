"""Property schemas of resource plugins: declared types, defaults, and whether a change
can be made in place."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from engines.core.errors import PropertyError

STRING, INTEGER, NUMBER, BOOLEAN, MAP, LIST, ANY = (
    "string", "integer", "number", "boolean", "map", "list", "any",
)
_TRUE = {"true", "yes", "on", "1"}
_FALSE = {"false", "no", "off", "0"}


@dataclass(frozen=True)
class Property:
    type: str = ANY
    required: bool = False
    default: Any = None
    update_allowed: bool = True
    description: str = ""
    schema: dict[str, Property] = field(default_factory=dict)  # keys of a MAP, when fixed


def coerce(value: Any, prop: Property, path: str) -> Any:
    """Return ``value`` as ``prop.type`` or raise PropertyError naming ``path``."""
    if value is None:
        return None
    kind = prop.type
    if kind == ANY:
        return value
    if kind == STRING:
        if isinstance(value, bool) or isinstance(value, (dict, list)):
            raise PropertyError(path, f"expected a string, got {type(value).__name__}")
        return str(value)
    if kind == INTEGER:
        if isinstance(value, bool):
            raise PropertyError(path, "expected an integer, got a boolean")
        try:
            if isinstance(value, float) and not value.is_integer():
                raise ValueError
            return int(value)
        except (TypeError, ValueError):
            raise PropertyError(path, f"expected an integer, got {value!r}") from None
    if kind == NUMBER:
        if isinstance(value, bool):
            raise PropertyError(path, "expected a number, got a boolean")
        try:
            number = float(value)
        except (TypeError, ValueError):
            raise PropertyError(path, f"expected a number, got {value!r}") from None
        return int(number) if number.is_integer() and not isinstance(value, float) else number
    if kind == BOOLEAN:
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in _TRUE | _FALSE:
            return value.lower() in _TRUE
        raise PropertyError(path, f"expected a boolean, got {value!r}")
    if kind == MAP:
        if not isinstance(value, dict):
            raise PropertyError(path, f"expected a map, got {type(value).__name__}")
        if prop.schema:
            return coerce_all(value, prop.schema, path)
        return value
    if kind == LIST:
        if not isinstance(value, list):
            raise PropertyError(path, f"expected a list, got {type(value).__name__}")
        return value
    raise PropertyError(path, f"unknown property type {kind!r} in plugin schema")


def coerce_all(values: dict[str, Any], schema: dict[str, Property], path: str) -> dict[str, Any]:
    """Check names, fill defaults, coerce types; the result has every schema key."""
    unknown = sorted(set(values) - set(schema))
    if unknown:
        raise PropertyError(f"{path}.{unknown[0]}", "unknown property")
    result: dict[str, Any] = {}
    for name, prop in schema.items():
        value = values.get(name, prop.default)
        if value is None and prop.required:
            raise PropertyError(f"{path}.{name}", "required property is missing")
        result[name] = coerce(value, prop, f"{path}.{name}")
    return result
