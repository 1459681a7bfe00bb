"""The servers a chaos run restarts: a PostgreSQL and a RabbitMQ of the run's own
(harness/infra/private_servers.py), so that stopping them disturbs nobody else's work on
the machine's shared ones."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from typing import Any

from harness.infra.private_servers import PrivatePostgres, PrivateRabbit


@dataclass
class PrivateServers:
    servers: dict[str, Any] = field(default_factory=dict)  # kind -> started server

    @classmethod
    def start(cls, kinds: tuple[str, ...], stack: contextlib.ExitStack) -> PrivateServers:
        """Start one server of each kind ("database", "broker"), stopped and removed when
        ``stack`` closes; ServerUnavailable (why, and how to install it) if one cannot."""
        made = {"database": PrivatePostgres, "broker": PrivateRabbit}
        return cls({kind: stack.enter_context(made[kind]()) for kind in kinds})

    @property
    def database_url(self) -> str | None:
        server = self.servers.get("database")
        return server.url if server else None

    @property
    def transport_url(self) -> str | None:
        server = self.servers.get("broker")
        return server.url if server else None

    def restart(self, kind: str, down_for: float) -> float:
        return self.servers[kind].restart(down_for=down_for)
