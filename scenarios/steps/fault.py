"""``fault: {resource: NAME, action: A, times: N, latency: S}``: make the simulated cloud
refuse (or, with latency, slow down) the next N calls of that action on that resource, in
whichever process makes them. A plain NAME is that logical name in any stack, nested ones
included; a path (``db/R``) is R of the nested stack ``db`` holds when the step runs."""

from __future__ import annotations

from typing import Any

from scenarios.steps import paths
from scenarios.steps.base import Outcome, StepKind, StepRun, no_error

SCHEMA = {
    "type": "object",
    "required": ["resource", "action"],
    "additionalProperties": False,
    "properties": {
        "resource": {"$ref": "#/$defs/resourceName"},
        "action": {
            "enum": ["CREATE", "UPDATE", "DELETE"],
            "x-error": "a fault action is CREATE, UPDATE or DELETE",
        },
        "times": {
            "type": "integer",
            "default": 1,
            "anyOf": [{"const": -1}, {"minimum": 1}],
            "x-error": "times is a count of 1 or more, or -1 for always",
        },
        "latency": {"$ref": "#/$defs/seconds"},
    },
}


def run(step_run: StepRun, args: dict[str, Any]) -> Outcome:
    # a plain name is that logical name in any stack (nested ones included), as the cloud
    # knows it; a path (db/R) pins the fault to the nested stack that holds R now
    stack_id, name = None, args["resource"]
    if paths.is_nested(name):
        stack_id, name = paths.resolve_now(step_run, name)
    step_run.service.inject_fault(name, args["action"], times=int(args.get("times", 1)),
                                  latency=float(args.get("latency") or 0.0),
                                  stack_id=stack_id)
    return no_error()


def check(checker: Any, at: list[str | int], args: dict[str, Any]) -> None:
    checker.resource(at + ["resource"], args["resource"])


STEP = StepKind("fault", SCHEMA, run, check=check)
