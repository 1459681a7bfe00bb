"""Loading template and environment documents: size limit first, safe YAML, no alias bombs.

A loaded document is normalised to its JSON form, because JSON is how it is stored: a
template parsed from the request and the same template re-read from the database must be
the same data.
"""

from __future__ import annotations

import datetime
import json
from typing import Any

import yaml

from engines.core.errors import TemplateSizeError, ValidationError

# Deeper than any sensible template; keeps every recursive walk far from Python's limit.
MAX_DEPTH = 64


def child(path: str, key: str | int) -> str:
    """The path of ``key`` inside ``path``: ``resources.A`` or ``depends_on[1]``."""
    if isinstance(key, int):
        return f"{path}[{key}]"
    return f"{path}.{key}" if path else key


def reject_unknown_keys(doc: dict, allowed: tuple[str, ...] | frozenset[str], path: str,
                        what: str, error: type[ValidationError] = ValidationError) -> None:
    """Refuse the first key of ``doc`` outside ``allowed``: where it is, and what may be."""
    for key in doc:
        if key not in allowed:
            raise error(child(path, key),
                        f"unknown {what} {key!r} (allowed: {', '.join(allowed)})")


class _Strict:
    """A SafeLoader's constructor that keeps dates as written and refuses duplicate keys."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":  # `<<: *base` may be overridden
                continue
            key = self.construct_object(key_node, deep=True)
            try:
                duplicate = key in seen
            except TypeError:  # unhashable key: the base class reports it with its mark
                break
            if duplicate:
                mark = key_node.start_mark
                raise _Duplicate(key, mark.line + 1, mark.column + 1)
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


def _timestamp_as_text(loader: yaml.SafeLoader, node: yaml.ScalarNode) -> str:
    # heat_template_version: 2015-04-30 is a version string, not a date
    return loader.construct_scalar(node)


class _Loader(_Strict, yaml.SafeLoader):
    """The pure-Python parser: what a document's error is reported by."""


_LIBYAML = hasattr(yaml, "CSafeLoader")


class _FastLoader(_Strict, yaml.CSafeLoader if _LIBYAML else yaml.SafeLoader):  # type: ignore[misc]
    """libyaml's parser where PyYAML has it: the same documents, several times faster (a
    template of 1,000 resources is read on every create and update, and the pure-Python
    scanner was the largest single cost of a create). Its error messages are libyaml's,
    worded differently, so a document it refuses is read again by ``_Loader`` for the
    error (rare, and never on the path of a good request)."""


for _cls in (_Loader, _FastLoader):
    _cls.add_constructor("tag:yaml.org,2002:timestamp", _timestamp_as_text)


class _Duplicate(Exception):  # noqa: N818 - internal, turned into a ValidationError
    def __init__(self, key: Any, line: int, column: int) -> None:
        self.key, self.line, self.column = key, line, column


def _check_expansion(root: yaml.Node, limit: int, what: str) -> None:
    """Refuse documents whose aliases expand beyond ``limit`` nodes, or nest too deeply.

    The composer shares one node for an anchor and all its aliases, so the document is small
    in memory; it is every later walk (JSON dump, function resolution) that would expand it.
    Sizes are memoised per node so that the check itself stays linear.
    """
    sizes: dict[int, int] = {}
    active: set[int] = set()

    def size(node: yaml.Node, depth: int) -> int:
        key = id(node)
        if key in sizes:
            return sizes[key]
        if key in active:
            mark = node.start_mark
            raise ValidationError(
                what, f"recursive YAML alias at line {mark.line + 1}, column {mark.column + 1}"
            )
        if depth > MAX_DEPTH:
            mark = node.start_mark
            raise ValidationError(
                what, f"nested deeper than {MAX_DEPTH} levels at line {mark.line + 1}"
            )
        total = 1
        if isinstance(node, yaml.SequenceNode | yaml.MappingNode):
            active.add(key)
            children: list[yaml.Node] = []
            if isinstance(node, yaml.SequenceNode):
                children = list(node.value)
            else:
                for k, v in node.value:
                    children += [k, v]
            for sub in children:
                total += size(sub, depth + 1)
                if total > limit:
                    raise ValidationError(
                        what,
                        f"YAML aliases expand to more than {limit} nodes, more than a document "
                        "of the size limit can hold (an alias bomb?)",
                    )
            active.discard(key)
        sizes[key] = total
        return total

    size(root, 0)


def _decode(source: bytes, what: str) -> str:
    try:
        return source.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ValidationError(what, f"not valid UTF-8 at byte {exc.start}") from None


def _parse_yaml(text: str, what: str, max_nodes: int) -> Any:
    if _LIBYAML:
        try:
            return _parse_with(_FastLoader, text, what, max_nodes)
        except ValidationError:
            pass  # said again, in the words of the parser the messages were written for
    return _parse_with(_Loader, text, what, max_nodes)


def _parse_with(loader_class: type, text: str, what: str, max_nodes: int) -> Any:
    loader = loader_class(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        _check_expansion(node, max_nodes, what)
        return loader.construct_document(node)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = exc.problem or exc.context or "invalid YAML"
        started = exc.context_mark if exc.problem and exc.context else None
        if started is not None and started is not mark:
            # the problem often shows only at the end of the file; say where it began
            problem += (f" ({exc.context} at line {started.line + 1}, "
                        f"column {started.column + 1})")
        raise ValidationError(what, f"YAML syntax error{where}: {problem}") from None
    except _Duplicate as exc:
        raise ValidationError(
            what, f"duplicate key {exc.key!r} at line {exc.line}, column {exc.column}"
        ) from None
    except yaml.YAMLError as exc:
        raise ValidationError(what, f"YAML error: {exc}") from None
    except RecursionError:  # the composer recurses per level, before our depth check runs
        raise ValidationError(what, f"nested deeper than {MAX_DEPTH} levels") from None
    finally:
        loader.dispose()


def _jsonable(value: Any) -> Any:
    if isinstance(value, datetime.date):  # a dict built by yaml.safe_load elsewhere
        return value.isoformat()
    raise TypeError(f"a {type(value).__name__} cannot be stored")


def _to_json(data: Any, what: str) -> str:
    try:
        return json.dumps(data, default=_jsonable, ensure_ascii=False)
    except (TypeError, ValueError, RecursionError) as exc:
        raise ValidationError(what, f"the {what} cannot be stored as JSON: {exc}") from None


def load_optional_document(
    source: str | bytes | dict | None, *, what: str, max_size: int
) -> dict | None:
    """Like :func:`load_document`, but an absent or empty document gives None."""
    if source is None:
        return None
    if isinstance(source, dict):
        _check_values(source, what, max_size)
        dumped = _to_json(source, what)
        size = len(dumped.encode("utf-8"))
        _check_size(size, what, max_size)
        data: Any = json.loads(dumped)
        _check_depth(data, what)
    elif isinstance(source, str | bytes):
        _check_size(len(source.encode("utf-8") if isinstance(source, str) else source),
                    what, max_size)
        text = source if isinstance(source, str) else _decode(source, what)
        # a document without aliases has fewer nodes than bytes: so may an expanded one
        data = _parse_yaml(text, what, max(max_size, 1))
        if data is None:
            return None
        data = json.loads(_to_json(data, what))
    else:
        raise ValidationError(
            what, f"the {what} must be YAML text or a mapping, got {type(source).__name__}"
        )
    if not isinstance(data, dict):
        raise ValidationError(what, f"the {what} must be a mapping, got {kind(data)}")
    return data


def load_document(source: str | bytes | dict, *, what: str, max_size: int) -> dict:
    """Load a template or environment (``what``) from YAML text or an already parsed mapping.

    Raises TemplateSizeError before parsing when the document is larger than ``max_size``
    bytes, ValidationError (path ``what``) when it is not YAML, is empty or is not a mapping.
    """
    data = load_optional_document(source, what=what, max_size=max_size)
    if data is None:
        raise ValidationError(what, f"the {what} is empty")
    return data


def _check_depth(data: Any, what: str) -> None:
    level = [data]
    for _ in range(MAX_DEPTH + 1):
        level = [v for item in level if isinstance(item, dict | list)
                 for v in (item.values() if isinstance(item, dict) else item)]
        if not level:
            return
    raise ValidationError(what, f"nested deeper than {MAX_DEPTH} levels")


def _check_values(data: dict, what: str, max_size: int) -> None:
    """Bound the walk before dumping: a mapping built by yaml.safe_load elsewhere may share
    sub-structures (aliases) or even contain itself. Every value and key costs at least one
    byte of JSON, so more of them than ``max_size`` means too big, without dumping it."""
    count = 0
    pending: list[Any] = [data]
    while pending:
        item = pending.pop()
        count += 1
        if count > max_size:
            raise TemplateSizeError(
                what, f"the {what} has more than {max_size} values, more than the limit of "
                f"{max_size} bytes can hold"
            )
        if isinstance(item, dict):
            pending += item.keys()
            pending += item.values()
        elif isinstance(item, list | tuple):
            pending += item


def _check_size(size: int, what: str, max_size: int) -> None:
    if size > max_size:
        raise TemplateSizeError(
            what, f"the {what} is {size} bytes, more than the limit of {max_size} bytes"
        )


def kind(value: Any) -> str:
    """How to name the type of a document value in an error message."""
    names = {list: "a list", str: "a string", bool: "a boolean", int: "a number",
             float: "a number", type(None): "null", dict: "a mapping"}
    return names.get(type(value), type(value).__name__)
