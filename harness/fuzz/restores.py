"""A rollback brings back what it replaced: when a rollback returns a stack to the template
it last completed on, a resource whose copy from then still exists, unharmed, is that copy
again -- not a new one made beside it (Heat: legacy swaps the backup stack's copy back;
convergence picks the row of the template it rolls back to).

A new copy is right where the old one could not come back: before the new one was made,
the old one began to be deleted (the update removed it), failed or was cancelled (Heat
replaces a FAILED resource); or what it must be now differs from what it was (a resource
it refers to was made anew). The stack's events, in order, tell which came first."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from engines.observe import PhysicalCopy


@dataclass(frozen=True)
class Had:
    """What the stack was at its last COMPLETE: its template, the cloud's copies then, and
    how many events it had (what came later is the operation's)."""

    template: str
    copies: dict[str, PhysicalCopy]  # logical name -> the copy standing for it then
    events_seen: int


def had(template: str, copies: Iterable[PhysicalCopy], events_seen: int) -> Had:
    """The record of a COMPLETE stack; a name with two copies keeps none (no claim)."""
    by_name: dict[str, list[PhysicalCopy]] = {}
    for copy in copies:
        by_name.setdefault(copy.logical_name, []).append(copy)
    return Had(template, {n: c[0] for n, c in by_name.items() if len(c) == 1}, events_seen)


def _harmed_before_new(old: str, new: str, events: list[dict[str, Any]]) -> bool | None:
    """Whether the old copy was deleted, failed or cancelled before the new copy first
    appears in ``events``; None if the new copy never appears (nothing to judge by)."""
    harmed = False
    for event in events:
        if event.get("physical_id") == new:
            return harmed
        if event.get("physical_id") != old:
            continue
        reason = (event.get("reason") or "").lower()
        if (event["status"] == "FAILED" or event["action"] == "DELETE"
                or "cancel" in reason or "interrupt" in reason):
            harmed = True
    return None


def restore_problems(before: Had, now: Iterable[PhysicalCopy],
                     events: list[dict[str, Any]]) -> list[str]:
    """What a rollback to ``before.template`` made anew although it could have brought it
    back; ``events`` are the stack's, all of them."""
    later = events[before.events_seen:]
    problems = []
    for copy in now:
        old = before.copies.get(copy.logical_name)
        if old is None or old.physical_id == copy.physical_id:
            continue
        if old.type != copy.type or old.properties != copy.properties:
            continue  # the old copy is not what the resource must be now
        if _harmed_before_new(old.physical_id, copy.physical_id, later) is not False:
            continue
        problems.append(f"{copy.logical_name}: the rollback made a new copy ({copy.physical_id})"
                        f" beside its old one ({old.physical_id}), which it should have "
                        "brought back")
    return problems
