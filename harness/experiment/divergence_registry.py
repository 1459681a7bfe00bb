"""The divergence registry (``scenarios/divergences.yaml``): differences between the paths
that are known, explained, and accepted. Each entry names scenarios (a glob on the id), the
field that differs (a difference path, see ``check_path``), optionally the value on each
side, and a reason written for a human. An entry that matched nothing in a run where its
scenarios ran is *stale*: the divergence it explains has gone, or moved.

An entry explains one field, never a scenario: a path that could match everything a
scenario shows (``$.steps[*].*``, ``$.steps[*].**``) is refused when the file is loaded,
with the file, the entry and the rule it breaks (scenarios/README.md states the rule)."""

from __future__ import annotations

import fnmatch
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

_ANY = object()
_FIELDS = {"scenario", "path", "legacy", "convergence", "reason"}

# what a snapshot holds (harness.experiment.observation), and the sections keyed by a name
# (of a resource, an output; ``stack`` for the stack's own events)
SECTIONS = ("step", "op", "result", "stack", "stacks", "resources", "outputs", "reality",
            "events", "waited_for")
NAMED = ("resources", "outputs", "reality", "events", "stacks")
# a key may be a resource path into nested stacks (resources.db/R.status)
_SEGMENT = re.compile(r"""\.(?P<key>[A-Za-z0-9_-][A-Za-z0-9_/-]*|\*\*?)|\[(?P<index>\d+|\*)\]"""
                      r"""|\[(?P<quoted>'[^']*'|"[^"]*")\]""")
_STEP = re.compile(r"\$\.steps\[(\d+|\*)\]")


def _segments(path: str) -> list[tuple[str, str]] | None:
    """("key" | "index", text) for each part of ``path`` after ``$``; None if malformed."""
    found, at = [], 1
    while at < len(path):
        match = _SEGMENT.match(path, at)
        if match is None:
            return None
        if match["key"] is not None:
            found.append(("key", match["key"]))
        elif match["index"] is not None:
            found.append(("index", match["index"]))
        else:
            found.append(("key", match["quoted"][1:-1]))
        at = match.end()
    return found


def check_path(path: str, pinned: bool) -> str | None:
    """Why ``path`` may not be an entry's path, or None. The rule: ``$.steps[N]`` (N a step
    index or ``*``), then a section of the snapshot by name, then concrete keys down to the
    field that differs; ``*`` may stand for the name right after a named section
    (``resources.*.status``, ``events.*``...) but not for the field, and ``[*]`` for the
    step or for items of the list the field holds (``events.B[*]``). A path that stops at
    a section or at a resource (``$.steps[2].resources``, ``resources.A``: present on one
    side only) explains all it holds, so it needs ``legacy`` or ``convergence`` pinned.
    ``**`` is never allowed."""
    if not _STEP.match(path):
        return "a path starts with $.steps[N] or $.steps[*] (the step it is about)"
    parts = _segments(path)
    if parts is None:
        return "not a difference path ($.steps[N].section.key..., [N] or [*] for indexes)"
    parts = parts[2:]  # .steps and [N]
    if any(text == "**" for _, text in parts):
        return "'**' would explain anything below it: name the field that differs"
    if not parts or parts[0][0] != "key" or parts[0][1] not in SECTIONS:
        return (f"after $.steps[N] comes a section of the snapshot ({', '.join(SECTIONS)}):"
                " an entry names the field that differs, not a whole step")
    keys = [i for i, (kind, _) in enumerate(parts) if kind == "key"]
    last = keys[-1]
    if any(kind == "index" for kind, _ in parts[:last]):
        return "an index other than the step's may only follow the field (events.B[*])"
    for i in keys:
        if parts[i][1] == "*" and not (i == 1 and parts[0][1] in NAMED):
            return (f"'*' stands only for a name right after {', '.join(NAMED)} "
                    "(resources.*.status), never for a section or a field")
    if parts[last][1] == "*":
        return "the path ends in '*': name the field that differs (resources.*.status)"
    container = last == 0 or (last == 1 and parts[0][1] == "resources")
    if container and not pinned:
        return ("the path stops at a section or a resource, which would explain all it "
                "holds: name the field that differs, or pin the side that lacks it "
                "(legacy: null or convergence: null)")
    return None


class RegistryError(ValueError):
    def __init__(self, source: str, where: str, reason: str) -> None:
        super().__init__(f"{source}: {where}: {reason}")


@dataclass
class Entry:
    index: int
    scenario: str
    path: str
    reason: str
    legacy: Any = _ANY
    convergence: Any = _ANY
    matched: int = 0
    applicable: bool = False
    explained: dict[str, int] = field(default_factory=dict)  # scenario id -> differences
    _regex: re.Pattern = field(init=False, repr=False)

    def __post_init__(self) -> None:
        pattern = (re.escape(self.path).replace(r"\[\*\]", r"\[\d+\]")
                   .replace(r"\*", r"[^.\[]+"))
        self._regex = re.compile(pattern + r"$")

    def covers(self, scenario_id: str) -> bool:
        return fnmatch.fnmatchcase(scenario_id, self.scenario)

    def matches(self, scenario_id: str, path: str, legacy: Any, convergence: Any) -> bool:
        return (self.covers(scenario_id) and bool(self._regex.match(path))
                and (self.legacy is _ANY or self.legacy == legacy)
                and (self.convergence is _ANY or self.convergence == convergence))

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"index": self.index, "scenario": self.scenario,
                                "path": self.path, "reason": self.reason,
                                "matched": self.matched,
                                "explained": dict(sorted(self.explained.items()))}
        for side in ("legacy", "convergence"):
            value = getattr(self, side)
            data[side] = "<any>" if value is _ANY else value
        return data


class Registry:
    def __init__(self, entries: list[Entry], source: str = "<none>") -> None:
        self.entries = entries
        self.source = source

    @classmethod
    def load(cls, path: Path | None) -> Registry:
        if path is None:
            return cls([], "<none>")
        source = str(path)
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8"))
        except OSError as exc:
            raise RegistryError(source, "file", str(exc)) from None
        except yaml.YAMLError as exc:
            raise RegistryError(source, "file", f"not valid YAML: {exc}") from None
        if data is None:
            return cls([], source)
        items = data.get("divergences") if isinstance(data, dict) else data
        if not isinstance(items, list):
            raise RegistryError(source, "divergences", "expected a list of entries")
        entries = []
        for index, item in enumerate(items):
            where = f"divergences[{index}]"
            if not isinstance(item, dict):
                raise RegistryError(source, where, "an entry must be a mapping")
            unknown = set(item) - _FIELDS
            if unknown:
                raise RegistryError(source, f"{where}.{sorted(unknown)[0]}", "unknown field")
            for required in ("scenario", "path", "reason"):
                if not isinstance(item.get(required), str) or not item[required].strip():
                    raise RegistryError(source, f"{where}.{required}",
                                        "required, a non-empty string")
            problem = check_path(item["path"].strip(),
                                 pinned=item.get("legacy", _ANY) is None
                                 or item.get("convergence", _ANY) is None)
            if problem:
                raise RegistryError(source, f"{where}.path",
                                    f"{item['path']!r} refused: {problem}")
            entries.append(Entry(index=index, scenario=item["scenario"], path=item["path"],
                                 reason=item["reason"].strip(),
                                 legacy=item.get("legacy", _ANY),
                                 convergence=item.get("convergence", _ANY)))
        return cls(entries, source)

    def explain(self, scenario_id: str, path: str, legacy: Any, convergence: Any
                ) -> Entry | None:
        for entry in self.entries:
            if entry.matches(scenario_id, path, legacy, convergence):
                entry.matched += 1
                entry.explained[scenario_id] = entry.explained.get(scenario_id, 0) + 1
                return entry
        return None

    def note_ran(self, scenario_id: str) -> None:
        for entry in self.entries:
            if entry.covers(scenario_id):
                entry.applicable = True

    def stale(self) -> list[Entry]:
        return [e for e in self.entries if e.applicable and e.matched == 0]

    def to_json(self) -> dict[str, Any]:
        """The registry block of a run file: each entry with how many differences it
        explained (in all, and per scenario), and the stale ones."""
        return {"file": None if self.source == "<none>" else self.source,
                "entries": [e.to_json() for e in self.entries],
                "stale": [e.index for e in self.stale()]}
