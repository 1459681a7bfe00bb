"""``delete: {}``: delete the stack; always allowed, whatever it is doing."""

from __future__ import annotations

from typing import Any

from scenarios.steps.base import StepRun
from scenarios.steps.operation import PLAIN_OPERATION, operation


def act(run: StepRun, args: dict[str, Any]) -> None:
    run.service.delete_stack(run.ctx, run.stack())


STEP = operation("delete", act, schema=PLAIN_OPERATION)
