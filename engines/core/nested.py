"""What a stack resource may ask of the engine about its nested stack: the narrow interface
the engine puts on every action scope (``ActionScope.nested``). The engine creates the
child on its parent's path, which is its root's path, whatever the configuration says now.
"""

from __future__ import annotations

from typing import Any, Protocol


class NestedStacks(Protocol):
    def files_of(self, stack_id: str) -> dict[str, str]:
        """The files map of ``stack_id``'s current template."""

    def create(self, parent_id: str, resource_name: str, template: Any,
               parameters: dict[str, Any]) -> str:
        """Validate, store and start creating the child stack; its id."""

    def update(self, child_id: str, template: Any, parameters: dict[str, Any]) -> None:
        """Start updating the child stack in place."""

    def cancel(self, child_id: str) -> None:
        """Stop the child stack's create or update, if one runs, without rolling back."""

    def delete(self, child_id: str) -> None:
        """Start deleting the child stack (nothing when it is gone)."""

    def state(self, child_id: str) -> tuple[str, str, str] | None:
        """(action, status, reason) once nothing runs on it any more, IN_PROGRESS while
        something does; None when the child is deleted."""

    def outputs(self, child_id: str) -> dict[str, Any]:
        """The child stack's outputs."""

    def name(self, child_id: str) -> str:
        """The child stack's name."""

    def resources(self, child_id: str) -> dict[str, tuple[str | None, dict[str, Any]]]:
        """Each current resource of the child stack: (physical id, attributes)."""
