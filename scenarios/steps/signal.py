"""``signal: {resource: NAME, hook: H}``: release a resource paused at a hook. What follows
is a race by construction: only the step's result is compared. A pause whose operation
was stopped or superseded meanwhile is answered by the engine, not refused."""

from __future__ import annotations

from typing import Any

from scenarios.steps import paths
from scenarios.steps.base import Outcome, StepKind, StepRun, no_error

SCHEMA = {
    "type": "object",
    "required": ["resource", "hook"],
    "additionalProperties": False,
    "properties": {"resource": {"$ref": "#/$defs/resourceName"},
                   "hook": {"$ref": "#/$defs/hook"}},
}


def run(step_run: StepRun, args: dict[str, Any]) -> Outcome:
    # a nested resource (db/R) is signalled in its own stack, found now
    stack_id, name = paths.resolve_now(step_run, args["resource"])
    answer = step_run.service.signal_hook(step_run.ctx, stack_id, name, args["hook"])
    return {**no_error(), "message": answer}


def check(checker: Any, at: list[str | int], args: dict[str, Any]) -> None:
    checker.resource(at + ["resource"], args["resource"])


STEP = StepKind("signal", SCHEMA, run, check=check, needs_stack=True)
