"""What OS::Heat::ResourceGroup and OS::Heat::ResourceChain share: a stack resource whose
nested template the plugin writes itself (members named "0", "1", ...), and attributes
that mirror its members'.

The generated template carries its own outputs, as Heat's groups do: ``refs_map`` (member
name -> reference) and one ``attributes.<name>`` map per member attribute (member name ->
value). The group's attributes are read back from those outputs through the narrow nested
interface, so a plugin never looks inside its nested stack. Which attributes a member type
has depends on the parent's environment (an alias, a template file), which a plugin cannot
see at run time: the parent template puts it in the resolved properties
(:meth:`GroupResource.facts_from_parent`), as it puts a nested file's digest.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from engines.core import registry, template_checks
from engines.core.errors import ValidationError
from engines.core.nested import NestedStacks
from engines.core.plugins.stack_resource import TemplateResource
from engines.core.resource import Resource
from engines.core.status import CREATE
from engines.core.template_resource import (
    check_nesting,
    follow_aliases,
    is_template_type,
    plugin_for,
)

MEMBERS = "__members"  # member type -> {"attributes": [...], "digest": ...}
POLICY = "__update_policy"  # the group's update_policy, checked
VERSION = "2015-04-30"  # the version Heat writes its group templates in
REFS, REFS_MAP, ATTRIBUTES, REMOVED = "refs", "refs_map", "attributes", "removed_rsrc_list"
PER_ATTRIBUTE = "attributes."  # output prefix: attributes.<name> -> {member: value}
MEMBER_PREFIX = "resource."


def index_order(name: str) -> tuple[int, str]:
    return (int(name), "") if name.isdigit() else (1 << 62, name)


def member_facts(type_name: str, aliases: Mapping[str, str], files: Mapping[str, str],
                 max_size: int = 524288, path: str = "") -> dict[str, Any]:
    """The attribute names of a member of ``type_name`` and, for a template, its digest
    (a changed member file is then a change of the group). Raises UnknownResourceType or
    ValidationError naming ``path`` for a type that leads nowhere."""
    target = follow_aliases(type_name, aliases)
    if is_template_type(target):
        plugin, _ = plugin_for(target, files, path, max_size)
        return {"attributes": sorted(plugin.attributes_schema),
                "digest": template_checks.digest(files[target])}
    _, plugin = registry.resolve_type(type_name, dict(aliases), path=path)
    return {"attributes": sorted(plugin.attributes_schema), "digest": ""}


def make_template(members: list[tuple[str, dict[str, Any]]],
                  attributes: Mapping[str, list[str]],
                  removed: list[str] | None = None) -> dict[str, Any]:
    """A nested template of ``members`` ((name, definition) in index order) with the
    outputs the group reads its attributes from; ``attributes``: member name -> names."""
    names = [name for name, _ in members]
    outputs: dict[str, Any] = {
        REFS_MAP: {"value": {name: {"get_resource": name} for name in names}}}
    if removed is not None:
        outputs[REMOVED] = {"value": list(removed)}
    per_attribute: dict[str, dict[str, Any]] = {}
    for name in names:
        for attr in attributes.get(name, ()):
            per_attribute.setdefault(attr, {})[name] = {"get_attr": [name, attr]}
    for attr, values in per_attribute.items():
        outputs[PER_ATTRIBUTE + attr] = {"value": values}
    return {"heat_template_version": VERSION, "resources": dict(members),
            "outputs": outputs}


def mirrored(outputs: Mapping[str, Any], names: list[str]) -> dict[str, Any]:
    """Every attribute a group answers, from its nested stack's outputs: its own, then
    ``resource.N``, ``resource.N.<attr>`` and ``<attr>`` (the list over members)."""
    refs_map = outputs.get(REFS_MAP) or {}
    per_attribute = {key[len(PER_ATTRIBUTE):]: value or {}
                     for key, value in outputs.items() if key.startswith(PER_ATTRIBUTE)}
    values: dict[str, Any] = {}
    for attr, by_member in per_attribute.items():
        values[attr] = [by_member.get(name) for name in names]
        for name in names:
            values[f"{MEMBER_PREFIX}{name}.{attr}"] = by_member.get(name)
    for name in names:
        values[f"{MEMBER_PREFIX}{name}"] = refs_map.get(name)
    # the group's own names win over a member attribute of the same name, as in Heat
    values[REFS] = [refs_map.get(name) for name in names]
    values[REFS_MAP] = {name: refs_map.get(name) for name in names}
    values[ATTRIBUTES] = per_attribute
    values[REMOVED] = list(outputs.get(REMOVED) or [])
    return values


class GroupResource(TemplateResource):
    """A stack resource whose nested template is generated from its properties."""

    accepts_any_property = False
    attributes_schema: ClassVar[dict[str, str]] = {
        REFS: "The members' references, in index order.",
        REFS_MAP: "Member name -> reference.",
        ATTRIBUTES: "[group, attributes, a]: member name -> its attribute a.",
    }
    # where an error in the generated template is reported, in the group's properties
    member_properties: ClassVar[str] = "resource_def.properties"

    # -- what the parent template decides ------------------------------------------------
    @classmethod
    def has_attribute(cls, attr: str) -> bool:
        return True  # any other name is that attribute of every member, as in Heat

    @classmethod
    def member_types(cls, props: Mapping[str, Any]) -> list[str]:
        raise NotImplementedError

    @classmethod
    def facts_from_parent(cls, typed: dict[str, Any], update_policy: Any,
                          aliases: Mapping[str, str], files: Mapping[str, str]
                          ) -> dict[str, Any]:
        facts = {t: member_facts(t, aliases, files) for t in cls.member_types(typed)}
        return {MEMBERS: facts}

    @classmethod
    def check_properties(cls, props: dict[str, Any], path: str) -> None:
        """Value checks the property types cannot say (a negative count ...)."""

    @classmethod
    def static_types(cls, properties: Mapping[str, Any], values: Mapping[str, Any],
                     path: str) -> list[tuple[str, str]]:
        """(path, type) of every member type written as a literal."""
        raise NotImplementedError

    @classmethod
    def validation_template(cls, values: dict[str, Any]) -> dict[str, Any] | None:
        """The nested template to check now, None when there is nothing to check."""
        raise NotImplementedError

    @classmethod
    def check_nested_definition(cls, name: str, properties: dict[str, Any],
                                values: dict[str, Any], pending: frozenset[str],
                                context: Any, env_aliases: Mapping[str, str]) -> None:
        """Refuse an unknown member type at its place in the group's properties, and
        check the generated template (its members' properties, nested files) as far as
        the values known now allow."""
        from engines.core.template import parse

        base = f"resources.{name}.properties"
        cls.check_properties({k: v for k, v in values.items() if k not in pending}, base)
        for where, type_name in cls.static_types(properties, values, base):
            member_facts(type_name, env_aliases, context.files, context.max_size, where)
        if pending:
            return  # the rest is checked when the group is made
        template = cls.validation_template(values)
        if template is None:
            return
        label = f"{name}.{cls.__name__}"
        check_nesting(label, context.chain, context.max_depth, base)
        try:
            parse(template, {"resource_registry": dict(env_aliases)}, {},
                  max_template_size=context.max_size, files=context.files,
                  nesting=(*context.chain, label), max_nested_depth=context.max_depth)
        except ValidationError as exc:
            if exc.source is not None:
                raise  # inside a member's own template file: its place there is exact
            raise type(exc)(cls.place_in_group(exc.path, base), exc.reason) from None

    @classmethod
    def place_in_group(cls, path: str, base: str) -> str:
        """``resources.0.properties.x`` of the generated template, as the place the user
        wrote it: ``<base>.resource_def.properties.x``."""
        parts = path.split(".", 3)
        if len(parts) >= 3 and parts[0] == "resources" and parts[2] == "properties":
            return ".".join([base, cls.member_properties, *parts[3:]])
        return base

    # -- the nested stack ----------------------------------------------------------------
    def needs_replace(self, old: dict[str, Any], new: dict[str, Any]) -> bool:
        # unlike a template resource, a group has properties that cannot change in place
        return Resource.needs_replace(self, old, new)

    def child_template(self, props: dict[str, Any], current: Mapping[str, Any]
                       ) -> dict[str, Any]:
        """The nested template for ``props``; ``current``: the nested stack's outputs
        now (empty before it exists)."""
        raise NotImplementedError

    def current_outputs(self) -> dict[str, Any]:
        if not self.physical_id:
            return {}
        return dict(self._engine(CREATE).outputs(self.physical_id) or {})

    def nested_definition(self, nested: NestedStacks, properties: dict[str, Any]
                          ) -> tuple[Any, dict[str, Any]]:
        return self.child_template(properties, self.current_outputs()), {}

    def member_attributes(self, props: Mapping[str, Any], type_name: str) -> list[str]:
        return list(((props.get(MEMBERS) or {}).get(type_name) or {}).get("attributes", []))

    # -- attributes ----------------------------------------------------------------------
    def _mirrored(self) -> dict[str, Any]:
        outputs = self.current_outputs()
        names = sorted(outputs.get(REFS_MAP) or {}, key=index_order)
        return mirrored(outputs, names)

    def get_attribute(self, name: str) -> Any:
        if name == "OS::stack_id":
            return self.physical_id
        values = self._mirrored()
        if name not in values:
            raise KeyError(name)
        return values[name]

    def all_attributes(self) -> dict[str, Any]:
        # every name a reference may use, so that a path that sends attributes on
        # (convergence) has the synthetic ones too
        return {**self._mirrored(), "OS::stack_id": self.physical_id}
