"""References resolved: in a converged stack every ``get_resource`` a property holds names
the current physical copy of its target and every ``get_attr`` its current value, as the
template says. The fuzzer's templates join a literal, parameters and references with
``list_join('-', [...])`` (harness.fuzz.model.render), so a property's expected value is a
pattern: literals and references exact, a parameter any word without the separator (the
value the story gave it is not in the snapshot)."""

from __future__ import annotations

import re
from typing import Any

SEPARATOR = "-"
# types that get_resource refers to by an attribute, not the physical id (Heat: a
# RandomString is its string); the engine's plugins say so by ``reference_attribute``
BY_ATTRIBUTE = {"OS::Heat::RandomString": "value"}


def _pattern(value: Any, resources: dict[str, Any]) -> str | None:
    """A regular expression for what ``value`` (a template property) resolves to, or None
    where it holds something this check does not model."""
    if isinstance(value, str):
        return re.escape(value)
    if not isinstance(value, dict) or len(value) != 1:
        return None
    (function, args), = value.items()
    if function == "get_param":
        return f"[^{re.escape(SEPARATOR)}]*"
    if function == "get_resource":
        target = resources.get(args) or {}
        by = BY_ATTRIBUTE.get(target.get("type") or "")
        if by is not None:
            return re.escape(str((target.get("attributes") or {}).get(by)))
        return re.escape(str(target.get("physical_id")))
    if function == "get_attr" and isinstance(args, list) and len(args) == 2:
        target = resources.get(args[0]) or {}
        return re.escape(str((target.get("attributes") or {}).get(args[1])))
    if function == "list_join" and isinstance(args, list) and len(args) == 2:
        parts = [_pattern(item, resources) for item in args[1]]
        if any(p is None for p in parts):
            return None
        return re.escape(str(args[0])).join(parts)  # type: ignore[arg-type]
    return None


def reference_problems(template: dict[str, Any], snap: dict[str, Any]) -> list[str]:
    """Properties of ``snap``'s resources that do not hold what ``template`` makes of the
    other resources as they are now."""
    problems = []
    resources = snap.get("resources") or {}
    for name, body in sorted((template.get("resources") or {}).items()):
        actual = (resources.get(name) or {}).get("properties") or {}
        for prop, value in sorted((body.get("properties") or {}).items()):
            if not isinstance(value, dict):
                continue
            pattern = _pattern(value, resources)
            if pattern is None or prop not in actual:
                continue
            if not re.fullmatch(pattern, str(actual[prop])):
                problems.append(f"{name}.{prop} is {actual[prop]!r}, not what its "
                                f"references make of the resources now")
    return problems
