"""Checking a scenario document against its schema (scenarios/schema.py, written out as
``schema.json``) and telling the first problem (in the order of the file) in words a
scenario author recognises."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError as SchemaViolation

from scenarios import schema as scenario_schema
from scenarios.errors import ScenarioError

SCHEMA_PATH = scenario_schema.SCHEMA_PATH


@functools.cache
def schema() -> dict[str, Any]:
    return scenario_schema.assemble()


@functools.cache
def _validator() -> Draft202012Validator:
    Draft202012Validator.check_schema(schema())
    return Draft202012Validator(schema())


def _show(value: Any) -> str:
    if isinstance(value, dict):
        return f"a mapping with keys {', '.join(map(str, value)) or '(none)'}"
    if isinstance(value, list):
        return f"a list of {len(value)}"
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _position(doc: Any, parts: list[str | int]) -> tuple[int, ...]:
    """Where ``parts`` is in the file, as a sortable tuple: keys by their written order."""
    order: list[int] = []
    node = doc
    for part in parts:
        if isinstance(node, dict):
            keys = list(node)
            order.append(keys.index(part) if part in keys else len(keys))
            node = node.get(part)
        elif isinstance(node, list) and isinstance(part, int):
            order.append(part)
            node = node[part] if part < len(node) else None
        else:
            break
    return tuple(order)


def _is_step(parts: list[str | int]) -> bool:
    return len(parts) == 2 and parts[0] == "steps"


def _describe(error: SchemaViolation, parts: list[str | int]) -> tuple[list[str | int], str]:
    instance, sub, kind = error.instance, error.schema, error.validator
    if kind == "additionalProperties" and isinstance(instance, dict):
        allowed = list(sub.get("properties", {}))
        extra = next((k for k in instance if k not in allowed), "?")
        what = ("operation" if _is_step(parts) else "top-level key" if not parts else "field")
        return [*parts, extra], f"unknown {what} {extra!r} (known: {', '.join(allowed)})"
    if kind == "required" and isinstance(instance, dict):
        missing = next(k for k in sub["required"] if k not in instance)
        return [*parts, missing], f"missing required field {missing!r}"
    if kind in ("maxProperties", "minProperties") and _is_step(parts):
        found = ", ".join(map(str, instance)) or "none"
        return parts, f"a step has exactly one operation, found {len(instance)}: {found}"
    if "x-error" in sub:
        return parts, f"{sub['x-error']}; got {_show(instance)}"
    return parts, error.message


def check_schema(path: Path, doc: Any) -> None:
    """Raise ScenarioError for the first schema violation of ``doc`` in file order."""
    errors = list(_validator().iter_errors(doc))
    if not errors:
        return
    # in file order; at one place, the outermost complaint is the one that explains
    first = min(errors, key=lambda e: (_position(doc, list(e.absolute_path)),
                                       len(e.absolute_path)))
    parts, reason = _describe(first, list(first.absolute_path))
    raise ScenarioError.at(path, parts, reason)
