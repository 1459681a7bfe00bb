"""Opt-in crash points, for chaos tests only: a process that has one armed kills itself
(SIGKILL, nothing cleaned up) at a chosen moment that a kill from outside could hit only by
luck, so a test can make the worst timing happen on purpose.

Off unless the environment arms it; ``dualpath chaos`` arms it in the worker processes it
starts, never in an engine serving users.

``DUALPATH_CRASH_AFTER_CLOUD_CREATE=<file>``: the first process to act on a create of the
resource named in ``<file>`` (empty: any resource) dies right after the cloud made the
physical resource and before the engine recorded its id. The file is removed by the
process that claims it, so exactly one process dies, however many are armed and whatever
is restarted later.
"""

from __future__ import annotations

import os
import signal
from pathlib import Path

AFTER_CLOUD_CREATE = "DUALPATH_CRASH_AFTER_CLOUD_CREATE"


def arm_after_cloud_create(claim: Path, logical_name: str = "") -> dict[str, str]:
    """Write the claim file; returns the environment that arms a process with it."""
    claim.write_text(logical_name, encoding="utf-8")
    return {AFTER_CLOUD_CREATE: str(claim)}


def after_cloud_create(logical_name: str) -> None:
    """Called right after the cloud's create returned; dies here when armed for it."""
    claim = os.environ.get(AFTER_CLOUD_CREATE)
    if not claim:
        return
    try:
        wanted = Path(claim).read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        return  # claimed already, by this process's crash or another's
    if wanted and wanted != logical_name:
        return
    try:
        os.unlink(claim)  # atomic: of all the armed processes, one gets it
    except FileNotFoundError:
        return
    os.kill(os.getpid(), signal.SIGKILL)
