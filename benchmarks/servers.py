"""What the benchmarks need of real servers: a new database per measurement (SQLite, or
one made on a PostgreSQL/MariaDB server from a migrated template, dropped afterwards) and
convergence worker processes on a bus of their own on a shared RabbitMQ."""

from __future__ import annotations

import time
from typing import Any

from engines.service import CONVERGENCE


class database:
    """A new database per path at head: a SQLite file, or one made on the given server
    (``--database-url`` names the server; the benchmark never writes into that database)."""

    def __init__(self, server_url: str | None) -> None:
        self.server_url = server_url
        self.factory: Any = None
        self.url: str | None = None

    def __enter__(self) -> str:
        from harness.infra.databases import DatabaseFactory

        self.factory = DatabaseFactory.prepare(self.server_url)
        self.url = self.factory.new(f"bench_{time.time_ns()}")
        # the simulated cloud's tables came with the migrated template (migrations.upgrade
        # makes them), so the engine and its workers starting together only check them
        return self.url

    def __exit__(self, *exc: object) -> None:
        from engines.service import dispose_connections

        dispose_connections()
        if self.url and self.factory.backend != "sqlite":
            self.factory.drop(self.url)
        self.factory.close()


class workers:
    """Convergence worker processes over a shared bus, when asked for."""

    def __init__(self, transport_url: str | None, url: str, engine: str, count: int,
                 threads: int | None = None) -> None:
        self.transport_url, self.url, self.engine = transport_url, url, engine
        self.count, self.threads = count, threads
        self.pool: Any = None

    def __enter__(self) -> dict[str, Any]:
        if not self.transport_url:
            return {}
        from engines.processes import WorkerProcesses, isolated_bus

        topic = f"bench-{time.time_ns()}"
        bus = isolated_bus(topic)  # a bus of its own on the shared broker
        extra: dict[str, Any] = {"transport_url": self.transport_url,
                                 "convergence_topic": topic, **bus}
        if self.engine == CONVERGENCE and self.count:
            self.pool = WorkerProcesses.start(
                count=self.count, database_url=self.url, threads=self.threads,
                transport_url=self.transport_url, topic=topic, options=bus)
            extra["convergence_local_workers"] = 0
        return extra

    def __exit__(self, *exc: object) -> None:
        if self.pool is not None:
            self.pool.stop()
