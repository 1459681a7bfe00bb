"""The evidence the flip needs, read from several run files: what each file is (which
commit, which set-up, corpus or fuzz), which required piece of evidence it supplies, and
what is missing. The gate (reports/gate.py) turns this into checks and reasons."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any

from reports.runfile import ENGINES

SERVER_DATABASES = ("postgresql", "mysql")


@dataclass(frozen=True)
class RunFile:
    """One run file given to the gate, and what it is evidence of."""

    name: str  # as the user gave it (a path), for messages
    data: dict[str, Any]

    @property
    def kind(self) -> str:
        return self.data.get("kind", "corpus")

    @property
    def commit(self) -> str:
        """The code the run is about: the git commit, or the package version when the run
        did not know its commit."""
        info = self.data["run"]["commit"]
        return info["id"] if info["id"] != "unknown" else f"unknown ({info['version']})"

    @property
    def short_commit(self) -> str:
        return self.commit[:12] if self.commit[0] != "u" else self.commit

    @property
    def dirty(self) -> bool:
        return bool(self.data["run"]["commit"].get("dirty"))

    @property
    def config(self) -> dict[str, Any]:
        return self.data["run"]["config"]

    def setup(self) -> str:
        """The set-up in a few words: ``corpus on sqlite, in-process, 0 workers``."""
        c = self.config
        what = "fuzz" if self.kind == "fuzz" else (c.get("scenarios") or {}).get(
            "name", "custom")
        if what == "custom":
            what = "custom scenario set"
        return (f"{what} on {c['database']['kind']}, {c['transport']['kind']}, "
                f"{c['workers']} worker process(es)")


@dataclass(frozen=True)
class Requirement:
    name: str
    title: str  # what a person reads: the evidence, by name

    def why_not(self, run: RunFile, min_fuzz_cases: int) -> str | None:
        """None when ``run`` supplies this evidence; otherwise what it lacks."""
        data, config = run.data, run.config
        if data["run"].get("mutant"):
            return f"ran with the mutant {data['run']['mutant']} (a self-test)"
        if self.name == "fuzz":
            if run.kind != "fuzz":
                return "not a fuzz run"
            cases = data["fuzz"]["cases"]
            if cases < min_fuzz_cases:
                return f"ran {cases} case(s), fewer than {min_fuzz_cases}"
            return None
        if run.kind != "corpus":
            return "not a corpus run"
        scenarios = config.get("scenarios") or {}
        if scenarios.get("name") != "corpus":
            return (f"ran a custom scenario set ({scenarios.get('count', '?')} scenario(s), "
                    f"filter {scenarios.get('filter')!r}), not the whole corpus")
        if set(config["engines"]) != set(ENGINES):
            return f"ran on {', '.join(config['engines'])} only, not on both paths"
        if config["repeat"] < 2:
            return "ran each path once (--repeat 1): a flaky path cannot show"
        database, transport = config["database"]["kind"], config["transport"]["kind"]
        if self.name == "corpus-embedded":
            if database != "sqlite" or transport != "in-process" or config["workers"]:
                return (f"ran on {database}, {transport}, {config['workers']} worker "
                        "process(es), not the embedded default (sqlite, in-process)")
            return None
        if database not in SERVER_DATABASES:
            return f"ran on {database}, not a server database (PostgreSQL or MariaDB)"
        if transport != "rabbit" or config["workers"] < 1:
            return (f"ran on {transport} with {config['workers']} worker process(es), not "
                    "worker processes over RabbitMQ")
        return None


REQUIREMENTS = {r.name: r for r in (
    Requirement("corpus-embedded", "the corpus on both paths on the embedded default "
                "(SQLite, in-process)"),
    Requirement("corpus-server", "the corpus on a server database (PostgreSQL or MariaDB) "
                "with worker processes over RabbitMQ"),
    Requirement("fuzz", "a fuzz run"),
)}


@dataclass(frozen=True)
class Supplied:
    requirement: Requirement
    ok: bool
    detail: str
    problems: tuple[str, ...] = ()


def target_commit(runs: list[RunFile]) -> str:
    """The commit the evidence is about: the one most files share (the first file's on a
    tie): a stray file from another commit is then the one reported."""
    counts = Counter(r.commit for r in runs)
    best = max(counts.values())
    return next(r.commit for r in runs if counts[r.commit] == best)


def supply(runs: list[RunFile], required: tuple[str, ...], min_fuzz_cases: int
           ) -> tuple[str, list[Supplied]]:
    """For each required piece of evidence, the file that supplies it for the target
    commit, or why none does (missing, another commit, not enough)."""
    commit = target_commit(runs)
    results = []
    for name in required:
        requirement = REQUIREMENTS[name]
        title = requirement.title + (f" of at least {min_fuzz_cases} cases" if name == "fuzz"
                                     else "")
        fitting = [r for r in runs if requirement.why_not(r, min_fuzz_cases) is None]
        here = [r for r in fitting if r.commit == commit]
        if here:
            chosen = here[0]
            note = " (with uncommitted changes)" if chosen.dirty else ""
            results.append(Supplied(requirement, True, f"{chosen.name}, commit "
                                    f"{chosen.short_commit}{note}"))
            continue
        if fitting:
            others = ", ".join(f"{r.name} is from commit {r.short_commit}" for r in fitting)
            problem = (f"evidence from another commit: {title}: {others}, not "
                       f"{commit[:12] if commit[0] != 'u' else commit}")
        else:
            near = [f"{r.name}: {requirement.why_not(r, min_fuzz_cases)}" for r in runs
                    if (r.kind == "fuzz") == (name == "fuzz")]
            problem = f"missing evidence: {title}" + (
                f" ({'; '.join(near)})" if near else " (no such run file given)")
        results.append(Supplied(requirement, False, problem, (problem,)))
    return commit, results
