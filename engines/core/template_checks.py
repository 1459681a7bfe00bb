"""Checks of a whole template that stand apart from parsing its sections: the files map,
dependency cycles, and the digest that tells a nested template changed."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any

from engines.core.dependencies import Dependencies
from engines.core.errors import DependencyCycle, ValidationError
from engines.core.yaml_loader import child, kind


def check_files(files: Any) -> dict[str, str]:
    if files is None:
        return {}
    if not isinstance(files, Mapping):
        raise ValidationError("files", f"must be a mapping of names to contents, "
                                       f"got {kind(files)}")
    for name, content in files.items():
        if not isinstance(name, str) or not isinstance(content, str):
            raise ValidationError(child("files", str(name)),
                                  f"a file's content must be text, got {kind(content)}")
    return dict(files)


def check_cycles(resources: dict[str, Any]) -> None:
    loop = Dependencies({name: defn.requires for name, defn in resources.items()}).find_cycle()
    if loop is None:
        return
    # the same loop whichever resource the search met first: it starts at the one written
    # first in the template
    rank = {name: i for i, name in enumerate(resources)}
    loop = loop[:-1]
    first = min(range(len(loop)), key=lambda i: rank[loop[i]])
    loop = loop[first:] + loop[:first]
    raise DependencyCycle(child("resources", loop[0]),
                          "dependency cycle: " + " -> ".join([*loop, loop[0]]))


def digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:16]
