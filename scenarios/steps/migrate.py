"""``migrate: {}``: move the stack onto the convergence path, every physical resource kept
(as ``dualpath db migrate-stacks`` does, through the same engine API); on a stack already on
convergence it does nothing. A stack that is not COMPLETE is refused (InvalidOperation),
nothing changed."""

from __future__ import annotations

from typing import Any

from scenarios.steps.base import StepRun
from scenarios.steps.operation import EXPECT_ERROR, operation

SCHEMA = {
    "type": ["object", "null"],
    "additionalProperties": False,
    "properties": {"expect_error": EXPECT_ERROR},
}


def act(run: StepRun, args: dict[str, Any]) -> None:
    run.service.migrate_stack(run.ctx, run.stack())


STEP = operation("migrate", act, schema=SCHEMA)
