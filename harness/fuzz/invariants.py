"""What must hold on each path after every operation settles, whatever the story: the
fuzzer's oracle beside the comparison of the two paths. Observed only through the public
service API and the cloud's read-only view, as the harness's snapshots are.

- ``converged``: a COMPLETE stack matches its current template (one complete copy of each
  resource, nothing extra, outputs resolved, every reference naming the current copy:
  harness.fuzz.references);
- ``complete-with-failed``: a stack is never COMPLETE while one of its resources is FAILED;
- ``deleted-leaves-nothing``: a deleted stack leaves nothing in the cloud;
- ``transitions-end``: every resource transition that started has ended (events);
- ``quiet-after-settle``: once an operation has finished, nothing changes the cloud until
  the next operation (a superseded or cancelled one that still writes);
- ``rollback-restores``: a rollback to the template the stack last completed on brings back
  the copies it replaced (harness.fuzz.restores)."""

from __future__ import annotations

import threading
from collections import defaultdict
from typing import Any

from engines.core.errors import NotFound
from harness.fuzz import pipeline
from harness.fuzz.pipeline import Execution, Failure, Observer, check
from harness.fuzz.references import reference_problems
from harness.fuzz.restores import Had, had, restore_problems

CONVERGED = "converged"
COMPLETE_WITH_FAILED = "complete-with-failed"
DELETED_LEAVES_NOTHING = "deleted-leaves-nothing"
TRANSITIONS_END = "transitions-end"
QUIET = "quiet-after-settle"
RESTORES = "rollback-restores"
INVARIANTS = {
    CONVERGED: "a COMPLETE stack is converged on its current template",
    COMPLETE_WITH_FAILED: "a stack is never COMPLETE while one of its resources is FAILED",
    DELETED_LEAVES_NOTHING: "a deleted stack leaves nothing in the cloud",
    TRANSITIONS_END: "every resource transition that starts also ends",
    QUIET: "nothing changes the cloud after an operation has finished",
    RESTORES: "a rollback brings back the copies it replaced",
}
QUIET_WINDOW = 0.2  # s, after the last step: a late write shows within a slow action's tick
PREFIX = "invariant:"


def open_transitions(events: list[dict[str, Any]], stack_name: str) -> dict[str, list[str]]:
    """Resource -> actions that started (X_IN_PROGRESS) and have not ended. A breakpoint's
    pause and release are not transitions; an action cancelled before it changed anything
    ends by going back to the state it came from ("... cancelled")."""
    started: dict[str, list[str]] = defaultdict(list)
    for event in events:
        name = event["resource_name"]
        if name == stack_name and event["resource_type"] == "OS::Heat::Stack":
            continue
        reason = event.get("reason") or ""
        if reason.startswith("paused until Hook") or (reason.startswith("Hook ")
                                                      and reason.endswith("cleared")):
            continue
        action, status = event["action"], event["status"]
        if status == "IN_PROGRESS":
            started[name].append(action)
        elif action in started[name]:
            started[name].reverse()
            started[name].remove(action)
            started[name].reverse()
        elif "cancelled" in reason and started[name]:
            started[name].pop()
    return {name: actions for name, actions in started.items() if actions}


class WatchedExecution(Execution):
    """The harness's Execution of one scenario on one path, with the invariants checked
    after every step that lets the stack settle. A broken invariant is a failed check of
    that step, so it takes the harness's own verdict (``failed``)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.violations: list[Failure] = []
        self._settled: tuple[int, int] | None = None  # (step, last cloud call id) when idle
        # the template the stack must now match, and the one a rollback goes back to; kept
        # from the operations and how they ended ("<nothing>": no resources at all)
        self.target, self.previous = "<nothing>", "<nothing>"
        # the template the stack holds, which a rollback of its next update returns to: a
        # create that rolled back leaves nothing, but keeps its template (as Heat's does)
        self.stored = "<nothing>"
        self._busy = False
        self._had: Had | None = None  # the stack at its last COMPLETE

    def run(self) -> Any:
        result = super().run()  # its _step, below, is where the invariants are checked
        if self.violations:
            result.failures.extend(self.violations)
            if result.status == "passed":
                result.status = "failed"
        return result

    def _violate(self, step: int, invariant: str, message: str) -> None:
        expected = {"invariant": INVARIANTS[invariant], "target": self.target}
        self.violations.append(Failure(step, PREFIX + invariant, expected, message,
                                       f"{self.engine}: {message}"))

    def _step(self, step: Any, result: Any) -> None:
        kind = pipeline.STEPS[step.op]
        if step.op not in ("expect", "mark"):
            self._check_quiet(step.index)
        super()._step(step, result)
        args = step.args if isinstance(step.args, dict) else {}
        accepted = not kind.operation or self.last_error is None
        if step.op in ("create", "update") and accepted:
            if not self._busy:  # superseding a running operation keeps its way back
                self.previous = self.stored if step.op == "update" else "<nothing>"
            self.target, self._busy = args["template"], True
            self.stored = args["template"]
        elif step.op in ("delete", "rollback") and accepted:
            self._busy = True
        settles = step.op == "wait" or (kind.operation and accepted
                                        and args.get("wait", True) is not False)
        if settles and self.stack_id is not None:
            self._after_settle(step.index)
        if step.index == len(self.scenario.steps) - 1 and self._settled:
            threading.Event().wait(QUIET_WINDOW)  # a window to see late writes in
            self._check_quiet(step.index)

    def _check_quiet(self, index: int) -> None:
        if self._settled is None:
            return
        settled_at, last = self._settled
        self._settled = None
        late = [c for c in self.service.cloud.calls() if c["id"] > last]
        if late:
            what = ", ".join(f"{c['action']} {c['logical_name']}" for c in late[:4])
            self._violate(settled_at, QUIET, f"the cloud changed after step {settled_at} had "
                          f"finished, before step {index}: {what}")

    def _after_settle(self, index: int) -> None:
        service, cloud = self.service, self.service.cloud
        try:
            view = service.show_stack(self.ctx, self.stack_id)
        except NotFound:
            view = None
        if view is not None and (view["status"] == "IN_PROGRESS" or view["busy"]):
            return  # a refused or timed-out wait: not settled, nothing to judge yet
        calls = cloud.calls()
        self._settled = (index, calls[-1]["id"] if calls else 0)
        self._busy = False
        status = view["stack_status"] if view else "DELETE_COMPLETE"
        if status.startswith("ROLLBACK_"):
            self.target = self.previous
            if self.previous != "<nothing>":
                self.stored = self.previous
        if status == "DELETE_COMPLETE":
            left = cloud.copies(self.stack_id)
            if left:
                self._violate(index, DELETED_LEAVES_NOTHING,
                              f"the stack is deleted and the cloud still has {left}")
            return
        snap, _ = Observer(service, self.ctx).take(index, "invariants", self.stack_id,
                                                   {"error": None})
        if status.endswith("_COMPLETE") and self.target == "<nothing>":
            # a create rolled back: nothing is left to converge on (outputs cannot resolve)
            left = cloud.copies(self.stack_id)
            if left:
                self._violate(index, CONVERGED, f"{status}: a rolled-back create left {left}")
        elif status.endswith("_COMPLETE"):
            failed = sorted(n for n, r in snap["resources"].items()
                            if r["status"].endswith("_FAILED"))
            if failed:
                self._violate(index, COMPLETE_WITH_FAILED,
                              f"the stack is {status} and {', '.join(failed)} FAILED")
            for problem in check(index, {"converged": True}, snap, last_error=None,
                                 before={}, marks={}, templates=self._template_names(),
                                 current_template=self.target):
                self._violate(index, CONVERGED, f"{status}: {problem.message}")
            for message in reference_problems(self.scenario.templates.get(self.target) or {},
                                              snap):
                self._violate(index, CONVERGED, f"{status}: {message}")
        events = service.list_events(self.ctx, self.stack_id)
        for name, actions in open_transitions(events, view["name"]).items():
            self._violate(index, TRANSITIONS_END, f"{name}: {', '.join(actions)} started and "
                          f"never ended (the stack is {status})")
        self._check_restored(index, status, events)

    def _check_restored(self, index: int, status: str, events: list[dict[str, Any]]) -> None:
        if not status.endswith("_COMPLETE"):
            return
        cloud = self.service.cloud
        now = cloud.resources(self.stack_id)
        if (status == "ROLLBACK_COMPLETE" and self._had is not None
                and self._had.template == self.target):
            for message in restore_problems(self._had, now, events):
                self._violate(index, RESTORES, message)
        self._had = had(self.target, now, len(events))

    def _template_names(self) -> dict[str, set[str]]:
        return {n: set(t.get("resources") or {}) for n, t in self.scenario.templates.items()}
