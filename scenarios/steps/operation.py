"""What the stack operations (create, update, delete, rollback, cancel) share: their
arguments, the error they may be expected to return, waiting for the stack to be done,
and the physical ids before them (for ``replaced`` / ``unchanged``).

The ``timeout`` of a create or update is the stack's timeout, given to the engine (which
refuses one that is not a whole number of seconds above 0); the harness then waits for
longer than that, so that the engine's own timeout is what ends a slow operation. The
``timeout`` of the other operations only bounds the harness's wait."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from engines.core.errors import DualpathError
from scenarios.steps.base import (
    DEFAULT_TIMEOUT,
    Failure,
    Outcome,
    StepKind,
    StepRun,
    is_error,
    timeout,
)

WAIT = {"type": "boolean", "default": True}
EXPECT_ERROR = {"$ref": "#/$defs/errorExpectation"}

# what a stack is made from: a template, with what goes with it (create, update, preview)
STACK_INPUTS = {
    "template": {"$ref": "#/$defs/name"},
    "parameters": {"type": "object"},
    "environment": {"$ref": "#/$defs/environmentUse"},
    "files": {"$ref": "#/$defs/filesUse"},
}

DEFS = {
    "stackOperation": {
        "type": "object",
        "required": ["template"],
        "additionalProperties": False,
        "properties": {
            **STACK_INPUTS,
            "disable_rollback": {"type": "boolean"},
            # any number: the engine is the one that refuses a bad stack timeout
            "timeout": {"type": "number",
                        "x-error": "the stack timeout, a whole number of seconds"},
            "wait": WAIT,
            "expect_error": EXPECT_ERROR,
        },
    },
    # which of the scenario's files the operation gives the engine, and by what names
    "filesUse": {
        "anyOf": [
            {"type": "array", "items": {"$ref": "#/$defs/fileName"}, "uniqueItems": True},
            {"type": "object", "propertyNames": {"$ref": "#/$defs/fileName"},
             "additionalProperties": {"$ref": "#/$defs/fileName"}},
        ],
        "x-error": "files is a list of the scenario's file names, or a mapping {name the "
                   "template uses: scenario file name}",
    },
    # delete and rollback: nothing but how to wait
    "plainOperation": {
        "type": ["object", "null"],
        "additionalProperties": False,
        "properties": {
            "timeout": {"$ref": "#/$defs/seconds"},
            "wait": WAIT,
            "expect_error": EXPECT_ERROR,
        },
    },
}
STACK_OPERATION = {"$ref": "#/$defs/stackOperation"}
PLAIN_OPERATION = {"$ref": "#/$defs/plainOperation"}


# -- what create and update give the service -----------------------------------------------
def template_of(run: StepRun, args: dict[str, Any]) -> Any:
    return run.scenario.templates.get(args.get("template", ""), None)


def environment_of(run: StepRun, args: dict[str, Any]) -> Any:
    """A named environment of the scenario, or one written inline."""
    value = args.get("environment")
    return run.scenario.environments[value] if isinstance(value, str) else value


def files_of(run: StepRun, args: dict[str, Any]) -> dict[str, str] | None:
    """The files the engine is given: the ones the step names (a list, each by its own
    name; a mapping, by the name the template uses), else all the scenario's; None for a
    scenario without files (the call stays as it was)."""
    files: dict[str, str] = getattr(run.scenario, "files", None) or {}
    chosen = args.get("files")
    if chosen is None:
        return dict(files) or None
    pairs = chosen.items() if isinstance(chosen, dict) else ((n, n) for n in chosen)
    return {used: files[name] for used, name in pairs}


def stack_options(args: dict[str, Any], run: StepRun | None = None) -> dict[str, Any]:
    """``disable_rollback``, the stack ``timeout`` and ``files``, only where the step (or
    the scenario, for files) says them."""
    options = rollback_option(args)
    if "timeout" in args:
        options["timeout"] = args["timeout"]
    files = files_of(run, args) if run is not None else None
    if files is not None:
        options["files"] = files
    return options


def harness_wait(args: dict[str, Any], stack_timeout: bool) -> float:
    """How long the harness waits for the operation: beyond the engine's stack timeout,
    so that a slow operation ends by the engine's verdict, not the harness's."""
    if not stack_timeout:
        return timeout(args)
    given = args.get("timeout")
    if isinstance(given, int | float) and given > 0:
        return max(DEFAULT_TIMEOUT, 2 * float(given) + 30)
    return DEFAULT_TIMEOUT


def rollback_option(args: dict[str, Any]) -> dict[str, Any]:
    """``disable_rollback`` only where the step says it: otherwise the stack's own."""
    return {"disable_rollback": bool(args["disable_rollback"])} \
        if "disable_rollback" in args else {}


def check_template(checker: Any, at: list[str | int], args: dict[str, Any]) -> None:
    checker.template(at + ["template"], args["template"])
    if isinstance(args.get("environment"), str):
        checker.environment(at + ["environment"], args["environment"])
    chosen = args.get("files")
    if isinstance(chosen, dict):
        for used, name in chosen.items():
            checker.file(at + ["files", used], name)
    elif isinstance(chosen, list):
        for position, name in enumerate(chosen):
            checker.file(at + ["files", position], name)


# -- the operation's life around its one service call --------------------------------------
def _waits(args: dict[str, Any]) -> bool:
    return args.get("wait", True) is not False


def operation(name: str, act: Callable[[StepRun, dict[str, Any]], None], *,
              schema: dict[str, Any], check: Callable[..., None] | None = None,
              needs_stack: bool = True, stack_timeout: bool = False) -> StepKind:
    """A stack operation whose service call is ``act``. A refusal (a DualpathError) is an
    outcome to compare, not a crash; unless ``wait: false``, the step waits until the stack
    is done and the state after it is compared in full."""

    def run(step_run: StepRun, args: dict[str, Any]) -> Outcome:
        step_run.last_error = None
        try:
            act(step_run, args)
        except DualpathError as exc:
            step_run.last_error = type(exc).__name__
            return {"error": step_run.last_error, "message": str(exc)}
        if args.get("wait", True) and step_run.stack_id:
            step_run.service.wait_stack(step_run.ctx, step_run.stack_id,
                                        timeout=harness_wait(args, stack_timeout))
        return {"error": None}

    def semantics(checker: Any, at: list[str | int], args: dict[str, Any]) -> None:
        if check is not None:
            check(checker, at, args)
        if isinstance(args.get("expect_error"), dict):
            checker.per_engine(at + ["expect_error"], args["expect_error"])

    def verify(step_run: StepRun, index: int, args: dict[str, Any], snap: dict[str, Any],
               outcome: Outcome) -> list[Failure]:
        expected = step_run.for_path(args.get("expect_error"))
        if is_error(outcome["error"], expected):
            return []
        return [Failure(index, "expect_error", expected, outcome["error"],
                        outcome.get("message")
                        or f"the {name} returned {outcome['error'] or 'no error'}")]

    return StepKind(name, schema, run, check=semantics, settles=_waits, verify=verify,
                    needs_stack=needs_stack, operation=True, defs=DEFS)
