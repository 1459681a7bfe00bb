"""A stack template as the fuzzer thinks of it: resources joined by edges into a DAG, with
parameters and outputs; the mutations that derive one template from another; and the
rendering to HOT. Kept apart from Hypothesis so a mutation is a plain function that can be
read and tested on its own."""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any

HOT_VERSION = "2015-04-30"
TYPES = {
    "test": "OS::Heat::TestResource",
    "none": "OS::Heat::None",
    "value": "OS::Heat::Value",
    "random": "OS::Heat::RandomString",
}
ATTRIBUTE = {"test": "output", "value": "value", "random": "value"}  # None has none
EDGE_KINDS = ("depends_on", "get_resource", "get_attr")
NAMES = [chr(c) for c in range(ord("A"), ord("Z") + 1)]


@dataclass
class Res:
    """One resource. ``refs`` are its edges: (target, kind), kind one of EDGE_KINDS."""

    kind: str = "test"
    value: str = "v"
    refs: list[tuple[str, str]] = field(default_factory=list)
    param: str | None = None  # the value also takes get_param of this parameter
    replace_value: str | None = None  # update_replace_value (TestResource)
    update_replace: bool = False  # every update replaces it (TestResource)
    fail: bool = False  # create and update fail (TestResource)
    wait: dict[str, float] | None = None  # action_wait_secs (TestResource)

    def targets(self) -> set[str]:
        return {target for target, _ in self.refs}


@dataclass
class Model:
    resources: dict[str, Res] = field(default_factory=dict)
    parameters: dict[str, str] = field(default_factory=dict)  # name -> default
    outputs: dict[str, tuple[str, str]] = field(default_factory=dict)  # name -> (res, kind)

    def copy(self) -> Model:
        return copy.deepcopy(self)

    # -- the graph ------------------------------------------------------------------------
    def ancestors(self, name: str) -> set[str]:
        """What ``name`` needs first (transitively)."""
        seen: set[str] = set()
        todo = list(self.resources[name].targets())
        while todo:
            current = todo.pop()
            if current in seen or current not in self.resources:
                continue
            seen.add(current)
            todo.extend(self.resources[current].targets())
        return seen

    def descendants(self, name: str) -> set[str]:
        """What needs ``name`` first (transitively)."""
        return {other for other in self.resources
                if other != name and name in self.ancestors(other)}

    def acyclic(self) -> bool:
        return all(name not in self.ancestors(name) for name in self.resources)

    def attr_users(self, name: str) -> bool:
        """Whether anything reads an attribute of ``name`` (so its type must keep it)."""
        return any((name, "get_attr") in r.refs for r in self.resources.values()) or \
            (name, "get_attr") in self.outputs.values()

    def free_name(self) -> str:
        return next(n for n in NAMES + [f"R{i}" for i in range(100)]
                    if n not in self.resources)

    # -- making interleavings deterministic -------------------------------------------------
    def isolate(self, name: str) -> None:
        """Make ``name`` wait for every resource that neither needs it nor is needed by it.
        Where the fuzzer stops, slows or fails one resource, nothing else then runs beside
        it, so which other resources got done is not a matter of timing."""
        related = self.ancestors(name) | self.descendants(name) | {name}
        res = self.resources[name]
        for other in self.resources:
            if other not in related:
                res.refs.append((other, "depends_on"))

    # -- mutations (each returns a description of what it did, or None if it could not) ---
    def add(self, kind: str, value: str, refs: list[tuple[str, str]]) -> str:
        name = self.free_name()
        self.resources[name] = Res(kind, value, valid_refs(self, refs))
        return f"add {name}"

    def remove(self, name: str) -> str | None:
        if name not in self.resources or len(self.resources) == 1:
            return None
        del self.resources[name]
        for res in self.resources.values():
            res.refs = [(t, k) for t, k in res.refs if t != name]
        self.outputs = {o: ref for o, ref in self.outputs.items() if ref[0] != name}
        return f"remove {name}"

    def rename(self, name: str) -> str | None:
        if name not in self.resources:
            return None
        new = self.free_name()
        self.resources = {new if n == name else n: r for n, r in self.resources.items()}
        for res in self.resources.values():
            res.refs = [(new if t == name else t, k) for t, k in res.refs]
        self.outputs = {o: (new if t == name else t, k) for o, (t, k) in self.outputs.items()}
        return f"rename {name} to {new}"

    def change_value(self, name: str, value: str) -> str | None:
        res = self.resources.get(name)
        if res is None or res.value == value:
            return None
        res.value = value
        return f"change {name}.value"

    def force_replace(self, name: str, how: str, value: str) -> str | None:
        """``how``: update_replace (a flagged resource replaced on any change),
        replace_value (a property that cannot change in place), or type (test <-> none)."""
        res = self.resources.get(name)
        if res is None:
            return None
        if how == "type":
            if res.kind not in ("test", "none") or self.attr_users(name):
                return None
            res.kind = "none" if res.kind == "test" else "test"
            res.replace_value, res.update_replace = None, False
            return f"change {name}'s type"
        if res.kind != "test":
            return None
        if how == "update_replace":
            res.update_replace, res.value = True, value
            return f"replace {name} (update_replace)"
        res.replace_value = value
        return f"replace {name} (update_replace_value)"

    def invert(self, name: str, index: int) -> str | None:
        """Turn one of ``name``'s edges round: its target now depends on it."""
        res = self.resources.get(name)
        if res is None or not res.refs:
            return None
        target, kind = res.refs[index % len(res.refs)]
        if target not in self.resources:
            return None
        trial = self.copy()
        trial.resources[name].refs = [(t, k) for t, k in res.refs if t != target]
        back = kind if kind != "get_attr" or res.kind in ATTRIBUTE else "get_resource"
        trial.resources[target].refs.append((name, back))
        if not trial.acyclic():
            return None
        self.resources = trial.resources
        return f"invert {name} -> {target}"


def valid_refs(model: Model, refs: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """Edges to resources that exist, one per target, get_attr only where the target has
    an attribute."""
    result: list[tuple[str, str]] = []
    for target, kind in refs:
        if target not in model.resources or any(t == target for t, _ in result):
            continue
        if kind == "get_attr" and model.resources[target].kind not in ATTRIBUTE:
            kind = "get_resource"
        result.append((target, kind))
    return result


# -- rendering ------------------------------------------------------------------------------
def _reference(model: Model, target: str, kind: str) -> dict[str, Any]:
    if kind == "get_attr":
        return {"get_attr": [target, ATTRIBUTE[model.resources[target].kind]]}
    return {"get_resource": target}


def _value(model: Model, res: Res) -> Any:
    pieces: list[Any] = [res.value]
    if res.param:
        pieces.append({"get_param": res.param})
    pieces += [_reference(model, t, k) for t, k in res.refs if k != "depends_on"]
    return pieces[0] if len(pieces) == 1 else {"list_join": ["-", pieces]}


def render(model: Model) -> dict[str, Any]:
    """The model as a HOT template (plain data, ready for YAML)."""
    resources: dict[str, Any] = {}
    for name, res in model.resources.items():
        value = _value(model, res)
        if res.kind == "random":
            props: dict[str, Any] = {"length": 8, "salt": value}
        else:
            props = {"value": value}
        if res.kind == "test":
            if res.replace_value is not None:
                props["update_replace_value"] = res.replace_value
            if res.update_replace:
                props["update_replace"] = True
            if res.fail:
                props["fail"] = True
            if res.wait:
                props["action_wait_secs"] = dict(res.wait)
        body: dict[str, Any] = {"type": TYPES[res.kind], "properties": props}
        after = [t for t, k in res.refs if k == "depends_on"]
        if after:
            body["depends_on"] = after
        resources[name] = body
    template: dict[str, Any] = {"heat_template_version": HOT_VERSION}
    if model.parameters:
        template["parameters"] = {p: {"type": "string", "default": d}
                                  for p, d in model.parameters.items()}
    template["resources"] = resources
    if model.outputs:
        template["outputs"] = {o: {"value": _reference(model, t, k)}
                               for o, (t, k) in model.outputs.items() if t in model.resources}
    return template


def size(model: Model) -> tuple[int, int]:
    """(resources, edges + set properties): what shrinking makes small."""
    extras = sum(len(r.refs) + bool(r.param) + (r.replace_value is not None)
                 + r.update_replace + r.fail + bool(r.wait) for r in model.resources.values())
    return len(model.resources), extras + len(model.parameters) + len(model.outputs)
