"""Several environment files, merged in the order given, as Heat's client merges them:
``parameters`` and ``parameter_defaults`` key by key (a later file wins), the
``resource_registry`` key by key, and its per-resource settings resource by resource."""

from __future__ import annotations

from typing import Any

from engines.core.errors import ValidationError
from engines.core.yaml_loader import child, kind


def merge(docs: list[dict | None], root: str) -> dict | None:
    """One environment document from ``docs`` (None entries are empty environments)."""
    merged: dict[str, Any] = {}
    for i, doc in enumerate(docs):
        if doc is None:
            continue
        where = f"{root}[{i}]"
        for section, value in doc.items():
            if section not in ("parameters", "parameter_defaults", "resource_registry"):
                merged[section] = value  # the parser names what it does not know
                continue
            if not isinstance(value, dict):
                raise ValidationError(child(where, section),
                                      f"must be a mapping, got {kind(value)}")
            target = merged.setdefault(section, {})
            if section != "resource_registry":
                target.update(value)
                continue
            for key, entry in value.items():
                if key == "resources" and isinstance(entry, dict):
                    resources = target.setdefault("resources", {})
                    for name, settings in entry.items():
                        if isinstance(settings, dict) and isinstance(resources.get(name), dict):
                            resources[name] = {**resources[name], **settings}
                        else:
                            resources[name] = settings
                else:
                    target[key] = entry
    return merged or None
