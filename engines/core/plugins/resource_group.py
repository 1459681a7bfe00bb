"""OS::Heat::ResourceGroup: ``count`` members of one definition (``resource_def``), named
"0", "1", ... in a nested stack, with ``%index%`` (``index_var``) replaced by each member's
name in its properties.

As in Heat: scaling down removes the highest indices; ``removal_policies`` names members
(by name or reference) to remove whatever the count, and a removed name is never used
again (the removed list is kept, here as an output of the nested template, so it lives
with the nested stack). ``update_policy``: ``batch_create`` creates members
``max_batch_size`` at a time, ``rolling_update`` updates them so when ``resource_def``
changes (new members first, then the highest indices). Heat runs one nested update per
batch; here a batch depends on the previous one in the generated template, so the nested
stack does the batches in one operation. ``pause_time`` is checked but not waited:
a pause would need a wait between two members with nothing to wait in. ``min_in_service``
caps the batch size (count - min_in_service, at least 1) instead of adding surplus
members for the time of the update as Heat does.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Mapping
from typing import Any

from engines.core.errors import PropertyError
from engines.core.plugins.group_template import (
    POLICY,
    REFS_MAP,
    REMOVED,
    GroupResource,
    index_order,
    make_template,
)
from engines.core.properties import INTEGER, LIST, MAP, NUMBER, STRING, Property, coerce_all

APPEND, UPDATE_MODE = "append", "update"
_ROLLING = {"min_in_service": Property(INTEGER, default=0),
            "max_batch_size": Property(INTEGER, default=1),
            "pause_time": Property(NUMBER, default=0)}
_BATCH_CREATE = {"max_batch_size": Property(INTEGER, default=1),
                 "pause_time": Property(NUMBER, default=0)}
_MINIMUMS = {"min_in_service": 0, "max_batch_size": 1, "pause_time": 0}
_POLICIES = {"rolling_update": _ROLLING, "batch_create": _BATCH_CREATE}


def replace_index(value: Any, index_var: str, name: str) -> Any:
    """``value`` with ``index_var`` replaced by ``name`` in every string inside it."""
    if isinstance(value, str):
        return value.replace(index_var, name)
    if isinstance(value, dict):
        return {key: replace_index(item, index_var, name) for key, item in value.items()}
    if isinstance(value, list):
        return [replace_index(item, index_var, name) for item in value]
    return value


def chunks(names: list[str], size: int) -> list[list[str]]:
    return [names[i:i + size] for i in range(0, len(names), size)]


def chain_batches(resources: dict[str, dict[str, Any]], batches: list[list[str]]) -> None:
    """Each member of a batch depends on every member of the batch before it."""
    for before, batch in itertools.pairwise(batches):
        for name in batch:
            resources[name]["depends_on"] = list(before)


class ResourceGroup(GroupResource):
    properties_schema = {
        "count": Property(INTEGER, default=1, description="How many members."),
        "index_var": Property(STRING, default="%index%", update_allowed=False,
                              description="Replaced by the member's index."),
        "resource_def": Property(MAP, required=True, description="The members' definition.",
                                 schema={"type": Property(STRING, required=True),
                                         "properties": Property(MAP, default=None),
                                         "metadata": Property(MAP, default=None)}),
        "removal_policies": Property(LIST, default=None,
                                     description="[{resource_list: [names or refs]}]"),
        "removal_policies_mode": Property(STRING, default=APPEND,
                                          description="append or update"),
    }
    attributes_schema = {**GroupResource.attributes_schema,
                         REMOVED: "The names removed by removal_policies."}

    # -- checks --------------------------------------------------------------------------
    @classmethod
    def member_types(cls, props: Mapping[str, Any]) -> list[str]:
        return [props["resource_def"]["type"]]

    @classmethod
    def check_properties(cls, props: dict[str, Any], path: str) -> None:
        count = props.get("count")
        if count is not None and count < 0:
            raise PropertyError(f"{path}.count", f"must be at least 0, got {count}")
        index_var = props.get("index_var")
        if index_var is not None and len(index_var) < 3:
            raise PropertyError(f"{path}.index_var",
                                f"must be at least 3 characters long, got {index_var!r}")
        mode = props.get("removal_policies_mode")
        if mode is not None and mode not in (APPEND, UPDATE_MODE):
            raise PropertyError(f"{path}.removal_policies_mode",
                                f"must be append or update, got {mode!r}")
        for i, policy in enumerate(props.get("removal_policies") or []):
            where = f"{path}.removal_policies.{i}"
            if not isinstance(policy, dict):
                raise PropertyError(where, f"expected a map with resource_list, got "
                                           f"{type(policy).__name__}")
            unknown = sorted(set(policy) - {"resource_list"})
            if unknown:
                raise PropertyError(f"{where}.{unknown[0]}",
                                    "unknown key (a removal policy has only resource_list)")
            names = policy.get("resource_list", [])
            if not isinstance(names, list) or not all(
                    isinstance(n, str | int) and not isinstance(n, bool) for n in names):
                raise PropertyError(f"{where}.resource_list",
                                    "expected a list of member names or references")

    @classmethod
    def check_update_policy(cls, policy: Mapping[str, Any] | None, path: str
                            ) -> dict[str, Any]:
        """The policy with defaults filled, or PropertyError at its place."""
        result: dict[str, Any] = {}
        for key, value in (policy or {}).items():
            if key not in _POLICIES:
                raise PropertyError(f"{path}.{key}", "unknown update policy (known: "
                                                     "rolling_update, batch_create)")
            if value is None:
                continue
            if not isinstance(value, dict):
                raise PropertyError(f"{path}.{key}",
                                    f"expected a map, got {type(value).__name__}")
            typed = coerce_all(value, _POLICIES[key], f"{path}.{key}")
            for field, minimum in _MINIMUMS.items():
                if field in typed and typed[field] < minimum:
                    raise PropertyError(f"{path}.{key}.{field}",
                                        f"must be at least {minimum}, got {typed[field]}")
            result[key] = typed
        return result

    @classmethod
    def facts_from_parent(cls, typed: dict[str, Any], update_policy: Any,
                          aliases: Mapping[str, str], files: Mapping[str, str]
                          ) -> dict[str, Any]:
        facts = super().facts_from_parent(typed, update_policy, aliases, files)
        facts[POLICY] = cls.check_update_policy(update_policy, "update_policy")
        return facts

    @classmethod
    def static_types(cls, properties: Mapping[str, Any], values: Mapping[str, Any],
                     path: str) -> list[tuple[str, str]]:
        rdef = properties.get("resource_def")
        type_name = rdef.get("type") if isinstance(rdef, dict) else None
        return [(f"{path}.resource_def.type", type_name)] if isinstance(type_name, str) else []

    @classmethod
    def validation_template(cls, values: dict[str, Any]) -> dict[str, Any] | None:
        if not values.get("count"):
            return None  # as in Heat: a zero count turns the members off, unchecked
        name = next(cls.names(1, cls.listed(values)))
        return make_template([(name, cls.member(values, name))], {})

    # -- the nested template -------------------------------------------------------------
    @staticmethod
    def listed(props: Mapping[str, Any]) -> list[str]:
        return [str(n) for policy in props.get("removal_policies") or []
                for n in policy.get("resource_list") or []]

    @staticmethod
    def names(count: int, removed: list[str] | set[str]) -> Iterator[str]:
        """The first ``count`` names never removed: "0", "1", ..."""
        candidates = (str(i) for i in itertools.count())
        return itertools.islice((n for n in candidates if n not in removed), count)

    @staticmethod
    def member(props: Mapping[str, Any], name: str) -> dict[str, Any]:
        rdef = props["resource_def"]
        member: dict[str, Any] = {"type": rdef["type"]}
        given = {k: v for k, v in (rdef.get("properties") or {}).items() if v is not None}
        if given:
            member["properties"] = replace_index(given, props.get("index_var") or "%index%",
                                                 name)
        if rdef.get("metadata"):
            member["metadata"] = rdef["metadata"]
        return member

    def removed(self, props: Mapping[str, Any], current: Mapping[str, Any]) -> list[str]:
        """The removed list after this operation: the stored one (unless mode update),
        plus every listed member that exists (by name, or by reference), or every listed
        name when the group is created."""
        stored = [str(n) for n in current.get(REMOVED) or []]
        refs_map = current.get(REFS_MAP) or {}
        removed = set() if props.get("removal_policies_mode") == UPDATE_MODE else set(stored)
        for entry in self.listed(props):
            if entry in stored or not self.physical_id or entry in refs_map:
                removed.add(entry)
                continue
            removed.update(name for name, ref in refs_map.items() if ref == entry)
        return sorted(removed, key=index_order)

    def batches(self, props: Mapping[str, Any], names: list[str],
                current: Mapping[str, Any]) -> list[list[str]]:
        policy = props.get(POLICY) or {}
        existing = [n for n in names if n in (current.get(REFS_MAP) or {})]
        if not self.physical_id:
            size = (policy.get("batch_create") or {}).get("max_batch_size")
            return chunks(names, size) if size else []
        rolling = policy.get("rolling_update")
        previous = getattr(self, "previous", None)
        if not rolling or previous is None or previous.get("resource_def") == props.get(
                "resource_def"):
            return []  # Heat rolls only a change of the members' definition
        new = [n for n in names if n not in existing]
        order = new + sorted(existing, key=index_order, reverse=True)
        size = rolling["max_batch_size"]
        if rolling["min_in_service"]:
            size = max(1, min(size, len(existing) - rolling["min_in_service"]))
        return chunks(order, size)

    def child_template(self, props: dict[str, Any], current: Mapping[str, Any]
                       ) -> dict[str, Any]:
        removed = self.removed(props, current)
        names = list(self.names(props["count"], set(removed)))
        members = [(name, self.member(props, name)) for name in names]
        attrs = self.member_attributes(props, props["resource_def"]["type"])
        template = make_template(members, {name: attrs for name in names}, removed)
        chain_batches(template["resources"], self.batches(props, names, current))
        return template

    def handle_update(self, old: dict[str, Any], new: dict[str, Any]) -> None:
        self.previous = old  # a rolling update rolls only a changed resource_def
        super().handle_update(old, new)
