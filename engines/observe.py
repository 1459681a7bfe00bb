"""A read-only view of the simulated cloud, for observers (the harness, tests, the demo):
what physically exists, and the API calls that made it so. It can only read: the harness's
verdict is worth something because it never reaches into the engine's state."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from engines.core.reality import Reality


@dataclass(frozen=True)
class PhysicalCopy:
    """One physical resource the cloud holds."""

    physical_id: str
    stack_id: str
    logical_name: str
    type: str
    properties: dict[str, Any]


class CloudView:
    """What the cloud holds, per stack or in all (``stack_id=None``)."""

    def __init__(self, reality: Reality) -> None:
        self._reality = reality

    def copies(self, stack_id: str | None = None) -> dict[str, int]:
        """How many physical copies of each logical resource exist."""
        return self._reality.copies(stack_id)

    def resources(self, stack_id: str | None = None) -> list[PhysicalCopy]:
        """Everything that exists, oldest first."""
        return [PhysicalCopy(r.physical_id, r.stack_id, r.logical_name, r.type,
                             dict(r.properties))
                for r in self._reality.resources(stack_id)]

    def calls(self, stack_id: str | None = None) -> list[dict[str, Any]]:
        """The API calls made on the cloud, in order (action, physical id, ok, detail)."""
        return self._reality.calls(stack_id)
