"""The run file: loading, validation against ``schema.json``, the version check, and the few
read-side helpers every renderer shares."""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any

import jsonschema

from reports.verdicts import VERDICTS

SCHEMA_VERSION = 2  # of the run file this code writes and reads (docs/run-format.md)
# the two engine paths, as run files name them (the engine's own names, engines.service
# PATH_NAMES, which reports does not import: it reads result data and runs nothing)
ENGINES = ("legacy", "convergence")
CLASSES = ("unexpected", "expected", "noise", "flaky")  # counted per scenario and in all
_SCHEMA_PATH = Path(__file__).with_name("schema.json")


class RunFileError(ValueError):
    """A run file that cannot be read: ``file`` names it, ``reason`` says why. A ValueError,
    so that the ``dualpath`` CLI maps it to exit code 2 (bad input) like other bad input."""

    def __init__(self, file: str, reason: str) -> None:
        super().__init__(f"{file}: {reason}")
        self.file = file
        self.reason = reason


@functools.cache
def schema() -> dict[str, Any]:
    return json.loads(_SCHEMA_PATH.read_text(encoding="utf-8"))


def load_run(path: str | Path) -> dict[str, Any]:
    """Read, version-check and validate a run file."""
    file = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise RunFileError(file, "no such file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise RunFileError(file, f"cannot read: {exc}") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise RunFileError(file, f"not valid JSON: {exc.msg} at line {exc.lineno} "
                                 f"column {exc.colno}") from None
    validate_run(data, file)
    return data


def validate_run(data: Any, file: str = "<run>") -> None:
    """Raise RunFileError unless ``data`` is a run of the version this code reads."""
    if not isinstance(data, dict):
        raise RunFileError(file, f"expected a JSON object, found {type(data).__name__}")
    # The version is checked before the schema, so that a newer file is reported as such
    # instead of as a pile of schema errors that follow from the version change.
    if "schema_version" not in data:
        raise RunFileError(file, "no schema_version: not a dualpath run file")
    version = data["schema_version"]
    if version != SCHEMA_VERSION or isinstance(version, bool):
        raise RunFileError(file, f"schema_version {version!r} is not supported: this dualpath "
                                 f"reads version {SCHEMA_VERSION}; re-render with the "
                                 "dualpath that wrote the file, or run again")
    validator = jsonschema.Draft202012Validator(schema())
    error = jsonschema.exceptions.best_match(validator.iter_errors(data))
    if error is not None:
        raise RunFileError(file, f"{_json_path(error.absolute_path)}: {error.message}")
    _check_consistency(data, file)


def _json_path(parts: Any) -> str:
    text = "$"
    for part in parts:
        text += f"[{part}]" if isinstance(part, int) else f".{part}"
    return text


def _check_consistency(data: dict[str, Any], file: str) -> None:
    """What a schema cannot say: ids are unique, and stale entries exist."""
    seen: set[str] = set()
    for index, item in enumerate(data.get("scenarios", [])):
        if item["id"] in seen:
            raise RunFileError(file, f"$.scenarios[{index}].id: duplicate scenario id "
                                     f"{item['id']!r}")
        seen.add(item["id"])
    registry = data.get("registry", {"entries": [], "stale": []})
    indexes = {e["index"] for e in registry["entries"]}
    for position, index in enumerate(registry["stale"]):
        if index not in indexes:
            raise RunFileError(file, f"$.registry.stale[{position}]: no registry entry "
                                     f"with index {index}")


def with_defaults(run: dict[str, Any]) -> dict[str, Any]:
    """A run as every renderer reads it: a fuzz run may have no scenario results, registry
    or summary of its own (its findings are scenario files); those read as empty."""
    if run.get("kind", "corpus") == "corpus":
        return run
    summary: dict[str, Any] = {"scenarios": 0, "stale_entries": 0,
                               "differences": dict.fromkeys(CLASSES, 0),
                               "duration_s": dict.fromkeys(ENGINES, 0.0)}
    summary.update(dict.fromkeys(VERDICTS, 0))
    run = {"scenarios": [], "registry": {"entries": [], "stale": []}, **run}
    run["summary"] = {**summary, **run.get("summary", {})}
    run["run"] = {"migrations": {"verified": False, "head": None,
                                 "detail": "not checked by this fuzz run"}, **run["run"]}
    return run


def flaky(scenario: dict[str, Any]) -> list[dict[str, Any]]:
    return scenario.get("flaky", [])


def shorten(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[:limit - 1] + "…"


def format_value(value: Any, limit: int = 80) -> str:
    """A JSON value as short, one-line text for tables and messages."""
    return shorten(json.dumps(value, sort_keys=True, default=str, ensure_ascii=False), limit)


def first_line(error: str | None, limit: int = 200) -> str:
    """The headline of an error text (the runner puts the exception first, then the
    traceback)."""
    lines = (error or "").strip().splitlines()
    return shorten(lines[0], limit) if lines else "no detail"


def runs_on_both(scenario: dict[str, Any]) -> bool:
    """Whether both paths ran this scenario (so that it can tell them apart)."""
    return all(e in scenario["engines"] and e in scenario["declared_engines"] for e in ENGINES)


def unexpected(scenario: dict[str, Any]) -> list[dict[str, Any]]:
    return [d for d in scenario["differences"] if d["class"] == "unexpected"]


def stale_entries(run: dict[str, Any]) -> list[dict[str, Any]]:
    stale = set(run["registry"]["stale"])
    return [e for e in run["registry"]["entries"] if e["index"] in stale]


def paired_durations(run: dict[str, Any]) -> dict[str, float]:
    """Total mean duration per path over the scenarios run on both paths: path-specific
    scenarios would weigh on one side only and skew the comparison."""
    totals = dict.fromkeys(ENGINES, 0.0)
    for item in run["scenarios"]:
        if runs_on_both(item):
            for engine in ENGINES:
                totals[engine] += item["engines"][engine]["duration_s"]
    return totals
