"""Normalisation: what makes two runs comparable. Physical ids become ``NAME#n`` (n counts
the copies of that logical resource in order of first appearance), so "C was replaced" reads
the same on both paths; ids, uuids and timestamps are not kept at all."""

from __future__ import annotations

import copy
import re
from typing import Any

_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


class IdNames:
    """Gives each physical id a stable name, per logical resource."""

    def __init__(self) -> None:
        self.names: dict[str, str] = {}
        self._counts: dict[str, int] = {}

    def name(self, logical: str, physical_id: str | None) -> str | None:
        if physical_id is None:
            return None
        if physical_id not in self.names:
            self._counts[logical] = self._counts.get(logical, 0) + 1
            self.names[physical_id] = f"{logical}#{self._counts[logical]}"
        return self.names[physical_id]

    def text(self, value: str) -> str:
        """Replace known physical ids in free text (reasons); other uuids become <uuid>."""
        for physical_id, name in self.names.items():
            value = value.replace(physical_id, name)
        return _UUID.sub("<uuid>", value)


def normalize_value(value: Any, ids: IdNames) -> Any:
    """Physical ids inside property and attribute values (get_resource) become names."""
    if isinstance(value, str):
        return ids.text(value)
    if isinstance(value, list):
        return [normalize_value(v, ids) for v in value]
    if isinstance(value, dict):
        return {k: normalize_value(v, ids) for k, v in value.items()}
    return value


def normalize(snapshots: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Normalise a run's snapshots (raw, as harness.experiment.observation takes them), in
    step order."""
    ids = IdNames()
    result = []
    for raw in snapshots:
        snap = copy.deepcopy(raw)
        for name, res in snap.get("resources", {}).items():
            res["physical_id"] = ids.name(name, res.get("physical_id"))
        for res in snap.get("resources", {}).values():
            res["properties"] = normalize_value(res.get("properties", {}), ids)
            res["attributes"] = normalize_value(res.get("attributes", {}), ids)
        if snap.get("stack") and "reason" in snap["stack"]:
            snap["stack"]["reason"] = ids.text(snap["stack"].get("reason") or "")
        snap["outputs"] = normalize_value(snap.get("outputs", {}), ids)
        snap.pop("physical", None)
        result.append(snap)
    return result
