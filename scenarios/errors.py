"""The one error a malformed scenario raises: which file, which step, where, and why."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path


def field_path(parts: Sequence[str | int]) -> str:
    """('steps', 3, 'update', 'template') -> 'steps[3].update.template'."""
    text = ""
    for part in parts:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def step_of(parts: Sequence[str | int]) -> int | None:
    if len(parts) >= 2 and parts[0] == "steps" and isinstance(parts[1], int):
        return parts[1]
    return None


def _shown(path: Path) -> str:
    # relative to where the user stands, as an editor or a CI log wants it
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


class ScenarioError(ValueError):
    """``path``: the scenario file; ``step``: the step's index (None when the problem is
    outside the steps); ``field``: where in the file (``steps[3].update.template``);
    ``reason``: what is wrong, for a human."""

    def __init__(self, path: Path | str, step: int | None, field: str, reason: str) -> None:
        self.path = Path(path)
        self.step = step
        self.field = field
        self.reason = reason
        super().__init__(str(self))

    def __str__(self) -> str:
        where = f"{self.field}: " if self.field else ""
        return f"{_shown(self.path)}: {where}{self.reason}"

    def __reduce__(self):  # noqa: ANN204 - keeps the error picklable across processes
        return (type(self), (self.path, self.step, self.field, self.reason))

    @classmethod
    def at(cls, path: Path, parts: Sequence[str | int], reason: str) -> ScenarioError:
        return cls(path, step_of(parts), field_path(parts), reason)
