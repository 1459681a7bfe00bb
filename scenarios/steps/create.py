"""``create: {template: NAME, ...}``: store a new stack from a template of the scenario and
create it. Every later step acts on this stack. A create expected to be refused makes no
stack for them."""

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
    run.stack_id = run.service.create_stack(
        run.ctx, run.scenario.name, template_of(run, args), environment_of(run, args),
        args.get("parameters"), **stack_options(args, run))
    run.history.append(args.get("template", ""))


def check(checker: Any, at: list[str | int], args: dict[str, Any]) -> None:
    check_template(checker, at, args)
    if not isinstance(args.get("expect_error"), str):
        checker.has_stack = True


STEP = operation("create", act, schema=STACK_OPERATION, check=check, needs_stack=False,
                 stack_timeout=True)
