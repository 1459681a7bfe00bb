"""``expect: {...}``: what must be true after the steps so far, checked on each path
against the (raw) snapshot taken after this step: the stack's and resources' status,
outputs, physical copies in the cloud (``reality``), which resources were replaced or not
(since the last operation, or ``since`` a mark), the last operation's ``error``, and
``converged``: the cloud equals the stack's template."""

from __future__ import annotations

from typing import Any

from scenarios.steps import checks
from scenarios.steps.base import Failure, Outcome, StepKind, StepRun, always, is_error, no_error

CHECKS = ("stack", "status_reason", "resources", "outputs", "attributes", "events",
          "reality", "replaced", "unchanged", "converged", "error")
NOTHING = "<nothing>"  # the template after a create was rolled back: no resources

DEFS = {"expect": {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "stack": {
            "anyOf": [{"$ref": "#/$defs/status"}, {"type": "null"}],
            "x-error": "a stack status like CREATE_COMPLETE (null: no stack)",
        },
        "status_reason": {"$ref": "#/$defs/textCheck"},
        "resources": {
            "type": "object",
            "propertyNames": {"$ref": "#/$defs/resourceName"},
            "additionalProperties": {
                "anyOf": [{"$ref": "#/$defs/status"}, {"type": "null"},
                          {"type": "object", "minProperties": 1, "additionalProperties": False,
                           "properties": {
                               "status": {"$ref": "#/$defs/status"},
                               "status_reason": {"$ref": "#/$defs/textCheck"}}}],
                "x-error": "a resource status like CREATE_COMPLETE (null: the stack has no "
                           "such resource), or {status: S, status_reason: CHECK}",
            },
        },
        "outputs": {"type": "object",
                    "additionalProperties": {"$ref": "#/$defs/valueCheck"}},
        "attributes": {
            "type": "object",
            "propertyNames": {"$ref": "#/$defs/resourceName"},
            "additionalProperties": {"type": "object",
                                     "additionalProperties": {"$ref": "#/$defs/valueCheck"},
                                     "x-error": "{attribute: value or check}"},
        },
        "events": {
            "type": "object",
            "propertyNames": {"$ref": "#/$defs/resourceName"},
            "additionalProperties": {
                "anyOf": [{"type": "array", "items": {"$ref": "#/$defs/status"}},
                          {"type": "object", "required": ["subsequence"],
                           "additionalProperties": False,
                           "properties": {"subsequence": {
                               "type": "array", "minItems": 1,
                               "items": {"$ref": "#/$defs/status"}}}}],
                "x-error": "the events since the last operation began: a list of statuses "
                           "(exactly these), or {subsequence: [...]} (these, in order)",
            },
        },
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
    for section in ("resources", "reality", "attributes", "events"):
        for name in args.get(section) or {}:
            if not (section == "reality" and name == "count") and not (
                    section == "events" and name.split("/")[-1] == "stack"):
                checker.resource(at + [section, name], name)
    checks.check_semantics(checker, at + ["status_reason"], args.get("status_reason"))
    for name, value in (args.get("resources") or {}).items():
        if isinstance(value, dict):
            checks.check_semantics(checker, at + ["resources", name, "status_reason"],
                                   value.get("status_reason"))
    for name, value in (args.get("outputs") or {}).items():
        checks.check_semantics(checker, at + ["outputs", name], value)
    for name, values in (args.get("attributes") or {}).items():
        for attribute, value in values.items():
            checks.check_semantics(checker, at + ["attributes", name, attribute], value)
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
                 current_template=current_template(step_run.history, snap),
                 mark_values=getattr(step_run, "mark_values", None),
                 events=getattr(step_run, "events", None))


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
          templates: dict[str, set[str]], current_template: str | None,
          mark_values: dict[str, dict[str, Any]] | None = None,
          events: dict[str, list[str]] | None = None) -> list[Failure]:
    """``mark_values``: outputs and attributes at each mark (``changed_since``);
    ``events``: each name's events since the last operation began."""
    failures: list[Failure] = []

    def fail(what: str, expected: Any, actual: Any, message: str) -> None:
        failures.append(Failure(step, what, expected, actual, message))

    def value_check(what: str, actual: Any, expected: Any, section: str, *keys: str) -> None:
        marked: Any = checks._UNSET
        mark = checks.mark_of(expected)
        if mark is not None:
            marked = (mark_values or {}).get(mark, {}).get(section, {})
            for key in keys:
                marked = marked.get(key, checks._UNSET) if isinstance(marked, dict) \
                    else checks._UNSET
        ok, said = checks.holds(actual, expected, marked)
        if not ok:
            fail(what, expected, actual, f"{what.replace('.', ' ', 1)} {said}")

    stack = snap.get("stack")
    resources = snap.get("resources", {})
    if "stack" in expect:
        actual = stack["status"] if stack else None
        if actual != expect["stack"]:
            reason = f" ({stack['reason']})" if stack and stack.get("reason") else ""
            fail("stack", expect["stack"], actual, f"stack is {actual}{reason}")
    if "status_reason" in expect:
        value_check("status_reason", (stack or {}).get("reason"), expect["status_reason"],
                    "")
    reasons = snap.get("resource_reasons", {})
    for name, status in (expect.get("resources") or {}).items():
        wanted = status.get("status") if isinstance(status, dict) else status
        actual = resources.get(name, {}).get("status")
        if (not isinstance(status, dict) or "status" in status) and actual != wanted:
            fail(f"resources.{name}", wanted, actual, f"resource {name} is {actual}")
        if isinstance(status, dict) and "status_reason" in status:
            value_check(f"resources.{name}.status_reason", reasons.get(name),
                        status["status_reason"], "")
    for name, value in (expect.get("outputs") or {}).items():
        value_check(f"outputs.{name}", snap.get("outputs", {}).get(name), value,
                    "outputs", name)
    for name, values in (expect.get("attributes") or {}).items():
        for attribute, value in values.items():
            actual = (resources.get(name, {}).get("attributes") or {}).get(attribute)
            value_check(f"attributes.{name}.{attribute}", actual, value,
                        "attributes", name, attribute)
    for name, wanted in (expect.get("events") or {}).items():
        seen = (events or {}).get(name, [])
        if not checks.events_hold(seen, wanted):
            fail(f"events.{name}", wanted, seen, f"events of {name} were {seen}")
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
    stacks = snap.get("stacks", {})
    top = {name for name in resources if "/" not in name}
    if top != names:
        problems.append(f"resources {sorted(top)} != template {sorted(names)}")
    # a nested stack's resources are as its own template says: each once and complete
    # (its owner has no physical copy of its own, its stack is what it is)
    wanted = names | {name for name in resources if "/" in name}
    for name in sorted(wanted):
        status = resources.get(name, {}).get("status", "")
        if not status.endswith("_COMPLETE"):
            problems.append(f"{name} is {status or 'missing'}")
        if name in stacks:
            if not stacks[name].get("status", "").endswith("_COMPLETE"):
                problems.append(f"the nested stack of {name} is {stacks[name].get('status')}")
        elif reality.get(name, 0) != 1:
            problems.append(f"{name} has {reality.get(name, 0)} physical copies")
    extra = sorted(set(reality) - wanted)
    if extra:
        problems.append(f"physical resources not in the template: {extra}")
    unresolved = sorted(k for k, v in snap.get("outputs", {}).items() if v is None)
    if unresolved:
        problems.append(f"outputs not resolved: {unresolved}")
    return problems


STEP = StepKind("expect", {"$ref": "#/$defs/expect"}, run, check=check_semantics,
                settles=always, verify=verify, defs={**DEFS, **checks.DEFS})
