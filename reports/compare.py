"""Two runs side by side (``dualpath report --compare OLD NEW``): divergences that appeared
or went away (by scenario and path; noise is left out), verdicts that changed, and how the
time of each scenario on each path moved."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from rich.table import Table

from reports.markdown import MAX_ITEMS, cell, code
from reports.runfile import ENGINES, format_value
from reports.verdicts import BAD_VERDICTS


@dataclass(frozen=True)
class Divergence:
    scenario: str
    path: str
    kind: str  # unexpected | expected
    legacy: Any
    convergence: Any


@dataclass(frozen=True)
class VerdictChange:
    scenario: str
    old: str | None  # None: the scenario is new in this run
    new: str | None  # None: the scenario is gone


@dataclass(frozen=True)
class TimeChange:
    scenario: str
    engine: str
    old_s: float
    new_s: float

    @property
    def ratio(self) -> float | None:
        return self.new_s / self.old_s if self.old_s > 0 else None


@dataclass
class Comparison:
    new: list[Divergence] = field(default_factory=list)
    fixed: list[Divergence] = field(default_factory=list)
    reclassified: list[tuple[Divergence, Divergence]] = field(default_factory=list)
    verdicts: list[VerdictChange] = field(default_factory=list)
    times: list[TimeChange] = field(default_factory=list)

    def regressions(self) -> list[str]:
        """What makes NEW worse than OLD: a new unexpected divergence, a difference that
        became unexpected, or a verdict that turned bad."""
        found = [f"new unexpected divergence: {d.scenario} {d.path}" for d in self.new
                 if d.kind == "unexpected"]
        found += [f"now unexpected: {new.scenario} {new.path}"
                  for _, new in self.reclassified if new.kind == "unexpected"]
        found += [f"verdict {v.scenario}: {v.old or 'absent'} -> {v.new}" for v in self.verdicts
                  if v.new in BAD_VERDICTS and v.old not in BAD_VERDICTS]
        return found


def _compared(item: dict[str, Any]) -> bool:
    """Whether the run compared the two paths of this scenario (both ran, neither crashed):
    only then does the absence of a divergence mean something."""
    paths = item["engines"]
    return all(e in paths and paths[e]["status"] != "error" for e in ENGINES)


def _divergences(run: dict[str, Any], scenarios: set[str]) -> dict[tuple[str, str], Divergence]:
    return {(item["id"], d["path"]): Divergence(item["id"], d["path"], d["class"],
                                                d["legacy"], d["convergence"])
            for item in run["scenarios"] if item["id"] in scenarios
            for d in item["differences"] if d["class"] != "noise"}


def compare(old: dict[str, Any], new: dict[str, Any]) -> Comparison:
    """Divergences are compared on the scenarios both runs compared: a scenario left out of
    a filtered run, or crashed in it, has not fixed its divergences."""
    both = {i["id"] for i in old["scenarios"] if _compared(i)} & \
        {i["id"] for i in new["scenarios"] if _compared(i)}
    before, after = _divergences(old, both), _divergences(new, both)
    result = Comparison(
        new=[after[k] for k in sorted(after.keys() - before.keys())],
        fixed=[before[k] for k in sorted(before.keys() - after.keys())],
        reclassified=[(before[k], after[k]) for k in sorted(before.keys() & after.keys())
                      if before[k].kind != after[k].kind])
    old_items = {i["id"]: i for i in old["scenarios"]}
    new_items = {i["id"]: i for i in new["scenarios"]}
    for sid in sorted(old_items.keys() | new_items.keys()):
        was, now = old_items.get(sid), new_items.get(sid)
        old_verdict = was["verdict"] if was else None
        new_verdict = now["verdict"] if now else None
        if old_verdict != new_verdict:
            result.verdicts.append(VerdictChange(sid, old_verdict, new_verdict))
        if was and now:
            result.times += [TimeChange(sid, e, was["engines"][e]["duration_s"],
                                        now["engines"][e]["duration_s"])
                             for e in ENGINES if e in was["engines"] and e in now["engines"]]
    # biggest slowdowns first: those are the ones a reviewer looks for
    result.times.sort(key=lambda t: (-(t.ratio or 0.0), t.scenario, t.engine))
    return result


def _ratio(change: TimeChange) -> str:
    return f"{change.ratio:.2f}x" if change.ratio is not None else "n/a"


def tables(result: Comparison) -> list[Table]:
    """The comparison as rich tables, for the terminal."""
    divergences = Table(title="Divergences: new and fixed")
    for column in ("change", "scenario", "path", "class", "legacy", "convergence"):
        # fold, not ellipsis: a cut path or scenario id is useless
        divergences.add_column(column, overflow="fold")
    for label, items, style in (("new", result.new, "red"), ("fixed", result.fixed, "green")):
        for d in items:
            divergences.add_row(f"[{style}]{label}[/]", d.scenario, d.path, d.kind,
                                format_value(d.legacy, 40), format_value(d.convergence, 40))
    for before, after in result.reclassified:
        divergences.add_row("[yellow]reclassified[/]", after.scenario, after.path,
                            f"{before.kind} -> {after.kind}", format_value(after.legacy, 40),
                            format_value(after.convergence, 40))
    verdicts = Table(title="Verdict changes")
    for column in ("scenario", "old", "new"):
        verdicts.add_column(column, overflow="fold")
    for v in result.verdicts:
        verdicts.add_row(v.scenario, v.old or "(absent)", v.new or "(absent)")
    times = Table(title="Time per scenario and path (new / old)")
    for column in ("scenario", "path", "old s", "new s", "ratio"):
        times.add_column(column, overflow="fold",
                         justify="right" if column.endswith(("s", "ratio")) else "left")
    for t in result.times:
        times.add_row(t.scenario, t.engine, f"{t.old_s:.3f}", f"{t.new_s:.3f}", _ratio(t))
    return [divergences, verdicts, times]


def render_compare_markdown(result: Comparison) -> str:
    out = ["## dualpath: run comparison", ""]
    regressions = result.regressions()
    out.append(f"**{len(regressions)} regression(s)**" if regressions else "**No regression**")
    out += [f"- {r}" for r in regressions[:MAX_ITEMS]] + [""]
    rows = [f"| new | {code(d.scenario)} | {code(d.path)} | {d.kind} | "
            f"{cell(format_value(d.legacy))} | {cell(format_value(d.convergence))} |"
            for d in result.new]
    rows += [f"| fixed | {code(d.scenario)} | {code(d.path)} | {d.kind} | "
             f"{cell(format_value(d.legacy))} | {cell(format_value(d.convergence))} |"
             for d in result.fixed]
    rows += [f"| reclassified | {code(a.scenario)} | {code(a.path)} | {b.kind} -> {a.kind} | "
             f"{cell(format_value(a.legacy))} | {cell(format_value(a.convergence))} |"
             for b, a in result.reclassified]
    out += ["### Divergences", ""]
    if rows:
        out += ["| change | scenario | path | class | legacy | convergence |",
                "|---|---|---|---|---|---|", *rows[:MAX_ITEMS]]
        if len(rows) > MAX_ITEMS:
            out.append(f"\n… and {len(rows) - MAX_ITEMS} more")
    else:
        out.append("No new or fixed divergence.")
    out += ["", "### Verdict changes", ""]
    if result.verdicts:
        out += ["| scenario | old | new |", "|---|---|---|"]
        out += [f"| {code(v.scenario)} | {v.old or '(absent)'} | {v.new or '(absent)'} |"
                for v in result.verdicts[:MAX_ITEMS]]
    else:
        out.append("No verdict changed.")
    out += ["", "### Time (new / old, biggest slowdowns first)", "",
            "| scenario | path | old s | new s | ratio |", "|---|---|---:|---:|---:|"]
    out += [f"| {code(t.scenario)} | {t.engine} | {t.old_s:.3f} | {t.new_s:.3f} | "
            f"{_ratio(t)} |" for t in result.times[:MAX_ITEMS]]
    return "\n".join(out).rstrip() + "\n"
