"""What a step of a scenario is: one definition per operation, in one file each
(``scenarios/steps/<op>.py``), holding its schema fragment, its semantic check, how it runs
on the engine's public API, and whether the state after it is settled enough to compare.
``scenarios/steps/__init__.py`` lists them; the loader, the schema and the harness's
executor read nothing else."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any, Protocol

from engines.core import errors as engine_errors

DEFAULT_TIMEOUT = 60.0  # seconds a step waits, unless it says otherwise


@dataclass
class Failure:
    """An expectation that did not hold, on one path, at one step."""

    step: int
    check: str
    expected: Any
    actual: Any
    message: str

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def is_error(actual: str | None, expected: str | None) -> bool:
    """An expected error class matches itself and its subclasses (PropertyError is a
    ValidationError)."""
    if expected is None or actual is None:
        return expected == actual
    want = getattr(engine_errors, expected, None)
    got = getattr(engine_errors, actual, None)
    if isinstance(want, type) and isinstance(got, type):
        return issubclass(got, want)
    return actual == expected


class StepRun(Protocol):
    """What a step may use of the run it is part of (harness/experiment/execute.py): the
    engine's service and the scenario's state so far."""

    scenario: Any  # scenarios.loader.Scenario
    engine: str  # the path this run is on
    ctx: Any  # the request context every call is made with
    service: Any  # engines.service.EngineService
    stack_id: str | None  # the stack the scenario's create made
    last_error: str | None  # error class of the last operation (None: it was accepted)
    history: list[str]  # templates of the operations that were accepted, in order
    marks: dict[str, dict[str, str | None]]  # physical ids at each mark
    before: dict[str, str | None]  # physical ids before the last operation
    mark_values: dict[str, dict[str, Any]]  # outputs and attributes at each mark
    events: dict[str, list[str]]  # each name's events since the last operation began

    def stack(self) -> str:
        """The stack's id; a clear error when no create has succeeded."""

    def physical_ids(self) -> dict[str, str | None]:
        """The stack's physical ids now, whatever it is doing."""

    def values(self) -> dict[str, Any]:
        """The stack's outputs and its resources' attributes (by path) now."""

    def for_path(self, value: Any) -> Any:
        """An expectation that may differ per path ({legacy: X, convergence: Y}), for
        this run's path."""


Outcome = dict[str, Any]  # {"error": class name or None, "message": optional text}


def _never(args: Any) -> bool:
    return False


def _none(args: Any) -> None:
    return None


def _no_check(checker: Any, at: list[str | int], args: Any) -> None:
    return None


def _no_failures(run: StepRun, index: int, args: Any, snap: dict[str, Any],
                 outcome: Outcome) -> list[Failure]:
    return []


@dataclass(frozen=True)
class StepKind:
    """One operation a scenario step can name.

    ``schema``: the JSON schema of its arguments (``defs``: the ``$defs`` it brings);
    ``check(checker, at, args)``: what the schema cannot say (scenarios/semantics.py);
    ``run(run, args)``: act, return the outcome; ``settles(args)``: whether the state
    after it is deterministic enough to compare in full; ``waits_for(args)``: the resource
    whose state it waited for; ``verify(run, index, args, snap, outcome)``: the failed
    expectations, against the snapshot taken after it."""

    name: str
    schema: dict[str, Any]
    run: Callable[[StepRun, Any], Outcome]
    check: Callable[[Any, list[str | int], Any], None] = _no_check
    settles: Callable[[Any], bool] = _never
    waits_for: Callable[[Any], str | None] = _none
    verify: Callable[..., list[Failure]] = _no_failures
    needs_stack: bool = False  # acts on (or waits for) the stack a create made
    operation: bool = False  # a stack operation: its error is an outcome to compare
    defs: dict[str, Any] = field(default_factory=dict)


def timeout(args: Any) -> float:
    return float((args or {}).get("timeout") or DEFAULT_TIMEOUT)


def always(args: Any) -> bool:
    return True


def no_error() -> Outcome:
    """The outcome of a step that is not an operation: nothing was refused."""
    return {"error": None}
