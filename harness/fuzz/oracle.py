"""One generated scenario on every path it declares, each path ``repeat`` times, in a pool
of processes that lives for the whole campaign (starting one per case would cost more than
the case); the verdict is the runner's own, from the same normalise / diff / classify and
divergence registry as ``dualpath run``, with the invariants' failures on each path."""

from __future__ import annotations

import concurrent.futures as cf
import multiprocessing
import re
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.fuzz import pipeline
from harness.fuzz.invariants import PREFIX, WatchedExecution
from harness.fuzz.pipeline import DatabaseFactory, PathRun, Registry, RunOptions, Unit
from scenarios.loader import Scenario

BAD = pipeline.FINDING_VERDICTS
UNIT_TIMEOUT = 30.0  # s: a path run takes seconds (a step gives up after 10); this is a hang


@dataclass
class OracleOptions:
    engines: tuple[str, ...] = pipeline.PATH_NAMES
    repeat: int = 2
    database_url: str | None = None
    transport_url: str | None = None
    workers: int = 0
    jobs: int = 2
    mutant: str | None = None
    divergences: Path | None = None
    config_files: tuple[str, ...] = ()

    def run_options(self, root: Path) -> RunOptions:
        return RunOptions(scenario_root=root, divergences=self.divergences,
                          engines=self.engines, repeat=self.repeat,
                          database_url=self.database_url, transport_url=self.transport_url,
                          workers=self.workers, jobs=max(self.jobs, 2), mutant=self.mutant,
                          config_files=self.config_files)


def _execute(unit: Unit, factory: DatabaseFactory, options: OracleOptions) -> PathRun:
    """One path, one repeat, in a pool process (so a mutant never touches the caller):
    the runner's set-up of a scenario run, with the invariants watching."""
    if options.mutant and unit.engine == "convergence":
        from harness.fuzz.mutants import apply_once
        apply_once(options.mutant)
    url = factory.new(f"fuzz_{unit.scenario.name}_{unit.engine[0]}{unit.repeat}_"
                      f"{uuid.uuid4().hex[:6]}")
    remote = bool(options.workers) and unit.engine == "convergence"
    settings = pipeline.Settings(transport_url=options.transport_url,
                                 topic=f"dualpath-fuzz-{uuid.uuid4().hex}",
                                 local_workers=0 if remote else 1,
                                 config_files=options.config_files)
    workers = None
    try:
        if remote:
            from engines.processes import WorkerProcesses, isolated_bus
            bus = isolated_bus(settings.topic)
            settings.overrides.update(bus)
            workers = WorkerProcesses.start(count=options.workers, database_url=url,
                                      transport_url=options.transport_url or "",
                                      topic=settings.topic, options=bus,
                                      config_files=options.config_files)
        return WatchedExecution(unit.scenario, unit.engine, url, settings).run()
    finally:
        if workers is not None:
            workers.stop()
        factory.drop(url)


def generalize(path: str) -> str:
    """A difference path without the step and resource it was seen at: what kind of
    difference it is (``$.steps[4].resources.B.status`` -> ``resources.*.status``)."""
    path = re.sub(r"^\$\.steps\[\d+\]\.?", "", path)
    path = re.sub(r"\[\d+\]", "", path)
    parts = path.split(".")
    if parts and parts[0] in ("resources", "events", "reality", "outputs") and len(parts) > 1:
        parts[1] = "*"
    return ".".join(parts)


@dataclass
class Judgement:
    item: dict[str, Any]
    duration_s: float
    runs: dict[str, list[PathRun]] = field(default_factory=dict)

    @property
    def verdict(self) -> str:
        return self.item["verdict"]

    @property
    def bad(self) -> bool:
        return self.verdict in BAD

    def issues(self) -> list[tuple[str, str]]:
        """(path, what, at which kind of step) for everything that makes this a finding."""
        steps = self.item.get("steps") or []

        def at(index: Any) -> str:
            ok = isinstance(index, int) and 0 <= index < len(steps)
            return f" at {steps[index]['op']}" if ok else ""

        found: set[tuple[str, str]] = set()
        for engine, result in self.item["engines"].items():
            if result["status"] == "error":
                first = (result.get("error") or "error").splitlines()[0]
                found.add((engine, "error: " + first.split(":")[0]))
            for failure in result.get("failed_expectations") or []:
                check = failure["check"]
                what = check if check.startswith(PREFIX) else \
                    f"expectation: {check.split('.')[0]}"
                found.add((engine, what + at(failure.get("step"))))
        for diff in self.item.get("differences") or []:
            if diff["class"] not in ("noise", "expected"):
                index = re.match(r"^\$\.steps\[(\d+)\]", diff["path"])
                found.add(("both", f"{diff['class']}: {generalize(diff['path'])}"
                           + at(int(index[1]) if index else None)))
        return sorted(found)

    def signature(self) -> tuple[str, ...]:
        """What tells one finding from another, and what shrinking must keep: the verdict
        and its first cause (a crash before a broken invariant before a failed expectation
        before a difference), not where in the story it was seen nor what followed from it."""
        def rank(issue: tuple[str, str]) -> tuple[int, str, str]:
            order = ("error", PREFIX, "expectation", "unexpected", "flaky")
            kind = next((i for i, o in enumerate(order) if issue[1].startswith(o)), 9)
            return kind, issue[1], issue[0]
        issues = sorted(self.issues(), key=rank)
        return (self.verdict, *(f"{p} {w}" for p, w in issues[:1]))

    def paths(self) -> list[str]:
        return sorted({p for p, _ in self.issues()})


class Oracle:
    def __init__(self, options: OracleOptions) -> None:
        self.options = options
        self.registry = Registry.load(options.divergences)
        self.factory = DatabaseFactory.prepare(options.database_url)
        self._pool: cf.ProcessPoolExecutor | None = None

    def __enter__(self) -> Oracle:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _executor(self) -> cf.ProcessPoolExecutor:
        if self._pool is None:
            # spawn: the caller has threads (the progress display) that fork copies badly
            self._pool = cf.ProcessPoolExecutor(
                max_workers=self.options.jobs, mp_context=multiprocessing.get_context("spawn"))
        return self._pool

    def judge(self, scenario: Scenario) -> Judgement:
        started = time.perf_counter()
        units = [Unit(scenario, engine, r) for engine in scenario.engines
                 if engine in self.options.engines for r in range(self.options.repeat)]
        futures = {self._executor().submit(_execute, u, self.factory, self.options): u
                   for u in units}
        results: dict[tuple[str, str], list[PathRun]] = {}
        _, hung = cf.wait(futures, timeout=UNIT_TIMEOUT)
        if hung:
            self._kill()  # a hung run never ends on its own: its pool goes with it
        for future, unit in futures.items():
            try:
                result = future.result(timeout=0) if future not in hung else PathRun(
                    unit.engine, status="error", error=f"Hung: the {unit.engine} run did "
                    f"not finish within {UNIT_TIMEOUT:.0f}s")
            except Exception as exc:  # noqa: BLE001 - a dead worker is an error verdict
                result = PathRun(unit.engine, status="error",
                                 error=f"{type(exc).__name__}: {exc}")
                if isinstance(exc, cf.process.BrokenProcessPool):
                    self._kill()
            results.setdefault((scenario.id, unit.engine), []).append(result)
        item = pipeline.scenario_result(scenario, self.options.run_options(Path(".")),
                                        results, self.registry)
        runs = {engine: results.get((scenario.id, engine), []) for engine in scenario.engines}
        return Judgement(item, time.perf_counter() - started, runs)

    def _kill(self) -> None:
        """End the pool's processes now (shutdown would wait for a hung one forever);
        the next case starts a new pool."""
        if self._pool is None:
            return
        for process in list(getattr(self._pool, "_processes", {}).values()):
            process.kill()
        self._pool.shutdown(wait=False, cancel_futures=True)
        self._pool = None

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(cancel_futures=True)
            self._pool = None
        self.factory.close()
