"""Stack and resource states, shared by both paths so their outcomes compare."""

from __future__ import annotations

INIT, CREATE, UPDATE, DELETE, ROLLBACK = "INIT", "CREATE", "UPDATE", "DELETE", "ROLLBACK"
IN_PROGRESS, COMPLETE, FAILED = "IN_PROGRESS", "COMPLETE", "FAILED"
STACK_TYPE = "OS::Heat::Stack"
# where an action may pause (Heat's hook types): before it starts, after it completed
HOOK_TYPES = ("pre-create", "pre-update", "pre-delete",
              "post-create", "post-update", "post-delete")


def is_terminal(status: str) -> bool:
    return status in (COMPLETE, FAILED)
