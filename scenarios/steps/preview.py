"""``preview: {template: NAME, ..., expect: {added: [...], ...}}``: ask what an update
would do (Heat's preview_update_stack), changing nothing. The arguments are an update's
(``existing: true`` a PATCH's, the template then optional); the answer -- the resources
``added``, ``updated`` (in place), ``replaced``, ``deleted`` and ``unchanged``, those of
nested stacks by path (``db/R``) -- is the step's result, so both paths' answers are
compared, and ``expect`` names what each list must be (exactly; a list left out is not
checked). A preview is not an operation: ``replaced`` / ``unchanged`` of a later expect
still count from the last update."""

from __future__ import annotations

from typing import Any

from engines.core.errors import DualpathError
from scenarios.steps.base import Failure, Outcome, StepKind, StepRun, always, is_error
from scenarios.steps.operation import (
    EXPECT_ERROR,
    STACK_INPUTS,
    environment_of,
    files_of,
    template_of,
)
from scenarios.steps.update import PATCH_OPTIONS, check_patch, files_source, patch_options

CATEGORIES = ("added", "updated", "replaced", "deleted", "unchanged")
NAMES = {"type": "array", "items": {"$ref": "#/$defs/resourceName"}, "uniqueItems": True,
         "x-error": "a list of resource names (db/R for a nested stack's), each once"}

DEFS = {"preview": {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        **STACK_INPUTS,
        **PATCH_OPTIONS,
        "expect": {"type": "object", "additionalProperties": False,
                   "properties": dict.fromkeys(CATEGORIES, NAMES),
                   "x-error": "what the preview says: {added, updated, replaced, deleted, "
                              "unchanged: [resource names]}"},
        "expect_error": EXPECT_ERROR,
    },
}}


def run(step_run: StepRun, args: dict[str, Any]) -> Outcome:
    options = patch_options(args)
    source = files_source(step_run, args)
    files = files_of(source, args) if source is not None else None
    if files is not None:
        options["files"] = files
    try:
        answer = step_run.service.preview_update_stack(
            step_run.ctx, step_run.stack(), template_of(step_run, args),
            environment_of(step_run, args), args.get("parameters"), **options)
    except DualpathError as exc:
        return {"error": type(exc).__name__, "message": str(exc)}
    return {"error": None, "preview": answer}


def check(checker: Any, at: list[str | int], args: dict[str, Any]) -> None:
    check_patch(checker, at, args)
    for category, names in (args.get("expect") or {}).items():
        for position, name in enumerate(names):
            checker.resource(at + ["expect", category, position], name)
    if isinstance(args.get("expect_error"), dict):
        checker.per_engine(at + ["expect_error"], args["expect_error"])


def verify(step_run: StepRun, index: int, args: dict[str, Any], snap: dict[str, Any],
           outcome: Outcome) -> list[Failure]:
    expected_error = step_run.for_path(args.get("expect_error"))
    if not is_error(outcome["error"], expected_error):
        return [Failure(index, "expect_error", expected_error, outcome["error"],
                        outcome.get("message")
                        or f"the preview returned {outcome['error'] or 'no error'}")]
    answer = outcome.get("preview") or {}
    failures = []
    for category, wanted in (args.get("expect") or {}).items():
        got = sorted(entry["name"] for entry in answer.get(category, []))
        if got != sorted(wanted):
            failures.append(Failure(index, f"preview.{category}", sorted(wanted), got,
                                    f"the preview's {category}: {got}, expected "
                                    f"{sorted(wanted)}"))
    return failures


STEP = StepKind("preview", {"$ref": "#/$defs/preview"}, run, check=check, settles=always,
                verify=verify, needs_stack=True, defs=DEFS)
