"""Checks that are not "equal to": what an ``expect`` may say of a value it cannot know
exactly (a random string's length, a list that grew, an attribute that must have
changed since a mark, a reason that must mention something).

A check is a mapping with exactly one key, an operator:

- ``{equals: V}``: exactly V (what a bare value means; the way to compare a one-key
  mapping exactly);
- ``{length: N}``: a string, list or mapping of N items;
- ``{contains: X}``: a string holding the text X, a list holding the item X, a mapping
  holding the key X;
- ``{not_null: true}``: a value (an output not resolved is null);
- ``{changed_since: MARK}`` / ``{unchanged_since: MARK}``: differs from / equals what it
  was at ``mark: MARK``.

Outputs and attributes take a bare value (compared exactly) or a check; a one-key
mapping whose key is no operator is refused when the scenario is loaded, so that a typo
(``lenght``) is not silently compared as a value."""

from __future__ import annotations

from typing import Any

OPERATORS = ("equals", "length", "contains", "not_null", "changed_since", "unchanged_since")
MARK_OPERATORS = ("changed_since", "unchanged_since")
_UNSET = object()

# the schema of a check (the operator names are checked by the loader, with its message)
DEFS: dict[str, Any] = {
    "check": {
        "type": "object", "minProperties": 1, "maxProperties": 1,
        "properties": {
            "length": {"type": "integer", "minimum": 0,
                       "x-error": "length is a number of items, 0 or more"},
            "not_null": {"const": True, "x-error": "not_null is true"},
            "changed_since": {"$ref": "#/$defs/name"},
            "unchanged_since": {"$ref": "#/$defs/name"},
        },
        "x-error": "a check is a mapping with one operator: " + ", ".join(OPERATORS),
    },
    "valueCheck": {
        "description": "A value compared exactly, or a check: a one-key mapping whose key "
                       "is an operator (" + ", ".join(OPERATORS) + ").",
        "anyOf": [{"not": {"type": "object", "minProperties": 1, "maxProperties": 1}},
                  {"$ref": "#/$defs/check"}],
    },
    "textCheck": {
        "anyOf": [{"type": "string"}, {"type": "null"}, {"$ref": "#/$defs/check"}],
        "x-error": "a status reason: the exact text, or a check such as {contains: TEXT}",
    },
}


def is_check(value: Any) -> bool:
    return isinstance(value, dict) and len(value) == 1


def check_semantics(checker: Any, at: list[str | int], value: Any) -> None:
    """An operator that exists, and a mark that is defined before this step."""
    if not is_check(value):
        return
    (operator, argument), = value.items()
    if operator not in OPERATORS:
        checker.fail(at + [operator], f"unknown check operator {operator!r} (known: "
                                      f"{', '.join(OPERATORS)}; to compare a one-key "
                                      "mapping exactly, write {equals: ...})")
    if operator in MARK_OPERATORS and argument not in checker.marks:
        checker.fail(at + [operator], f"mark {argument!r} is not defined before this step")


def holds(value: Any, expected: Any, marked: Any = _UNSET) -> tuple[bool, str]:
    """(whether ``value`` passes ``expected``, what to say when it does not).
    ``marked``: the value at the mark a ``*_since`` check names."""
    if not is_check(expected):
        return value == expected, f"is {value!r}"
    (operator, argument), = expected.items()
    if operator == "equals":
        return value == argument, f"is {value!r}"
    if operator == "length":
        size = len(value) if isinstance(value, str | list | dict) else None
        return size == argument, f"has length {size} ({value!r})" if size is not None \
            else f"has no length ({value!r})"
    if operator == "contains":
        if isinstance(value, str):
            ok = isinstance(argument, str) and argument in value
        else:
            ok = isinstance(value, list | dict) and argument in value
        return ok, f"is {value!r}"
    if operator == "not_null":
        return value is not None, "is null"
    changed = marked is _UNSET or value != marked
    if operator == "changed_since":
        return changed, f"is still {value!r}, as at mark {argument}"
    return not changed, f"is {value!r}, was {marked!r} at mark {argument}"


def mark_of(expected: Any) -> str | None:
    """The mark a ``*_since`` check compares with, if it is one."""
    if is_check(expected):
        (operator, argument), = expected.items()
        if operator in MARK_OPERATORS:
            return argument
    return None


def events_hold(actual: list[str], expected: Any) -> bool:
    """A list: exactly these events, in order; ``{subsequence: [...]}``: these in this
    order, others between them allowed."""
    if isinstance(expected, list):
        return actual == expected
    wanted = iter(actual)
    return all(any(event == seen for seen in wanted) for event in expected["subsequence"])
