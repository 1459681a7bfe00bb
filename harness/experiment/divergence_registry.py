"""The divergence registry (``scenarios/divergences.yaml``): differences between the paths
that are known, explained, and accepted. Each entry names scenarios (a glob on the id), a
difference path (``[*]`` matches any index, ``*`` any one key, ``**`` any rest of the
path), optionally the value on each side, and a reason written for a human. An entry that
matched nothing in a run where its scenarios ran is *stale*: the divergence it explains has
gone, or moved."""

from __future__ import annotations

import fnmatch
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

_ANY = object()
_FIELDS = {"scenario", "path", "legacy", "convergence", "reason"}


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
    _regex: re.Pattern = field(init=False, repr=False)

    def __post_init__(self) -> None:
        pattern = (re.escape(self.path).replace(r"\*\*", "\0")
                   .replace(r"\[\*\]", r"\[\d+\]").replace(r"\*", r"[^.\[]+")
                   .replace("\0", ".*"))
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
                                "matched": self.matched}
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
            if not item["path"].startswith("$"):
                raise RegistryError(source, f"{where}.path", "a path starts with '$'")
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
                return entry
        return None

    def note_ran(self, scenario_id: str) -> None:
        for entry in self.entries:
            if entry.covers(scenario_id):
                entry.applicable = True

    def stale(self) -> list[Entry]:
        return [e for e in self.entries if e.applicable and e.matched == 0]
