"""Reading a YAML file of the scenario tree (a scenario, or a template or environment it
refers to) safely: a size limit before parsing, no aliases, no duplicate keys, and dates
left as the strings they were written as."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from scenarios.errors import ScenarioError

MAX_BYTES = 256 * 1024
_TIMESTAMP = "tag:yaml.org,2002:timestamp"


class _Loader(yaml.SafeLoader):
    """SafeLoader minus timestamps (``heat_template_version: 2015-04-30`` must stay a
    string, as the engine reads it) and minus aliases (an alias lets a small file expand
    into a huge structure, and a scenario has no need of one)."""

    yaml_implicit_resolvers = {
        first: [(tag, regexp) for tag, regexp in resolvers if tag != _TIMESTAMP]
        for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
    }

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()
            raise yaml.MarkedYAMLError(problem="aliases (*name) are not allowed in a scenario",
                                       problem_mark=event.start_mark)
        return super().compose_node(parent, index)


def _where(mark: Any) -> str:
    return f" (line {mark.line + 1}, column {mark.column + 1})" if mark is not None else ""


def _read_text(path: Path) -> str:
    try:
        with path.open("rb") as handle:
            data = handle.read(MAX_BYTES + 1)
    except OSError as exc:
        raise ScenarioError(path, None, "", f"cannot read the file: {exc.strerror}") from None
    if len(data) > MAX_BYTES:
        raise ScenarioError(path, None, "", f"the file is larger than {MAX_BYTES} bytes")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ScenarioError(path, None, "", f"not UTF-8 text: {exc.reason}") from None


def read_text(path: Path) -> str:
    """A file of the scenario tree as text (a nested template, a get_file payload), with
    the size limit every scenario file has."""
    return _read_text(path)


def _check_keys(path: Path, node: yaml.Node, parts: list[str | int]) -> None:
    """Refuse a key written twice in one mapping, which PyYAML would silently collapse
    (two ``create:`` in one step would run one of them)."""
    if isinstance(node, yaml.MappingNode):
        seen: set[Any] = set()
        for key_node, value_node in node.value:
            key = key_node.value if isinstance(key_node, yaml.ScalarNode) else repr(key_node)
            if key in seen:
                raise ScenarioError.at(path, [*parts, key],
                                       f"duplicate key {key!r}{_where(key_node.start_mark)}")
            seen.add(key)
            _check_keys(path, value_node, [*parts, key])
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            _check_keys(path, item, [*parts, index])


def load_yaml(path: Path) -> Any:
    """The one YAML document in ``path``, as plain Python data (None when empty)."""
    loader = _Loader(_read_text(path))
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        _check_keys(path, node, [])
        return loader.construct_document(node)
    except yaml.MarkedYAMLError as exc:
        problem = exc.problem or exc.context or "syntax error"
        raise ScenarioError(path, None, "",
                            f"not valid YAML: {problem}{_where(exc.problem_mark)}") from None
    except yaml.YAMLError as exc:
        raise ScenarioError(path, None, "", f"not valid YAML: {exc}") from None
    finally:
        loader.dispose()
