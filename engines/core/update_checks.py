"""What an update is refused for before anything is stored: a new value for an
``immutable`` parameter (as Heat's ImmutableParameterModified)."""

from __future__ import annotations

from engines.core.models import Stack
from engines.core.parameters import check_immutable
from engines.core.path import StackRequest, stored_template
from engines.core.runtime import Runtime


def check_update(rt: Runtime, stack: Stack, request: StackRequest) -> None:
    current = stored_template(rt, stack.raw_template_id, stack.parameters)
    new = request.template
    check_immutable(current.parameters, new.parameter_schemas, new.parameters)
