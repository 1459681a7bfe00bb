"""Resource paths: how a step names a resource of a nested stack. ``db/R`` is resource R
of the nested stack that resource ``db`` owns (its physical id is that stack's id);
``group/0/A`` goes one level deeper. A plain name is a resource of the scenario's stack.
Heat forbids ``/`` in a resource name, so the separator is never ambiguous.

A path is resolved when the step runs, by walking the physical ids of the stack
resources down to the child stack that holds the last name: the nested stack may be
made, or replaced, by the operation the scenario is in."""

from __future__ import annotations

from typing import Any

SEPARATOR = "/"


def split(path: str) -> list[str]:
    return path.split(SEPARATOR)


def is_nested(path: str) -> bool:
    return SEPARATOR in path


def problem(path: str) -> str | None:
    """Why ``path`` is not a resource path, or None."""
    parts = split(path)
    if any(not part.strip() or part != part.strip() for part in parts):
        return (f"{path!r} is not a resource path: names separated by single '/', none "
                "empty or padded with spaces (e.g. db/R, group/0/A)")
    return None


def join(prefix: str, name: str) -> str:
    return f"{prefix}{SEPARATOR}{name}" if prefix else name


def resolve(run: Any, path: str) -> tuple[str, str] | None:
    """(the id of the stack holding the last name, that name), walking from the
    scenario's stack through the physical ids of the stack resources on the way; None
    while a nested stack on the way does not exist (yet)."""
    parts = split(path)
    stack_id = run.stack()
    for owner in parts[:-1]:
        rows = {r["name"]: r for r in run.service.list_resources(run.ctx, stack_id)}
        child = (rows.get(owner) or {}).get("physical_id")
        if not child:
            return None
        stack_id = child
    return stack_id, parts[-1]


def resolve_now(run: Any, path: str) -> tuple[str, str]:
    """As resolve, for a step that acts at once: an error naming the part missing."""
    found = resolve(run, path)
    if found is None:
        raise LookupError(f"resource path {path!r}: a nested stack on the way does not "
                          "exist now (its parent resource has no physical id)")
    return found
