"""``mark: NAME``: remember the physical ids at this point, for a later
``expect: {replaced: [...], since: NAME}``."""

from __future__ import annotations

from typing import Any

from scenarios.steps.base import Outcome, StepKind, StepRun, no_error

SCHEMA = {"$ref": "#/$defs/name"}


def run(step_run: StepRun, name: str) -> Outcome:
    step_run.marks[name] = step_run.physical_ids()
    values = getattr(step_run, "values", None)  # outputs and attributes, for changed_since
    if values is not None and hasattr(step_run, "mark_values"):
        step_run.mark_values[name] = values()
    return no_error()


def check(checker: Any, at: list[str | int], name: str) -> None:
    if name in checker.marks:
        checker.fail(at, f"mark {name!r} is already defined at steps[{checker.marks[name]}]")
    checker.marks[name] = at[1]


STEP = StepKind("mark", SCHEMA, run, check=check)
