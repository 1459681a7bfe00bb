"""What an update would do, changing nothing (Heat's ``preview_update_stack``): each
resource of the stack and of the new template is ``added``, ``updated`` (in place),
``replaced``, ``deleted`` or ``unchanged``, by the decision the update itself makes
(engines/core/converge.py): a resource never made is created; a changed type, a failed
or interrupted resource, or a change its plugin's ``needs_replace`` refuses in place is a
replacement; otherwise equal stored and resolved properties leave it unchanged, and
different ones update it in place.

Properties are resolved against the stack's current resources, in dependency order, with
what the update would have done to them so far:

* ``get_resource`` of a resource unchanged or updated in place is its physical id now;
* ``get_attr`` of an unchanged resource is its value now (read from the cloud, as the
  update reads it: no cloud call is made);
* anything else -- an attribute of a resource updated in place, any reference to one
  replaced or added -- cannot be known before the update runs (Heat's preview treats it
  as unknown too). A property that needs such a value counts as changed: the resource is
  ``replaced`` if its plugin's ``needs_replace`` says so with the unknown values counted
  as different from the stored ones, else ``updated``.

Nested stacks (Heat's ``show_nested``): a template resource (``type: db.yaml``, its
template from the files map) or an ``OS::Heat::Stack`` that is updated in place has its
own stack's resources classified the same way, named by path (``db/R``); its nested stack
is the one its physical id names. A nested stack that is created, replaced or left alone
is not looked into (nothing in it is updated: it is made anew, or not touched), nor is
one whose parameters depend on unknown values, nor a group's (its nested template is
generated at update time from what its members are then).

Entries are ``{"name", "type"}`` -- the type the update would give the resource (the
stack's own for ``deleted`` and ``updated``) -- each list sorted by name. Nothing is
stored: no rows, no events.
"""

from __future__ import annotations

from typing import Any

from engines.core import functions, stack_store
from engines.core.errors import NotFound, ValidationError
from engines.core.models import Resource, Stack
from engines.core.plugins.stack_resource import DIGEST, StackResource
from engines.core.resource_actions import ResourceActions
from engines.core.runtime import Runtime
from engines.core.status import COMPLETE
from engines.core.template import Template, _typed_properties, parse  # the update's typing
from engines.core.template_checks import digest
from engines.core.yaml_loader import child

ADDED, UPDATED, REPLACED, DELETED, UNCHANGED = (
    "added", "updated", "replaced", "deleted", "unchanged")
CATEGORIES = (ADDED, UPDATED, REPLACED, DELETED, UNCHANGED)


class _Unknown:
    """A value the update would only know once it runs; equal to nothing stored."""

    def __repr__(self) -> str:
        return "<unknown>"


UNKNOWN = _Unknown()


def preview_update(rt: Runtime, stack: Stack, template: Template) -> dict[str, list[dict]]:
    """The classification of an update of ``stack`` to the validated ``template``."""
    result: dict[str, list[dict]] = {c: [] for c in CATEGORIES}
    _preview(rt, stack, template, "", result)
    for entries in result.values():
        entries.sort(key=lambda entry: entry["name"])
    return result


class _Source:
    """get_param / get_file / get_resource / get_attr during the preview: see above."""

    def __init__(self, template: Template, actions: ResourceActions,
                 rows: dict[str, Resource], fates: dict[str, str]) -> None:
        self.template = template
        self.actions = actions
        self.rows = rows
        self.fates = fates

    def parameter(self, name: str) -> Any:
        return self.template.parameters[name]

    def file(self, name: str) -> Any:
        return self.template.files.get(name)

    def physical_id(self, name: str) -> Any:
        defn = self.template.resources.get(name)
        by = defn.reference_attribute if defn else None
        if by is not None:
            return self.attribute(name, by)
        if self.fates.get(name) in (UNCHANGED, UPDATED):
            return self.rows[name].physical_resource_id
        raise functions.Unresolved(name)

    def attribute(self, name: str, attr: str) -> Any:
        if self.fates.get(name) != UNCHANGED:
            raise functions.Unresolved(name)
        try:
            return self.actions.plugin(self.rows[name]).get_attribute(attr)
        except KeyError:
            return None


def _resolve(template: Template, name: str, source: _Source) -> tuple[dict[str, Any], bool]:
    """(the properties the update would give ``name``, unknown values as UNKNOWN; whether
    any is unknown), resolved and typed as Template.resolve_properties does."""
    defn = template.resources[name]
    base = f"resources.{name}.properties"
    values: dict[str, Any] = {}
    pending: set[str] = set()
    for key, snippet in defn.properties.items():
        try:
            values[key] = functions.resolve(snippet, child(base, key), source)
        except functions.Unresolved:
            pending.add(key)
    typed = _typed_properties(name, defn.plugin, values, frozenset(pending))
    nested_file = getattr(defn.plugin, "nested_file", None)
    if nested_file is not None:
        typed[DIGEST] = digest(template.files.get(nested_file, ""))
    facts = getattr(defn.plugin, "facts_from_parent", None)
    if facts is not None and not pending:
        typed.update(facts(typed, defn.update_policy, template.environment.aliases,
                           template.files))
    typed.update({key: UNKNOWN for key in pending})
    return typed, bool(pending)


def _decide(actions: ResourceActions, template: Template, row: Resource | None,
            name: str, source: _Source) -> tuple[str, dict[str, Any], bool]:
    """(fate, wanted properties, whether some are unknown), as converge decides."""
    defn = template.resources[name]
    if row is None or actions.needs_create(row):
        return ADDED, {}, False
    wanted, unknown = _resolve(template, name, source)
    if row.type != defn.concrete_type:
        return REPLACED, wanted, unknown
    stored = row.properties_data or {}
    if not unknown and row.status == COMPLETE and stored == wanted \
            and row.physical_resource_id:
        return UNCHANGED, wanted, unknown
    if actions.check_replace(row, row.type, wanted):
        return REPLACED, wanted, unknown
    return UPDATED, wanted, unknown


def _preview(rt: Runtime, stack: Stack, template: Template, prefix: str,
             result: dict[str, list[dict]]) -> None:
    actions = ResourceActions(rt, stack.id)
    rows = stack_store.current_resources(rt.db, stack.id)
    fates: dict[str, str] = {}
    source = _Source(template, actions, rows, fates)
    sorter = template.dependencies().sorter()
    while sorter.is_active():
        for name in sorter.get_ready():
            row = rows.get(name)
            fate, wanted, unknown = _decide(actions, template, row, name, source)
            fates[name] = fate
            own_type = row.type if fate == UPDATED and row is not None \
                else template.resources[name].concrete_type
            result[fate].append({"name": prefix + name, "type": own_type})
            if fate == UPDATED and row is not None and not unknown:
                _nested(rt, template, name, row, wanted, prefix, result)
            sorter.done(name)
    for name, row in rows.items():
        if name not in template.resources:
            result[DELETED].append({"name": prefix + name, "type": row.type})


def _nested(rt: Runtime, template: Template, name: str, row: Resource,
            wanted: dict[str, Any], prefix: str, result: dict[str, list[dict]]) -> None:
    """The nested stack of a stack resource updated in place, previewed in turn."""
    defn = template.resources[name]
    plugin = defn.plugin
    if issubclass(plugin, StackResource):
        nested_template: Any = wanted.get("template")
        params = dict(wanted.get("parameters") or {})
    elif getattr(plugin, "nested_file", None) is not None:
        nested_template = template.files.get(plugin.nested_file)
        params = {k: v for k, v in wanted.items() if k != DIGEST and v is not None}
    else:
        return
    if nested_template is None or not row.physical_resource_id:
        return
    try:
        child_stack = stack_store.get(rt.db, row.physical_resource_id, include_deleted=False)
    except NotFound:  # the nested stack is gone: nothing to look into
        return
    registry: dict[str, Any] = dict(template.environment.aliases)
    own = template.environment.nested_for(name)
    if own:
        registry["resources"] = own
    conf = rt.conf
    try:
        nested = parse(nested_template, {"resource_registry": registry}, params,
                       max_template_size=conf.max_template_size,
                       max_resources=conf.max_resources_per_stack, files=template.files,
                       nesting=(*prefix.split("/")[:-1], name),
                       max_nested_depth=conf.max_nested_stack_depth)
    except ValidationError:
        return  # the update itself would fail the resource: nothing inside to foresee
    _preview(rt, child_stack, nested, f"{prefix}{name}/", result)
