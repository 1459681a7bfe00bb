"""Intrinsic functions on data: get_file, str_split, map_merge, map_replace, list_concat,
list_concat_unique, contains and repeat; and yaql, refused.

Each is checked when the template is parsed (argument shapes, references) and resolved
like the others; what only parameters decide is resolved, and so checked, at parse time
too. Errors name the place of the call and the function.
"""

from __future__ import annotations

import itertools
from typing import Any

from engines.core import functions as fn
from engines.core import hot
from engines.core.errors import ValidationError
from engines.core.yaml_loader import child, kind


def _bad(name: str, what: str, path: str, value: Any = None, got: bool = True
         ) -> ValidationError:
    return ValidationError(path, f"{name}: {what}" + (f", got {kind(value)}" if got else ""))


def _list_args(name: str, args: Any, path: str, scope: fn.Scope, sizes: tuple[int, ...]
               ) -> list[fn.Reference]:
    """Arguments that must be a list of one of ``sizes`` items (empty: any size >= 1)."""
    if fn._call(args) is None:
        if not isinstance(args, list):
            raise _bad(name, "expected a list of arguments", path, args)
        if sizes and len(args) not in sizes:
            shown = " or ".join(str(n) for n in sizes)
            raise _bad(name, f"expected {shown} arguments, got {len(args)}", path, got=False)
    return fn.check(args, child(path, name), scope)


class _GetFile:
    name = "get_file"

    def check(self, args: Any, path: str, scope: fn.Scope) -> list[fn.Reference]:
        if fn._is_literal(args):
            if not isinstance(args, str):
                raise _bad(self.name, "expected the name of a file", path, args)
            if args not in scope.files:
                raise ValidationError(path, _missing(args, scope.files))
            return []
        return fn.check(args, child(path, self.name), scope)

    def resolve(self, args: Any, path: str, source: fn.Source) -> Any:
        name = fn.resolve(args, child(path, self.name), source)
        if not isinstance(name, str):
            raise _bad(self.name, "the file name must resolve to a string", path, name)
        content = source.file(name)
        if content is None:
            raise ValidationError(path, _missing(name, {}))
        return content


def _missing(name: str, files: Any) -> str:
    known = ", ".join(sorted(files)) if files else "none"
    return f"get_file: no file {name!r} in the files map (files given: {known})"


class _StrSplit:
    name = "str_split"

    def check(self, args: Any, path: str, scope: fn.Scope) -> list[fn.Reference]:
        return _list_args(self.name, args, path, scope, (2, 3))

    def resolve(self, args: Any, path: str, source: fn.Source) -> Any:
        values = fn.resolve(args, child(path, self.name), source)
        if not isinstance(values, list) or len(values) not in (2, 3):
            raise _bad(self.name, "expected [delimiter, string, optional index]", path, values)
        delimiter, text = values[0], values[1]
        if not isinstance(delimiter, str) or not delimiter:
            raise _bad(self.name, "the delimiter must be a non-empty string", path, delimiter)
        if text is None:
            return None
        if not isinstance(text, str):
            raise _bad(self.name, "the value to split must be a string", path, text)
        parts = text.split(delimiter)
        if len(values) == 2:
            return parts
        try:
            index = int(values[2])
        except (TypeError, ValueError):
            raise _bad(self.name, "the index must be a number", path, values[2]) from None
        if not 0 <= index < len(parts):
            raise ValidationError(path, f"str_split: index {index} is out of range "
                                        f"(0 to {len(parts) - 1})")
        return parts[index]


class _MapMerge:
    name = "map_merge"

    def check(self, args: Any, path: str, scope: fn.Scope) -> list[fn.Reference]:
        return _list_args(self.name, args, path, scope, ())

    def resolve(self, args: Any, path: str, source: fn.Source) -> Any:
        maps = fn.resolve(args, child(path, self.name), source)
        if not isinstance(maps, list):
            raise _bad(self.name, "expected a list of mappings", path, maps)
        merged: dict[str, Any] = {}
        for i, item in enumerate(maps):
            if item is None:
                continue
            if not isinstance(item, dict):
                raise _bad(self.name, f"item {i} must be a mapping", path, item)
            merged.update(item)
        return merged


class _MapReplace:
    name = "map_replace"

    def check(self, args: Any, path: str, scope: fn.Scope) -> list[fn.Reference]:
        refs = _list_args(self.name, args, path, scope, (2,))
        if isinstance(args, list) and isinstance(args[1], dict) and fn._call(args[1]) is None:
            for key in args[1]:
                if key not in ("keys", "values"):
                    raise ValidationError(
                        path, f"map_replace: unknown key {key!r} in the replacements "
                              "(expected keys, values)")
        return refs

    def resolve(self, args: Any, path: str, source: fn.Source) -> Any:
        values = fn.resolve(args, child(path, self.name), source)
        if not isinstance(values, list) or len(values) != 2:
            raise _bad(self.name, "expected [mapping, {keys: ..., values: ...}]", path, values)
        original, replacements = (v if v is not None else {} for v in values)
        for what, item in (("the first argument", original),
                           ("the replacements", replacements)):
            if not isinstance(item, dict):
                raise _bad(self.name, f"{what} must be a mapping", path, item)
        keys = replacements.get("keys") or {}
        new_values = replacements.get("values") or {}
        for what, item in (("keys", keys), ("values", new_values)):
            if not isinstance(item, dict):
                raise _bad(self.name, f"{what} must be a mapping", path, item)
        result: dict[str, Any] = {}
        for key, value in original.items():
            new_key = keys.get(key, key)
            if new_key != key and (new_key in original or new_key in result):
                raise ValidationError(
                    path, f"map_replace: the new key {new_key!r} collides with a key of "
                          "the mapping")
            try:
                result[new_key] = new_values.get(value, value)
            except TypeError:  # a list or mapping value is never replaced
                result[new_key] = value
        return result


class _ListConcat:
    name = "list_concat"
    unique = False

    def check(self, args: Any, path: str, scope: fn.Scope) -> list[fn.Reference]:
        return _list_args(self.name, args, path, scope, ())

    def resolve(self, args: Any, path: str, source: fn.Source) -> Any:
        lists = fn.resolve(args, child(path, self.name), source)
        if not isinstance(lists, list):
            raise _bad(self.name, "expected a list of lists", path, lists)
        result: list[Any] = []
        for i, item in enumerate(lists):
            if item is None:
                continue
            if not isinstance(item, list):
                raise _bad(self.name, f"item {i} must be a list", path, item)
            result += [x for x in item if not (self.unique and x in result)]
        return result


class _ListConcatUnique(_ListConcat):
    name = "list_concat_unique"
    unique = True


class _Contains:
    name = "contains"

    def check(self, args: Any, path: str, scope: fn.Scope) -> list[fn.Reference]:
        return _list_args(self.name, args, path, scope, (2,))

    def resolve(self, args: Any, path: str, source: fn.Source) -> Any:
        values = fn.resolve(args, child(path, self.name), source)
        if not isinstance(values, list) or len(values) != 2:
            raise _bad(self.name, "expected [value, list]", path, values)
        if not isinstance(values[1], list | str):
            raise _bad(self.name, "the second argument must be a list", path, values[1])
        return values[0] in values[1]


class _Repeat:
    name = "repeat"
    _KEYS = ("template", "for_each", "permutations")

    def check(self, args: Any, path: str, scope: fn.Scope) -> list[fn.Reference]:
        if not isinstance(args, dict):
            raise _bad(self.name, "expected a mapping with template and for_each", path, args)
        for key in args:
            if key not in self._KEYS:
                raise ValidationError(path, f"repeat: unknown argument {key!r} "
                                            "(expected template, for_each, permutations)")
        for key in ("template", "for_each"):
            if key not in args:
                raise ValidationError(path, f"repeat: argument {key!r} is missing")
        if "permutations" in args:
            hot.require("repeat's permutations", hot.PERMUTATIONS_SINCE, scope.version,
                        child(child(path, self.name), "permutations"))
            if not isinstance(args["permutations"], bool):
                raise _bad(self.name, "permutations must be true or false", path,
                           args["permutations"])
        for_each = args["for_each"]
        if fn._call(for_each) is None and (not isinstance(for_each, dict) or not for_each):
            raise _bad(self.name, "for_each must be a mapping of placeholders to lists",
                       path, for_each)
        maps_ok = hot.at_least(scope.version, hot.REPEAT_MAPS_SINCE)
        if isinstance(for_each, dict) and fn._call(for_each) is None:
            for key, items in for_each.items():
                if fn._is_literal(items) or (isinstance(items, dict) and not maps_ok
                                             and fn._call(items) is None):
                    raise _bad(self.name, f"the values of for_each ({key}) must be lists",
                               path, items)
        here = child(path, self.name)
        return [*fn.check(for_each, child(here, "for_each"), scope),
                *fn.check(args["template"], child(here, "template"), scope)]

    def resolve(self, args: Any, path: str, source: fn.Source) -> Any:
        here = child(path, self.name)
        for_each = fn.resolve(args["for_each"], child(here, "for_each"), source)
        if not isinstance(for_each, dict) or not for_each:
            raise _bad(self.name, "for_each must resolve to a mapping", path, for_each)
        keys, lists = [], []
        for key, items in for_each.items():
            if items is None:
                items = []
            if isinstance(items, dict):
                items = list(items)
            if not isinstance(items, list):
                raise _bad(self.name, f"the values of for_each ({key}) must be lists",
                           path, items)
            keys.append(str(key))
            lists.append([fn._text(item) for item in items])
        template = fn.resolve(args["template"], child(here, "template"), source)
        if args.get("permutations", True):
            combos = itertools.product(*lists)
        else:
            if len({len(items) for items in lists}) > 1:
                raise ValidationError(path, "repeat: with permutations: false, every "
                                            "for_each list must have the same length")
            combos = zip(*lists, strict=True)
        return [_substitute(template, keys, combo) for combo in combos]


def _substitute(template: Any, keys: list[str], values: tuple[str, ...]) -> Any:
    if isinstance(template, str):
        for key, value in zip(keys, values, strict=True):
            template = template.replace(key, value)
        return template
    if isinstance(template, list):
        return [_substitute(item, keys, values) for item in template]
    if isinstance(template, dict):
        return {_substitute(k, keys, values): _substitute(v, keys, values)
                for k, v in template.items()}
    return template


class _Yaql:
    """Refused: no YAQL evaluator can be bounded in time here, and an expression from a
    template would run inside the engine (Heat guards it with memory and iteration quotas
    that the yaql library alone does not give)."""

    name = "yaql"

    def check(self, args: Any, path: str, scope: fn.Scope) -> list[fn.Reference]:
        raise ValidationError(
            path, "yaql is not supported by dualpath: no YAQL evaluator runs template "
                  "expressions safely here (use map_merge, repeat, list_concat, ...)")

    def resolve(self, args: Any, path: str, source: fn.Source) -> Any:
        raise AssertionError("yaql is refused at check time")


for _function in (_GetFile(), _StrSplit(), _MapMerge(), _MapReplace(), _ListConcat(),
                  _ListConcatUnique(), _Contains(), _Repeat(), _Yaql()):
    fn.register(_function)
