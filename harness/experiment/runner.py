"""A parity run: every scenario on every path it declares, each path run ``repeat`` times
(the repeats tell noise from flakiness), each run on a fresh database, in parallel
processes; then the differences are classified and the run file (docs/run-format.md) is
assembled."""

from __future__ import annotations

import concurrent.futures as cf
import datetime as dt
import multiprocessing
import os
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from engines.service import PATH_NAMES
from harness.experiment import cross, provenance
from harness.experiment.classify import (
    classify,
    flaky_differences,
    flaky_statuses,
    noise_paths,
    verdict,
)
from harness.experiment.divergence_registry import Registry
from harness.experiment.execute import CROSS, Execution, PathRun, Settings
from harness.experiment.normalize import mask_random, normalize
from harness.infra.databases import DatabaseFactory
from reports.runfile import SCHEMA_VERSION
from reports.verdicts import BAD_VERDICTS, EXIT_AGAINST, EXIT_OK, VERDICTS
from scenarios.loader import Scenario, corpus_root, load_corpus

CLASSES = ("unexpected", "expected", "noise", "flaky")


@dataclass
class RunOptions:
    scenario_root: Path
    divergences: Path | None = None
    pattern: str | None = None
    engines: tuple[str, ...] = PATH_NAMES
    repeat: int = 2
    database_url: str | None = None
    transport_url: str | None = None
    workers: int = 0
    jobs: int = field(default_factory=lambda: os.cpu_count() or 1)
    mutant: str | None = None  # harness.selftest.mutants: prove a broken path is caught
    config_files: tuple[str, ...] = ()
    # also a cross run per scenario: legacy, moved onto convergence, on (harness/experiment/cross)
    cross_path: bool = False


@dataclass(frozen=True)
class Unit:
    scenario: Scenario
    engine: str
    repeat: int


def _execute(unit: Unit, factory: DatabaseFactory, options: RunOptions) -> PathRun:
    """One scenario, one path, one repeat: runs in a pool process."""
    if options.mutant and unit.engine == "convergence":
        from harness.selftest import mutants
        mutants.apply_once(options.mutant)
    label = f"{unit.scenario.id.replace('/', '_')}_{unit.engine[0]}{unit.repeat}_" \
            f"{uuid.uuid4().hex[:6]}"
    url = factory.new(label)
    workers = None
    # a cross run ends on convergence: its work there is done by the workers too
    remote = bool(options.workers) and unit.engine in ("convergence", CROSS)
    settings = Settings(transport_url=options.transport_url,
                        topic=f"dualpath-run-{uuid.uuid4().hex}",
                        local_workers=0 if remote else 1, config_files=options.config_files)
    try:
        if remote:
            from engines.processes import WorkerProcesses, isolated_bus
            # a bus of its own on the shared broker, deleted when the run's workers go
            bus = isolated_bus(settings.topic)
            settings.overrides.update(bus)
            workers = WorkerProcesses.start(count=options.workers, database_url=url,
                                            transport_url=options.transport_url or "",
                                            topic=settings.topic, options=bus,
                                            config_files=options.config_files)
        return Execution(unit.scenario, unit.engine, url, settings).run()
    finally:
        if workers is not None:
            workers.stop()
        factory.drop(url)


def plan(scenarios: list[Scenario], options: RunOptions) -> list[Unit]:
    units = []
    for scenario in scenarios:
        for engine in scenario.engines:
            if engine in options.engines:
                units.extend(Unit(scenario, engine, r) for r in range(options.repeat))
        if options.cross_path and cross.skip_reason(scenario, options.engines) is None:
            units.append(Unit(scenario, CROSS, 0))  # once: compared, not repeated for noise
    return units


def run(options: RunOptions, progress: Callable[[Unit, PathRun], None] | None = None,
        planned: Callable[[int], None] | None = None) -> dict[str, Any]:
    if options.repeat < 1 or options.jobs < 1:
        raise ValueError("--repeat and -j must be at least 1")
    if options.workers:
        from engines.processes import transport_problem
        problem = transport_problem(options.transport_url)
        if problem:
            raise ValueError(f"--workers needs --transport-url rabbit://...: {problem}")
    if options.mutant:
        from harness.selftest.mutants import MUTANTS
        if options.mutant not in MUTANTS:
            raise ValueError(f"unknown mutant {options.mutant!r}; one of {', '.join(MUTANTS)}")
        if options.jobs == 1:
            raise ValueError("a mutant needs -j 2 or more: it must not outlive the run")
    unknown = set(options.engines) - set(PATH_NAMES)
    if unknown:
        raise ValueError(f"unknown engine path(s) {sorted(unknown)}; "
                         f"use {', '.join(PATH_NAMES)}")
    scenarios = load_corpus(options.scenario_root, options.pattern)
    if not scenarios:
        raise ValueError(f"no scenario in {options.scenario_root} matches "
                         f"{options.pattern or '*'}")
    registry = Registry.load(options.divergences)
    started_at, started = dt.datetime.now(dt.UTC), time.perf_counter()
    factory = DatabaseFactory.prepare(options.database_url)
    try:
        migration_check = factory.verify()
        results: dict[tuple[str, str], list[PathRun]] = {}
        units = plan(scenarios, options)
        if planned:
            planned(len(units))
        for unit, result in _run_units(units, factory, options):
            results.setdefault((unit.scenario.id, unit.engine), []).append(result)
            if progress:
                progress(unit, result)
    finally:
        factory.close()
    items = [_scenario_result(s, options, results, registry) for s in scenarios]
    finished = time.perf_counter()
    return {
        "schema_version": SCHEMA_VERSION,
        "kind": "corpus",
        "tool": {"name": "dualpath", "version": provenance.package_version()},
        "run": {
            "id": str(uuid.uuid4()), "started_at": started_at.isoformat(),
            "finished_at": dt.datetime.now(dt.UTC).isoformat(),
            "duration_s": round(finished - started, 3),
            "database": factory.backend,
            "transport": "rabbit" if (options.transport_url or "").startswith("rabbit")
            else "in-process",
            "workers": options.workers, "repeat": options.repeat, "jobs": options.jobs,
            "engines": list(options.engines), "scenario_root": str(options.scenario_root),
            "divergences_file": str(options.divergences) if options.divergences else None,
            "filter": options.pattern, "migrations": migration_check,
            "mutant": options.mutant, "cross_path": options.cross_path,
            "commit": provenance.commit_info(),
            "config": provenance.describe(
                backend=factory.backend, database_url=options.database_url,
                transport_url=options.transport_url, workers=options.workers,
                repeat=options.repeat, jobs=options.jobs, engines=list(options.engines),
                scenarios=provenance.scenario_set(scenarios, options.scenario_root,
                                                  options.pattern, corpus_root())),
        },
        "scenarios": items,
        "registry": registry.to_json(),
        "summary": _summary(items, registry),
    }


def _run_units(units: list[Unit], factory: DatabaseFactory, options: RunOptions):  # noqa: ANN202
    if options.jobs == 1:
        for unit in units:
            yield unit, _execute(unit, factory, options)
        return
    # spawn: the parent may have threads (the progress bar), which fork would copy badly
    context = multiprocessing.get_context("spawn")
    with cf.ProcessPoolExecutor(max_workers=options.jobs, mp_context=context) as pool:
        futures = {pool.submit(_execute, unit, factory, options): unit for unit in units}
        for future in cf.as_completed(futures):
            unit = futures[future]
            try:
                yield unit, future.result()
            except Exception as exc:  # noqa: BLE001 - a dead worker is an error verdict
                yield unit, PathRun(unit.engine, status="error",
                                    error=f"{type(exc).__name__}: {exc}")


def _scenario_result(scenario: Scenario, options: RunOptions,
                     results: dict[tuple[str, str], list[PathRun]],
                     registry: Registry) -> dict[str, Any]:
    engines: dict[str, Any] = {}
    normalized: dict[str, list[list[dict[str, Any]]]] = {}
    masked: dict[str, list[list[dict[str, Any]]]] = {}
    noise_items: list[dict[str, Any]] = []
    flaky_items: list[dict[str, Any]] = []
    for engine in scenario.engines:
        if engine not in options.engines:
            continue
        runs = results.get((scenario.id, engine), [])
        normalized[engine] = [normalize(r.snapshots) for r in runs]
        masked[engine] = [mask_random(n) for n in normalized[engine]]
        if all(r.status != "error" for r in runs):
            flaky = flaky_differences(engine, masked[engine])
            flaky += flaky_statuses(engine, [r.status for r in runs])
            unsteady = {f["path"] for f in flaky}
            noise_items += [{"path": p, "engine": engine}
                            for p in sorted(noise_paths(normalized[engine]) - unsteady)]
            flaky_items += flaky
        first = next((r for r in runs if r.status == "error"), None) or \
            next((r for r in runs if r.status == "failed"), None) or (runs[0] if runs else None)
        durations = [round(r.duration_s, 4) for r in runs]
        engines[engine] = {
            "status": first.status if first else "error",
            "duration_s": round(sum(durations) / len(durations), 4) if durations else 0.0,
            "durations_s": durations,
            "failed_expectations": [f.to_json() for f in first.failures] if first else [],
            "error": first.error if first else "not run",
            "snapshots": normalized[engine][0] if normalized[engine] else [],
        }
    differences: list[dict[str, Any]] = []
    if all(e in normalized and normalized[e] for e in PATH_NAMES) and \
            all(engines[e]["status"] != "error" for e in PATH_NAMES):
        registry.note_ran(scenario.id)
        differences = classify(scenario.id, normalized["legacy"][0],
                               normalized["convergence"][0], registry,
                               masked=(masked["legacy"][0], masked["convergence"][0]))
    counts = {k: sum(1 for d in differences if d["class"] == k)
              for k in ("unexpected", "expected", "noise")}
    counts["flaky"] = len(flaky_items)
    extra: dict[str, Any] = {}
    if options.cross_path:
        extra["cross"] = _cross_result(scenario, options, results, normalized, engines)
    return {
        "id": scenario.id, "group": scenario.group, "name": scenario.name,
        "description": scenario.description, "tags": list(scenario.tags),
        "declared_engines": list(scenario.engines),
        "verdict": verdict({e: v["status"] for e, v in engines.items()},
                           list(scenario.engines), differences, flaky=bool(flaky_items)),
        "steps": [{"index": s.index, "op": s.op, "args": s.args} for s in scenario.steps],
        "engines": engines, "differences": differences, "noise": noise_items,
        "flaky": flaky_items, "counts": counts, **extra,
    }


def _cross_result(scenario: Scenario, options: RunOptions,
                  results: dict[tuple[str, str], list[PathRun]],
                  normalized: dict[str, list[list[dict[str, Any]]]],
                  engines: dict[str, Any]) -> dict[str, Any]:
    reason = cross.skip_reason(scenario, options.engines)
    runs = results.get((scenario.id, CROSS), [])
    if reason is not None or not runs:
        return cross.skipped_block(reason or "not run")
    pure = {e: (normalized[e][0] if normalized.get(e) and engines[e]["status"] != "error"
                else None) for e in PATH_NAMES}
    # a registry of its own: the pure paths' counts of explained differences stay theirs
    registry = Registry.load(options.divergences)
    return cross.compare(scenario.id, runs[0], pure["legacy"], pure["convergence"], registry)


def _summary(items: list[dict[str, Any]], registry: Registry) -> dict[str, Any]:
    summary: dict[str, Any] = {"scenarios": len(items)}
    for name in VERDICTS:
        summary[name] = sum(1 for i in items if i["verdict"] == name)
    summary["differences"] = {k: sum(i["counts"][k] for i in items) for k in CLASSES}
    summary["stale_entries"] = len(registry.stale())
    if (crossed := cross.summary(items)) is not None:
        summary["cross"] = crossed
    summary["duration_s"] = {e: round(sum(sum(i["engines"][e]["durations_s"])
                                          for i in items if e in i["engines"]), 3)
                             for e in PATH_NAMES}
    groups: dict[str, dict[str, Any]] = {}
    for item in items:
        group = groups.setdefault(item["group"], {"scenarios": 0, "engines": set()})
        group["scenarios"] += 1
        group["engines"].update(item["engines"])
    summary["groups"] = {g: {"scenarios": v["scenarios"], "engines": sorted(v["engines"])}
                         for g, v in sorted(groups.items())}
    return summary


def exit_code(run_data: dict[str, Any]) -> int:
    """0 when every verdict is parity, an expected divergence or a path-specific pass;
    1 for an unexpected divergence, a flaky path, a failure or an error."""
    bad = any(i["verdict"] in BAD_VERDICTS
              or (i.get("cross") or {}).get("verdict") in BAD_VERDICTS
              for i in run_data["scenarios"])
    return EXIT_AGAINST if bad else EXIT_OK
