"""``rollback: {}``: cancel the stack's update in progress and return to the template
before it."""

from __future__ import annotations

from typing import Any

from scenarios.steps.base import StepRun
from scenarios.steps.operation import PLAIN_OPERATION, operation


def act(run: StepRun, args: dict[str, Any]) -> None:
    run.service.rollback_stack(run.ctx, run.stack())


STEP = operation("rollback", act, schema=PLAIN_OPERATION)
