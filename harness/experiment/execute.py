"""Running one scenario on one path: every step through engines.service (what each step
does is its definition's, scenarios/steps/<op>.py), a snapshot after each, its
expectations checked. The engine is a fresh EngineService on a database of its own.

The ``cross`` run (``dualpath run --cross-path``) is a third way through a scenario: the
stack is made on the legacy path, moved onto convergence (the ``migrate`` step) right
after the first step that leaves it settled and COMPLETE, and goes on there; until the move
its expectations are legacy's, after it convergence's."""

from __future__ import annotations

import time
import traceback
from dataclasses import dataclass, field
from typing import Any

from engines.core.context import RequestContext
from engines.service import (
    CONVERGENCE,
    LEGACY,
    PATH_NAMES,
    EngineService,
    dispose_connections,
    new_conf,
)
from harness.experiment.observation import Observer
from scenarios.steps import STEPS
from scenarios.steps.base import Failure

PASSED, FAILED, ERROR = "passed", "failed", "error"  # a path run's status
CROSS = "cross"  # legacy until the first settled COMPLETE state, migrated, then convergence
# a settled stack in one of these states is moved: not deleted, nothing running
MOVABLE = ("CREATE_COMPLETE", "UPDATE_COMPLETE", "ROLLBACK_COMPLETE")


@dataclass
class PathRun:
    engine: str
    status: str = PASSED
    duration_s: float = 0.0
    snapshots: list[dict[str, Any]] = field(default_factory=list)
    failures: list[Failure] = field(default_factory=list)
    error: str | None = None
    # a cross run: the step after which the stack was moved; or why it never was
    migrated_after: int | None = None
    path_after_move: str | None = None  # the stack's path as the engine shows it, moved
    skipped: str | None = None


@dataclass
class Settings:
    """How the engine under test is set up (the harness's pass-through options)."""

    transport_url: str | None = None
    topic: str = "dualpath-worker"
    local_workers: int = 1
    poll_interval: float = 0.01
    overrides: dict[str, Any] = field(default_factory=dict)
    config_files: tuple[str, ...] = ()  # the user's --config-file, under the run's settings


class Execution:
    """One scenario on one path; what its steps see of it is scenarios.steps.base.StepRun."""

    def __init__(self, scenario: Any, engine: str, database_url: str,
                 settings: Settings) -> None:
        self.scenario = scenario
        self.engine = engine
        # the path whose expectations hold now: a cross run's is legacy's until its move
        self.path = LEGACY if engine == CROSS else engine
        self.url = database_url
        self.settings = settings
        self.ctx = RequestContext(project_id="dualpath-scenario")
        self.service: EngineService | None = None
        self.observer: Observer | None = None
        self.stack_id: str | None = None
        self.last_error: str | None = None
        self.history: list[str] = []  # templates of the operations that were accepted
        self.marks: dict[str, dict[str, str | None]] = {}
        self.before: dict[str, str | None] = {}
        self.mark_values: dict[str, dict[str, Any]] = {}  # outputs, attributes at each mark
        self.events: dict[str, list[str]] = {}  # events since the last operation began

    def _conf(self) -> Any:
        s = self.settings
        values: dict[str, Any] = {
            "database.connection": self.url,
            "convergence_engine": self.engine == CONVERGENCE,
            "poll_interval": s.poll_interval, "heartbeat_interval": 0.5,
            "service_stale_after": 5.0, "convergence_topic": s.topic,
            "convergence_local_workers": s.local_workers,
        }
        if s.transport_url:
            values["transport_url"] = s.transport_url
        values.update(s.overrides)
        return new_conf(list(s.config_files), **values)

    def run(self) -> PathRun:
        result = PathRun(self.engine)
        started = time.perf_counter()
        try:
            self.service = EngineService(self._conf())
            self.observer = Observer(self.service, self.ctx)
            started = time.perf_counter()
            for step in self.scenario.steps:
                self._step(step, result)
            if self.engine == CROSS and result.migrated_after is None and not result.skipped:
                result.skipped = "the stack never reached a settled COMPLETE state to be " \
                                 "moved at"
            # the steps only: starting and stopping the engine is not the path's work
            result.duration_s = time.perf_counter() - started
            if result.failures:
                result.status = FAILED
        except Exception as exc:  # noqa: BLE001 - a crash is a verdict, not a harness crash
            result.status = ERROR
            result.error = "".join(traceback.format_exception_only(exc)).strip()
            result.error += "\n" + "".join(traceback.format_tb(exc.__traceback__)[-3:])
            result.error += self._state()
        finally:
            if self.service is not None:
                self.service.stop()
            dispose_connections(self.url)
            if not result.duration_s:
                result.duration_s = time.perf_counter() - started
        return result

    def _step(self, step: Any, result: PathRun) -> None:
        kind = STEPS[step.op]
        assert self.observer is not None
        if kind.operation:
            self.before = self.physical_ids()
            self.events = {}
        outcome = kind.run(self, step.args)
        # the message is for a person reading a failure; the outcome compared is the class
        compared = {k: v for k, v in outcome.items() if k != "message"}
        snap, recorded = self.observer.take(step.index, step.op, self.stack_id, compared,
                                            waited_for=kind.waits_for(step.args),
                                            settles=kind.settles(step.args))
        for name, seen in snap.get("events", {}).items():
            self.events.setdefault(name, []).extend(seen)
        result.failures.extend(kind.verify(self, step.index, step.args, snap, outcome))
        result.snapshots.append(recorded)
        if self.engine == CROSS and self.path == LEGACY and not result.skipped \
                and kind.settles(step.args) and (snap.get("stack") or {}).get("status") \
                in MOVABLE:
            self._migrate(step.index, result)

    def _migrate(self, index: int, result: PathRun) -> None:
        """The cross run's move, after step ``index``: the scenarios' own ``migrate``
        step, unrecorded (the snapshots stay step for step those of the other paths)."""
        assert self.service is not None
        last_error = self.last_error  # what a later ``expect: {error}`` reads is the scenario's
        outcome = STEPS["migrate"].run(self, {})
        self.last_error = last_error
        if outcome["error"]:
            result.skipped = f"the move after step {index} was refused: " \
                             f"{outcome.get('message') or outcome['error']}"
            return
        result.migrated_after = index
        result.path_after_move = self.service.show_stack(self.ctx, self.stack())["engine"]
        self.path = CONVERGENCE
        # a stack the scenario creates from now on is made where the pure run makes it
        self.service.conf.set_override("convergence_engine", True)

    # -- what steps use (scenarios.steps.base.StepRun) ---------------------------------------
    def stack(self) -> str:
        if self.stack_id is None:
            raise RuntimeError("this step needs a stack, and no create has succeeded")
        return self.stack_id

    def physical_ids(self) -> dict[str, str | None]:
        assert self.observer is not None
        return self.observer.physical_ids(self.stack_id)

    def values(self) -> dict[str, Any]:
        assert self.observer is not None
        return self.observer.values(self.stack_id)

    def for_path(self, value: Any) -> Any:
        """An expectation may differ per path: {legacy: X, convergence: Y}."""
        if isinstance(value, dict) and set(value) <= set(PATH_NAMES):
            return value.get(self.path)
        return value

    def _state(self) -> str:
        """Where the stack was when the run broke: what a person debugging needs first."""
        if self.service is None or self.stack_id is None:
            return ""
        try:
            view = self.service.show_stack(self.ctx, self.stack_id)
            rows = self.service.list_resources(self.ctx, self.stack_id)
        except Exception as exc:  # noqa: BLE001
            return f"\n(stack state unavailable: {exc})"
        resources = ", ".join(
            f"{r['name']}={r['resource_status']}"
            + (f"(paused at {','.join(r['hooks_pending'])})" if r["hooks_pending"] else "")
            for r in rows)
        return (f"\nstack {view['stack_status']} ({view['status_reason']}); "
                f"resources: {resources or 'none'}")
