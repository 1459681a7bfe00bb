"""Templates (a HOT subset): parsed and validated in full before anything is stored, then
asked for dependency order, resolved properties and outputs."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, NoReturn, Protocol

from engines.core import functions, hot, outputs, registry, template_checks, template_resource
from engines.core.conditions import OMITTED, Conditions
from engines.core.dependencies import Dependencies
from engines.core.environment import Environment, parse_environment
from engines.core.errors import (
    DependencyCycle,
    InvalidReference,
    ParameterError,
    PropertyError,
    TooManyResources,
    ValidationError,
)
from engines.core.functions import Reference, Scope, StaticSource, Unresolved
from engines.core.parameters import ParameterSchema, check_groups, parse_schemas, resolve_values
from engines.core.plugins.stack_resource import DIGEST, TemplateResource
from engines.core.properties import coerce_all
from engines.core.resource import Resource
from engines.core.yaml_loader import child, kind, load_document, reject_unknown_keys

VERSION_KEY, RELEASES, VERSIONS = hot.VERSION_KEY, hot.RELEASES, hot.VERSIONS
SECTIONS = (VERSION_KEY, "description", "parameter_groups", "parameters", "resources", "outputs")
SECTIONS_WITH_CONDITIONS = (*SECTIONS, "conditions")
RESOURCE_KEYS = ("type", "properties", "depends_on", "deletion_policy", "metadata",
                 "update_policy", "description")
RESOURCE_KEYS_WITH_CONDITION = (*RESOURCE_KEYS, "condition")
DELETE_POLICY, RETAIN_POLICY = "Delete", "Retain"
DELETION_POLICIES = (DELETE_POLICY, RETAIN_POLICY)


class Lookup(Protocol):
    def physical_id(self, name: str) -> str | None: ...
    def attribute(self, name: str, attr: str) -> Any: ...


@dataclass(frozen=True)
class ResourceDefinition:
    name: str
    type: str  # as written in the template
    concrete_type: str  # after environment aliases
    plugin: type[Resource]
    properties: dict[str, Any]  # raw snippets, may contain intrinsic functions
    depends_on: tuple[str, ...]  # explicit
    requires: frozenset[str]  # explicit + implicit (get_resource, get_attr)
    deletion_policy: str
    hooks: frozenset[str]
    restricted_actions: frozenset[str] = frozenset()  # environment: update, replace
    update_policy: dict[str, Any] | None = None

    @property
    def retained(self) -> bool:
        """deletion_policy: Retain -- deleting the resource leaves its physical one alone."""
        return self.deletion_policy == RETAIN_POLICY

    @property
    def reference_attribute(self) -> str | None:
        """The attribute get_resource of this resource is, where it is not the physical
        id (as in Heat, get_resource of a RandomString is the string)."""
        return getattr(self.plugin, "reference_attribute", None)


class _LookupSource:
    def __init__(self, template: Template, lookup: Lookup) -> None:
        self._template = template
        self._lookup = lookup

    def parameter(self, name: str) -> Any:
        return self._template.parameters[name]

    def file(self, name: str) -> Any:
        return self._template.files.get(name)

    def physical_id(self, name: str) -> Any:
        defn = self._template.resources.get(name)
        by = defn.reference_attribute if defn else None
        if by is not None:
            return self._lookup.attribute(name, by)
        return self._lookup.physical_id(name)

    def attribute(self, name: str, attr: str) -> Any:
        return self._lookup.attribute(name, attr)


def _reraise_with_source(exc: ValidationError, source: str | None) -> NoReturn:
    if source is None or exc.source is not None:
        raise exc
    # same class and place, now also naming the file the user gave
    raise type(exc)(exc.path, exc.reason, source).with_traceback(exc.__traceback__) from None


def _typed_properties(
    defn_name: str, plugin: type[Resource], values: dict[str, Any], pending: frozenset[str]
) -> dict[str, Any]:
    """Coerce resolved ``values`` to the plugin schema. ``pending`` names are present in
    the template but not resolvable yet: their names are checked, not their values."""
    path = f"resources.{defn_name}.properties"
    if plugin.accepts_any_property:
        return values
    schema = plugin.properties_schema
    unknown = sorted((set(values) | pending) - set(schema))
    if unknown:
        known = ", ".join(schema) or "none"
        raise PropertyError(
            child(path, unknown[0]), f"unknown property {unknown[0]!r} (known: {known})"
        )
    # a property that resolves to null is unset: its default applies
    present = {key: value for key, value in values.items() if value is not None}
    typed = coerce_all(present, {k: p for k, p in schema.items() if k not in pending}, path)
    hook = getattr(plugin, "check_properties", None)
    if hook is not None and not pending:
        hook(typed, path)
    return typed


class Template:
    """A parsed, validated template with its environment and parameter values."""

    def __init__(
        self, *, version: str, description: str, resources: dict[str, ResourceDefinition],
        outputs: dict[str, dict], parameters: dict[str, Any],
        parameter_schemas: dict[str, ParameterSchema], environment: Environment, raw: dict,
        source: str | None, files: dict[str, str] | None = None,
        conditions: dict[str, bool] | None = None,
    ) -> None:
        self.version = version
        self.description = description
        self.resources = resources
        self.outputs = outputs
        self.parameters = parameters
        self.parameter_schemas = parameter_schemas
        self.environment = environment
        self.raw = raw
        self.source = source
        self.files = files or {}
        self.conditions = conditions or {}

    def dependencies(self) -> Dependencies[str]:
        """Name -> names of the resources it requires, in template order."""
        return Dependencies({name: defn.requires for name, defn in self.resources.items()})

    def resolve_properties(self, name: str, lookup: Lookup) -> dict[str, Any]:
        """The properties of ``name``, functions resolved, coerced to the plugin schema."""
        defn = self.resources[name]
        source = _LookupSource(self, lookup)
        base = f"resources.{name}.properties"
        try:
            values = {key: functions.resolve(snippet, child(base, key), source)
                      for key, snippet in defn.properties.items()}
            typed = _typed_properties(name, defn.plugin, values, frozenset())
            if getattr(defn.plugin, "nested_file", None) is not None:
                typed[DIGEST] = template_checks.digest(self.files.get(defn.plugin.nested_file, ""))
            facts = getattr(defn.plugin, "facts_from_parent", None)
            if facts is not None:  # what a group's generated template needs of this one
                typed.update(facts(typed, defn.update_policy, self.environment.aliases,
                                   self.files))
            return typed
        except ValidationError as exc:
            _reraise_with_source(exc, self.source)

    def resolve_outputs(self, lookup: Lookup) -> dict[str, Any]:
        """Every output's value; None for one that cannot be resolved."""
        return outputs.resolve(self.outputs, _LookupSource(self, lookup))


# -- parsing -------------------------------------------------------------------------------
def parse(
    template: str | bytes | dict,
    environment: str | bytes | dict | None = None,
    parameters: dict[str, Any] | None = None,
    *,
    max_template_size: int = 524288,
    max_resources: int = 1000,
    source: str | None = None,
    files: Mapping[str, Any] | None = None,
    nesting: tuple[str, ...] = (),
    max_nested_depth: int = template_resource.DEFAULT_MAX_DEPTH,
) -> Template:
    """Load and validate everything; raise a ValidationError subclass naming the place
    (``.path``), the reason (``.reason``) and, when given, the file (``.source``).
    ``environment`` may be a list of environments, merged in order; ``files`` is the
    map ``get_file`` (and template resources) read from. ``nesting`` names the templates
    above this one, for a nested template (recursion and depth are refused)."""
    try:
        return _parse(template, environment, parameters, max_template_size, max_resources,
                      source, template_checks.check_files(files), (nesting, max_nested_depth))
    except ValidationError as exc:
        _reraise_with_source(exc, source)


def _parse(template: Any, environment: Any, given: Any, max_size: int, max_resources: int,
           source: str | None, files: dict[str, str],
           nesting: tuple[tuple[str, ...], int]) -> Template:
    raw = load_document(template, what="template", max_size=max_size)
    env = parse_environment(environment, max_size=max_size)
    version = hot.check_version(raw)
    conditional = hot.at_least(version, hot.CONDITIONS_SINCE)
    reject_unknown_keys(raw, SECTIONS_WITH_CONDITIONS if conditional else SECTIONS, "",
                        "top-level key")
    description = raw.get("description") or ""
    if not isinstance(description, str):
        raise ValidationError("description", f"must be a string, got {kind(description)}")
    schemas = parse_schemas(raw.get("parameters"))
    check_groups(raw.get("parameter_groups"), schemas)
    if given is None:
        given = {}
    if not isinstance(given, Mapping):
        raise ParameterError("parameters", f"must be a mapping, got {kind(given)}")
    values = resolve_values(schemas, given, env.parameters, env.parameter_defaults)
    conds = Conditions(raw.get("conditions"), version, values, files)
    context = _Context(version, files, conds, nesting[0], nesting[1], max_size)
    resources, disabled = _parse_resources(raw.get("resources"), env, values, max_resources,
                                           context)
    # hook names are checked by the service, against the stack's resources too (an
    # update's hook may name a resource only the stack has)
    template_checks.check_cycles(resources)
    scope = Scope(values, {name: defn.plugin for name, defn in resources.items()}, version,
                  files, disabled)
    return Template(
        version=version, description=description, resources=resources,
        outputs=outputs.parse(raw.get("outputs"), scope, conds),
        parameters=values, parameter_schemas=schemas, environment=env, raw=raw,
        source=source, files=files, conditions=conds.values,
    )


@dataclass(frozen=True)
class _Context:
    """What parsing a resource needs beyond its own definition."""

    version: str
    files: dict[str, str]
    conditions: Conditions
    chain: tuple[str, ...] = ()  # the templates above this one
    max_depth: int = template_resource.DEFAULT_MAX_DEPTH
    max_size: int = 524288


def _mapping(value: Any, path: str) -> dict:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ValidationError(path, f"must be a mapping, got {kind(value)}")
    return value


def _parse_resources(section: Any, env: Environment, params: dict[str, Any],
                     max_resources: int, context: _Context
                     ) -> tuple[dict[str, ResourceDefinition], frozenset[str]]:
    specs = _mapping(section, "resources")
    if len(specs) > max_resources:
        raise TooManyResources(
            "resources",
            f"the template has {len(specs)} resources, more than the limit of {max_resources}",
        )
    keys = (RESOURCE_KEYS_WITH_CONDITION
            if hot.at_least(context.version, hot.CONDITIONS_SINCE) else RESOURCE_KEYS)
    # types first: a reference check needs every resource's plugin
    types: dict[str, tuple[str, type[Resource]]] = {}
    enabled: dict[str, dict] = {}
    for name, spec in specs.items():
        path = child("resources", name)
        if not name:
            raise ValidationError(path, "a resource name must not be empty")
        if not isinstance(spec, dict):
            raise ValidationError(path, f"a resource must be a mapping, got {kind(spec)}")
        reject_unknown_keys(spec, keys, path, "resource key")
        type_name = spec.get("type")
        if not isinstance(type_name, str) or not type_name:
            got = "it is missing" if type_name is None else f"got {kind(type_name)}"
            raise ValidationError(child(path, "type"), f"a resource needs a type; {got}")
        if "condition" in spec and not context.conditions.enabled(
                spec["condition"], child(path, "condition")):
            continue  # not in the stack, as in Heat
        aliases = {**env.aliases, **env.resource_types.get(name, {})}
        target = template_resource.follow_aliases(type_name, aliases)
        if template_resource.is_template_type(target):
            where = child(path, "type")
            template_resource.check_nesting(target, context.chain, context.max_depth, where)
            plugin, _ = template_resource.plugin_for(target, context.files, where,
                                                     context.max_size)
            types[name] = (target, plugin)
        else:
            types[name] = registry.resolve_type(type_name, aliases, path=child(path, "type"))
        enabled[name] = _expand(spec, path, context.conditions)
    disabled = frozenset(specs) - frozenset(enabled)
    scope = Scope(params, {name: plugin for name, (_, plugin) in types.items()},
                  context.version, context.files, disabled)
    return {
        name: _parse_resource(name, spec, types[name], scope, env, context)
        for name, spec in enabled.items()
    }, disabled


def _expand(spec: dict, path: str, conds: Conditions) -> dict:
    """The resource with each ``if`` replaced by its chosen branch."""
    expanded = dict(spec)
    for key in ("properties", "metadata"):
        if key in spec:
            value = conds.expand(spec[key], child(path, key))
            expanded[key] = None if value is OMITTED else value
    return expanded


def _parse_resource(name: str, spec: dict, resolved: tuple[str, type[Resource]], scope: Scope,
                    env: Environment, context: _Context) -> ResourceDefinition:
    path = child("resources", name)
    concrete, plugin = resolved
    policy = spec.get("deletion_policy", DELETE_POLICY)
    if policy not in DELETION_POLICIES:
        raise ValidationError(
            child(path, "deletion_policy"),
            f"deletion_policy must be Delete or Retain, got {policy!r}",
        )
    _mapping(spec.get("metadata"), child(path, "metadata"))  # kept, never interpreted
    depends_on = _parse_depends_on(name, spec.get("depends_on"), scope)
    update_policy = _mapping(spec.get("update_policy"), child(path, "update_policy"))
    properties = _mapping(spec.get("properties"), child(path, "properties"))
    refs: list[Reference] = []
    for key, snippet in properties.items():
        refs += functions.check(snippet, child(child(path, "properties"), key), scope)
    for ref in refs:
        if ref.resource == name:
            raise DependencyCycle(
                ref.path, f"resource {name!r} depends on itself (through {ref.function})"
            )
    values, pending = _check_static_properties(name, plugin, properties, scope)
    check_policy = getattr(plugin, "check_update_policy", None)
    if check_policy is not None:
        check_policy(update_policy, child(path, "update_policy"))
    if issubclass(plugin, TemplateResource):
        template_resource.check_nested(name, plugin, properties, values, pending, context,
                                       env.aliases)
    return ResourceDefinition(
        name=name, type=spec["type"], concrete_type=concrete, plugin=plugin,
        properties=properties, depends_on=depends_on,
        requires=frozenset(depends_on) | {ref.resource for ref in refs},
        deletion_policy=policy, hooks=env.hooks_for(name),
        restricted_actions=env.restricted_actions.get(name, frozenset()),
        update_policy=update_policy or None,
    )


def _parse_depends_on(name: str, value: Any, scope: Scope) -> tuple[str, ...]:
    path = child(child("resources", name), "depends_on")
    if value is None:
        return ()
    if isinstance(value, str):
        items = [(path, value)]
    elif isinstance(value, list):
        items = [(child(path, i), item) for i, item in enumerate(value)]
    else:
        raise ValidationError(
            path, f"must be a resource name or a list of names, got {kind(value)}"
        )
    names: list[str] = []
    for where, item in items:
        if not isinstance(item, str):
            raise ValidationError(where, f"must be a resource name, got {kind(item)}")
        if item == name:
            raise DependencyCycle(where, f"resource {name!r} depends on itself")
        if item in scope.disabled:
            continue  # on a resource a false condition left out: no dependency
        if item not in scope.resources:
            raise InvalidReference(where, f"depends_on: the template has no resource {item!r}")
        if item not in names:
            names.append(item)
    return tuple(names)


def _check_static_properties(name: str, plugin: type[Resource], properties: dict[str, Any],
                             scope: Scope) -> tuple[dict[str, Any], frozenset[str]]:
    """Type-check what parameters alone decide; what needs a resource waits for it."""
    source = StaticSource(scope.parameters, scope.files)
    base = f"resources.{name}.properties"
    values: dict[str, Any] = {}
    pending: set[str] = set()
    for key, snippet in properties.items():
        try:
            values[key] = functions.resolve(snippet, child(base, key), source)
        except Unresolved:
            pending.add(key)
    return _typed_properties(name, plugin, values, frozenset(pending)), frozenset(pending)
