"""What one chaos trial does, drawn from the run's seed and the trial's number alone, so
that a trial can be run again as it was: which operation is disrupted, how, and when.

Every trial takes one stack through create, an update with replacements and a delete. One
of the three is disrupted by a SIGKILL of a worker process, either at a moment drawn from
the operation's expected span (``kill``: the victim is the worker that acted last), or,
for a create or an update, by the worker that is about to record a physical resource the
cloud just made (``crash-after-create``: the window a kill from outside hits only by luck).
"""

from __future__ import annotations

import random
from dataclasses import asdict, dataclass
from typing import Any

PHASES = ("create", "update", "delete")
KILL, CRASH_AFTER_CREATE = "kill", "crash-after-create"
# a server the engine and its workers use stops and starts again, down for a drawn span
RESTART_DATABASE, RESTART_BROKER = "restart-database", "restart-broker"
RESTARTS = {"database": RESTART_DATABASE, "broker": RESTART_BROKER}
DOWN_FOR = (0.5, 3.0)  # seconds a restarted server stays down, at least and at most
# a worker dies having taken a resource's check off the bus, before its lock: not drawn
# (the run's figures were measured without it), a plan of its own for tests and replays
CRASH_ON_CHECK = "crash-on-check"
CRASHES = (CRASH_AFTER_CREATE, CRASH_ON_CHECK)
WAIT = 0.4  # seconds each resource action takes: long enough to be caught in the middle

# A <- B <- D, C <- D: two levels of dependency and a resource beside them
NAMES = ("A", "B", "C", "D")
_REQUIRES = {"B": ["A"], "D": ["B", "C"]}
# the create and the delete each run three levels deep; the update replaces A and C,
# updates B in place, leaves D, then deletes the old A and C
SPAN = {"create": 3 * WAIT, "update": 3 * WAIT, "delete": 3 * WAIT}
# what an update creates (the new copies), where a crash after a create can happen
CREATED_BY = {"create": NAMES, "update": ("A", "C")}

def template(version: int) -> dict[str, Any]:
    """The stack at ``version`` 1 or 2 (A and C replaced, B updated in place)."""
    waits = {"create": WAIT, "update": WAIT, "delete": WAIT}
    resources: dict[str, Any] = {}
    for name in NAMES:
        props: dict[str, Any] = {"value": f"{name.lower()}{version if name == 'B' else 1}",
                                 "action_wait_secs": waits}
        if name in ("A", "C"):
            props["update_replace_value"] = str(version)
        resources[name] = {"type": "OS::Heat::TestResource", "properties": props,
                           **({"depends_on": _REQUIRES[name]} if name in _REQUIRES else {})}
    return {"heat_template_version": "2015-04-30", "resources": resources}

@dataclass(frozen=True)
class TrialPlan:
    trial: int
    seed: str  # "<run seed>:<trial>": what the trial's choices are drawn from
    phase: str  # the operation disrupted
    mode: str  # KILL, CRASH_AFTER_CREATE or CRASH_ON_CHECK
    kill_at: float | None  # seconds after the operation started (KILL, restarts)
    crash_on: str | None  # the resource the victim dies on (CRASHES)
    down_for: float | None = None  # seconds the server stays down (restarts)

    @classmethod
    def draw(cls, run_seed: int, trial: int, restarts: tuple[str, ...] = ()) -> TrialPlan:
        """``restarts`` (server kinds, of RESTARTS): every trial restarts one of them
        instead of killing a worker."""
        seed = f"{run_seed}:{trial}"
        rng = random.Random(seed)
        phase = rng.choice(PHASES)
        if restarts:
            mode = RESTARTS[rng.choice(sorted(restarts))]
            return cls(trial, seed, phase, mode, round(rng.uniform(0.05, SPAN[phase]), 3),
                       None, round(rng.uniform(*DOWN_FOR), 2))
        # one in three of the creates and updates dies in the cloud-call window
        if phase in CREATED_BY and rng.random() < 1 / 3:
            return cls(trial, seed, phase, CRASH_AFTER_CREATE, None,
                       rng.choice(CREATED_BY[phase]))
        return cls(trial, seed, phase, KILL, round(rng.uniform(0.05, SPAN[phase]), 3), None)

    def describe(self) -> str:
        if self.mode == CRASH_AFTER_CREATE:
            return f"{self.phase}: crash after the cloud created {self.crash_on}"
        if self.mode == CRASH_ON_CHECK:
            return f"{self.phase}: crash on taking the check of {self.crash_on}"
        if self.mode in RESTARTS.values():
            server = "database" if self.mode == RESTART_DATABASE else "broker"
            return (f"{self.phase}: {server} restarted at {self.kill_at:.2f}s, down "
                    f"{self.down_for:.1f}s")
        return f"{self.phase}: kill at {self.kill_at:.2f}s"

    def to_json(self) -> dict[str, Any]:
        return asdict(self)
