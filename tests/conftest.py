"""Shared fixtures: a fresh database per test, on SQLite and, when their servers answer,
PostgreSQL and MariaDB/MySQL (``DUALPATH_REQUIRE_SERVERS=1`` makes a silent server a failure
instead of a skip, for CI)."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from harness.infra import provisioning as provision

pytest_plugins = ["pytester"]

BACKENDS = [
    pytest.param("sqlite", id="sqlite"),
    pytest.param("postgresql", id="postgresql", marks=pytest.mark.postgresql),
    pytest.param("mysql", id="mysql", marks=pytest.mark.mysql),
]
_probed: dict[str, str | None] = {}


def unavailable(reason: str | None) -> None:
    """A server the test needs does not answer (``reason``): skip, or fail under
    ``DUALPATH_REQUIRE_SERVERS``; nothing when ``reason`` is None."""
    if reason:
        if os.environ.get("DUALPATH_REQUIRE_SERVERS"):
            pytest.fail(reason)
        pytest.skip(reason)


def require_server(backend: str) -> str:
    """The server URL for ``backend``; skips (or fails, see above) when it does not answer."""
    url = provision.server_url(backend)
    if backend not in _probed:  # once per process: a dead server costs one connect timeout
        _probed[backend] = provision.probe(url)
    unavailable(_probed[backend])
    return url


@pytest.fixture
def new_database(tmp_path: Path) -> Iterator[Callable[[str], str]]:
    """Factory: ``new_database(backend)`` -> URL of a new empty database, dropped after the
    test."""
    created: list[str] = []

    def make(backend: str) -> str:
        if backend == "sqlite":
            url = provision.create_database("sqlite://", directory=tmp_path)
        else:
            url = provision.create_database(require_server(backend))
        created.append(url)
        return url

    yield make
    for url in created:
        provision.drop_database(url)


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture
def db_url(backend: str, new_database: Callable[[str], str]) -> str:
    """A new empty database on each backend in turn."""
    return new_database(backend)

