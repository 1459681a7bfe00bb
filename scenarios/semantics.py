"""What the schema cannot say: names that must be defined (templates, environments, marks,
resources), file references that must exist inside the scenario root, and expectations
that must check something."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from scenarios.document import load_yaml
from scenarios.errors import ScenarioError

# operations that act on (or wait for) the stack a create made
NEEDS_STACK = frozenset({"update", "delete", "rollback", "wait", "wait_for", "signal"})
OPERATIONS = frozenset({"create", "update", "delete", "rollback"})
CHECKS = ("stack", "resources", "outputs", "reality", "replaced", "unchanged", "converged",
          "error")


def _is_file_ref(value: Any) -> bool:
    return isinstance(value, dict) and set(value) == {"file"}


def _read_ref(path: Path, root: Path, ref: str, parts: list[str | int]) -> dict[str, Any]:
    where = [*parts, "file"]
    target = (path.parent / ref).resolve()
    if Path(ref).is_absolute() or not target.is_relative_to(root.resolve()):
        raise ScenarioError.at(path, where, f"file reference {ref!r} escapes the scenario "
                                            f"root {root}")
    if not target.is_file():
        raise ScenarioError.at(path, where, f"file reference {ref!r}: file not found")
    try:
        data = load_yaml(target)
    except ScenarioError as exc:
        raise ScenarioError.at(path, where, f"in {ref}: {exc.reason}") from None
    if not isinstance(data, dict):
        raise ScenarioError.at(path, where, f"file reference {ref!r}: not a mapping")
    return data


def resolve_document(path: Path, root: Path, value: dict[str, Any],
                     parts: list[str | int]) -> dict[str, Any]:
    """An inline mapping as it is; ``{file: rel}`` read from the file."""
    return _read_ref(path, root, value["file"], parts) if _is_file_ref(value) else value


def resolve_section(path: Path, root: Path, doc: dict[str, Any],
                    section: str) -> dict[str, dict[str, Any]]:
    return {name: resolve_document(path, root, value, [section, name])
            for name, value in (doc.get(section) or {}).items()}


def resource_names(templates: dict[str, dict[str, Any]]) -> set[str]:
    names: set[str] = set()
    for template in templates.values():
        resources = template.get("resources")
        if isinstance(resources, dict):
            names.update(str(n) for n in resources)
    return names


class StepChecker:
    """Walks the steps in order, remembering what each later step may refer to."""

    def __init__(self, path: Path, engines: tuple[str, ...], templates: dict[str, Any],
                 environments: dict[str, Any]) -> None:
        self.path = path
        self.engines = engines
        self.templates = templates
        self.environments = environments
        self.resources = resource_names(templates)
        self.marks: dict[str, int] = {}
        self.has_stack = False
        self.operated = False

    def fail(self, parts: list[str | int], reason: str) -> None:
        raise ScenarioError.at(self.path, parts, reason)

    def check(self, index: int, op: str, args: Any) -> None:
        at: list[str | int] = ["steps", index, op]
        if op in NEEDS_STACK and not self.has_stack:
            self.fail(at, f"{op} needs a stack, and no create before this step makes one")
        if op in ("create", "update"):
            self._template(at + ["template"], args["template"])
            if isinstance(args.get("environment"), str):
                self._environment(at + ["environment"], args["environment"])
        if op in ("wait_for", "signal", "fault"):
            self._resource(at + ["resource"], args["resource"])
        if isinstance(args, dict) and isinstance(args.get("expect_error"), dict):
            self._per_engine(at + ["expect_error"], args["expect_error"])
        if op == "mark":
            if args in self.marks:
                self.fail(at, f"mark {args!r} is already defined at steps[{self.marks[args]}]")
            self.marks[args] = index
        if op == "expect":
            self._expect(at, args)
        # a create expected to be refused makes no stack for later steps to act on
        if op == "create" and not isinstance(args.get("expect_error"), str):
            self.has_stack = True
        if op in OPERATIONS:
            self.operated = True

    def _template(self, parts: list[str | int], name: str) -> None:
        if name not in self.templates:
            self.fail(parts, f"template {name!r} is not defined"
                             f" (defined: {', '.join(self.templates) or 'none'})")

    def _environment(self, parts: list[str | int], name: str) -> None:
        if name not in self.environments:
            self.fail(parts, f"environment {name!r} is not defined"
                             f" (defined: {', '.join(self.environments) or 'none'})")

    def _per_engine(self, parts: list[str | int], values: dict[str, Any]) -> None:
        for engine in values:
            if engine not in self.engines:
                self.fail(parts + [engine], f"engine {engine!r} is not one of this "
                                            f"scenario's engines ({', '.join(self.engines)})")

    def _resource(self, parts: list[str | int], name: str) -> None:
        if name not in self.resources:
            self.fail(parts, f"resource {name!r} is not in any template")

    def _expect(self, at: list[str | int], args: dict[str, Any]) -> None:
        if not any(key in args for key in CHECKS):
            self.fail(at, f"an expect with nothing to check (give one of {', '.join(CHECKS)})")
        for section in ("resources", "reality"):
            for name in args.get(section) or {}:
                if not (section == "reality" and name == "count"):
                    self._resource(at + [section, name], name)
        for section in ("replaced", "unchanged"):
            for position, name in enumerate(args.get(section) or []):
                self._resource(at + [section, position], name)
        if "since" in args:
            if "replaced" not in args and "unchanged" not in args:
                self.fail(at + ["since"], "since applies to replaced/unchanged, and there are "
                                          "none")
            if args["since"] not in self.marks:
                self.fail(at + ["since"], f"mark {args['since']!r} is not defined before "
                                          "this step")
        if isinstance(args.get("converged"), str):
            self._template(at + ["converged"], args["converged"])
        if "error" in args:
            if not self.operated:
                self.fail(at + ["error"], "error checks the previous operation, and there is "
                                          "none")
            if isinstance(args["error"], dict):
                self._per_engine(at + ["error"], args["error"])
