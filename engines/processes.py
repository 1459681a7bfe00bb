"""The engine's processes, as callers start and stop them: convergence worker processes
(``dualpath worker``) for a run, a test or an operator, and what they need of the message
bus, and the crash point a chaos run arms in them (engines/core/crash_points.py). The
implementation is the convergence path's (engines/convergence/processes.py); this is the
public face the harness and tests use."""

from __future__ import annotations

from engines.convergence.processes import (
    WorkerProcess,
    WorkerProcesses,
    WorkerStartError,
    broker_problem,
    isolated_bus,
    write_config,
)
from engines.convergence.worker_service import transport_problem
from engines.core.crash_points import AFTER_CLOUD_CREATE, ON_CHECK, arm_after_cloud_create
from engines.core.crash_points import arm as arm_crash_point

__all__ = ["AFTER_CLOUD_CREATE", "ON_CHECK", "WorkerProcess", "WorkerProcesses",
           "WorkerStartError", "arm_after_cloud_create", "arm_crash_point", "broker_problem",
           "isolated_bus", "transport_problem", "write_config"]
