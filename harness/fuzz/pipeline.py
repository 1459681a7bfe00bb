"""The few parts of the parity pipeline the fuzzer builds on, in one place: running one
scenario on one path (Execution), the snapshot observer, the expectation check, the run's
databases and registry, and the runner's assembly of one scenario's verdict. The fuzzer
uses nothing else of the harness, so this is the one module that follows it when it moves.
"""

from __future__ import annotations

from engines.service import PATH_NAMES
from harness.experiment.divergence_registry import Registry
from harness.experiment.execute import Execution, PathRun, Settings
from harness.experiment.observation import Observer
from harness.experiment.runner import RunOptions, Unit, exit_code
from harness.experiment.runner import _scenario_result as scenario_result
from harness.experiment.runner import run as run_corpus
from harness.infra.databases import DatabaseFactory
from reports.verdicts import BAD_VERDICTS
from scenarios.steps import STEPS
from scenarios.steps.base import Failure
from scenarios.steps.expect import check

# what a fuzz case can be found guilty of ("flaky": a path that disagrees with itself)
FINDING_VERDICTS = frozenset(BAD_VERDICTS | {"flaky"})
OPERATIONS = frozenset(name for name, kind in STEPS.items() if kind.operation)

__all__ = ["FINDING_VERDICTS", "OPERATIONS", "PATH_NAMES", "STEPS", "DatabaseFactory",
           "Execution", "Failure", "Observer", "PathRun", "Registry", "RunOptions",
           "Settings", "Unit", "check", "exit_code", "run_corpus", "scenario_result"]
