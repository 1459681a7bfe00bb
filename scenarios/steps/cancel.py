"""``cancel: {rollback: true|false}``: stop the stack's create or update in progress (its
running resource actions are cancelled), then roll back (the default) or not: Heat's
``stack cancel`` and ``stack cancel --no-rollback``."""

from __future__ import annotations

from typing import Any

from scenarios.steps.base import StepRun
from scenarios.steps.operation import EXPECT_ERROR, WAIT, operation

SCHEMA = {
    "type": ["object", "null"],
    "additionalProperties": False,
    "properties": {
        "rollback": {"type": "boolean", "default": True},
        "timeout": {"$ref": "#/$defs/seconds"},
        "wait": WAIT,
        "expect_error": EXPECT_ERROR,
    },
}


def act(run: StepRun, args: dict[str, Any]) -> None:
    run.service.cancel_stack(run.ctx, run.stack(),
                             rollback=(args or {}).get("rollback", True) is not False)


STEP = operation("cancel", act, schema=SCHEMA)
