"""``update: {template: NAME, ...}``: move the stack to another template of the scenario
(or the same one with other parameters or environment).

``existing: true`` makes it a PATCH (Heat's ``existing``): what the step does not say is
kept -- the template (``template`` may then be left out), the environment (the step's is
merged over it), the parameters (the step's update them; ``clear_parameters`` resets those
named to their defaults) and the files (a PATCH gives the engine only the files it names:
the scenario's others would replace the stack's own)."""

from __future__ import annotations

import dataclasses
from typing import Any

from scenarios.steps.base import StepRun
from scenarios.steps.operation import (
    DEFS,
    check_template,
    environment_of,
    operation,
    stack_options,
    template_of,
)

PATCH_OPTIONS = {
    "existing": {"type": "boolean",
                 "x-error": "existing: true makes the update a PATCH (keeps what it does "
                            "not say)"},
    "clear_parameters": {"type": "array", "items": {"type": "string", "minLength": 1},
                         "uniqueItems": True,
                         "x-error": "a list of parameter names, each at most once"},
}
UPDATE_DEFS = {"updateOperation": {
    # the stackOperation's arguments, a template that a PATCH may leave out, and its options
    **{k: v for k, v in DEFS["stackOperation"].items() if k != "required"},
    "properties": {**DEFS["stackOperation"]["properties"], **PATCH_OPTIONS},
}}


def patch_options(args: dict[str, Any]) -> dict[str, Any]:
    """``existing`` and ``clear_parameters``, only where the step says them."""
    return {key: args[key] for key in PATCH_OPTIONS if key in args}


def check_patch(checker: Any, at: list[str | int], args: dict[str, Any]) -> None:
    """A template unless it is a PATCH; clear_parameters only with a PATCH."""
    if "template" in args:
        check_template(checker, at, args)
    elif not args.get("existing"):
        checker.fail(at, "template is required (or existing: true, to keep the stack's)")
    else:
        _check_uses(checker, at, args)
    if args.get("clear_parameters") and not args.get("existing"):
        checker.fail(at + ["clear_parameters"], "clear_parameters needs existing: true")


def _check_uses(checker: Any, at: list[str | int], args: dict[str, Any]) -> None:
    """What check_template checks but the template: the environment and files named."""
    if isinstance(args.get("environment"), str):
        checker.environment(at + ["environment"], args["environment"])
    chosen = args.get("files")
    pairs = chosen.items() if isinstance(chosen, dict) else enumerate(chosen or [])
    for where, name in pairs:
        checker.file(at + ["files", where], name)


def files_source(run: StepRun, args: dict[str, Any]) -> StepRun | None:
    """Where the files the engine is given come from: a PATCH that names none gives none
    (the stack keeps its own), where any other operation gives all the scenario's."""
    return None if args.get("existing") and "files" not in args else run


def act(run: StepRun, args: dict[str, Any]) -> None:
    run.service.update_stack(run.ctx, run.stack(), template_of(run, args),
                             environment_of(run, args), args.get("parameters"),
                             **stack_options(args, files_source(run, args)),
                             **patch_options(args))
    # a PATCH without a template keeps the stack's: the last one accepted
    run.history.append(args.get("template") or (run.history[-1] if run.history else ""))


STEP = operation("update", act, schema={"$ref": "#/$defs/updateOperation"}, check=check_patch,
                 stack_timeout=True)
STEP = dataclasses.replace(STEP, defs={**STEP.defs, **UPDATE_DEFS})
