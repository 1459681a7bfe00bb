"""``wait: {}``: until the stack's operation is over (a terminal state, nothing running)."""

from __future__ import annotations

from typing import Any

from scenarios.steps.base import Outcome, StepKind, StepRun, always, no_error, timeout

SCHEMA = {
    "type": ["object", "null"],
    "additionalProperties": False,
    "properties": {"timeout": {"$ref": "#/$defs/seconds"}},
}


def run(step_run: StepRun, args: Any) -> Outcome:
    step_run.service.wait_stack(step_run.ctx, step_run.stack(), timeout=timeout(args))
    return no_error()


STEP = StepKind("wait", SCHEMA, run, settles=always, needs_stack=True)
