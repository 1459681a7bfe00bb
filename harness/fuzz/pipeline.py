"""The few parts of the parity pipeline the fuzzer builds on, in one place: running one
scenario on one path (Execution), the snapshot observer, the expectation check, the
run's databases and registry, and the runner's assembly of one scenario's verdict. The
fuzzer uses nothing else of the harness, so this is the one module that follows it when
it moves."""

from __future__ import annotations

from harness.classify import classify, noise_paths, verdict
from harness.databases import DatabaseFactory
from harness.execute import OPERATIONS, Execution, PathRun, Settings
from harness.expectations import Failure, check
from harness.mutants import MUTANTS as HARNESS_MUTANTS
from harness.mutants import apply_once as apply_mutant
from harness.registry import Registry
from harness.runner import ENGINES, RunOptions, Unit, exit_code
from harness.runner import _scenario_result as scenario_result
from harness.runner import run as run_corpus
from harness.snapshot import Observer

__all__ = ["ENGINES", "HARNESS_MUTANTS", "OPERATIONS", "DatabaseFactory", "Execution",
           "Failure", "Observer", "PathRun", "Registry", "RunOptions", "Settings", "Unit",
           "apply_mutant", "check", "classify", "exit_code", "noise_paths", "run_corpus",
           "scenario_result", "verdict", "worker_processes"]


def worker_processes():  # noqa: ANN201 - the harness's worker-process helpers, lazily
    from harness.workers import WorkerProcesses, isolated_bus
    return WorkerProcesses, isolated_bus
