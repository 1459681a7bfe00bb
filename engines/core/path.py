"""What an engine path provides to the service. The service validates and dispatches; a
path stores and runs operations in its own way."""

from __future__ import annotations

import abc
from typing import Any

from engines.core import stack_store
from engines.core.context import RequestContext
from engines.core.errors import InvalidOperation
from engines.core.models import Stack
from engines.core.runtime import Runtime
from engines.core.status import CREATE, IN_PROGRESS, UPDATE
from engines.core.template import Template

# the two paths a stack can be on, by the names users, configs and run files use
LEGACY, CONVERGENCE = "legacy", "convergence"
PATH_NAMES = (LEGACY, CONVERGENCE)


def cancellable(stack: Stack) -> None:
    """Only a create or an update in progress can be cancelled: InvalidOperation, naming
    the stack's state, otherwise (and nothing is changed)."""
    if stack.status != IN_PROGRESS or stack.action not in (CREATE, UPDATE):
        raise InvalidOperation(
            f"stack {stack.id} is {stack.action}_{stack.status}: only a create or an update "
            "in progress can be cancelled")


class StackRequest:
    """A validated create/update request: the parsed template plus what to store."""

    def __init__(self, template: Template, parameters: dict[str, Any],
                 disable_rollback: bool, timeout: int | None) -> None:
        self.template = template
        self.parameters = parameters
        self.disable_rollback = disable_rollback
        self.timeout = timeout
        self.owner_id: str | None = None  # a nested stack's parent, and its root
        self.root_id: str | None = None

    @property
    def raw(self) -> dict[str, Any]:
        return self.template.raw

    @property
    def environment(self) -> dict[str, Any]:
        return self.template.environment.to_dict()

    @property
    def files(self) -> dict[str, str]:
        return self.template.files


class EnginePath(abc.ABC):
    """One of the two ways of running stack operations."""

    name: str

    def __init__(self, rt: Runtime) -> None:
        self.rt = rt

    def start(self) -> None:  # noqa: B027 - optional hook
        """Start background machinery (threads, RPC servers)."""

    def stop(self) -> None:  # noqa: B027 - optional hook
        """Stop background machinery, letting in-flight work end."""

    @abc.abstractmethod
    def create(self, ctx: RequestContext, name: str, request: StackRequest) -> Stack: ...

    @abc.abstractmethod
    def update(self, ctx: RequestContext, stack: Stack, request: StackRequest) -> None: ...

    @abc.abstractmethod
    def delete(self, ctx: RequestContext, stack: Stack) -> None: ...

    @abc.abstractmethod
    def rollback(self, ctx: RequestContext, stack: Stack) -> None: ...

    @abc.abstractmethod
    def cancel(self, ctx: RequestContext, stack: Stack, rollback: bool) -> None:
        """Stop the create or update in progress (its running resource actions are
        cancelled): the stack ends <ACTION>_FAILED "Stack <ACTION> cancelled", then rolls
        back if ``rollback``."""

    @abc.abstractmethod
    def is_busy(self, stack: Stack) -> bool:
        """Whether an operation on ``stack`` is still running on this path."""

    def recover(self) -> None:  # noqa: B027 - optional hook
        """Called at engine start: deal with what dead engines left behind."""

    def _store_new_stack(self, ctx: RequestContext, name: str, request: StackRequest,
                         **extra: Any) -> Stack:
        """The row of a stack being created, IN_PROGRESS, marked with this path for life."""
        return stack_store.create(
            self.rt.db, name=name, project_id=ctx.project_id, template=request.raw,
            environment=request.environment, parameters=request.parameters,
            convergence=self.name == CONVERGENCE, action=CREATE, status=IN_PROGRESS,
            disable_rollback=request.disable_rollback, timeout=request.timeout,
            engine_id=self.rt.engine_id, files=request.files, owner_id=request.owner_id,
            root_id=request.root_id, **extra)


def stored_template(rt: Runtime, template_id: int, parameters: dict[str, Any] | None
                    ) -> Template:
    """Parse a template the engine stored earlier (it was validated when it came in)."""
    from engines.core import stack_store
    from engines.core.template import parse

    template, environment = stack_store.load_template(rt.db, template_id)
    return parse(template, environment, parameters or {},
                 max_template_size=max(rt.conf.max_template_size, 1) * 4,
                 max_resources=rt.conf.max_resources_per_stack,
                 files=stack_store.load_files(rt.db, template_id))
