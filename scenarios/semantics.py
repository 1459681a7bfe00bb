"""What the schema cannot say: file references that must exist inside the scenario root,
and names that must be defined (templates, environments, marks, resources) before a step
uses them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from scenarios.document import load_yaml
from scenarios.errors import ScenarioError
from scenarios.steps import STEPS


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
    """Walks the steps in order, remembering what each later step may refer to; each
    step's own check (scenarios/steps/<op>.py) says what it needs."""

    def __init__(self, path: Path, engines: tuple[str, ...], templates: dict[str, Any],
                 environments: dict[str, Any]) -> None:
        self.path = path
        self.engines = engines
        self.templates = templates
        self.environments = environments
        self.resources = resource_names(templates)
        self.marks: dict[str, int] = {}
        self.has_stack = False  # a create before this step makes a stack
        self.operated = False  # an operation before this step returned a result

    def fail(self, parts: list[str | int], reason: str) -> None:
        raise ScenarioError.at(self.path, parts, reason)

    def check(self, index: int, op: str, args: Any) -> None:
        at: list[str | int] = ["steps", index, op]
        kind = STEPS[op]
        if kind.needs_stack and not self.has_stack:
            self.fail(at, f"{op} needs a stack, and no create before this step makes one")
        kind.check(self, at, args)
        if kind.operation:
            self.operated = True

    # -- what steps refer to ------------------------------------------------------------------
    def template(self, parts: list[str | int], name: str) -> None:
        if name not in self.templates:
            self.fail(parts, f"template {name!r} is not defined"
                             f" (defined: {', '.join(self.templates) or 'none'})")

    def environment(self, parts: list[str | int], name: str) -> None:
        if name not in self.environments:
            self.fail(parts, f"environment {name!r} is not defined"
                             f" (defined: {', '.join(self.environments) or 'none'})")

    def per_engine(self, parts: list[str | int], values: dict[str, Any]) -> None:
        for engine in values:
            if engine not in self.engines:
                self.fail(parts + [engine], f"engine {engine!r} is not one of this "
                                            f"scenario's engines ({', '.join(self.engines)})")

    def resource(self, parts: list[str | int], name: str) -> None:
        if name not in self.resources:
            self.fail(parts, f"resource {name!r} is not in any template")
