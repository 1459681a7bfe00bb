"""Loading scenarios: one YAML file per scenario at ``<root>/<group>/<name>.yaml`` (its id
is ``<group>/<name>``), checked against ``schema.json`` and then for meaning, so that a
malformed scenario is refused before any engine runs it."""

from __future__ import annotations

import copy
import fnmatch
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from engines.service import PATH_NAMES
from scenarios.document import load_yaml
from scenarios.errors import ScenarioError
from scenarios.semantics import StepChecker, resolve_document, resolve_files, resolve_section
from scenarios.validation import check_schema

__all__ = ["ENGINES", "Scenario", "ScenarioError", "Step", "corpus_root", "load_corpus",
           "load_scenario", "scenario_files"]

ENGINES = PATH_NAMES  # a scenario runs on both unless it names one
SUFFIX = ".yaml"


@dataclass(frozen=True)
class Step:
    """``args`` is the operation's mapping as written ({} when written empty); for
    ``mark`` it is the mark's name."""

    index: int
    op: str
    args: Any


@dataclass(frozen=True)
class Scenario:
    id: str
    group: str
    name: str
    path: Path
    description: str
    tags: tuple[str, ...]
    engines: tuple[str, ...]
    templates: dict[str, dict[str, Any]]
    environments: dict[str, dict[str, Any]]
    steps: list[Step]
    # name -> text: what templates read (nested templates, get_file); see steps' ``files``
    files: dict[str, str] = field(default_factory=dict)


def corpus_root() -> Path:
    """The corpus shipped with the package."""
    return Path(__file__).with_name("corpus")


def _identity(path: Path, root: Path) -> tuple[str, str]:
    try:
        relative = path.resolve().relative_to(root.resolve())
    except ValueError:
        raise ScenarioError(path, None, "", f"not under the scenario root {root}") from None
    if len(relative.parts) != 2 or relative.suffix != SUFFIX:
        raise ScenarioError(path, None, "",
                            f"a scenario lives at <group>/<name>{SUFFIX} under {root}")
    return relative.parts[0], relative.stem


def _steps(path: Path, root: Path, doc: dict[str, Any]) -> list[Step]:
    steps = []
    for index, raw in enumerate(doc["steps"]):
        (op, args), = raw.items()
        args = {} if args is None else copy.deepcopy(args)
        environment = args.get("environment") if isinstance(args, dict) else None
        if isinstance(environment, dict):
            args["environment"] = resolve_document(path, root, environment,
                                                   ["steps", index, op, "environment"])
        steps.append(Step(index, op, args))
    return steps


def load_scenario(path: Path, root: Path) -> Scenario:
    """Load and check one scenario; ScenarioError says what is wrong and where."""
    path, root = Path(path), Path(root)
    group, name = _identity(path, root)
    doc = load_yaml(path)
    if not isinstance(doc, dict):
        kind = "an empty file" if doc is None else type(doc).__name__
        raise ScenarioError(path, None, "", f"a scenario must be a mapping, not {kind}")
    check_schema(path, doc)
    templates = resolve_section(path, root, doc, "templates")
    environments = resolve_section(path, root, doc, "environments")
    files = resolve_files(path, root, doc)
    steps = _steps(path, root, doc)
    engines = tuple(doc.get("engines") or ENGINES)
    checker = StepChecker(path, engines, templates, environments, files)
    for step in steps:
        checker.check(step.index, step.op, step.args)
    return Scenario(
        id=f"{group}/{name}", group=group, name=name, path=path,
        description=doc["description"].strip(), tags=tuple(doc.get("tags") or ()),
        engines=engines, templates=templates,
        environments=environments, steps=steps, files=files)


def _matches(scenario_id: str, pattern: str | None) -> bool:
    if not pattern:
        return True
    group = scenario_id.split("/", 1)[0]
    # a pattern without a slash names groups: "update" means "update/*"
    return fnmatch.fnmatchcase(scenario_id, pattern) or (
        "/" not in pattern and fnmatch.fnmatchcase(group, pattern))


def scenario_files(root: Path) -> list[Path]:
    """``<group>/<name>.yaml`` under ``root``; folders and files whose names start with _
    or . hold shared documents ({file:} targets), not scenarios."""
    return sorted(p for p in Path(root).glob(f"*/*{SUFFIX}")
                  if not p.parent.name.startswith(("_", "."))
                  and not p.name.startswith(("_", ".")) and p.is_file())


def load_corpus(root: Path, pattern: str | None = None) -> list[Scenario]:
    """Every scenario under ``root`` whose id matches the glob ``pattern``, by id."""
    root = Path(root)
    if not root.is_dir():
        raise ScenarioError(root, None, "", "the scenario root is not a directory")
    chosen = [p for p in scenario_files(root)
              if _matches(f"{p.parent.name}/{p.stem}", pattern)]
    return sorted((load_scenario(p, root) for p in chosen), key=lambda s: s.id)
