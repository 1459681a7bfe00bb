"""The environment of a stack: parameter values, resource type aliases, and per resource:
hooks, type mappings and restricted actions. Several environments are merged in order."""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from engines.core import environment_merge, registry
from engines.core.errors import InvalidReference, ValidationError
from engines.core.status import HOOK_TYPES as _HOOK_TYPES
from engines.core.yaml_loader import child, kind, load_optional_document, reject_unknown_keys

ROOT = "environment"
SECTIONS = ("parameters", "parameter_defaults", "resource_registry")
HOOK_TYPES = frozenset(_HOOK_TYPES)
RESTRICTED_ACTIONS = ("update", "replace")
_RESOURCE_KEYS = ("hooks", "restricted_actions")


@dataclass(frozen=True)
class Environment:
    parameters: dict[str, Any] = field(default_factory=dict)
    parameter_defaults: dict[str, Any] = field(default_factory=dict)
    aliases: dict[str, str] = field(default_factory=dict)
    hooks: dict[str, frozenset[str]] = field(default_factory=dict)
    # resource name -> {type: type}: what that one resource's type maps onto
    resource_types: dict[str, dict[str, str]] = field(default_factory=dict)
    restricted_actions: dict[str, frozenset[str]] = field(default_factory=dict)
    # resource name (or wildcard) -> the registry ``resources`` its nested stack gets, as
    # Heat writes it: ``resources: {db: {R: {hooks: pre-create}}}`` is R of db's stack
    nested: dict[str, dict[str, Any]] = field(default_factory=dict)

    def nested_for(self, name: str) -> dict[str, Any]:
        """The per-resource registry the nested stack of resource ``name`` gets (entries
        under its own name or a matching wildcard, merged in order)."""
        found: dict[str, Any] = {}
        for pattern, entries in self.nested.items():
            if pattern == name or fnmatch.fnmatchcase(name, pattern):
                for child_name, settings in entries.items():
                    found.setdefault(child_name, {}).update(settings)
        return found

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
        per_resource: dict[str, dict[str, Any]] = {}
        for name, kinds in self.hooks.items():
            per_resource.setdefault(name, {})["hooks"] = sorted(kinds)
        for name, actions in self.restricted_actions.items():
            per_resource.setdefault(name, {})["restricted_actions"] = sorted(actions)
        for name, mapping in self.resource_types.items():
            per_resource.setdefault(name, {}).update(mapping)
        for name, entries in self.nested.items():
            per_resource.setdefault(name, {}).update(entries)
        if per_resource:
            registry_doc["resources"] = per_resource
        return {
            "parameters": dict(self.parameters),
            "parameter_defaults": dict(self.parameter_defaults),
            "resource_registry": registry_doc,
        }


def parse_environment(source: str | bytes | dict | None, *, max_size: int) -> Environment:
    """Load and check an environment; None or an empty document is the empty environment.

    Errors name their place under ``environment.`` (``environment.resource_registry.X``);
    in a list of environments, under ``environment[i].``.
    """
    if isinstance(source, list):
        doc = environment_merge.merge(
            [load_optional_document(item, what=f"{ROOT}[{i}]", max_size=max_size)
             for i, item in enumerate(source)], ROOT)
    else:
        doc = load_optional_document(source, what=ROOT, max_size=max_size)
    if doc is None:
        return Environment()
    reject_unknown_keys(doc, SECTIONS, ROOT, "environment section")
    parameters = _string_keyed(doc.get("parameters"), child(ROOT, "parameters"))
    defaults = _string_keyed(doc.get("parameter_defaults"), child(ROOT, "parameter_defaults"))
    aliases, (hooks, types, restricted, nested) = _parse_registry(doc.get("resource_registry"))
    return Environment(parameters, defaults, aliases, hooks, types, restricted, nested)


def _string_keyed(section: Any, path: str) -> dict[str, Any]:
    if section is None:
        return {}
    if not isinstance(section, dict):
        raise ValidationError(path, f"must be a mapping, got {kind(section)}")
    return dict(section)


def _parse_registry(section: Any) -> tuple[dict[str, str], tuple[dict, dict, dict, dict]]:
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
    per_resource = _parse_hooks(entries.get("resources"), child(path, "resources"), aliases)
    return aliases, per_resource


def _parse_hooks(section: Any, path: str, aliases: dict[str, str]
                 ) -> tuple[dict[str, frozenset[str]], dict[str, dict[str, str]],
                            dict[str, frozenset[str]], dict[str, dict[str, Any]]]:
    """Per resource: hooks, restricted actions, type mappings (any other key whose
    value is a type), and the entries of its nested stack (a key whose value is a
    mapping: a resource of that stack, checked here so that a typo is found now)."""
    hooks: dict[str, frozenset[str]] = {}
    types: dict[str, dict[str, str]] = {}
    restricted: dict[str, frozenset[str]] = {}
    nested: dict[str, dict[str, Any]] = {}
    for name, settings in _string_keyed(section, path).items():
        where = child(path, name)
        if not isinstance(settings, dict):
            raise ValidationError(where, f"must be a mapping, got {kind(settings)}")
        for key, value in settings.items():
            if key in _RESOURCE_KEYS:
                continue
            if isinstance(value, dict):
                _parse_hooks({key: value}, where, aliases)
                nested.setdefault(name, {})[key] = value
                continue
            if not isinstance(value, str) or not value:
                raise ValidationError(
                    child(where, key),
                    f"unknown key {key!r}: per resource, an environment sets hooks, "
                    f"restricted_actions or a type mapping (<type>: <type>); or, as a "
                    f"mapping, a resource of its nested stack (<resource>: {{hooks: ...}})",
                )
            registry.resolve_type(key, {**aliases, key: value}, path=child(where, key))
            types.setdefault(name, {})[key] = value
        kinds = _hook_kinds(settings.get("hooks"), child(where, "hooks"))
        if kinds:
            hooks[name] = kinds
        actions = _restricted(settings.get("restricted_actions"),
                              child(where, "restricted_actions"))
        if actions:
            restricted[name] = actions
    return hooks, types, restricted, nested


def _restricted(value: Any, path: str) -> frozenset[str]:
    if value is None:
        return frozenset()
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list):
        raise ValidationError(path, f"must be an action or a list of actions, "
                                    f"got {kind(value)}")
    for item in items:
        if item not in RESTRICTED_ACTIONS:
            raise ValidationError(path, f"unknown restricted action {item!r} "
                                        f"(known: {', '.join(RESTRICTED_ACTIONS)})")
    return frozenset(items)


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
