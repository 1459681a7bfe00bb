"""The flip gate: may the default path become convergence? A policy (YAML, every key
optional, unknown keys refused) says what evidence is enough; ``evaluate_runs`` weighs
every run file given (corpus runs on several set-ups, fuzz runs: reports/evidence.py) and
gives the verdict with one reason per problem or piece of missing evidence."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from reports.evidence import REQUIREMENTS, RunFile, supply
from reports.runfile import (
    ENGINES,
    first_line,
    flaky,
    format_value,
    paired_durations,
    runs_on_both,
    stale_entries,
    unexpected,
)

DEFAULT_GROUPS = ("create", "update", "delete", "rollback", "failures", "overlap", "hooks",
                  "nested", "noise", "bad_input")

DEFAULT_EVIDENCE = ("corpus-embedded", "corpus-server", "fuzz")

DEFAULT_POLICY_YAML = """\
# dualpath flip gate policy; every key is optional, these are the defaults.
# evidence needed, all for one commit: the corpus on SQLite in-process, the corpus on a
# server database with worker processes over RabbitMQ, and a fuzz run
required_evidence: [corpus-embedded, corpus-server, fuzz]
min_fuzz_cases: 500        # the fuzz run must have run at least this many cases
max_fuzz_findings: 0       # findings of the fuzz run(s)
max_unexpected: 0          # unexpected differences (scenario x path), in each corpus run
max_flaky: 0               # scenarios whose verdict is flaky (a path disagreed with itself)
max_failed: 0              # scenarios whose verdict is failed (an expect failed on a path)
max_errors: 0              # scenarios whose verdict is error (harness or engine crashed)
allow_stale: false         # registry entries that explained nothing
required_groups: [create, update, delete, rollback, failures, overlap, hooks, nested,
                  noise, bad_input]   # each present, with a scenario run on both paths
time_budget: 1.5           # convergence total <= this x legacy total; null: no budget
require_migrations_verified: true
"""


class PolicyError(ValueError):
    """A policy that cannot be used (bad input: exit 2)."""


@dataclass(frozen=True)
class Policy:
    required_evidence: tuple[str, ...] = DEFAULT_EVIDENCE
    min_fuzz_cases: int = 500
    max_fuzz_findings: int = 0
    max_unexpected: int = 0
    max_flaky: int = 0
    max_failed: int = 0
    max_errors: int = 0
    allow_stale: bool = False
    required_groups: tuple[str, ...] = DEFAULT_GROUPS
    time_budget: float | None = 1.5
    require_migrations_verified: bool = True

    @classmethod
    def from_mapping(cls, data: dict[str, Any], source: str = "<policy>") -> Policy:
        fields = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - fields)
        if unknown:
            raise PolicyError(f"{source}: unknown policy key(s) {', '.join(unknown)}; "
                              f"known: {', '.join(sorted(fields))}")
        values: dict[str, Any] = {}
        for key, value in data.items():
            values[key] = _checked(source, key, value)
        return cls(**values)

    @classmethod
    def load(cls, path: str | Path | None) -> Policy:
        if path is None:
            return cls()
        source = str(path)
        try:
            data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
        except OSError as exc:
            raise PolicyError(f"{source}: cannot read: {exc.strerror or exc}") from None
        except yaml.YAMLError as exc:
            raise PolicyError(f"{source}: not valid YAML: {exc}") from None
        if data is None:
            return cls()
        if not isinstance(data, dict):
            raise PolicyError(f"{source}: a policy is a mapping of keys to values")
        return cls.from_mapping(data, source)


def _checked(source: str, key: str, value: Any) -> Any:
    where = f"{source}: {key}"
    if key.startswith(("max_", "min_")):
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            raise PolicyError(f"{where}: expected a whole number >= 0, got {value!r}")
        return value
    if key in ("allow_stale", "require_migrations_verified"):
        if not isinstance(value, bool):
            raise PolicyError(f"{where}: expected true or false, got {value!r}")
        return value
    if key == "required_groups":
        if not isinstance(value, list) or not all(isinstance(g, str) and g for g in value):
            raise PolicyError(f"{where}: expected a list of group names, got {value!r}")
        return tuple(value)
    if key == "required_evidence":
        if not isinstance(value, list) or not all(v in REQUIREMENTS for v in value):
            raise PolicyError(f"{where}: expected a list of evidence names out of "
                              f"{', '.join(REQUIREMENTS)}, got {value!r}")
        return tuple(dict.fromkeys(value))
    if key == "time_budget":
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
            raise PolicyError(f"{where}: expected a positive ratio or null, got {value!r}")
        return float(value)
    raise AssertionError(key)  # from_mapping filtered unknown keys


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str


@dataclass
class GateResult:
    flip: bool
    reasons: list[str] = field(default_factory=list)
    checks: list[Check] = field(default_factory=list)

    @property
    def verdict(self) -> str:
        return "flip" if self.flip else "don't flip"


def evaluate(run: dict[str, Any], policy: Policy | None = None, name: str = "the run"
             ) -> GateResult:
    """Check one run file against ``policy`` (a single file rarely holds all the evidence
    the default policy asks for; ``evaluate_runs`` weighs several)."""
    return evaluate_runs([(name, run)], policy)


def evaluate_runs(runs: list[tuple[str, dict[str, Any]]], policy: Policy | None = None
                  ) -> GateResult:
    """Weigh every run file (name, data) against ``policy``: flip only when every check
    passes. ``reasons`` holds one line per problem found. With several files, each line
    and each check of one file starts with the file's name."""
    policy = policy or Policy()
    files = [RunFile(name, data) for name, data in runs]
    checks: list[Check] = []
    reasons: list[str] = []
    if policy.required_evidence:
        commit, supplied = supply(files, policy.required_evidence, policy.min_fuzz_cases)
        shared = sum(1 for f in files if f.commit == commit)
        # says which code the verdict is about; the evidence checks below say what is missing
        checks.append(Check("evidence: commit", True, f"{commit} ({shared} of {len(files)} "
                            "run file(s))"))
        for item in supplied:
            checks.append(Check(f"evidence: {item.requirement.name}", item.ok, item.detail))
            reasons.extend(item.problems)
    several = len(files) > 1
    for run_file in files:
        rules = _FUZZ_RULES if run_file.kind == "fuzz" else _CORPUS_RULES
        for rule in rules:
            check, problems = rule(run_file.data, policy)
            if check is None:
                continue
            if several:
                check = Check(f"{run_file.name}: {check.name}", check.ok, check.detail)
                problems = [f"{run_file.name}: {p}" for p in problems]
            checks.append(check)
            reasons.extend(problems)
    return GateResult(flip=all(c.ok for c in checks), reasons=reasons, checks=checks)


_Outcome = tuple[Check | None, list[str]]


def _unexpected(run: dict[str, Any], policy: Policy) -> _Outcome:
    found = [(item["id"], d) for item in run["scenarios"] for d in unexpected(item)]
    ok = len(found) <= policy.max_unexpected
    detail = f"{len(found)} unexpected difference(s), at most {policy.max_unexpected} allowed"
    problems = [] if ok else [
        f"unexpected divergence in {sid} at {d['path']}: legacy {format_value(d['legacy'])}, "
        f"convergence {format_value(d['convergence'])}" for sid, d in found]
    return Check("unexpected divergences", ok, detail), problems


def _verdict_rule(run: dict[str, Any], verdict: str, limit: int, name: str) -> _Outcome:
    found = [item for item in run["scenarios"] if item["verdict"] == verdict]
    ok = len(found) <= limit
    detail = f"{len(found)} scenario(s) with verdict {verdict}, at most {limit} allowed"
    problems: list[str] = []
    if not ok:
        for item in found:
            problems.extend(_path_problems(item, verdict))
    return Check(name, ok, detail), problems


def _path_problems(item: dict[str, Any], verdict: str) -> list[str]:
    problems = []
    for engine in ENGINES:
        result = item["engines"].get(engine)
        if result is None or result["status"] == "passed":
            continue
        if result["status"] == "error":
            problems.append(f"{verdict}: {item['id']} [{engine}]: {first_line(result['error'])}")
        for failure in result["failed_expectations"]:
            problems.append(f"{verdict}: {item['id']} [{engine}] step {failure['step']} "
                            f"{failure['check']}: {failure['message']}")
        if result["status"] == "failed" and not result["failed_expectations"]:
            problems.append(f"{verdict}: {item['id']} [{engine}] failed")
    return problems or [f"{verdict}: {item['id']}"]


def _flaky(run: dict[str, Any], policy: Policy) -> _Outcome:
    found = [item for item in run["scenarios"] if item["verdict"] == "flaky"]
    ok = len(found) <= policy.max_flaky
    detail = f"{len(found)} flaky scenario(s), at most {policy.max_flaky} allowed"
    problems = [] if ok else [
        f"flaky: {item['id']} [{f['engine']}] at {f['path']}: "
        f"{format_value(f['values'][0])} in one repeat, {format_value(f['values'][1])} in "
        "another" for item in found for f in flaky(item)] or [f"flaky: {i['id']}"
                                                              for i in found]
    return Check("flaky scenarios", ok, detail), problems


def _fuzz_findings(run: dict[str, Any], policy: Policy) -> _Outcome:
    fuzz = run["fuzz"]
    findings = fuzz["findings"]
    ok = len(findings) <= policy.max_fuzz_findings
    detail = (f"{len(findings)} finding(s) in {fuzz['cases']} case(s) (seed {fuzz['seed']}), "
              f"at most {policy.max_fuzz_findings} allowed")
    problems = [] if ok else [f"fuzz finding: {f['verdict']} on {f['path']}: "
                              f"{f['scenario_file']}" for f in findings]
    return Check("fuzz findings", ok, detail), problems


def _failed(run: dict[str, Any], policy: Policy) -> _Outcome:
    return _verdict_rule(run, "failed", policy.max_failed, "failed scenarios")


def _errors(run: dict[str, Any], policy: Policy) -> _Outcome:
    return _verdict_rule(run, "error", policy.max_errors, "errors")


def _stale(run: dict[str, Any], policy: Policy) -> _Outcome:
    stale = stale_entries(run)
    ok = policy.allow_stale or not stale
    detail = f"{len(stale)} stale registry entr{'y' if len(stale) == 1 else 'ies'}" + \
        (" (allowed)" if policy.allow_stale else "")
    problems = [] if ok else [
        f"stale registry entry #{e['index']} ({e['scenario']} {e['path']}) explained "
        "nothing: the divergence it describes has gone or moved" for e in stale]
    return Check("stale registry entries", ok, detail), problems


def _groups(run: dict[str, Any], policy: Policy) -> _Outcome:
    if not policy.required_groups:
        return None, []
    problems = []
    for group in policy.required_groups:
        items = [i for i in run["scenarios"] if i["group"] == group]
        if not items:
            problems.append(f"required group {group} is missing from the run")
        elif not any(runs_on_both(i) for i in items):
            problems.append(f"required group {group} was not run on both paths (its "
                            f"{len(items)} scenario(s) ran on one path only)")
    detail = f"{len(policy.required_groups) - len(problems)} of " \
             f"{len(policy.required_groups)} required groups run on both paths"
    return Check("required groups", not problems, detail), problems


def _time(run: dict[str, Any], policy: Policy) -> _Outcome:
    if policy.time_budget is None:
        return None, []
    totals = paired_durations(run)
    legacy, convergence = totals["legacy"], totals["convergence"]
    allowed = policy.time_budget * legacy
    ok = convergence <= allowed
    ratio = f"{convergence / legacy:.2f}x" if legacy else "n/a"
    detail = (f"convergence {convergence:.3f}s vs legacy {legacy:.3f}s ({ratio}) over the "
              f"scenarios run on both paths; budget {policy.time_budget:g}x")
    problems = [] if ok else [f"time budget exceeded: convergence took {convergence:.3f}s, "
                              f"more than {policy.time_budget:g} x legacy's {legacy:.3f}s"]
    return Check("time budget", ok, detail), problems


def _migrations(run: dict[str, Any], policy: Policy) -> _Outcome:
    if not policy.require_migrations_verified:
        return None, []
    info = run["run"]["migrations"]
    ok = bool(info["verified"])
    detail = info.get("detail") or ("verified" if ok else "not verified")
    problems = [] if ok else [f"migrations not verified: {detail}"]
    return Check("migrations verified", ok, detail), problems


_CORPUS_RULES = (_unexpected, _flaky, _failed, _errors, _stale, _groups, _time, _migrations)
_FUZZ_RULES = (_fuzz_findings,)
