"""Answers to get_resource / get_attr from stored resource rows and the cloud."""

from __future__ import annotations

from typing import Any

from engines.core.models import Resource
from engines.core.resource_actions import ResourceActions


class RowLookup:
    """Resolve references against the rows that currently stand for each name; attributes
    come from the physical resource (the plugin reads the cloud), as in Heat."""

    def __init__(self, actions: ResourceActions, rows: dict[str, Resource]) -> None:
        self.actions = actions
        self.rows = rows
        self._cache: dict[tuple[str, str], Any] = {}

    def physical_id(self, name: str) -> str | None:
        row = self.rows.get(name)
        return row.physical_resource_id if row else None

    def attribute(self, name: str, attr: str) -> Any:
        row = self.rows.get(name)
        if row is None or not row.physical_resource_id:
            return None
        key = (name, attr)
        if key not in self._cache:
            try:
                self._cache[key] = self.actions.plugin(row).get_attribute(attr)
            except KeyError:
                self._cache[key] = None
        return self._cache[key]
