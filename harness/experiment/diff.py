"""Structural difference of two JSON values, as JSON paths (``$.steps[3].resources.C``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

_ABSENT = object()


@dataclass(frozen=True)
class Difference:
    path: str
    left: Any  # legacy (or the first run)
    right: Any  # convergence (or the second run)


def _key(path: str, key: str) -> str:
    # a resource path into nested stacks (db/R) reads as written: resources.db/R.status
    plain = key.replace("_", "").replace("-", "").replace("/", "")
    return f"{path}.{key}" if plain.isalnum() and not key.startswith("/") else \
        f"{path}[{key!r}]"


def diff(left: Any, right: Any, path: str = "$") -> list[Difference]:
    """Every leaf at which ``left`` and ``right`` differ; a key present on one side only is
    a difference whose other value is None."""
    if isinstance(left, dict) and isinstance(right, dict):
        found: list[Difference] = []
        for key in sorted(set(left) | set(right), key=str):
            a, b = left.get(key, _ABSENT), right.get(key, _ABSENT)
            if a is _ABSENT or b is _ABSENT:
                found.append(Difference(_key(path, str(key)), None if a is _ABSENT else a,
                                        None if b is _ABSENT else b))
            else:
                found.extend(diff(a, b, _key(path, str(key))))
        return found
    if isinstance(left, list) and isinstance(right, list):
        found = []
        for index in range(max(len(left), len(right))):
            a = left[index] if index < len(left) else None
            b = right[index] if index < len(right) else None
            if index >= len(left) or index >= len(right):
                found.append(Difference(f"{path}[{index}]", a, b))
            else:
                found.extend(diff(a, b, f"{path}[{index}]"))
        return found
    if left == right and type(left) is type(right):
        return []
    return [Difference(path, left, right)]
