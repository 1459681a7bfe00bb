"""Templates (a HOT subset): parsed and validated in full before anything is stored, then
asked for dependency order, resolved properties and outputs."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, NoReturn, Protocol

from engines.core import functions, registry
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
from engines.core.properties import coerce_all
from engines.core.resource import Resource
from engines.core.yaml_loader import child, kind, load_document, reject_unknown_keys

VERSION_KEY = "heat_template_version"
# release names Heat takes for the dated versions
RELEASES = {"newton": "2016-10-14", "ocata": "2017-02-24", "pike": "2017-09-01",
            "queens": "2018-03-02", "rocky": "2018-08-31"}
VERSIONS = ("2013-05-23", "2014-10-16", "2015-04-30", "2015-10-15", "2016-04-08",
            "2016-10-14", "2017-02-24", "2017-09-01", "2018-03-02", "2018-08-31")
SECTIONS = (VERSION_KEY, "description", "parameter_groups", "parameters", "resources", "outputs")
RESOURCE_KEYS = ("type", "properties", "depends_on", "deletion_policy", "metadata")
OUTPUT_KEYS = ("value", "description")
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

    @property
    def retained(self) -> bool:
        """deletion_policy: Retain -- deleting the resource leaves its physical one alone."""
        return self.deletion_policy == RETAIN_POLICY


class _LookupSource:
    def __init__(self, parameters: Mapping[str, Any], lookup: Lookup) -> None:
        self._parameters = parameters
        self._lookup = lookup

    def parameter(self, name: str) -> Any:
        return self._parameters[name]

    def physical_id(self, name: str) -> Any:
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
        source: str | None,
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

    def dependencies(self) -> Dependencies[str]:
        """Name -> names of the resources it requires, in template order."""
        return Dependencies({name: defn.requires for name, defn in self.resources.items()})

    def resolve_properties(self, name: str, lookup: Lookup) -> dict[str, Any]:
        """The properties of ``name``, functions resolved, coerced to the plugin schema."""
        defn = self.resources[name]
        source = _LookupSource(self.parameters, lookup)
        base = f"resources.{name}.properties"
        try:
            values = {key: functions.resolve(snippet, child(base, key), source)
                      for key, snippet in defn.properties.items()}
            return _typed_properties(name, defn.plugin, values, frozenset())
        except ValidationError as exc:
            _reraise_with_source(exc, self.source)

    def resolve_outputs(self, lookup: Lookup) -> dict[str, Any]:
        """Every output's value; None for one that cannot be resolved."""
        source = _LookupSource(self.parameters, lookup)
        values: dict[str, Any] = {}
        for name, output in self.outputs.items():
            try:
                values[name] = functions.resolve(output["value"], f"outputs.{name}.value", source)
            except Exception:
                # an output is a view: a broken one must not break showing the stack
                values[name] = None
        return values


# -- parsing -------------------------------------------------------------------------------
def parse(
    template: str | bytes | dict,
    environment: str | bytes | dict | None = None,
    parameters: dict[str, Any] | None = None,
    *,
    max_template_size: int = 524288,
    max_resources: int = 1000,
    source: str | None = None,
) -> Template:
    """Load and validate everything; raise a ValidationError subclass naming the place
    (``.path``), the reason (``.reason``) and, when given, the file (``.source``)."""
    try:
        return _parse(template, environment, parameters, max_template_size, max_resources,
                      source)
    except ValidationError as exc:
        _reraise_with_source(exc, source)


def _parse(template: Any, environment: Any, given: Any, max_size: int, max_resources: int,
           source: str | None) -> Template:
    raw = load_document(template, what="template", max_size=max_size)
    env = parse_environment(environment, max_size=max_size)
    version = _check_version(raw)
    reject_unknown_keys(raw, SECTIONS, "", "top-level key")
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
    resources = _parse_resources(raw.get("resources"), env, values, max_resources)
    for name in env.hooks:
        if name not in resources:
            raise InvalidReference(
                f"environment.resource_registry.resources.{name}",
                f"hooks set on {name!r}, a resource the template does not have",
            )
    _check_cycles(resources)
    scope = Scope(values, {name: defn.plugin for name, defn in resources.items()})
    outputs = _parse_outputs(raw.get("outputs"), scope)
    return Template(
        version=version, description=description, resources=resources, outputs=outputs,
        parameters=values, parameter_schemas=schemas, environment=env, raw=raw,
        source=source,
    )


def _check_version(raw: dict) -> str:
    if VERSION_KEY not in raw:
        raise ValidationError(
            VERSION_KEY, "missing: a HOT template must start with heat_template_version"
        )
    version = raw[VERSION_KEY]
    if not isinstance(version, str) or (version not in VERSIONS and version not in RELEASES):
        raise ValidationError(
            VERSION_KEY,
            f"unknown template version {version!r} (accepted: {', '.join(VERSIONS)}, "
            f"{', '.join(RELEASES)})",
        )
    return version


def _mapping(value: Any, path: str) -> dict:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ValidationError(path, f"must be a mapping, got {kind(value)}")
    return value


def _parse_resources(section: Any, env: Environment, params: dict[str, Any],
                     max_resources: int) -> dict[str, ResourceDefinition]:
    specs = _mapping(section, "resources")
    if len(specs) > max_resources:
        raise TooManyResources(
            "resources",
            f"the template has {len(specs)} resources, more than the limit of {max_resources}",
        )
    # types first: a reference check needs every resource's plugin
    types: dict[str, tuple[str, type[Resource]]] = {}
    for name, spec in specs.items():
        path = child("resources", name)
        if not name:
            raise ValidationError(path, "a resource name must not be empty")
        if not isinstance(spec, dict):
            raise ValidationError(path, f"a resource must be a mapping, got {kind(spec)}")
        reject_unknown_keys(spec, RESOURCE_KEYS, path, "resource key")
        type_name = spec.get("type")
        if not isinstance(type_name, str) or not type_name:
            got = "it is missing" if type_name is None else f"got {kind(type_name)}"
            raise ValidationError(child(path, "type"), f"a resource needs a type; {got}")
        types[name] = registry.resolve_type(type_name, env.aliases, path=child(path, "type"))
    scope = Scope(params, {name: plugin for name, (_, plugin) in types.items()})
    return {
        name: _parse_resource(name, spec, types[name], scope, env)
        for name, spec in specs.items()
    }


def _parse_resource(name: str, spec: dict, resolved: tuple[str, type[Resource]], scope: Scope,
                    env: Environment) -> ResourceDefinition:
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
    properties = _mapping(spec.get("properties"), child(path, "properties"))
    refs: list[Reference] = []
    for key, snippet in properties.items():
        refs += functions.check(snippet, child(child(path, "properties"), key), scope)
    for ref in refs:
        if ref.resource == name:
            raise DependencyCycle(
                ref.path, f"resource {name!r} depends on itself (through {ref.function})"
            )
    _check_static_properties(name, plugin, properties, scope)
    return ResourceDefinition(
        name=name, type=spec["type"], concrete_type=concrete, plugin=plugin,
        properties=properties, depends_on=depends_on,
        requires=frozenset(depends_on) | {ref.resource for ref in refs},
        deletion_policy=policy, hooks=env.hooks.get(name, frozenset()),
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
        if item not in scope.resources:
            raise InvalidReference(where, f"depends_on: the template has no resource {item!r}")
        if item not in names:
            names.append(item)
    return tuple(names)


def _check_static_properties(name: str, plugin: type[Resource], properties: dict[str, Any],
                             scope: Scope) -> None:
    """Type-check what parameters alone decide; what needs a resource waits for it."""
    source = StaticSource(scope.parameters)
    base = f"resources.{name}.properties"
    values: dict[str, Any] = {}
    pending: set[str] = set()
    for key, snippet in properties.items():
        try:
            values[key] = functions.resolve(snippet, child(base, key), source)
        except Unresolved:
            pending.add(key)
    _typed_properties(name, plugin, values, frozenset(pending))


def _check_cycles(resources: dict[str, ResourceDefinition]) -> None:
    loop = Dependencies({name: defn.requires for name, defn in resources.items()}).find_cycle()
    if loop is None:
        return
    # the same loop whichever resource the search met first: it starts at the one written
    # first in the template
    rank = {name: i for i, name in enumerate(resources)}
    loop = loop[:-1]
    first = min(range(len(loop)), key=lambda i: rank[loop[i]])
    loop = loop[first:] + loop[:first]
    raise DependencyCycle(child("resources", loop[0]),
                          "dependency cycle: " + " -> ".join([*loop, loop[0]]))


def _parse_outputs(section: Any, scope: Scope) -> dict[str, dict]:
    outputs: dict[str, dict] = {}
    for name, spec in _mapping(section, "outputs").items():
        path = child("outputs", name)
        if not isinstance(spec, dict):
            raise ValidationError(path, f"an output must be a mapping, got {kind(spec)}")
        reject_unknown_keys(spec, OUTPUT_KEYS, path, "output key")
        if "value" not in spec:
            raise ValidationError(child(path, "value"), "an output needs a value")
        description = spec.get("description") or ""
        if not isinstance(description, str):
            raise ValidationError(
                child(path, "description"), f"must be a string, got {kind(description)}"
            )
        where = child(path, "value")
        functions.check(spec["value"], where, scope)
        try:  # what parameters alone decide can be wrong now (list_join of a string)
            functions.resolve(spec["value"], where, StaticSource(scope.parameters))
        except Unresolved:
            pass
        outputs[name] = {"value": spec["value"], "description": description}
    return outputs
