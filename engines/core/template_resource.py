"""Template resources: a resource whose type is a template from the ``files`` map
(``type: db.yaml``, or an environment mapping onto one, ``My::DB: db.yaml``).

Its properties are the nested template's parameters and its attributes the nested
template's outputs, so both are checked against that template when the parent is parsed:
an unknown property, or a parameter the nested template needs and the resource does not
give, is refused naming the nested file. The nested template is parsed too (with the
values known now), so its own errors, recursion and nesting depth surface before
anything is stored.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from engines.core.errors import PropertyError, ValidationError
from engines.core.parameters import parse_schemas
from engines.core.plugins.stack_resource import TemplateResource
from engines.core.yaml_loader import child, kind, load_document

SUFFIXES = (".yaml", ".yml", ".template")
DEFAULT_MAX_DEPTH = 5  # Heat's max_nested_stack_depth


def is_template_type(type_name: str) -> bool:
    return type_name.endswith(SUFFIXES)


def follow_aliases(type_name: str, aliases: Mapping[str, str]) -> str:
    """Where ``type_name`` leads through the environment, when that is a template file;
    else ``type_name`` (the registry reports loops and unknown types)."""
    seen = {type_name}
    current = type_name
    while current in aliases and not is_template_type(current):
        current = aliases[current]
        if current in seen:
            return type_name
        seen.add(current)
    return current if is_template_type(current) else type_name


def plugin_for(file_name: str, files: Mapping[str, str], path: str, max_size: int
               ) -> tuple[type[TemplateResource], dict]:
    """A plugin class for resources of type ``file_name``: its attributes are the nested
    template's outputs. Returns it with the nested template as a document."""
    if file_name not in files:
        known = ", ".join(sorted(files)) or "none"
        raise ValidationError(path, f"template resource {file_name!r}: no such file in the "
                                    f"files map (files given: {known})")
    nested = load_document(files[file_name], what=file_name, max_size=max_size)
    outputs = nested.get("outputs") or {}
    if not isinstance(outputs, dict):
        outputs = {}
    schema = {name: f"Output {name} of {file_name}." for name in outputs}
    schema["OS::stack_id"] = "The nested stack's id."
    cls = type(f"TemplateResource[{file_name}]", (TemplateResource,),
               {"attributes_schema": schema, "nested_file": file_name})
    return cls, nested


def check_properties(name: str, file_name: str, nested: dict, properties: dict[str, Any]
                     ) -> None:
    """The resource's properties against the nested template's parameters."""
    base = child(child("resources", name), "properties")
    try:
        schemas = parse_schemas(nested.get("parameters"))
    except ValidationError as exc:
        raise type(exc)(exc.path, exc.reason, file_name) from None
    for key in properties:
        if key not in schemas:
            known = ", ".join(schemas) or "none"
            raise PropertyError(child(base, key),
                                f"unknown property {key!r}: the nested template "
                                f"{file_name} has no parameter {key!r} (its parameters: "
                                f"{known})")
    for key, schema in schemas.items():
        if schema.default is None and key not in properties:
            raise PropertyError(child(base, key),
                                f"property {key!r} is required by the nested template "
                                f"{file_name} (a parameter without a default)")


def check_nesting(file_name: str, chain: tuple[str, ...], max_depth: int, path: str) -> None:
    """Recursion and depth: ``chain`` is the files from the top template down to here."""
    if file_name in chain:
        loop = " -> ".join([*chain, file_name])
        raise ValidationError(path, f"recursion: template resource {file_name!r} includes "
                                    f"itself ({loop})")
    if len(chain) >= max_depth:
        raise ValidationError(
            path, f"nesting too deep: {' -> '.join([*chain, file_name])} is more than the "
                  f"limit of {max_depth} levels (max_nested_stack_depth)")


def nested_template_of(props: Mapping[str, Any], path: str) -> Any:
    """OS::Heat::Stack's template property: a document or its text."""
    template = props.get("template")
    if not isinstance(template, dict | str):
        raise ValidationError(child(path, "template"),
                              f"must be a template (a mapping or its text), got "
                              f"{kind(template)}")
    return template


def check_nested(name: str, plugin: type, properties: dict[str, Any], values: dict[str, Any],
                 pending: frozenset[str], context: Any, env_aliases: Mapping[str, str]) -> None:
    """Check a stack resource's definition against its nested template: properties as
    parameters, and the nested template itself (recursively), with what is known now."""
    from engines.core.template import parse

    own = getattr(plugin, "check_nested_definition", None)
    if own is not None:  # a group: the plugin generates its nested template
        own(name, properties, values, pending, context, env_aliases)
        return
    path = child(child("resources", name), "properties")
    if plugin.nested_file is not None:  # a template resource
        file_name = plugin.nested_file
        nested = load_document(context.files[file_name], what=file_name,
                               max_size=context.max_size)
        check_properties(name, file_name, nested, properties)
        template: Any = nested
        label = file_name
    else:  # OS::Heat::Stack: its template is a property
        if "template" in pending:
            return
        template = nested_template_of(values, path)
        label = f"{name}.template"
        check_nesting(label, context.chain, context.max_depth, child(path, "template"))
        values = dict(values.get("parameters") or {})
        pending = frozenset()
    if pending:
        return  # its values come from other resources: checked when it is made
    params = {k: v for k, v in values.items() if v is not None}
    try:
        parse(template, {"resource_registry": dict(env_aliases)}, params,
              max_template_size=context.max_size, files=context.files,
              nesting=(*context.chain, label), max_nested_depth=context.max_depth)
    except ValidationError as exc:
        if exc.source is not None:
            raise
        raise type(exc)(exc.path, exc.reason, label) from None
