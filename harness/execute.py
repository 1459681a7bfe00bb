"""Running one scenario on one path: every step through engines.service, a snapshot after
each, expectations checked. The engine is a fresh EngineService on a database of its own."""

from __future__ import annotations

import time
import traceback
from dataclasses import dataclass, field
from typing import Any

from engines.core import config
from engines.core.context import RequestContext
from engines.core.db import Database
from engines.core.db import dispose as dispose_engine
from engines.core.errors import DualpathError
from engines.core.reality import Reality
from engines.service import EngineService
from harness.expectations import Failure, check, is_error
from harness.snapshot import Observer

OPERATIONS = ("create", "update", "delete", "rollback")
DEFAULT_TIMEOUT = 60.0


@dataclass
class PathRun:
    engine: str
    status: str = "passed"  # passed | failed | error
    duration_s: float = 0.0
    snapshots: list[dict[str, Any]] = field(default_factory=list)
    failures: list[Failure] = field(default_factory=list)
    error: str | None = None


@dataclass
class Settings:
    """How the engine under test is set up (the harness's pass-through options)."""

    transport_url: str | None = None
    topic: str = "dualpath-worker"
    local_workers: int = 1
    poll_interval: float = 0.01
    overrides: dict[str, Any] = field(default_factory=dict)
    config_files: tuple[str, ...] = ()  # the user's --config-file, under the run's settings


def _resolve_env(scenario: Any, value: Any) -> Any:
    if isinstance(value, str):
        return scenario.environments[value]
    return value


class Execution:
    def __init__(self, scenario: Any, engine: str, database_url: str,
                 settings: Settings) -> None:
        self.scenario = scenario
        self.engine = engine
        self.url = database_url
        self.settings = settings
        self.ctx = RequestContext(project_id="dualpath-scenario")
        self.stack_id: str | None = None
        self.last_error: str | None = None
        self.history: list[str] = []  # templates of the operations that were accepted
        self.marks: dict[str, dict[str, str | None]] = {}
        self.before: dict[str, str | None] = {}

    def _conf(self) -> Any:
        s = self.settings
        values: dict[str, Any] = {
            "database.connection": self.url,
            "convergence_engine": self.engine == "convergence",
            "poll_interval": s.poll_interval, "heartbeat_interval": 0.5,
            "service_stale_after": 5.0, "convergence_topic": s.topic,
            "convergence_local_workers": s.local_workers,
        }
        if s.transport_url:
            values["transport_url"] = s.transport_url
        values.update(s.overrides)
        return config.new_conf(list(s.config_files), **values)

    def run(self) -> PathRun:
        result = PathRun(self.engine)
        started = time.perf_counter()
        service: EngineService | None = None
        try:
            service = EngineService(self._conf())
            reality = Reality(Database(self.url))
            observer = Observer(service, reality, self.ctx)
            started = time.perf_counter()
            for step in self.scenario.steps:
                if step.op in OPERATIONS:
                    self.before = observer.physical_ids()
                outcome = self._step(service, reality, step)
                message = outcome.pop("message", None)
                waited = step.args.get("resource") if step.op == "wait_for" else None
                args = step.args if isinstance(step.args, dict) else {}
                settles = step.op in ("wait", "wait_for", "expect") or (
                    step.op in OPERATIONS and args.get("wait", True) is not False)
                snap, recorded = observer.take(step.index, step.op, self.stack_id, outcome,
                                               waited_for=waited, settles=settles)
                expected_error = self._for_path(step.args.get("expect_error")
                                                if isinstance(step.args, dict) else None)
                if step.op in OPERATIONS and not is_error(outcome["error"], expected_error):
                    result.failures.append(Failure(
                        step.index, "expect_error", expected_error, outcome["error"],
                        message or f"the {step.op} returned {outcome['error'] or 'no error'}"))
                if step.op == "expect":
                    expect = dict(step.args)
                    if "error" in expect:
                        expect["error"] = self._for_path(expect["error"])
                    result.failures.extend(check(
                        step.index, expect, snap, last_error=self.last_error,
                        before=self.before, marks=self.marks,
                        templates={n: set(t.get("resources") or {})
                                   for n, t in self.scenario.templates.items()},
                        current_template=self._template_for(snap)))
                elif step.op == "mark":
                    self.marks[step.args if isinstance(step.args, str)
                               else step.args["name"]] = observer.physical_ids()
                result.snapshots.append(recorded)
            # the steps only: starting and stopping the engine is not the path's work
            result.duration_s = time.perf_counter() - started
            if result.failures:
                result.status = "failed"
        except Exception as exc:  # noqa: BLE001 - a crash is a verdict, not a harness crash
            result.status = "error"
            result.error = "".join(traceback.format_exception_only(exc)).strip()
            result.error += "\n" + "".join(traceback.format_tb(exc.__traceback__)[-3:])
            result.error += self._state(service)
        finally:
            if service is not None:
                service.stop()
            dispose_engine(self.url)
            if not result.duration_s:
                result.duration_s = time.perf_counter() - started
        return result

    def _step(self, service: EngineService, reality: Reality, step: Any) -> dict[str, Any]:
        op, args = step.op, step.args if isinstance(step.args, dict) else {}
        timeout = float(args.get("timeout") or DEFAULT_TIMEOUT)
        if op in OPERATIONS:
            self.last_error = None
            try:
                self._operate(service, op, args)
            except DualpathError as exc:
                # a refused operation is an outcome to compare, not a crash
                self.last_error = type(exc).__name__
                return {"error": self.last_error, "message": str(exc)}
            if args.get("wait", True) and self.stack_id:
                service.wait_stack(self.ctx, self.stack_id, timeout=timeout)
            return {"error": None}
        if op == "wait":
            service.wait_stack(self.ctx, self._stack(), timeout=timeout)
        elif op == "wait_for":
            service.wait_resource(self.ctx, self._stack(), args["resource"],
                                  status=args.get("status"), hook=args.get("hook"),
                                  timeout=timeout)
        elif op == "signal":
            service.signal_hook(self.ctx, self._stack(), args["resource"], args["hook"])
        elif op == "fault":
            reality.inject_fault(args["resource"], args["action"],
                                 times=int(args.get("times", 1)),
                                 latency=float(args.get("latency") or 0.0))
        return {"error": None}

    def _for_path(self, value: Any) -> Any:
        """An expectation may differ per path: {legacy: X, convergence: Y}."""
        if isinstance(value, dict) and set(value) <= {"legacy", "convergence"}:
            return value.get(self.engine)
        return value

    def _state(self, service: EngineService | None) -> str:
        """Where the stack was when the run broke: what a person debugging needs first."""
        if service is None or self.stack_id is None:
            return ""
        try:
            view = service.show_stack(self.ctx, self.stack_id)
            rows = service.list_resources(self.ctx, self.stack_id)
        except Exception as exc:  # noqa: BLE001
            return f"\n(stack state unavailable: {exc})"
        resources = ", ".join(
            f"{r['name']}={r['resource_status']}"
            + (f"(paused at {','.join(r['hooks_pending'])})" if r["hooks_pending"] else "")
            for r in rows)
        return (f"\nstack {view['stack_status']} ({view['status_reason']}); "
                f"resources: {resources or 'none'}")

    def _template_for(self, snap: dict[str, Any]) -> str | None:
        """The template the stack should now match: after a rollback, the one before the
        last update (none at all after a create was rolled back)."""
        status = (snap.get("stack") or {}).get("status", "")
        if status.startswith("ROLLBACK_"):
            return self.history[-2] if len(self.history) >= 2 else "<nothing>"
        return self.history[-1] if self.history else None

    def _stack(self) -> str:
        if self.stack_id is None:
            raise RuntimeError("this step needs a stack, and no create has succeeded")
        return self.stack_id

    def _operate(self, service: EngineService, op: str, args: dict[str, Any]) -> None:
        template = self.scenario.templates.get(args.get("template", ""), None)
        environment = _resolve_env(self.scenario, args.get("environment"))
        kwargs: dict[str, Any] = {}
        if "disable_rollback" in args:
            kwargs["disable_rollback"] = bool(args["disable_rollback"])
        if op == "create":
            self.stack_id = service.create_stack(
                self.ctx, self.scenario.name, template, environment,
                args.get("parameters"), **kwargs)
            self.history.append(args.get("template", ""))
        elif op == "update":
            service.update_stack(self.ctx, self._stack(), template, environment,
                                 args.get("parameters"), **kwargs)
            self.history.append(args.get("template", ""))
        elif op == "delete":
            service.delete_stack(self.ctx, self._stack())
        else:
            service.rollback_stack(self.ctx, self._stack())
