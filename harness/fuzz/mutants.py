"""The mutants the fuzzer can run against: the harness's (which ``dualpath run --mutant``
knows too) and those aimed where the paths are hardest (harness/selftest/mutants_hard.py), each
with the one line that says what it breaks."""

from __future__ import annotations

import inspect
from collections.abc import Callable

from harness.selftest.mutants import MUTANTS as HARNESS_MUTANTS
from harness.selftest.mutants import apply_once as apply_mutant
from harness.selftest.mutants_hard import MUTANTS as HARD_MUTANTS

_APPLIED: set[str] = set()


def mutants() -> dict[str, Callable[[], None]]:
    return {**HARNESS_MUTANTS, **HARD_MUTANTS}


def catalogue() -> dict[str, str]:
    """Mutant name -> what it breaks (its docstring's first paragraph)."""
    return {name: " ".join((inspect.getdoc(apply) or "").split("\n\n")[0].split())
            for name, apply in mutants().items()}


def replayable(name: str | None) -> bool:
    """Whether ``dualpath run --mutant NAME`` can replay a finding made under it."""
    return name is None or name in HARNESS_MUTANTS


def apply_once(name: str) -> None:
    """Apply mutant ``name`` in this process (a pool process runs many cases)."""
    if name in HARNESS_MUTANTS:
        apply_mutant(name)
    elif name not in _APPLIED:
        HARD_MUTANTS[name]()
        _APPLIED.add(name)
