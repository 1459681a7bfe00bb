"""Checking a scenario's ``expect`` step against a (raw) snapshot."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from engines.core import errors as engine_errors


@dataclass
class Failure:
    step: int
    check: str
    expected: Any
    actual: Any
    message: str

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def is_error(actual: str | None, expected: str | None) -> bool:
    """An expected error class matches itself and its subclasses (PropertyError is a
    ValidationError)."""
    if expected is None or actual is None:
        return expected == actual
    want = getattr(engine_errors, expected, None)
    got = getattr(engine_errors, actual, None)
    if isinstance(want, type) and isinstance(got, type):
        return issubclass(got, want)
    return actual == expected


def check(step: int, expect: dict[str, Any], snap: dict[str, Any], *,
          last_error: str | None, before: dict[str, str | None],
          marks: dict[str, dict[str, str | None]],
          templates: dict[str, set[str]], current_template: str | None) -> list[Failure]:
    failures: list[Failure] = []

    def fail(what: str, expected: Any, actual: Any, message: str) -> None:
        failures.append(Failure(step, what, expected, actual, message))

    stack = snap.get("stack")
    resources = snap.get("resources", {})
    if "stack" in expect:
        actual = stack["status"] if stack else None
        if actual != expect["stack"]:
            reason = f" ({stack['reason']})" if stack and stack.get("reason") else ""
            fail("stack", expect["stack"], actual, f"stack is {actual}{reason}")
    for name, status in (expect.get("resources") or {}).items():
        actual = resources.get(name, {}).get("status")
        if actual != status:
            fail(f"resources.{name}", status, actual, f"resource {name} is {actual}")
    for name, value in (expect.get("outputs") or {}).items():
        actual = snap.get("outputs", {}).get(name)
        if actual != value:
            fail(f"outputs.{name}", value, actual, f"output {name} is {actual!r}")
    reality = snap.get("reality", {})
    for name, count in (expect.get("reality") or {}).items():
        actual = sum(reality.values()) if name == "count" else reality.get(name, 0)
        if actual != count:
            what = "resources" if name == "count" else f"copies of {name}"
            fail(f"reality.{name}", count, actual, f"the cloud has {actual} {what}")
    if "error" in expect and not is_error(last_error, expect["error"]):
        fail("error", expect["error"], last_error,
             f"the operation returned {last_error or 'no error'}")
    reference = marks[expect["since"]] if expect.get("since") else before
    now = {n: r.get("physical_id") for n, r in resources.items()}
    for name in expect.get("replaced") or []:
        if now.get(name) is None or now.get(name) == reference.get(name):
            fail(f"replaced.{name}", "a new physical resource", "the same one",
                 f"{name} was not replaced")
    for name in expect.get("unchanged") or []:
        if now.get(name) is None or now.get(name) != reference.get(name):
            fail(f"unchanged.{name}", "the same physical resource", "another one",
                 f"{name} changed its physical resource")
    if "converged" in expect and expect["converged"] is not False:
        wanted = expect["converged"]
        if isinstance(wanted, str):
            names = templates.get(wanted)
        elif current_template == "<nothing>":  # a create that was rolled back
            names = set()
        else:
            names = templates.get(current_template or "", set(resources))
        for problem in _convergence_problems(snap, names or set()):
            fail("converged", wanted, problem, problem)
    return failures


def _convergence_problems(snap: dict[str, Any], names: set[str]) -> list[str]:
    """Reality equals the stack's template: each resource once, complete, nothing extra,
    every output resolved."""
    problems = []
    resources = snap.get("resources", {})
    reality = snap.get("reality", {})
    if set(resources) != names:
        problems.append(f"resources {sorted(resources)} != template {sorted(names)}")
    for name in sorted(names):
        status = resources.get(name, {}).get("status", "")
        if not status.endswith("_COMPLETE"):
            problems.append(f"{name} is {status or 'missing'}")
        if reality.get(name, 0) != 1:
            problems.append(f"{name} has {reality.get(name, 0)} physical copies")
    extra = sorted(set(reality) - names)
    if extra:
        problems.append(f"physical resources not in the template: {extra}")
    unresolved = sorted(k for k, v in snap.get("outputs", {}).items() if v is None)
    if unresolved:
        problems.append(f"outputs not resolved: {unresolved}")
    return problems
