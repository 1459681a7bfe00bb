"""A generated case as a scenario of our format: the builder the strategies drive (it knows
what the stack will be after each act, so every step it writes is one the scenario format
and both paths accept), and the document, written and checked by the scenario loader."""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from engines.service import PATH_NAMES
from harness.fuzz.model import Model, render, size
from scenarios.loader import Scenario, load_scenario

WAIT_TIMEOUT = 10  # s: a generated step ends in well under a second; a hang is a finding
GROUP = "fuzz"
PATHS = PATH_NAMES


@dataclass
class Case:
    """One generated scenario, before it is a file."""

    templates: dict[str, dict[str, Any]]
    environments: dict[str, dict[str, Any]]
    steps: list[dict[str, Any]]
    engines: tuple[str, ...] = PATHS
    acts: list[str] = field(default_factory=list)
    resources: int = 0
    properties: int = 0

    def document(self, description: str, tags: list[str] | None = None) -> dict[str, Any]:
        doc: dict[str, Any] = {"description": description,
                               "tags": ["fuzz", *(tags or [])]}
        if tuple(self.engines) != PATHS:
            doc["engines"] = list(self.engines)
        doc["templates"] = self.templates
        if self.environments:
            doc["environments"] = self.environments
        doc["steps"] = self.steps
        return doc

    def summary(self) -> str:
        return "; ".join(self.acts)


class _Dumper(yaml.SafeDumper):
    """Multi-line text (a finding's description) as a literal block, as a person writes it."""


_Dumper.add_representer(str, lambda dumper, text: dumper.represent_scalar(
    "tag:yaml.org,2002:str", text, style="|" if "\n" in text else None))


def dump(doc: dict[str, Any]) -> str:
    return yaml.dump(doc, Dumper=_Dumper, sort_keys=False, default_flow_style=None, width=96)


def write(doc: dict[str, Any], root: Path, name: str, group: str = GROUP) -> Path:
    path = Path(root) / group / f"{name}.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(dump(doc), encoding="utf-8")
    return path


def load(case: Case, name: str, description: str, root: Path | None = None) -> Scenario:
    """The case as the harness sees it: written, then loaded (and so validated) by the
    scenario loader. A case the loader refuses is a bug of the generator, raised as is."""
    root = Path(root or tempfile.mkdtemp(prefix="dualpath-fuzz-case-"))
    path = write(case.document(description), root, name)
    return load_scenario(path, root)


class Story:
    """Builds a case act by act. ``hooked``: the environment of the stack's current
    template holds breakpoints, so nothing may bring that template back (a rollback would
    stop at them with nobody there to signal)."""

    def __init__(self) -> None:
        self.templates: dict[str, dict[str, Any]] = {}
        self.environments: dict[str, dict[str, Any]] = {}
        self.steps: list[dict[str, Any]] = []
        self.acts: list[str] = []
        self.models: list[Model] = []
        self.current: Model | None = None  # what the stack is meant to be now
        self.hooked = False
        self.hooked_before = False  # the same, for the template before the current one
        self.alive = False
        self.status = "none"  # complete | failed | none: what a rollback would find
        # the parameter values the stack has now: an update that leaves them out resets
        # them to the template's defaults (Heat's PUT), so every update passes them again
        self.params: dict[str, str] = {}
        self.engines: tuple[str, ...] = PATHS
        self._counter = 0

    def fresh(self, prefix: str) -> str:
        self._counter += 1
        return f"{prefix.lower()}{self._counter}"

    # -- documents --------------------------------------------------------------------------
    def template(self, model: Model) -> str:
        rendered = render(model)
        for name, existing in self.templates.items():
            if existing == rendered:
                return name
        name = f"v{len(self.templates) + 1}"
        self.templates[name] = rendered
        self.models.append(model)
        return name

    def hold(self, resource: str, hook: str) -> str:
        name = f"hold_{resource.lower()}_{hook.replace('-', '_')}"
        self.environments[name] = {"resource_registry": {"resources": {
            resource: {"hooks": hook}}}}
        return name

    # -- steps ------------------------------------------------------------------------------
    def step(self, op: str, args: dict[str, Any] | None = None) -> None:
        args = dict(args or {})
        waits = op in ("wait", "wait_for") or (op in ("create", "update", "delete",
                                                      "rollback") and args.get("wait", True))
        if waits:
            args["timeout"] = WAIT_TIMEOUT
        self.steps.append({op: args})

    def operate(self, op: str, model: Model | None = None, *, environment: str | None = None,
                wait: bool = True, **extra: Any) -> None:
        args: dict[str, Any] = {}
        if model is not None:
            args["template"] = self.template(model)
        if environment:
            args["environment"] = environment
        if op == "update" and model is not None:
            given = extra.pop("parameters", None)
            params = given if given is not None else {
                k: v for k, v in self.params.items() if k in model.parameters}
            self.params = dict(params)
            if params:
                args["parameters"] = params
        args.update({k: v for k, v in extra.items() if v is not None})
        if not wait:
            args["wait"] = False
        self.step(op, args)
        if op == "create":
            self.alive = True
        if op in ("create", "update"):
            self.hooked = environment is not None

    def wait_for(self, resource: str, *, hook: str | None = None,
                 status: str | None = None) -> None:
        self.step("wait_for", {"resource": resource, **({"hook": hook} if hook else
                                                         {"status": status})})

    def only(self, engine: str, why: str) -> None:
        """The case uses something the paths do differently by design (an update of a
        busy stack: legacy refuses, convergence supersedes): run it on one path."""
        self.engines = (engine,)
        self.acts.append(f"({engine} only: {why})")

    def case(self) -> Case:
        resources = max((size(m)[0] for m in self.models), default=0)
        properties = sum(size(m)[1] for m in self.models)
        return Case(self.templates, self.environments, self.steps, self.engines,
                    self.acts, resources, properties)
