"""What the schema cannot say: file references that must exist inside the scenario root,
and names that must be defined (templates, environments, files, marks, resources) before a
step uses them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from scenarios.document import load_yaml, read_text
from scenarios.errors import ScenarioError
from scenarios.steps import STEPS, paths


def _is_file_ref(value: Any) -> bool:
    return isinstance(value, dict) and set(value) == {"file"}


def _target(path: Path, root: Path, ref: str, where: list[str | int]) -> Path:
    target = (path.parent / ref).resolve()
    if Path(ref).is_absolute() or not target.is_relative_to(root.resolve()):
        raise ScenarioError.at(path, where, f"file reference {ref!r} escapes the scenario "
                                            f"root {root}")
    if not target.is_file():
        raise ScenarioError.at(path, where, f"file reference {ref!r}: file not found")
    return target


def _read_ref(path: Path, root: Path, ref: str, parts: list[str | int]) -> dict[str, Any]:
    where = [*parts, "file"]
    target = _target(path, root, ref, where)
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


def resolve_files(path: Path, root: Path, doc: dict[str, Any]) -> dict[str, str]:
    """The scenario's ``files`` (what templates read: nested templates, get_file), each
    as the text the engine is given: inline text as written, an inline mapping as YAML,
    ``{file: rel}`` the file's text (read with the same limits as any scenario file)."""
    files: dict[str, str] = {}
    for name, value in (doc.get("files") or {}).items():
        if _is_file_ref(value):
            where: list[str | int] = ["files", name, "file"]
            target = _target(path, root, value["file"], where)
            try:
                files[name] = read_text(target)
            except ScenarioError as exc:
                raise ScenarioError.at(path, where, f"in {value['file']}: {exc.reason}") \
                    from None
        elif isinstance(value, dict):
            files[name] = yaml.safe_dump(value, sort_keys=False)
        else:
            files[name] = value
    return files


def _template_resources(template: Any) -> list[tuple[str, Any]]:
    resources = template.get("resources") if isinstance(template, dict) else None
    return [(str(n), r) for n, r in resources.items()] if isinstance(resources, dict) else []


def resource_names(templates: dict[str, dict[str, Any]],
                   files: dict[str, str] | None = None) -> set[str]:
    """Every resource name of the scenario's templates, of the nested templates among its
    files, and of the templates given inline to OS::Heat::Stack (what a path's parts may
    name)."""
    documents: list[Any] = list(templates.values())
    for text in (files or {}).values():
        try:
            documents.append(yaml.safe_load(text))
        except yaml.YAMLError:
            continue  # not a template (a get_file payload): no resources to name
    names: set[str] = set()
    while documents:
        for name, resource in _template_resources(documents.pop()):
            names.add(name)
            props = resource.get("properties") if isinstance(resource, dict) else None
            inline = props.get("template") if isinstance(props, dict) else None
            if isinstance(inline, str):  # the template's text, as Heat's property is
                try:
                    inline = yaml.safe_load(inline)
                except yaml.YAMLError:
                    continue
            if isinstance(inline, dict):
                documents.append(inline)
    return names


class StepChecker:
    """Walks the steps in order, remembering what each later step may refer to; each
    step's own check (scenarios/steps/<op>.py) says what it needs."""

    def __init__(self, path: Path, engines: tuple[str, ...], templates: dict[str, Any],
                 environments: dict[str, Any], files: dict[str, str] | None = None) -> None:
        self.path = path
        self.engines = engines
        self.templates = templates
        self.environments = environments
        self.files = files or {}
        self.top = resource_names(templates)
        self.resources = resource_names(templates, self.files)
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

    def file(self, parts: list[str | int], name: str) -> None:
        if name not in self.files:
            self.fail(parts, f"file {name!r} is not defined"
                             f" (defined: {', '.join(self.files) or 'none'})")

    def resource(self, parts: list[str | int], name: str) -> None:
        """A resource name, or a path into nested stacks (db/R, group/0/A): its first
        name is in a template of the scenario, each later one in some template it has
        (a nested template among its files, an inline one) or an index (a group's
        member: ``group/0`` is the member itself, ``group/0/A`` a resource inside it)."""
        if not paths.is_nested(name):
            if name not in self.resources:
                self.fail(parts, f"resource {name!r} is not in any template")
            return
        reason = paths.problem(name)
        if reason:
            self.fail(parts, reason)
        first, *middle, last = paths.split(name)
        if first not in self.top:
            self.fail(parts, f"resource path {name!r}: {first!r} is not in any template")
        for part in [*middle, last]:
            if part not in self.resources and not part.isdigit():
                self.fail(parts, f"resource path {name!r}: {part!r} is not in any template "
                                 "or nested template (the scenario's files)")
