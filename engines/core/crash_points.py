"""Opt-in crash points, for chaos tests only: a process that has one armed kills itself
(SIGKILL, nothing cleaned up) at a chosen moment that a kill from outside could hit only by
luck, so a test can make the worst timing happen on purpose.

Off unless the environment arms them; ``dualpath chaos`` and its tests arm them in the
worker processes they start, never in an engine serving users. Each names a claim file
holding a resource name (empty: any resource); the process that claims it removes it, so
exactly one process dies, however many are armed and whatever is restarted later.

``DUALPATH_CRASH_AFTER_CLOUD_CREATE=<file>``: die right after the cloud made the named
resource's physical resource, before the engine recorded its id.

``DUALPATH_CRASH_ON_CHECK=<file>``: die right after taking the named resource's
check_resource message off the bus, before its lock is taken: the message is gone, and no
lock is left for the reaper to find.
"""

from __future__ import annotations

import os
import signal
from pathlib import Path

AFTER_CLOUD_CREATE = "DUALPATH_CRASH_AFTER_CLOUD_CREATE"
ON_CHECK = "DUALPATH_CRASH_ON_CHECK"


def arm(claim: Path, logical_name: str = "") -> None:
    """Write the claim file of a crash point (the environment names it)."""
    claim.write_text(logical_name, encoding="utf-8")


def arm_after_cloud_create(claim: Path, logical_name: str = "") -> dict[str, str]:
    """Arm the claim file; returns the environment that arms a process with it."""
    arm(claim, logical_name)
    return {AFTER_CLOUD_CREATE: str(claim)}


def _die_if_claimed(variable: str, logical_name: str) -> None:
    claim = os.environ.get(variable)
    if not claim:
        return
    try:
        wanted = Path(claim).read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        return  # not armed, or claimed already (by this process's crash or another's)
    if wanted and wanted != logical_name:
        return
    try:
        os.unlink(claim)  # atomic: of all the armed processes, one gets it
    except FileNotFoundError:
        return
    os.kill(os.getpid(), signal.SIGKILL)


def after_cloud_create(logical_name: str) -> None:
    """Called right after the cloud's create returned."""
    _die_if_claimed(AFTER_CLOUD_CREATE, logical_name)


def on_check(logical_name: str) -> None:
    """Called when a worker has taken a check of ``logical_name``, before anything else."""
    _die_if_claimed(ON_CHECK, logical_name)
