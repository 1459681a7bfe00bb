"""One chaos trial: a stack of its own, in a database of its own, on worker processes of
its own (over the run's broker, on a bus of the trial's own); its plan's disruption; and
the verdict.

Checks: every operation reaches a terminal state in its time (else *stuck*); a disrupted
one that did not complete converges when it is run again; after the update the cloud holds
exactly one physical copy of each resource, each one a row knows (else *duplicated*);
after the delete it holds nothing (else *leaked*).
"""

from __future__ import annotations

import random
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from engines.core.context import RequestContext
from engines.core.errors import WaitTimeout
from engines.processes import (
    AFTER_CLOUD_CREATE,
    ON_CHECK,
    WorkerProcess,
    WorkerProcesses,
    arm_crash_point,
    isolated_bus,
    write_config,
)
from engines.service import EngineService, dispose_connections, new_conf
from harness.chaos.plan import (
    CRASH_AFTER_CREATE,
    CRASH_ON_CHECK,
    CRASHES,
    NAMES,
    RESTART_DATABASE,
    RESTARTS,
    TrialPlan,
    template,
)
from harness.infra.databases import DatabaseFactory

# short heartbeats, for the engine and the workers alike: a killed worker is found out
# in seconds
LIVENESS = {"heartbeat_interval": 0.2, "service_stale_after": 1.5, "poll_interval": 0.01,
            # traversals a dead worker left with no lock held end in seconds, not at the
            # stack timeout: off by default (engines/convergence/stall_watch.py)
            "stall_watch_after": 1.5}
GRACE = 15.0  # seconds past the stack timeout before an operation counts as stuck
LOOK = 0.05  # seconds between two looks while waiting for a worker or a stack


class Restarter(Protocol):
    """Restarts the servers a run may restart (harness/infra/private_servers.py)."""

    def restart(self, kind: str, down_for: float) -> float:
        """Stop server ``kind`` ("database" or "broker"), keep it down ``down_for``
        seconds, start it; the seconds it did not answer."""


@dataclass
class ChaosOptions:
    transport_url: str | None
    database_url: str | None = None
    workers: int = 2
    stack_timeout: int = 60  # seconds, for every operation
    config_files: tuple[str, ...] = ()
    path: str = "convergence"  # legacy: no workers, the engine alone (server restarts)
    restarts: tuple[str, ...] = ()  # server kinds the trials restart, of RESTARTS
    restarter: Restarter | None = None


@dataclass
class TrialResult:
    plan: TrialPlan
    passed: bool = False
    leaked: int = 0
    duplicated: int = 0
    stuck: bool = False
    killed: str | None = None  # the engine id of the worker killed
    restarted: bool = False  # a server was restarted in the trial
    unanswered_s: float = 0.0  # how long the restarted server did not answer
    what_happened: list[str] = field(default_factory=list)
    duration_s: float = 0.0

    def to_json(self) -> dict[str, Any]:
        return {**self.plan.to_json(), "passed": self.passed, "leaked": self.leaked,
                "duplicated": self.duplicated, "stuck": self.stuck, "killed": self.killed,
                "restarted": self.restarted, "unanswered_s": round(self.unanswered_s, 3),
                "what_happened": "; ".join(self.what_happened),
                "duration_s": round(self.duration_s, 3)}


class Failed(Exception):  # noqa: N818 - control flow: the trial's verdict is in
    pass


class Trial:
    def __init__(self, plan: TrialPlan, factory: DatabaseFactory, options: ChaosOptions,
                 directory: Path) -> None:
        self.plan = plan
        self.options = options
        self.factory = factory
        self.directory = directory
        self.result = TrialResult(plan)
        self.ctx = RequestContext(project_id="dualpath-chaos")
        # the crash points' claim files; absent: not armed
        self.claims = {CRASH_AFTER_CREATE: directory / "crash-after-create",
                       CRASH_ON_CHECK: directory / "crash-on-check"}
        self.groups: list[WorkerProcesses] = []
        self.service: EngineService | None = None
        self.stack_id = ""
        self._start: dict[str, Any] = {}

    def note(self, text: str) -> None:
        self.result.what_happened.append(text)

    @property
    def engine(self) -> EngineService:
        assert self.service is not None
        return self.service

    # -- the trial -----------------------------------------------------------------------
    def run(self) -> TrialResult:
        started = time.monotonic()
        self.directory.mkdir(parents=True, exist_ok=True)
        url = self.factory.new(f"chaos_{self.plan.trial}_{uuid.uuid4().hex[:6]}")
        topic = f"dualpath-chaos-{uuid.uuid4().hex}"
        settings = write_config(self.directory / "dualpath.conf",
                                {**LIVENESS, **isolated_bus(topic)})
        files = [*self.options.config_files, str(settings)]
        self._start = dict(database_url=url, transport_url=self.options.transport_url,
                           topic=topic, config_files=files,
                           env={AFTER_CLOUD_CREATE: str(self.claims[CRASH_AFTER_CREATE]),
                                ON_CHECK: str(self.claims[CRASH_ON_CHECK])})
        convergence = self.options.path == "convergence"
        try:
            if convergence:
                self._workers(self.options.workers)
            settings_of_path: dict[str, Any] = {
                "transport_url": self.options.transport_url, "convergence_topic": topic,
                "convergence_local_workers": 0} if convergence else {}
            self.service = EngineService(new_conf(files, **{
                "database.connection": url, "convergence_engine": convergence,
                "poll_interval": LOOK, **settings_of_path}))
            self._story()
            self._check_workers_outlived_it()
            self.result.passed = True
        except Failed as exc:
            self.note(f"FAILED: {exc}")
        except Exception as exc:  # noqa: BLE001 - a trial that crashes is a failed trial
            self.note(f"ERROR: {type(exc).__name__}: {exc}")
        finally:
            if self.service is not None:
                self.service.stop()
            for group in self.groups:
                group.stop()
            dispose_connections(url)
            self.factory.drop(url)
            self.result.duration_s = time.monotonic() - started
        return self.result

    def _workers(self, count: int) -> None:
        self.groups.append(WorkerProcesses.start(
            count, log_dir=self.directory / f"workers-{len(self.groups)}", **self._start))

    def _story(self) -> None:
        svc, ctx, timeout = self.engine, self.ctx, self.options.stack_timeout

        def update(version: int) -> Callable[[], None]:
            return lambda: svc.update_stack(ctx, self.stack_id, template(version),
                                            timeout=timeout)

        def create() -> None:
            self.stack_id = svc.create_stack(ctx, f"chaos-{self.plan.trial}", template(1),
                                             disable_rollback=True, timeout=timeout)

        def delete() -> None:
            svc.delete_stack(ctx, self.stack_id)

        self._operation("create", create, again=update(1))
        self._operation("update", update(2), again=update(2))
        self._check_copies()
        self._operation("delete", delete, again=delete)
        self._check_nothing_left()

    def _operation(self, phase: str, start: Callable[[], None],
                   again: Callable[[], None]) -> None:
        disrupted = phase == self.plan.phase
        if disrupted and self.plan.mode in CRASHES:
            arm_crash_point(self.claims[self.plan.mode], self.plan.crash_on or "")
        began = time.monotonic()
        start()
        if disrupted:
            self._disrupt(began)
        status, reason = self._wait(phase)
        if status.endswith("_COMPLETE"):
            self.note(f"{phase}: {status}")
            return
        if not disrupted:
            raise Failed(f"{phase} ended {status}: {reason}")
        self.note(f"{phase}: {status} ({reason}); run again")
        again()
        status, reason = self._wait(f"{phase} run again")
        if not status.endswith("_COMPLETE"):
            raise Failed(f"{phase} run again ended {status}: {reason}")
        self.note(f"{phase} again: {status}")

    def _wait(self, what: str) -> tuple[str, str]:
        try:
            view = self.engine.wait_stack(self.ctx, self.stack_id,
                                          timeout=self.options.stack_timeout + GRACE)
        except WaitTimeout:
            self.result.stuck = True
            raise Failed(f"{what}: no terminal state within the stack timeout "
                         f"({self.options.stack_timeout}s) and {GRACE:.0f}s more") from None
        status, reason = view["stack_status"], view.get("status_reason") or ""
        if "timed out" in reason:  # it hung until the stack timeout ended it
            self.result.stuck = True
            raise Failed(f"{what}: hung until the stack timeout: {status} {reason}")
        return status, reason

    # -- the disruption ------------------------------------------------------------------
    def _alive(self) -> list[WorkerProcess]:
        return [w for g in self.groups for w in g.workers if w.process.poll() is None]

    def _disrupt(self, began: float) -> None:
        if self.plan.mode in CRASHES:
            victim = self._until_a_worker_crashes()
            if victim is None:
                return
            self.note(f"worker {victim.engine_id} died after the cloud created "
                      f"{self.plan.crash_on}, before the id was recorded"
                      if self.plan.mode == CRASH_AFTER_CREATE else
                      f"worker {victim.engine_id} died having taken the check of "
                      f"{self.plan.crash_on} off the bus, before its lock")
        elif self.plan.mode in RESTARTS.values():
            self._restart(began)
            return
        else:
            threading.Event().wait(max(0.0, began + (self.plan.kill_at or 0) - time.monotonic()))
            victim = self._victim()
            victim.kill()
            self.note(f"killed worker {victim.engine_id} at {time.monotonic() - began:.2f}s")
        self.result.killed = victim.engine_id
        self._workers(1)
        self.note("started a new worker")

    def _restart(self, began: float) -> None:
        if self.options.restarter is None:
            raise ValueError(f"{self.plan.describe()}: the run has no server it may restart")
        threading.Event().wait(max(0.0, began + (self.plan.kill_at or 0) - time.monotonic()))
        kind = "database" if self.plan.mode == RESTART_DATABASE else "broker"
        at = time.monotonic() - began
        down = self.options.restarter.restart(kind, self.plan.down_for or 0.0)
        self.result.restarted, self.result.unanswered_s = True, down
        self.note(f"restarted the {kind} at {at:.2f}s; it did not answer for {down:.2f}s")

    def _check_workers_outlived_it(self) -> None:
        """A restarted server must not take a worker with it: one that exited is gone
        for every later stack, which no check of this stack would see."""
        if self.plan.mode not in RESTARTS.values():
            return
        gone = [w for g in self.groups for w in g.workers if w.process.poll() is not None]
        if gone:
            raise Failed("worker(s) exited after the restart: " + ", ".join(
                f"{w.engine_id} (exit {w.process.returncode}, log {w.log_path})"
                for w in gone))

    def _until_a_worker_crashes(self) -> WorkerProcess | None:
        deadline = time.monotonic() + self.options.stack_timeout + GRACE
        while time.monotonic() < deadline:
            dead = [w for g in self.groups for w in g.workers if w.process.poll() is not None]
            if dead:
                return dead[0]
            status = self.engine.show_stack(self.ctx, self.stack_id)["stack_status"]
            if not status.endswith("_IN_PROGRESS"):
                break
            threading.Event().wait(LOOK)
        self.claims[self.plan.mode].unlink(missing_ok=True)
        self.note(f"the crash point ({self.plan.describe()}) was not reached")
        return None

    def _victim(self) -> WorkerProcess:
        """The worker that acted last on the stack (it may hold a lock, or a message), or
        one drawn from the trial's seed if none did yet."""
        alive = {w.engine_id: w for w in self._alive()}
        for event in reversed(self.engine.list_events(self.ctx, self.stack_id)):
            if event.get("engine_id") in alive:
                return alive[event["engine_id"]]
        return random.Random(f"{self.plan.seed}:victim").choice(list(alive.values()))

    # -- the checks ----------------------------------------------------------------------
    def _check_copies(self) -> None:
        copies = self.engine.cloud.copies(self.stack_id)
        known = {r["physical_id"] for r in self.engine.list_resources(self.ctx, self.stack_id)}
        there = {r.physical_id for r in self.engine.cloud.resources(self.stack_id)}
        extra = sum(max(0, copies.get(n, 0) - 1) for n in NAMES) + \
            sum(c for n, c in copies.items() if n not in NAMES)
        self.result.duplicated = max(extra, len(there - known))
        if self.result.duplicated or set(copies) != set(NAMES):
            raise Failed(f"after the update the cloud holds {copies}, "
                         f"{len(there - known)} that no resource knows")

    def _check_nothing_left(self) -> None:
        left = self.engine.cloud.resources()
        self.result.leaked = len(left)
        if left:
            raise Failed("after the delete the cloud still holds "
                         + ", ".join(f"{r.logical_name} {r.physical_id}" for r in left))
