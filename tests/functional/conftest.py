"""Fixtures for engine tests: a request context and helpers over the service."""

from __future__ import annotations

from typing import Any

import pytest

from engines.core.context import RequestContext


@pytest.fixture
def ctx() -> RequestContext:
    return RequestContext(project_id="project-a")


class Driver:
    """Small conveniences over EngineService for tests: run an operation and wait."""

    def __init__(self, service: Any, ctx: RequestContext) -> None:
        self.service = service
        self.ctx = ctx

    def create(self, template: str, name: str = "stack", wait: bool = True,
               **kwargs: Any) -> str:
        stack_id = self.service.create_stack(self.ctx, name, template, **kwargs)
        if wait:
            self.wait(stack_id)
        return stack_id

    def update(self, stack_id: str, template: str, wait: bool = True, **kwargs: Any) -> None:
        self.service.update_stack(self.ctx, stack_id, template, **kwargs)
        if wait:
            self.wait(stack_id)

    def delete(self, stack_id: str, wait: bool = True) -> None:
        self.service.delete_stack(self.ctx, stack_id)
        if wait:
            self.wait(stack_id)

    def wait(self, stack_id: str, timeout: float = 30) -> dict[str, Any]:
        return self.service.wait_stack(self.ctx, stack_id, timeout=timeout)

    def show(self, stack_id: str) -> dict[str, Any]:
        return self.service.show_stack(self.ctx, stack_id)

    def resources(self, stack_id: str) -> dict[str, dict[str, Any]]:
        return {r["name"]: r for r in self.service.list_resources(self.ctx, stack_id)}

    def physical_ids(self, stack_id: str) -> dict[str, str]:
        return {n: r["physical_id"] for n, r in self.resources(stack_id).items()}

    def events(self, stack_id: str) -> list[dict[str, Any]]:
        return self.service.list_events(self.ctx, stack_id)

    def copies(self, stack_id: str) -> dict[str, int]:
        return self.service.cloud.copies(stack_id)

    def wait_hook(self, stack_id: str, name: str, hook: str) -> None:
        self.service.wait_resource(self.ctx, stack_id, name, hook=hook, timeout=30)

    def signal(self, stack_id: str, name: str, hook: str) -> None:
        self.service.signal_hook(self.ctx, stack_id, name, hook)


@pytest.fixture
def driver(dualpath_service: Any, ctx: RequestContext) -> Driver:
    return Driver(dualpath_service, ctx)
