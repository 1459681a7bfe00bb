"""A fuzzing campaign: Hypothesis draws cases, the oracle judges each, and a case that is
a finding fails the Hypothesis test, so Hypothesis shrinks it (and keeps it in its example
database, which replays it first next time). The campaign runs in rounds until the budget
is spent: each round ends with one finding shrunk (or the budget), and later rounds pass
over kinds of finding already made, so each round looks for something new.

Hypothesis has no wall-clock limit of its own: the test function checks the clock and
raises ``OutOfTime`` (a BaseException, which Hypothesis lets through instead of taking
it for a failure); the smallest failing case seen is kept as the test runs, so a shrink
cut short still yields its best case so far."""

from __future__ import annotations

import hashlib
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, Phase, Verbosity, given, seed, settings
from hypothesis.database import DirectoryBasedExampleDatabase

from harness.fuzz.oracle import Judgement, Oracle
from harness.fuzz.story import Case, load
from harness.fuzz.strategies import cases


class OutOfTime(BaseException):  # noqa: N818 - not an error: the budget is spent
    """The budget (or a finding's shrink budget) is spent."""


class FoundIt(Exception):  # noqa: N818 - how a finding fails the Hypothesis test
    pass


@dataclass
class CampaignOptions:
    seed: int = 0
    budget: float = 60.0
    max_resources: int = 4
    max_updates: int = 3
    findings: Path | None = None
    shrink_budget: float = 60.0  # s per finding, within the budget
    stop_after: int = 0  # stop after this many findings (0: run the whole budget)
    known: frozenset[tuple[str, ...]] = frozenset()  # signatures not to report again


@dataclass
class CaseRecord:
    index: int
    round: int
    phase: str  # search | shrink
    verdict: str
    duration_s: float
    resources: int
    steps: int
    acts: str
    issues: list[str]

    def to_json(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass
class Found:
    """A finding: the smallest case seen with its signature, and when it was first seen."""

    signature: tuple[str, ...]
    round: int
    round_seed: int
    first_case: int
    first_after_s: float
    case: Case | None = None
    judgement: Judgement | None = None
    shrink_cases: int = 0
    shrink_s: float = 0.0
    extra: dict[str, Any] = field(default_factory=dict)

    def consider(self, case: Case, judgement: Judgement) -> None:
        if self.case is None or _size(case) <= _size(self.case):
            self.case, self.judgement = case, judgement


def _size(case: Case) -> tuple[int, int, int]:
    return case.resources, len(case.steps), case.properties


def round_seed(base: int, index: int) -> int:
    """Each round its own seed, derived from the campaign's, so a campaign is repeatable."""
    digest = hashlib.sha256(f"{base}:{index}".encode()).hexdigest()
    return int(digest[:8], 16) if index else base


class Campaign:
    def __init__(self, options: CampaignOptions, oracle: Oracle,
                 on_case: Callable[[CaseRecord, Campaign], None] | None = None,
                 control: Oracle | None = None) -> None:
        self.options = options
        self.oracle = oracle
        # with a mutant: the unbroken engine, so that only what the mutant causes is a
        # finding (what the unbroken engine does as well is its own, reported apart)
        self.control = control
        self.unbroken: dict[tuple[str, ...], str] = {}  # signature -> story
        self.on_case = on_case
        self.records: list[CaseRecord] = []
        self.findings: list[Found] = []
        self.started = 0.0
        self.stopped_by = "budget"
        self._root = Path(tempfile.mkdtemp(prefix="dualpath-fuzz-"))

    # -- the clock --------------------------------------------------------------------------
    def elapsed(self) -> float:
        return time.monotonic() - self.started

    def left(self) -> float:
        return max(0.0, self.options.budget - self.elapsed())

    # -- one Hypothesis run -----------------------------------------------------------------
    def _database(self) -> DirectoryBasedExampleDatabase | None:
        if self.options.findings is None:
            return None
        return DirectoryBasedExampleDatabase(str(self.options.findings / ".hypothesis"))

    def _round(self, index: int) -> Found | None:
        known = {f.signature for f in self.findings} | set(self.unbroken) | \
            set(self.options.known)
        current: list[Found] = []
        shrink_until = [float("inf")]
        rseed = round_seed(self.options.seed, index)

        def body(case: Case) -> None:
            if self.left() <= 0 or time.monotonic() > shrink_until[0]:
                raise OutOfTime
            number = len(self.records) + 1
            scenario = load(case, f"case{number}", f"dualpath fuzz --seed "
                            f"{self.options.seed}, round {index}, case {number}", self._root)
            judgement = self.oracle.judge(scenario)
            signature = judgement.signature() if judgement.bad else ()
            finding = current[0] if current else None
            self._record(number, index, "shrink" if finding else "search", case, judgement)
            if not judgement.bad or signature in known:
                return
            if self.control is not None and \
                    self.control.judge(scenario).signature() == signature:
                self.unbroken.setdefault(signature, case.summary())
                known.add(signature)
                return
            if finding is None:
                finding = Found(signature, index, rseed, number, round(self.elapsed(), 3))
                current.append(finding)
                shrink_until[0] = time.monotonic() + self.options.shrink_budget
            if signature != finding.signature:
                return  # another kind of finding: a later round looks for it
            finding.consider(case, judgement)
            finding.shrink_cases = number - finding.first_case
            raise FoundIt(" ".join(signature))

        phases = [Phase.generate, Phase.shrink] if index else \
            [Phase.reuse, Phase.generate, Phase.shrink]
        # settings outside seed: @seed alone turns the example database off
        test = settings(
            max_examples=10 ** 9, deadline=None, database=self._database(), phases=phases,
            suppress_health_check=list(HealthCheck), report_multiple_bugs=False,
            verbosity=Verbosity.quiet, print_blob=False,
        )(seed(rseed)(given(cases(self.options.max_resources, self.options.max_updates))(body)))
        try:
            test()
        except OutOfTime:
            pass
        except Exception:  # noqa: BLE001 - the finding re-raised (or a flaky replay of it)
            pass
        if current:
            found = current[0]
            found.shrink_s = round(self.elapsed() - found.first_after_s, 3)
            return found
        return None

    def _record(self, number: int, index: int, phase: str, case: Case,
                judgement: Judgement) -> None:
        record = CaseRecord(number, index, phase, judgement.verdict,
                            round(judgement.duration_s, 3), case.resources, len(case.steps),
                            case.summary(), [f"{p}: {w}" for p, w in judgement.issues()])
        self.records.append(record)
        if self.on_case:
            self.on_case(record, self)

    # -- the campaign -----------------------------------------------------------------------
    def run(self) -> list[Found]:
        self.started = time.monotonic()
        index = 0
        while self.left() > 0:
            found = self._round(index)
            if found is not None and found.case is not None:
                self.findings.append(found)
                if self.options.stop_after and len(self.findings) >= self.options.stop_after:
                    self.stopped_by = "findings"
                    break
            elif self.left() > 0:
                self.stopped_by = "exhausted"  # Hypothesis ran out of new cases
                break
            index += 1
        return self.findings
