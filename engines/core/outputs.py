"""A template's outputs: checked when it is parsed, resolved whenever the stack is shown.
An output whose condition is false is null."""

from __future__ import annotations

from typing import Any

from engines.core import functions, hot
from engines.core.conditions import OMITTED, Conditions
from engines.core.errors import ValidationError
from engines.core.functions import Scope, Source, StaticSource, Unresolved
from engines.core.yaml_loader import child, kind, reject_unknown_keys

KEYS = ("value", "description")
KEYS_WITH_CONDITION = (*KEYS, "condition")


def parse(section: Any, scope: Scope, conditions: Conditions) -> dict[str, dict]:
    """Every output, checked: ``{name: {value, description}}``, and ``enabled: false``
    for one whose condition is false."""
    if section is None:
        section = {}
    if not isinstance(section, dict):
        raise ValidationError("outputs", f"must be a mapping, got {kind(section)}")
    keys = KEYS_WITH_CONDITION if hot.at_least(scope.version, hot.CONDITIONS_SINCE) else KEYS
    outputs: dict[str, dict] = {}
    for name, spec in section.items():
        path = child("outputs", name)
        if not isinstance(spec, dict):
            raise ValidationError(path, f"an output must be a mapping, got {kind(spec)}")
        reject_unknown_keys(spec, keys, path, "output key")
        if "value" not in spec:
            raise ValidationError(child(path, "value"), "an output needs a value")
        description = spec.get("description") or ""
        if not isinstance(description, str):
            raise ValidationError(
                child(path, "description"), f"must be a string, got {kind(description)}"
            )
        enabled = True
        if "condition" in spec:
            enabled = conditions.enabled(spec["condition"], child(path, "condition"))
        where = child(path, "value")
        value = conditions.expand(spec["value"], where) if enabled else None
        if value is OMITTED:
            value = None
        if enabled:
            functions.check(value, where, scope)
            try:  # what parameters alone decide can be wrong now (list_join of a string)
                functions.resolve(value, where, StaticSource(scope.parameters, scope.files))
            except Unresolved:
                pass
        outputs[name] = {"value": value, "description": description}
        if not enabled:
            outputs[name]["enabled"] = False
    return outputs


def resolve(outputs: dict[str, dict], source: Source) -> dict[str, Any]:
    """Every output's value; None for one that cannot be resolved, or is disabled."""
    values: dict[str, Any] = {}
    for name, output in outputs.items():
        if not output.get("enabled", True):
            values[name] = None
            continue
        try:
            values[name] = functions.resolve(output["value"], f"outputs.{name}.value", source)
        except Exception:
            # an output is a view: a broken one must not break showing the stack
            values[name] = None
    return values
