"""The environment of a stack: parameter values, resource type aliases and hooks."""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from engines.core import registry
from engines.core.errors import InvalidReference, ValidationError
from engines.core.status import HOOK_TYPES as _HOOK_TYPES
from engines.core.yaml_loader import child, kind, load_optional_document, reject_unknown_keys

ROOT = "environment"
SECTIONS = ("parameters", "parameter_defaults", "resource_registry")
HOOK_TYPES = frozenset(_HOOK_TYPES)
_RESOURCE_KEYS = ("hooks",)


@dataclass(frozen=True)
class Environment:
    parameters: dict[str, Any] = field(default_factory=dict)
    parameter_defaults: dict[str, Any] = field(default_factory=dict)
    aliases: dict[str, str] = field(default_factory=dict)
    hooks: dict[str, frozenset[str]] = field(default_factory=dict)

    def hooks_for(self, name: str) -> frozenset[str]:
        """The hooks set on resource ``name``, by its own name or a wildcard (``web_*``)."""
        return hooks_matching(self.hooks, name)

    def check_hook_names(self, names: Iterable[str]) -> None:
        """Every hook entry must match a resource of ``names`` (the template's, and on an
        update the stack's too): a typo must not silently never pause."""
        known = list(names)
        for pattern in self.hooks:
            if not any(fnmatch.fnmatchcase(name, pattern) for name in known):
                raise InvalidReference(
                    f"{ROOT}.resource_registry.resources.{pattern}",
                    f"hooks set on {pattern!r}, which matches no resource of the template "
                    "or the stack")

    def to_dict(self) -> dict:
        """The environment as a document that :func:`parse_environment` reads back."""
        registry_doc: dict[str, Any] = dict(self.aliases)
        if self.hooks:
            registry_doc["resources"] = {
                name: {"hooks": sorted(kinds)} for name, kinds in self.hooks.items()
            }
        return {
            "parameters": dict(self.parameters),
            "parameter_defaults": dict(self.parameter_defaults),
            "resource_registry": registry_doc,
        }


def parse_environment(source: str | bytes | dict | None, *, max_size: int) -> Environment:
    """Load and check an environment; None or an empty document is the empty environment.

    Errors name their place under ``environment.`` (``environment.resource_registry.X``).
    """
    doc = load_optional_document(source, what=ROOT, max_size=max_size)
    if doc is None:
        return Environment()
    reject_unknown_keys(doc, SECTIONS, ROOT, "environment section")
    parameters = _string_keyed(doc.get("parameters"), child(ROOT, "parameters"))
    defaults = _string_keyed(doc.get("parameter_defaults"), child(ROOT, "parameter_defaults"))
    aliases, hooks = _parse_registry(doc.get("resource_registry"))
    return Environment(parameters, defaults, aliases, hooks)


def _string_keyed(section: Any, path: str) -> dict[str, Any]:
    if section is None:
        return {}
    if not isinstance(section, dict):
        raise ValidationError(path, f"must be a mapping, got {kind(section)}")
    return dict(section)


def _parse_registry(section: Any) -> tuple[dict[str, str], dict[str, frozenset[str]]]:
    path = child(ROOT, "resource_registry")
    entries = _string_keyed(section, path)
    aliases: dict[str, str] = {}
    for type_name, target in entries.items():
        if type_name == "resources":
            continue
        where = child(path, type_name)
        if not isinstance(target, str) or not target:
            raise ValidationError(
                where, f"an alias must name a resource type, got {kind(target)}"
            )
        aliases[type_name] = target
    # every alias must lead to a plugin now, not when a template first uses it
    for type_name in aliases:
        registry.resolve_type(type_name, aliases, path=child(path, type_name))
    hooks = _parse_hooks(entries.get("resources"), child(path, "resources"))
    return aliases, hooks


def _parse_hooks(section: Any, path: str) -> dict[str, frozenset[str]]:
    hooks: dict[str, frozenset[str]] = {}
    for name, settings in _string_keyed(section, path).items():
        where = child(path, name)
        if not isinstance(settings, dict):
            raise ValidationError(where, f"must be a mapping, got {kind(settings)}")
        for key in settings:
            if key not in _RESOURCE_KEYS:
                raise ValidationError(
                    child(where, key),
                    f"unknown key {key!r}: only hooks can be set per resource",
                )
        kinds = _hook_kinds(settings.get("hooks"), child(where, "hooks"))
        if kinds:
            hooks[name] = kinds
    return hooks


def _hook_kinds(value: Any, path: str) -> frozenset[str]:
    if value is None:
        return frozenset()
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list):
        raise ValidationError(
            path, f"must be a hook type or a list of hook types, got {kind(value)}"
        )
    for item in items:
        if not isinstance(item, str) or item not in HOOK_TYPES:
            raise ValidationError(
                path,
                f"unknown hook type {item!r} (known: {', '.join(sorted(HOOK_TYPES))})",
            )
    return frozenset(items)


def hooks_matching(table: Mapping[str, Iterable[str]], name: str) -> frozenset[str]:
    """The hooks of ``table`` (resource name or wildcard -> hook types) that apply to
    ``name``, as Heat's registry matches them (fnmatch: ``web_*``, ``db?``)."""
    found: set[str] = set()
    for pattern, kinds in table.items():
        if pattern == name or fnmatch.fnmatchcase(name, pattern):
            found.update(kinds)
    return frozenset(found)
