"""Request context: who is asking. Every API call is scoped to one project."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class RequestContext:
    project_id: str
    user: str = "demo"

    def __post_init__(self) -> None:
        if not self.project_id:
            raise ValueError("a request context needs a project id")
