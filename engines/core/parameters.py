"""Template parameters: their declared schema, and the values a stack is created with."""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from engines.core.errors import InvalidReference, ParameterError
from engines.core.yaml_loader import child, kind, reject_unknown_keys

ROOT = "parameters"
STRING, NUMBER, BOOLEAN, JSON, LIST = (
    "string", "number", "boolean", "json", "comma_delimited_list",
)
TYPES = (STRING, NUMBER, BOOLEAN, JSON, LIST)
_KEYS = ("type", "default", "description", "label", "hidden", "constraints", "immutable",
         "tags")
_TRUE = {"true", "t", "yes", "y", "on", "1"}
_FALSE = {"false", "f", "no", "n", "off", "0"}

# which parameter types each constraint makes sense for
_APPLIES = {
    "allowed_values": {STRING, NUMBER, BOOLEAN, LIST},
    "length": {STRING, LIST, JSON},
    "range": {NUMBER},
    "allowed_pattern": {STRING},
}


# -- conversion ----------------------------------------------------------------------------
def _to_string(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    raise ValueError("expected a string")


def _to_number(value: Any) -> int | float:
    if isinstance(value, bool):
        raise ValueError("expected a number, not a boolean")
    if isinstance(value, int | float):
        number = value
    elif isinstance(value, str):
        try:
            number = int(value)
        except ValueError:
            try:
                number = float(value)
            except ValueError:
                raise ValueError("expected a number") from None
    else:
        raise ValueError("expected a number")
    if isinstance(number, float) and not math.isfinite(number):
        raise ValueError("expected a finite number")
    return number


def _to_boolean(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str) and value.strip().lower() in _TRUE | _FALSE:
        return value.strip().lower() in _TRUE
    raise ValueError("expected a boolean (true or false)")


def _to_json(value: Any) -> dict | list:
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError as exc:
            raise ValueError(f"expected JSON, which this is not ({exc})") from None
    if not isinstance(value, dict | list):
        raise ValueError("expected JSON (a mapping or a list)")
    return value


def _to_list(value: Any) -> list[str]:
    if isinstance(value, str):
        # a CLI gives "a, b,c"; an empty string is the empty list, not [""]
        return [item.strip() for item in value.split(",")] if value.strip() else []
    if isinstance(value, list):
        try:
            return [_to_string(item) for item in value]
        except ValueError:
            raise ValueError("expected a list of strings") from None
    raise ValueError("expected a comma-delimited list")


_CONVERTERS: dict[str, Callable[[Any], Any]] = {
    STRING: _to_string, NUMBER: _to_number, BOOLEAN: _to_boolean, JSON: _to_json,
    LIST: _to_list,
}


# -- constraints ---------------------------------------------------------------------------
def _bounds(low: Any, high: Any) -> str:
    if low is not None and high is not None:
        return f"between {low} and {high}"
    return f"at least {low}" if low is not None else f"at most {high}"


def _outside(number: float, low: Any, high: Any) -> bool:
    return (low is not None and number < low) or (high is not None and number > high)


@dataclass(frozen=True)
class Constraint:
    name: str  # allowed_values, length, range or allowed_pattern
    spec: Any  # the allowed list, a (min, max) pair, or a compiled pattern
    description: str | None

    def violation(self, value: Any, shown: str) -> str | None:
        """Why ``value`` breaks this constraint, or None when it does not."""
        reason = self._violation(value, shown)
        return None if reason is None else (self.description or reason)

    def _violation(self, value: Any, shown: str) -> str | None:
        if self.name == "allowed_values":
            items = value if isinstance(value, list) else [value]
            if all(item in self.spec for item in items):
                return None
            allowed = ", ".join(json.dumps(item) for item in self.spec)
            return f"{shown} is not one of the allowed values: {allowed}"
        if self.name == "length":
            low, high = self.spec
            if not _outside(len(value), low, high):
                return None
            return f"{shown} has length {len(value)}; its length must be {_bounds(low, high)}"
        if self.name == "range":
            low, high = self.spec
            if not _outside(value, low, high):
                return None
            return f"{shown} is out of range: it must be {_bounds(low, high)}"
        if self.spec.fullmatch(value):
            return None
        return f"{shown} does not match the allowed pattern {self.spec.pattern!r}"


def _parse_bounds(spec: Any, path: str, integral: bool) -> tuple[Any, Any]:
    if not isinstance(spec, dict) or not spec or set(spec) - {"min", "max"}:
        raise ParameterError(path, "must be a mapping with min and/or max")
    low, high = spec.get("min"), spec.get("max")
    for name, bound in (("min", low), ("max", high)):
        wrong = isinstance(bound, bool) or not isinstance(bound, int | float)
        if bound is not None and (wrong or (integral and (not isinstance(bound, int)
                                                          or bound < 0))):
            expected = "a non-negative integer" if integral else "a number"
            raise ParameterError(child(path, name), f"must be {expected}, got {bound!r}")
    if low is not None and high is not None and low > high:
        raise ParameterError(path, f"min ({low}) is greater than max ({high})")
    return low, high


def _parse_constraint(entry: Any, type_name: str, path: str) -> Constraint:
    if not isinstance(entry, dict):
        raise ParameterError(path, f"a constraint must be a mapping, got {kind(entry)}")
    kinds = [key for key in entry if key != "description"]
    if len(kinds) != 1:
        raise ParameterError(
            path, "a constraint needs exactly one of: " + ", ".join(_APPLIES)
        )
    name = kinds[0]
    where = child(path, name)
    if name not in _APPLIES:
        raise ParameterError(
            where, f"unsupported constraint {name!r} (supported: {', '.join(_APPLIES)})"
        )
    if type_name not in _APPLIES[name]:
        raise ParameterError(where, f"{name} does not apply to a {type_name} parameter")
    description = entry.get("description")
    if description is not None and not isinstance(description, str):
        raise ParameterError(child(path, "description"), "must be a string")
    spec = entry[name]
    if name == "allowed_values":
        if not isinstance(spec, list) or not spec:
            raise ParameterError(where, "must be a non-empty list")
        item_type = STRING if type_name == LIST else type_name
        try:
            spec = [_CONVERTERS[item_type](item) for item in spec]
        except ValueError as exc:
            raise ParameterError(where, f"an allowed value is not valid: {exc}") from None
    elif name in ("length", "range"):
        spec = _parse_bounds(spec, where, integral=name == "length")
    else:
        if not isinstance(spec, str):
            raise ParameterError(where, f"must be a regular expression, got {kind(spec)}")
        try:
            spec = re.compile(spec)
        except re.error as exc:
            raise ParameterError(where, f"invalid regular expression: {exc}") from None
    return Constraint(name, spec, description)


# -- schema --------------------------------------------------------------------------------
@dataclass(frozen=True)
class ParameterSchema:
    name: str
    type: str
    default: Any = None  # converted to ``type``; None when there is no default
    description: str = ""
    label: str = ""
    hidden: bool = False
    constraints: tuple[Constraint, ...] = ()
    immutable: bool = False  # an update may not change its value

    def convert(self, value: Any, path: str) -> Any:
        """``value`` as this parameter's type, checked against its constraints."""
        shown = "the (hidden) value" if self.hidden else _show(value)
        try:
            converted = _CONVERTERS[self.type](value)
        except ValueError as exc:
            raise ParameterError(path, f"{exc}, got {shown}") from None
        shown = "the (hidden) value" if self.hidden else _show(converted)
        for constraint in self.constraints:
            reason = constraint.violation(converted, shown)
            if reason:
                raise ParameterError(path, reason)
        return converted


def _show(value: Any) -> str:
    text = json.dumps(value) if not isinstance(value, str) else repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def _optional_text(spec: dict, key: str, path: str) -> str:
    value = spec.get(key, "")
    if value is None:
        return ""
    if not isinstance(value, str):
        raise ParameterError(child(path, key), f"must be a string, got {kind(value)}")
    return value


def parse_schema(name: str, spec: Any, path: str) -> ParameterSchema:
    """One declaration of the template's ``parameters`` section."""
    if not isinstance(spec, dict):
        raise ParameterError(path, f"a parameter must be a mapping, got {kind(spec)}")
    reject_unknown_keys(spec, _KEYS, path, "parameter key", ParameterError)
    type_name = spec.get("type")
    if type_name is None:
        raise ParameterError(child(path, "type"), "a parameter needs a type")
    if type_name not in TYPES:
        raise ParameterError(
            child(path, "type"),
            f"unknown parameter type {type_name!r} (known: {', '.join(TYPES)})",
        )
    hidden = spec.get("hidden", False)
    if not isinstance(hidden, bool):
        raise ParameterError(child(path, "hidden"), f"must be a boolean, got {kind(hidden)}")
    immutable = spec.get("immutable", False)
    if not isinstance(immutable, bool):
        raise ParameterError(child(path, "immutable"),
                             f"must be a boolean, got {kind(immutable)}")
    entries = spec.get("constraints") or []
    if not isinstance(entries, list):
        raise ParameterError(
            child(path, "constraints"), f"must be a list, got {kind(entries)}"
        )
    constraints = tuple(
        _parse_constraint(entry, type_name, child(child(path, "constraints"), i))
        for i, entry in enumerate(entries)
    )
    schema = ParameterSchema(
        name, type_name, None, _optional_text(spec, "description", path),
        _optional_text(spec, "label", path), hidden, constraints, immutable,
    )
    if spec.get("default") is None:
        return schema
    # a default that breaks its own constraints is a template bug, used or not
    default = schema.convert(spec["default"], child(path, "default"))
    return ParameterSchema(
        name, type_name, default, schema.description, schema.label, hidden, constraints,
        immutable,
    )


def parse_schemas(section: Any) -> dict[str, ParameterSchema]:
    """The template's ``parameters`` section, checked."""
    if section is None:
        return {}
    if not isinstance(section, dict):
        raise ParameterError(ROOT, f"must be a mapping, got {kind(section)}")
    return {name: parse_schema(name, spec, child(ROOT, name)) for name, spec in section.items()}


def check_groups(section: Any, schemas: Mapping[str, ParameterSchema]) -> None:
    """``parameter_groups`` only arrange parameters for a UI; they must name declared ones."""
    path = "parameter_groups"
    if section is None:
        return
    if not isinstance(section, list):
        raise ParameterError(path, f"must be a list, got {kind(section)}")
    for i, group in enumerate(section):
        where = child(path, i)
        if not isinstance(group, dict):
            raise ParameterError(where, f"a group must be a mapping, got {kind(group)}")
        for key in group:
            if key not in ("label", "description", "parameters"):
                raise ParameterError(child(where, key), f"unknown parameter group key {key!r}")
        names = group.get("parameters") or []
        if not isinstance(names, list):
            raise ParameterError(child(where, "parameters"), "must be a list")
        for j, name in enumerate(names):
            if not isinstance(name, str) or name not in schemas:
                raise InvalidReference(
                    child(child(where, "parameters"), j),
                    f"the template declares no parameter {name!r}",
                )


# -- values --------------------------------------------------------------------------------
def resolve_values(
    schemas: Mapping[str, ParameterSchema],
    given: Mapping[str, Any],
    env_parameters: Mapping[str, Any],
    env_defaults: Mapping[str, Any],
) -> dict[str, Any]:
    """The typed value of every declared parameter.

    Precedence: ``given`` (the request), then the environment's ``parameters``, then its
    ``parameter_defaults``, then the template's default. ``parameter_defaults`` may name
    parameters the template lacks (as in Heat, they are meant for many templates); a value
    given for an undeclared parameter is an error.
    """
    sources = (
        (given, ROOT),
        (env_parameters, "environment.parameters"),
        (env_defaults, "environment.parameter_defaults"),
    )
    for values, root in sources[:2]:
        for name in values:
            if name not in schemas:
                raise ParameterError(
                    child(root, str(name)), f"the template declares no parameter {name!r}"
                )
    resolved: dict[str, Any] = {}
    for name, schema in schemas.items():
        for values, root in sources:
            if name in values and values[name] is not None:
                resolved[name] = schema.convert(values[name], child(root, name))
                break
        else:
            if schema.default is None:
                raise ParameterError(
                    child(ROOT, name),
                    f"required parameter {name!r} has no value and no default",
                )
            resolved[name] = schema.default
    return resolved


def check_immutable(old_values: Mapping[str, Any], new_schemas: Mapping[str, ParameterSchema],
                    new_values: Mapping[str, Any]) -> None:
    """An update may not change a parameter the new template declares ``immutable`` (one
    the old stack had too), as in Heat; all such parameters are named at once."""
    changed = [name for name, schema in new_schemas.items()
               if schema.immutable and name in old_values
               and old_values[name] != new_values.get(name)]
    if changed:
        from engines.core.errors import ImmutableParameterModified

        raise ImmutableParameterModified(
            child(ROOT, changed[0]),
            "the following parameters are immutable and may not be updated: "
            + ", ".join(changed))
