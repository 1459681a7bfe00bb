"""pytest plugin (entry point ``pytest11``): run the project's engine tests on either path
without rewriting them.

``--engine-mode=legacy|convergence`` sets ``convergence_engine`` -- the default path of new
stacks -- for the whole session; ``both`` runs every engine test once per path. A test that
only makes sense on one path says so with ``@pytest.mark.engine_path("legacy")``. Each test
gets a database of its own, copied from a migrated template (per xdist worker), so nothing
is shared between parallel workers.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from engines.service import PATH_NAMES as MODES

ENV_VAR = "DUALPATH_ENGINE_MODE"


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("dualpath")
    group.addoption("--engine-mode", choices=(*MODES, "both"),
                    default=os.environ.get(ENV_VAR, "legacy"),
                    help="path new stacks take in engine tests: legacy, convergence or both "
                    f"(default: ${ENV_VAR} or legacy)")
    group.addoption("--engine-database", choices=("sqlite", "postgresql", "mysql"),
                    default=os.environ.get("DUALPATH_ENGINE_DATABASE", "sqlite"),
                    help="where engine tests keep their state: a SQLite file (default) or a "
                    "database of their own on the local PostgreSQL / MariaDB server")
    group.addoption("--scenarios", action="append", default=[], metavar="DIR",
                    help="collect the scenario files under DIR as tests (one per path)")
    parser.addini("dualpath_scenarios", type="paths", default=[],
                  help="scenario trees whose files are collected as tests")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "engine_path(name): the test only makes sense on that engine path")
    config.addinivalue_line("markers", "scenario: a dualpath scenario run as a test")


def _modes(config: pytest.Config) -> tuple[str, ...]:
    mode = config.getoption("--engine-mode")
    return MODES if mode == "both" else (mode,)


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "engine_mode" not in metafunc.fixturenames:
        return
    modes = _modes(metafunc.config)
    wanted = metafunc.definition.get_closest_marker("engine_path")
    if wanted is not None:
        # a path-specific test runs on its path whatever the session's default is: it is
        # evidence about that path, not about the default
        modes = (wanted.args[0],)
    metafunc.parametrize("engine_mode", modes, ids=[f"engine={m}" for m in modes])


@pytest.fixture(scope="session")
def dualpath_database_factory(pytestconfig: pytest.Config) -> Iterator[Any]:
    """A migrated template database, made once per (xdist) worker; each test gets a clone
    (file copy, PostgreSQL TEMPLATE, or MariaDB table copies), never the alembic replay."""
    from harness.infra import provisioning
    from harness.infra.databases import DatabaseFactory

    backend = pytestconfig.getoption("--engine-database")
    server = None
    if backend != "sqlite":
        server = provisioning.server_url(backend)
        reason = provisioning.probe(server)
        if reason:
            if os.environ.get("DUALPATH_REQUIRE_SERVERS"):
                pytest.fail(reason)
            pytest.skip(reason)
    factory = DatabaseFactory.prepare(server)
    yield factory
    factory.close()


@pytest.fixture
def dualpath_database(dualpath_database_factory: Any) -> Iterator[str]:
    url = dualpath_database_factory.new(f"t{uuid.uuid4().hex[:12]}")
    yield url
    from engines.service import dispose_connections
    dispose_connections(url)
    dualpath_database_factory.drop(url)


@pytest.fixture
def dualpath_conf_factory(dualpath_database: str, engine_mode: str
                          ) -> Callable[..., Any]:
    """Build a ConfigOpts for a test engine: the test's database, the session's default path,
    short poll and heartbeat intervals; keyword overrides win."""
    from engines.service import new_conf

    def make(**overrides: Any) -> Any:
        settings: dict[str, Any] = {
            "database.connection": dualpath_database,
            "convergence_engine": engine_mode == "convergence",
            "poll_interval": 0.01,
            "heartbeat_interval": 0.2,
            "service_stale_after": 2.0,
        }
        settings.update(overrides)
        return new_conf(**settings)
    return make


@pytest.fixture
def dualpath_service(dualpath_conf_factory: Callable[..., Any]) -> Iterator[Any]:
    """A started EngineService on the test's database; stopped after the test."""
    from engines.service import EngineService, dispose_connections

    service = EngineService(dualpath_conf_factory())
    try:
        yield service
    finally:
        service.stop()
        dispose_connections(service.database_url)


# -- scenarios as test items ----------------------------------------------------------------
def _scenario_roots(config: pytest.Config) -> list[Path]:
    roots = [Path(p).resolve() for p in config.getoption("--scenarios")]
    roots += [Path(p).resolve() for p in config.getini("dualpath_scenarios")]
    return roots


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> pytest.Collector | None:
    if file_path.suffix != ".yaml":
        return None
    from scenarios.loader import scenario_files

    known: dict[Path, set[Path]] = parent.config.stash.setdefault(_FILES, {})
    for root in _scenario_roots(parent.config):
        if root not in known:
            known[root] = {f.resolve() for f in scenario_files(root)}
        if file_path.resolve() in known[root]:
            return ScenarioFile.from_parent(parent, path=file_path, root=root)
    return None


_FILES = pytest.StashKey[dict]()


class ScenarioFile(pytest.File):
    def __init__(self, *, root: Path, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.root = root

    def collect(self) -> Iterator[pytest.Item]:
        from scenarios.loader import load_scenario

        scenario = load_scenario(self.path, self.root)
        modes = [m for m in _modes(self.config) if m in scenario.engines]
        # a scenario about one path runs on it whatever the session's default
        for engine in modes or list(scenario.engines):
            item = ScenarioItem.from_parent(self, name=f"{scenario.id}[{engine}]",
                                            scenario=scenario, engine=engine)
            item.add_marker(pytest.mark.scenario)
            yield item


class ScenarioFailed(Exception):  # noqa: N818 - reported as a test failure
    pass


class ScenarioItem(pytest.Item):
    def __init__(self, *, scenario: Any, engine: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.scenario = scenario
        self.engine = engine

    def runtest(self) -> None:
        from harness.experiment.execute import Execution, Settings

        factory = _scenario_databases(self.config)
        url = factory.new(f"s{uuid.uuid4().hex}")
        try:
            result = Execution(self.scenario, self.engine, url, Settings()).run()
        finally:
            factory.drop(url)
        if result.status == "error":
            raise ScenarioFailed(f"the run broke:\n{result.error}")
        if result.failures:
            lines = [f"step {f.step} {f.check}: {f.message} (expected {f.expected!r}, "
                     f"got {f.actual!r})" for f in result.failures]
            raise ScenarioFailed("\n".join(lines))

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException],
                     style: Any = None) -> str:
        if isinstance(excinfo.value, ScenarioFailed):
            return (f"scenario {self.scenario.id} on the {self.engine} path "
                    f"({self.scenario.path}):\n{excinfo.value}")
        return super().repr_failure(excinfo)

    def reportinfo(self) -> tuple[Path, int, str]:
        return self.path, 0, f"scenario {self.scenario.id} [{self.engine}]"


def _scenario_databases(config: pytest.Config) -> Any:
    """SQLite copies of a migrated template, made once per (xdist) worker process."""
    from harness.infra.databases import DatabaseFactory

    factory = config.stash.get(_SCENARIO_DATABASES, None)
    if factory is None:
        factory = DatabaseFactory.prepare(None)
        config.stash[_SCENARIO_DATABASES] = factory
        config.add_cleanup(factory.close)
    return factory


_SCENARIO_DATABASES = pytest.StashKey[Any]()
