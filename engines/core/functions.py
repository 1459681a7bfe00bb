"""Intrinsic functions: get_param, get_resource, get_attr, str_replace and list_join here;
the functions on data (get_file, repeat, map_merge, ...) in ``data_functions``; ``if`` and
the condition functions in ``conditions``. Each exists from the HOT version Heat gives it
(``engines.core.hot``).

A snippet is checked once, when the template is parsed (argument shapes, references), and
resolved as often as needed against a :class:`Source`. A source that cannot answer yet (at
parse time, nothing about resources is known) raises :class:`Unresolved`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from engines.core import hot
from engines.core.errors import InvalidReference, ValidationError
from engines.core.resource import Resource
from engines.core.yaml_loader import child, kind

# Heat's own functions beyond our subset, and anything that reads like one: better an error
# than a mapping silently passed to a plugin as data.
_FUNCTION_LIKE = re.compile(
    r"(get|str|list|map)_\w*|Fn::\w+|Ref|repeat|digest|if|equals|yaql|resource_facade"
    r"|contains|filter|make_url|not|and|or"
)


class Unresolved(Exception):  # noqa: N818 - control flow, never reaches a caller
    """The value depends on a resource, and this source knows none."""


class Source(Protocol):
    def parameter(self, name: str) -> Any: ...
    def physical_id(self, name: str) -> Any: ...
    def attribute(self, name: str, attr: str) -> Any: ...
    def file(self, name: str) -> Any: ...


@dataclass(frozen=True)
class Scope:
    """What a snippet may refer to: typed parameter values and resource plugins by name,
    the template's version, the ``files`` map, and the resources a false condition left
    out (a reference to one is allowed, and is null)."""

    parameters: Mapping[str, Any]
    resources: Mapping[str, type[Resource]]
    version: str = hot.LATEST
    files: Mapping[str, str] = field(default_factory=dict)
    disabled: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Reference:
    """A resource a snippet refers to, where, and by which function."""

    resource: str
    path: str
    function: str


class StaticSource:
    """Parameters and files only: enough to resolve, and so type-check, what needs no
    resource."""

    def __init__(self, parameters: Mapping[str, Any],
                 files: Mapping[str, str] | None = None) -> None:
        self._parameters = parameters
        self._files = files or {}

    def parameter(self, name: str) -> Any:
        return self._parameters[name]

    def file(self, name: str) -> Any:
        return self._files.get(name)

    def physical_id(self, name: str) -> Any:
        raise Unresolved(name)

    def attribute(self, name: str, attr: str) -> Any:
        raise Unresolved(name)


# -- helpers -------------------------------------------------------------------------------
def _call(snippet: Any) -> tuple[str, Any] | None:
    """(function name, arguments) when ``snippet`` is a call of one of ours."""
    if isinstance(snippet, dict) and len(snippet) == 1:
        (name, args), = snippet.items()
        if name in _FUNCTIONS:
            return name, args
    return None


def _is_literal(snippet: Any) -> bool:
    return not isinstance(snippet, dict | list)


def _text(value: Any) -> str:
    """How a value is spliced into a string."""
    if isinstance(value, str):
        return value
    if value is None:
        return ""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    return json.dumps(value)


def _follow(value: Any, keys: list[Any]) -> Any:
    """``value[k1][k2]...``; raises LookupError or TypeError when there is no such item."""
    for key in keys:
        if isinstance(value, dict):
            value = value[str(key)]
        elif isinstance(value, list) and not isinstance(key, bool):
            try:
                value = value[int(key)]
            except ValueError:
                raise TypeError(f"a list index must be a number, got {key!r}") from None
        else:
            raise TypeError(f"{kind(value)} has no item {key!r}")
    return value


def _has_attribute(plugin: type[Resource], attr: str) -> bool:
    # a group's attributes mirror its members' (``resource.0.output``): such a plugin
    # says which names it answers, beyond the ones its schema lists
    dynamic = getattr(plugin, "has_attribute", None)
    return attr in plugin.attributes_schema or (dynamic is not None and dynamic(attr))


def _not_a(name: str, what: str, value: Any, path: str) -> ValidationError:
    return ValidationError(path, f"{name}: {what}, got {kind(value)}")


# -- the functions -------------------------------------------------------------------------
class _GetParam:
    name = "get_param"

    def _split(self, args: Any, path: str) -> tuple[str, list[Any]]:
        if isinstance(args, str):
            return args, []
        if isinstance(args, list) and args and isinstance(args[0], str):
            return args[0], args[1:]
        raise _not_a(self.name, "expected a parameter name or [name, key or index, ...]",
                     args, path)

    def check(self, args: Any, path: str, scope: Scope) -> list[Reference]:
        name, keys = self._split(args, path)
        if name not in scope.parameters:
            raise InvalidReference(
                path, f"get_param: the template declares no parameter {name!r}"
            )
        refs = _check_items(keys, child(path, self.name), scope, offset=1)
        if all(_is_literal(key) for key in keys):  # a wrong key is known now
            self.resolve(args, path, StaticSource(scope.parameters))
        return refs

    def resolve(self, args: Any, path: str, source: Source) -> Any:
        name, keys = self._split(args, path)
        keys = [resolve(key, child(child(path, self.name), i + 1), source)
                for i, key in enumerate(keys)]
        try:
            return _follow(source.parameter(name), keys)
        except (LookupError, TypeError) as exc:
            raise ValidationError(
                path, f"get_param: parameter {name!r} has no item at {keys}: {exc}"
            ) from None


class _GetResource:
    name = "get_resource"

    def check(self, args: Any, path: str, scope: Scope) -> list[Reference]:
        if not isinstance(args, str):
            raise _not_a(self.name, "expected a resource name", args, path)
        if args in scope.disabled:
            return []
        if args not in scope.resources:
            raise InvalidReference(path, f"get_resource: the template has no resource {args!r}")
        return [Reference(args, path, self.name)]

    def resolve(self, args: Any, path: str, source: Source) -> Any:
        return source.physical_id(args)


class _GetAttr:
    name = "get_attr"

    def check(self, args: Any, path: str, scope: Scope) -> list[Reference]:
        if not (isinstance(args, list) and len(args) >= 2
                and isinstance(args[0], str) and isinstance(args[1], str)):
            raise _not_a(self.name, "expected [resource name, attribute name, key or index...]",
                         args, path)
        resource, attr = args[0], args[1]
        if resource in scope.disabled:
            return _check_items(args[2:], child(path, self.name), scope, offset=2)
        plugin = scope.resources.get(resource)
        if plugin is None:
            raise InvalidReference(path, f"get_attr: the template has no resource {resource!r}")
        if not _has_attribute(plugin, attr):
            known = ", ".join(sorted(plugin.attributes_schema)) or "none"
            raise InvalidReference(
                path,
                f"get_attr: unknown attribute {attr!r} of resource {resource!r} "
                f"(its attributes: {known})",
            )
        keys = _check_items(args[2:], child(path, self.name), scope, offset=2)
        return [Reference(resource, path, self.name), *keys]

    def resolve(self, args: Any, path: str, source: Source) -> Any:
        keys = [resolve(key, child(child(path, self.name), i + 2), source)
                for i, key in enumerate(args[2:])]
        value = source.attribute(args[0], args[1])
        try:
            return _follow(value, keys)
        except (LookupError, TypeError):
            # as in Heat: an attribute without that item is null, not an error
            return None


class _StrReplace:
    name = "str_replace"
    _KEYS = ("template", "params")

    def _parts(self, args: Any, path: str) -> tuple[Any, Any]:
        if not isinstance(args, dict):
            raise _not_a(self.name, "expected a mapping with template and params", args, path)
        for key in args:
            if key not in self._KEYS:
                raise ValidationError(
                    path, f"str_replace: unknown argument {key!r} (expected template, params)"
                )
        for key in self._KEYS:
            if key not in args:
                raise ValidationError(path, f"str_replace: argument {key!r} is missing")
        return args["template"], args["params"]

    def check(self, args: Any, path: str, scope: Scope) -> list[Reference]:
        template, params = self._parts(args, path)
        here = child(path, self.name)
        if _is_literal(template) and not isinstance(template, str):
            raise _not_a(self.name, "the template must be a string", template, path)
        if isinstance(params, list) or _is_literal(params):
            raise _not_a(self.name, "params must be a mapping", params, path)
        if _call(params) is None:
            self._check_keys(params, path)
        return [*check(template, child(here, "template"), scope),
                *check(params, child(here, "params"), scope)]

    def _check_keys(self, params: Any, path: str) -> None:
        if not isinstance(params, dict):
            raise _not_a(self.name, "params must resolve to a mapping", params, path)
        for key in params:
            if not isinstance(key, str) or not key:
                raise ValidationError(path, f"str_replace: a params key must be a non-empty "
                                            f"string, got {key!r}")

    def resolve(self, args: Any, path: str, source: Source) -> Any:
        here = child(path, self.name)
        template = resolve(args["template"], child(here, "template"), source)
        if not isinstance(template, str):
            raise _not_a(self.name, "the template must resolve to a string", template, path)
        params = resolve(args["params"], child(here, "params"), source)
        self._check_keys(params, path)
        if not params:
            return template
        # one pass, longest key first: a replacement is never replaced again, and "$a"
        # cannot steal part of "$ab"
        keys = sorted(params, key=len, reverse=True)
        pattern = re.compile("|".join(re.escape(key) for key in keys))
        return pattern.sub(lambda match: _text(params[match.group(0)]), template)


class _ListJoin:
    name = "list_join"

    def check(self, args: Any, path: str, scope: Scope) -> list[Reference]:
        if not isinstance(args, list) or len(args) < 2:
            raise _not_a(self.name, "expected [delimiter, list, more lists...]", args, path)
        refs = check(args, child(path, self.name), scope)  # an unknown function inside first
        delimiter = args[0]
        if _is_literal(delimiter) and not isinstance(delimiter, str):
            raise _not_a(self.name, "the delimiter must be a string", delimiter, path)
        for i, item in enumerate(args[1:], start=1):
            if _is_literal(item) or (isinstance(item, dict) and _call(item) is None):
                raise _not_a(self.name, f"argument {i + 1} must be a list", item, path)
        return refs

    def resolve(self, args: Any, path: str, source: Source) -> Any:
        here = child(path, self.name)
        delimiter = resolve(args[0], child(here, 0), source)
        if not isinstance(delimiter, str):
            raise _not_a(self.name, "the delimiter must resolve to a string", delimiter, path)
        items: list[str] = []
        for i, snippet in enumerate(args[1:], start=1):
            value = resolve(snippet, child(here, i), source)
            if not isinstance(value, list):
                raise _not_a(self.name, f"argument {i + 1} must resolve to a list", value, path)
            items += [_text(item) for item in value]
        return delimiter.join(items)


_FUNCTIONS: dict[str, Any] = {f.name: f for f in (_GetParam(), _GetResource(), _GetAttr(),
                                                  _StrReplace(), _ListJoin())}


def register(function: Any) -> None:
    """Add a function (an object with ``name``, ``check`` and ``resolve``)."""
    _FUNCTIONS[function.name] = function


def names_in(version: str) -> list[str]:
    """The functions a template of ``version`` may call."""
    return sorted(name for name in _FUNCTIONS if name in hot.FUNCTION_SINCE
                  and hot.at_least(version, hot.FUNCTION_SINCE[name]))


def _check_items(items: list[Any], path: str, scope: Scope, offset: int) -> list[Reference]:
    refs: list[Reference] = []
    for i, item in enumerate(items):
        refs += check(item, child(path, i + offset), scope)
    return refs


# -- entry points --------------------------------------------------------------------------
def check(snippet: Any, path: str, scope: Scope) -> list[Reference]:
    """Validate every function call in ``snippet``; return the resources it refers to.

    Raises ValidationError (InvalidReference for a missing parameter, resource or
    attribute) naming the path of the offending call.
    """
    call = _call(snippet)
    if call is not None and call[0] in names_in(scope.version):
        name, args = call
        return _FUNCTIONS[name].check(args, path, scope)
    if isinstance(snippet, dict):
        if len(snippet) == 1:
            (key,) = snippet
            if isinstance(key, str) and (call or _FUNCTION_LIKE.fullmatch(key)):
                raise ValidationError(path, _unknown(key, scope.version))
        refs: list[Reference] = []
        for key, value in snippet.items():
            refs += check(value, child(path, str(key)), scope)
        return refs
    if isinstance(snippet, list):
        return _check_items(snippet, path, scope, offset=0)
    return []


def _unknown(name: str, version: str) -> str:
    since = hot.FUNCTION_SINCE.get(name)
    if since and not hot.at_least(version, since):
        return (f"intrinsic function {name!r} is not available in heat_template_version "
                f"{version} (it needs {since} or later)")
    if name in hot.CONDITION_FUNCTION_SINCE:
        return (f"{name!r} is a condition function: it belongs in the conditions section, "
                f"a condition key or the first argument of if")
    return (f"unknown intrinsic function {name!r} "
            f"(supported in {version}: {', '.join(names_in(version))})")


def resolve(snippet: Any, path: str, source: Source) -> Any:
    """``snippet`` with every function call replaced by its value. ``snippet`` must have
    passed :func:`check`."""
    call = _call(snippet)
    if call is not None:
        name, args = call
        return _FUNCTIONS[name].resolve(args, path, source)
    if isinstance(snippet, dict):
        return {key: resolve(value, child(path, str(key)), source)
                for key, value in snippet.items()}
    if isinstance(snippet, list):
        return [resolve(item, child(path, i), source) for i, item in enumerate(snippet)]
    return snippet


# the other functions register themselves with this module
from engines.core import data_functions  # noqa: E402,F401
