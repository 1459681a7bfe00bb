"""``wait_for: {resource: NAME, status: S | hook: H}``: until one resource reaches a status
(e.g. CREATE_IN_PROGRESS) or is paused at a hook. The stack may still be busy: only where
that resource stands is compared, not what the others reached meanwhile."""

from __future__ import annotations

import time
from typing import Any

from scenarios.steps import paths
from scenarios.steps.base import Outcome, StepKind, StepRun, always, no_error, timeout

SCHEMA = {
    "type": "object",
    "required": ["resource"],
    "additionalProperties": False,
    "properties": {
        "resource": {"$ref": "#/$defs/resourceName"},
        "status": {"$ref": "#/$defs/status"},
        "hook": {"$ref": "#/$defs/hook"},
        "timeout": {"$ref": "#/$defs/seconds"},
    },
    "oneOf": [{"required": ["status"]}, {"required": ["hook"]}],
    "x-error": "wait_for needs exactly one of status or hook",
}


def run(step_run: StepRun, args: dict[str, Any]) -> Outcome:
    limit = timeout(args)
    started = time.monotonic()
    # a nested resource's stack may not exist yet when the step starts (the create of
    # its parent resource is what the scenario waits through): first wait for it
    stack_id, name = step_run.service.wait_until(
        lambda: paths.resolve(step_run, args["resource"]), limit,
        f"the nested stack of {args['resource']} to exist")
    step_run.service.wait_resource(step_run.ctx, stack_id, name,
                                   status=args.get("status"), hook=args.get("hook"),
                                   timeout=max(limit - (time.monotonic() - started), 0.1))
    return no_error()


def check(checker: Any, at: list[str | int], args: dict[str, Any]) -> None:
    checker.resource(at + ["resource"], args["resource"])


def waits_for(args: dict[str, Any]) -> str | None:
    return args.get("resource")


STEP = StepKind("wait_for", SCHEMA, run, check=check, settles=always, waits_for=waits_for,
                needs_stack=True)
