"""The mutants the fuzzer can run against (the harness's, which include those aimed where
the paths are hardest), each with the one line that says what it breaks."""

from __future__ import annotations

import inspect

from harness.fuzz.pipeline import HARNESS_MUTANTS


def catalogue() -> dict[str, str]:
    """Mutant name -> what it breaks (its docstring's first line)."""
    return {name: " ".join((inspect.getdoc(apply) or "").split("\n\n")[0].split())
            for name, apply in HARNESS_MUTANTS.items()}


def apply_once(name: str) -> None:
    from harness.fuzz import pipeline
    pipeline.apply_mutant(name)
