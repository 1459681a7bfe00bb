"""The steps a scenario can take, one module each (see steps/base.py for what a step
defines). Adding a step is adding its module here; the schema (scenarios/schema.py), the
loader's checks (scenarios/semantics.py) and the harness's executor read this table."""

from __future__ import annotations

from scenarios.steps import (
    cancel,
    create,
    delete,
    expect,
    fault,
    mark,
    migrate,
    preview,
    rollback,
    signal,
    update,
    wait,
    wait_for,
)
from scenarios.steps.base import StepKind

# in the order the schema lists them (and error messages name them)
STEPS: dict[str, StepKind] = {module.STEP.name: module.STEP for module in (
    create, update, delete, rollback, cancel, migrate, preview, wait, wait_for, signal, fault,
    mark, expect)}

__all__ = ["STEPS", "StepKind"]
