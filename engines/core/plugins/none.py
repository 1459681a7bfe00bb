"""OS::Heat::None: takes any properties, creates nothing of substance, never replaced."""

from __future__ import annotations

from typing import Any

from engines.core.resource import Resource


class NoneResource(Resource):
    accepts_any_property = True

    def needs_replace(self, old: dict[str, Any], new: dict[str, Any]) -> bool:
        return False
