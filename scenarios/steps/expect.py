"""``expect: {...}``: what must be true after the steps so far, checked on each path
against the (raw) snapshot taken after this step: the stack's and resources' status,
outputs, physical copies in the cloud (``reality``), which resources were replaced or not
(since the last operation, or ``since`` a mark), the last operation's ``error``, and
``converged``: the cloud equals the stack's template."""

from __future__ import annotations

from typing import Any

from scenarios.steps.base import Failure, Outcome, StepKind, StepRun, always, is_error, no_error

CHECKS = ("stack", "resources", "outputs", "reality", "replaced", "unchanged", "converged",
          "error")
NOTHING = "<nothing>"  # the template after a create was rolled back: no resources

DEFS = {"expect": {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "stack": {
            "anyOf": [{"$ref": "#/$defs/status"}, {"type": "null"}],
            "x-error": "a stack status like CREATE_COMPLETE (null: no stack)",
        },
        "resources": {
            "type": "object",
            "propertyNames": {"$ref": "#/$defs/resourceName"},
            "additionalProperties": {
                "anyOf": [{"$ref": "#/$defs/status"}, {"type": "null"}],
                "x-error": "a resource status like CREATE_COMPLETE (null: the stack has no "
                           "such resource)",
            },
        },
        "outputs": {"type": "object"},
        "reality": {
            "type": "object",
            "propertyNames": {"$ref": "#/$defs/resourceName"},
            "additionalProperties": {
                "type": "integer",
                "minimum": 0,
                "x-error": "a number of physical resources (0 or more)",
            },
        },
        "replaced": {"type": "array", "items": {"$ref": "#/$defs/resourceName"},
                     "uniqueItems": True},
        "unchanged": {"type": "array", "items": {"$ref": "#/$defs/resourceName"},
                      "uniqueItems": True},
        "since": {"$ref": "#/$defs/name"},
        "converged": {
            "anyOf": [{"const": True}, {"$ref": "#/$defs/name"}],
            "x-error": "converged is true (the current template) or a template name",
        },
        "error": {"$ref": "#/$defs/errorExpectation"},
    },
}}


# -- when the scenario is loaded -------------------------------------------------------------
def check_semantics(checker: Any, at: list[str | int], args: dict[str, Any]) -> None:
    if not any(key in args for key in CHECKS):
        checker.fail(at, f"an expect with nothing to check (give one of {', '.join(CHECKS)})")
    for section in ("resources", "reality"):
        for name in args.get(section) or {}:
            if not (section == "reality" and name == "count"):
                checker.resource(at + [section, name], name)
    for section in ("replaced", "unchanged"):
        for position, name in enumerate(args.get(section) or []):
            checker.resource(at + [section, position], name)
    if "since" in args:
        if "replaced" not in args and "unchanged" not in args:
            checker.fail(at + ["since"], "since applies to replaced/unchanged, and there are "
                                         "none")
        if args["since"] not in checker.marks:
            checker.fail(at + ["since"], f"mark {args['since']!r} is not defined before "
                                         "this step")
    if isinstance(args.get("converged"), str):
        checker.template(at + ["converged"], args["converged"])
    if "error" in args:
        if not checker.operated:
            checker.fail(at + ["error"], "error checks the previous operation, and there is "
                                         "none")
        if isinstance(args["error"], dict):
            checker.per_engine(at + ["error"], args["error"])


# -- when it runs -----------------------------------------------------------------------------
def run(step_run: StepRun, args: dict[str, Any]) -> Outcome:
    return no_error()  # nothing to do: the snapshot after it is what it checks


def verify(step_run: StepRun, index: int, args: dict[str, Any], snap: dict[str, Any],
           outcome: Outcome) -> list[Failure]:
    expect = dict(args)
    if "error" in expect:
        expect["error"] = step_run.for_path(expect["error"])
    return check(index, expect, snap, last_error=step_run.last_error,
                 before=step_run.before, marks=step_run.marks,
                 templates={n: set(t.get("resources") or {})
                            for n, t in step_run.scenario.templates.items()},
                 current_template=current_template(step_run.history, snap))


def current_template(history: list[str], snap: dict[str, Any]) -> str | None:
    """The template the stack should now match: after a rollback, the one before the
    last update (none at all after a create was rolled back)."""
    status = (snap.get("stack") or {}).get("status", "")
    if status.startswith("ROLLBACK_"):
        return history[-2] if len(history) >= 2 else NOTHING
    return history[-1] if history else None


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
        elif current_template == NOTHING:  # a create that was rolled back
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


STEP = StepKind("expect", {"$ref": "#/$defs/expect"}, run, check=check_semantics,
                settles=always, verify=verify, defs=DEFS)
