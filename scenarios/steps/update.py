"""``update: {template: NAME, ...}``: move the stack to another template of the scenario
(or the same one with other parameters or environment)."""

from __future__ import annotations

from typing import Any

from scenarios.steps.base import StepRun
from scenarios.steps.operation import (
    STACK_OPERATION,
    check_template,
    environment_of,
    operation,
    stack_options,
    template_of,
)


def act(run: StepRun, args: dict[str, Any]) -> None:
    run.service.update_stack(run.ctx, run.stack(), template_of(run, args),
                             environment_of(run, args), args.get("parameters"),
                             **stack_options(args))
    run.history.append(args.get("template", ""))


STEP = operation("update", act, schema=STACK_OPERATION, check=check_template,
                 stack_timeout=True)
