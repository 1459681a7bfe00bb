"""Conditions (HOT 2016-10-14 and later): the ``conditions`` section, the ``condition`` of a
resource or an output, and ``if``.

A condition depends on parameters only, so it is decided when the template is parsed, as
Heat's ``if`` is a macro: a resource whose condition is false is not in the stack (a
reference to it is allowed and is null), an output whose condition is false is null, and
``if`` is replaced by the branch it chooses before anything else is checked.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from engines.core import functions as fn
from engines.core import hot
from engines.core.errors import ValidationError
from engines.core.yaml_loader import child, kind

SECTION = "conditions"
_BOOLEAN_OPS = ("not", "and", "or")
_IN_PROGRESS = object()


class _Omitted:
    """What a false ``if`` without a false branch leaves: nothing (2021-04-16)."""

    def __repr__(self) -> str:
        return "<omitted>"


OMITTED = _Omitted()


class Conditions:
    """The conditions of one template, decided for one set of parameter values."""

    def __init__(self, section: Any, version: str, parameters: Mapping[str, Any],
                 files: Mapping[str, str] | None = None) -> None:
        self.version = version
        self._source = fn.StaticSource(parameters, files)
        self._parameters = parameters
        if section is not None:
            hot.require("the conditions section", hot.CONDITIONS_SINCE, version, SECTION)
        if section is None:
            section = {}
        if not isinstance(section, dict):
            raise ValidationError(SECTION, f"must be a mapping, got {kind(section)}")
        self._definitions = section
        self._values: dict[str, Any] = {}
        for name in section:  # every definition is checked, used or not, as in Heat
            self._named(str(name), child(SECTION, str(name)), ())

    @property
    def values(self) -> dict[str, bool]:
        return {name: bool(value) for name, value in self._values.items()}

    # -- deciding ---------------------------------------------------------------------
    def enabled(self, spec: Any, path: str) -> bool:
        """A ``condition`` key or the first argument of ``if``: a condition's name, a
        boolean, or a condition written in place."""
        hot.require("a condition", hot.CONDITIONS_SINCE, self.version, path)
        return self._decide(spec, path, (), top=False)

    def _named(self, name: str, path: str, chain: tuple[str, ...]) -> bool:
        if name not in self._definitions:
            known = ", ".join(sorted(map(str, self._definitions))) or "none"
            raise ValidationError(path, f"unknown condition {name!r} (defined: {known})")
        value = self._values.get(name)
        if value is _IN_PROGRESS:
            loop = " -> ".join([*chain, name])
            raise ValidationError(child(SECTION, name), f"circular condition: {loop}")
        if value is None:
            self._values[name] = _IN_PROGRESS
            self._values[name] = self._decide(self._definitions[name], child(SECTION, name),
                                              (*chain, name), top=True)
        return bool(self._values[name])

    def _decide(self, spec: Any, path: str, chain: tuple[str, ...], top: bool) -> bool:
        if isinstance(spec, bool):
            return spec
        if isinstance(spec, str) and not top:
            return self._named(spec, path, chain)
        if isinstance(spec, dict) and len(spec) == 1:
            (name, args), = spec.items()
            return self._call(str(name), args, path, chain)
        what = ("a boolean or a condition function" if top
                else "a condition name, a boolean or a condition function")
        raise ValidationError(path, f"invalid condition: expected {what}, got {kind(spec)}")

    def _call(self, name: str, args: Any, path: str, chain: tuple[str, ...]) -> bool:
        self._allowed(name, path)
        here = child(path, name)
        if name == "get_param":
            value = self._value({name: args}, path)
            if not isinstance(value, bool):
                raise ValidationError(path, f"get_param: a condition must be a boolean, "
                                            f"got {kind(value)}")
            return value
        if name == "not":
            return not self._decide(args, here, chain, top=False)
        if name in ("and", "or"):
            if not isinstance(args, list) or len(args) < 2:
                raise ValidationError(path, f"{name}: expected a list of at least 2 "
                                            f"conditions, got {kind(args)}")
            results = [self._decide(item, child(here, i), chain, top=False)
                       for i, item in enumerate(args)]
            return all(results) if name == "and" else any(results)
        if not isinstance(args, list) or len(args) != 2:
            shape = "[value, value]" if name == "equals" else "[value, list]"
            raise ValidationError(path, f"{name}: expected {shape}, got {kind(args)}")
        first, second = (self._value(item, child(here, i)) for i, item in enumerate(args))
        if name == "equals":
            return first == second
        if not isinstance(second, list | str):
            raise ValidationError(path, f"contains: the second argument must be a list, "
                                        f"got {kind(second)}")
        return first in second

    def _allowed(self, name: str, path: str) -> None:
        since = hot.CONDITION_FUNCTION_SINCE.get(name)
        if since is None:
            allowed = ", ".join(n for n, s in hot.CONDITION_FUNCTION_SINCE.items()
                                if hot.at_least(self.version, s) and n != "yaql")
            raise ValidationError(path, f"{name!r} cannot be used in a condition "
                                        f"(condition functions: {allowed})")
        hot.require(f"condition function {name!r}", since, self.version, path)
        if name == "yaql":
            raise ValidationError(path, "yaql is not supported by dualpath: no YAQL "
                                        "evaluator runs template expressions safely here")

    def _value(self, snippet: Any, path: str) -> Any:
        """An argument of equals or contains: data, parameters, or a nested condition."""
        if isinstance(snippet, dict) and len(snippet) == 1:
            (name, args), = snippet.items()
            if name == "get_param":
                scope = fn.Scope(self._parameters, {}, self.version)
                fn.check(snippet, path, scope)
                return fn.resolve(snippet, path, self._source)
            if name in hot.CONDITION_FUNCTION_SINCE or name in hot.FUNCTION_SINCE:
                return self._call(str(name), args, path, ())
        if isinstance(snippet, dict):
            return {k: self._value(v, child(path, str(k))) for k, v in snippet.items()}
        if isinstance(snippet, list):
            return [self._value(v, child(path, i)) for i, v in enumerate(snippet)]
        return snippet

    # -- if -----------------------------------------------------------------------------
    def expand(self, snippet: Any, path: str) -> Any:
        """``snippet`` with every ``if`` replaced by the branch it chooses; OMITTED where
        a false ``if`` has no false branch (that item is then left out)."""
        if not hot.at_least(self.version, hot.CONDITIONS_SINCE):
            return snippet  # `if` is not a function there: the checker says so
        if isinstance(snippet, dict):
            if len(snippet) == 1 and "if" in snippet:
                return self.expand(self._choose(snippet["if"], path), path)
            expanded = {k: self.expand(v, child(path, str(k))) for k, v in snippet.items()}
            return {k: v for k, v in expanded.items() if v is not OMITTED}
        if isinstance(snippet, list):
            items = [self.expand(v, child(path, i)) for i, v in enumerate(snippet)]
            return [v for v in items if v is not OMITTED]
        return snippet

    def _choose(self, args: Any, path: str) -> Any:
        nullable = hot.at_least(self.version, hot.NULLABLE_IF_SINCE)
        sizes = (2, 3) if nullable else (3,)
        if not isinstance(args, list) or len(args) not in sizes:
            shape = ("[condition, value if true, optional value if false]" if nullable
                     else "[condition, value if true, value if false]")
            got = f"{len(args)} arguments" if isinstance(args, list) else kind(args)
            raise ValidationError(path, f"if: expected {shape}, got {got}")
        if self.enabled(args[0], child(child(path, "if"), 0)):
            return args[1]
        return args[2] if len(args) == 3 else OMITTED
