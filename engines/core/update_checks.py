"""What an operation is refused for before anything is stored: a new value for an
``immutable`` parameter (as Heat's ImmutableParameterModified); nested stacks on a path
that cannot run them yet."""

from __future__ import annotations

from engines.core.errors import ValidationError
from engines.core.models import Stack
from engines.core.parameters import check_immutable
from engines.core.path import StackRequest, stored_template
from engines.core.plugins.stack_resource import TemplateResource
from engines.core.runtime import Runtime
from engines.core.template import Template


def check_update(rt: Runtime, stack: Stack, request: StackRequest) -> None:
    current = stored_template(rt, stack.raw_template_id, stack.parameters)
    new = request.template
    check_immutable(current.parameters, new.parameter_schemas, new.parameters)


def refuse_nested_on(path_name: str, template: Template) -> None:
    """Nested stacks run on the legacy path only, in this build: on convergence, a parent
    check waiting for its child's traversal would hold a worker thread the child needs
    (with few threads, a deadlock); until that wait is made without a thread, such a
    template is refused on convergence, clearly, rather than left to starve."""
    if path_name != "convergence":
        return
    for name, defn in template.resources.items():
        if issubclass(defn.plugin, TemplateResource):
            raise ValidationError(
                f"resources.{name}.type",
                f"{defn.type}: nested stacks are not supported on the convergence path "
                "in this build (the stack was created on convergence)")
