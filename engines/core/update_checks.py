"""What an operation is refused for before anything is stored: a new value for an
``immutable`` parameter (as Heat's ImmutableParameterModified); a hook on a resource
the stack does not have."""

from __future__ import annotations

from typing import Any

from engines.core import stack_store
from engines.core.models import Stack
from engines.core.parameters import check_immutable
from engines.core.path import StackRequest, stored_template
from engines.core.runtime import Runtime


def check_update(rt: Runtime, stack: Stack, request: StackRequest) -> None:
    current = stored_template(rt, stack.raw_template_id, stack.parameters)
    new = request.template
    check_immutable(current.parameters, new.parameter_schemas, new.parameters)


def check_hook_names(rt: Runtime, template: Any, stack: Stack | None) -> None:
    """Every hook of the environment must match a resource: of the template (one its
    conditions leave out counts), or, on an update, of the stack -- a hook may name a
    resource the new template removes, to pause before its removal."""
    names = set(template.resources) | set(template.raw.get("resources") or {})
    if stack is not None:
        names.update(row.name for row in stack_store.resources(rt.db, stack.id))
    template.environment.check_hook_names(names)
