"""A short Markdown summary of a run, sized for a review comment: the counts, the gate's
verdict when there is one, and what went wrong, capped so that a bad run stays readable."""

from __future__ import annotations

from typing import Any

from reports.gate import GateResult
from reports.runfile import (
    ENGINES,
    first_line,
    flaky,
    format_value,
    stale_entries,
    unexpected,
    with_defaults,
)
from reports.verdicts import VERDICTS

MAX_ITEMS = 20  # per list; the HTML report has everything
MAX_CHARS = 60_000  # GitHub refuses comments over 65536 characters


def cell(text: str) -> str:
    """Text safe inside a Markdown table cell."""
    return text.replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ")


def code(text: str) -> str:
    fence = "``" if "`" in text else "`"
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def _capped(lines: list[str], total: int, what: str) -> list[str]:
    if total > MAX_ITEMS:
        lines = lines[:MAX_ITEMS] + [f"… and {total - MAX_ITEMS} more {what} (see the HTML "
                                     "report)"]
    return lines


def _gate_lines(gate_result: GateResult | None) -> list[str]:
    if gate_result is None:
        return []
    out = [f"**Gate: {gate_result.verdict}**", ""]
    out += [f"- {r}" for r in _capped(gate_result.reasons, len(gate_result.reasons),
                                            "reasons")]
    return out + ([""] if gate_result.reasons else [])


def _finish(out: list[str]) -> str:
    text = "\n".join(out).rstrip() + "\n"
    if len(text) > MAX_CHARS:
        text = text[:MAX_CHARS].rsplit("\n", 1)[0] + "\n\n… (truncated)\n"
    return text


def render_markdown(run: dict[str, Any], gate_result: GateResult | None = None) -> str:
    run = with_defaults(run)
    if run.get("kind") == "fuzz":
        return _finish(_fuzz_title(run) + _gate_lines(gate_result) + _fuzz_section(run))
    out = [f"## dualpath parity run: {run['summary']['scenarios']} scenarios", ""]
    return _finish(out + _gate_lines(gate_result) + _run_body(run))


def render_gate_markdown(runs: list[tuple[str, dict[str, Any]]], gate_result: GateResult
                         ) -> str:
    """The gate over several run files: the verdict, the evidence, then each file."""
    out = ["## dualpath flip gate", ""] + _gate_lines(gate_result)
    out += ["| check | | detail |", "|---|---|---|"]
    out += [f"| {cell(c.name)} | {'ok' if c.ok else '**FAIL**'} | {cell(c.detail)} |"
            for c in gate_result.checks]
    for name, run in runs:
        run = with_defaults(run)
        out += ["", f"### {code(name)}", "", _provenance(run), ""]
        out += _fuzz_section(run) if run.get("kind") == "fuzz" else _run_body(run, level=4)
    return _finish(out)


def _provenance(run: dict[str, Any]) -> str:
    info = run["run"]
    commit = info["commit"]
    config = info["config"]
    dirty = " (uncommitted changes)" if commit.get("dirty") else ""
    scenarios = config.get("scenarios") or {}
    what = f", scenarios: {scenarios['name']} ({scenarios['count']})" if scenarios else ""
    return (f"Commit {code(commit['id'][:12])}{dirty}, dualpath {commit['version']}; "
            f"{config['database']['kind']}, {config['transport']['kind']}, "
            f"{config['workers']} worker process(es), {config['repeat']} repeat(s){what}.")


def _fuzz_title(run: dict[str, Any]) -> list[str]:
    fuzz = run["fuzz"]
    return [f"## dualpath fuzz run: {fuzz['cases']} cases, {len(fuzz['findings'])} "
            "finding(s)", "", _provenance(run), ""]


def _fuzz_section(run: dict[str, Any]) -> list[str]:
    fuzz = run["fuzz"]
    out = [f"Seed {fuzz['seed']}, budget {fuzz['budget_s']:g}s: {fuzz['cases']} cases, "
           f"{fuzz['time_per_case_s']:.2f}s per case, {len(fuzz['findings'])} finding(s).",
           ""]
    rows = [f"| {cell(f['verdict'])} | {f['path']} | {code(f['scenario_file'])} | "
            f"{cell('; '.join(f.get('issues', [])))} |" for f in fuzz["findings"]]
    if rows:
        out += ["| verdict | path | scenario file | what |", "|---|---|---|---|",
                *_capped(rows, len(rows), "findings"), "",
                "Each scenario file replays its finding: `dualpath run --scenarios DIR`, DIR "
                "being the fuzz run's findings folder.", ""]
    return out


def _run_body(run: dict[str, Any], level: int = 3) -> list[str]:
    summary = run["summary"]
    out = ["| verdict | scenarios |", "|---|---:|"]
    out += [f"| {v} | {summary[v]} |" for v in VERDICTS]
    diffs = summary["differences"]
    durations = summary["duration_s"]
    timing = ", ".join(f"{e} {durations[e]:.2f}s" for e in ENGINES if e in durations)
    out += ["", f"Differences: {diffs['unexpected']} unexpected, {diffs['expected']} expected, "
                f"{diffs['noise']} noise; {diffs['flaky']} flaky value(s). Stale registry "
                f"entries: {summary['stale_entries']}. Time (all repeats): {timing}.", ""]
    out += _cross_lines(run)
    heading = "#" * level
    for section in (_unexpected_section, _flaky_section, _problem_section, _stale_section,
                    _registry_section):
        lines = section(run)
        if lines:
            lines[0] = lines[0].replace("###", heading, 1)
        out += lines
    return out


def _cross_lines(run: dict[str, Any]) -> list[str]:
    """A --cross-path run: the cross verdicts, and the scenarios not at parity or skipped."""
    counts = run["summary"].get("cross")
    if not counts:
        return []
    lines = ["Cross-path (made on legacy, moved onto convergence once COMPLETE): "
             + ", ".join(f"{v} {n}" for v, n in counts.items()) + ".", ""]
    odd = [(i["id"], i["cross"]) for i in run["scenarios"]
           if (i.get("cross") or {}).get("verdict") not in (None, "parity", "skipped")]
    lines += [f"- {code(sid)}: cross {block['verdict']}" for sid, block in odd[:MAX_ITEMS]]
    return lines + ([""] if odd else [])


def _unexpected_section(run: dict[str, Any]) -> list[str]:
    rows = [f"| {code(item['id'])} | {code(d['path'])} | {cell(format_value(d['legacy']))} | "
            f"{cell(format_value(d['convergence']))} |"
            for item in run["scenarios"] for d in unexpected(item)]
    if not rows:
        return []
    return ["### Unexpected divergences", "", "| scenario | path | legacy | convergence |",
            "|---|---|---|---|", *_capped(rows, len(rows), "divergences"), ""]


def _problem_section(run: dict[str, Any]) -> list[str]:
    lines = []
    for item in run["scenarios"]:
        for engine in ENGINES:
            result = item["engines"].get(engine)
            if result is None or result["status"] == "passed":
                continue
            where = f"{code(item['id'])} [{engine}]"
            if result["status"] == "error":
                lines.append(f"- {where} error: {cell(first_line(result['error']))}")
            for failure in result["failed_expectations"]:
                lines.append(f"- {where} step {failure['step']} {failure['check']}: "
                             f"{cell(failure['message'])}")
    if not lines:
        return []
    return ["### Failures and errors", "", *_capped(lines, len(lines), "problems"), ""]


def _flaky_section(run: dict[str, Any]) -> list[str]:
    rows = [f"| {code(item['id'])} | {f['engine']} | {code(f['path'])} | "
            f"{cell(format_value(f['values'][0]))} | {cell(format_value(f['values'][1]))} |"
            for item in run["scenarios"] for f in flaky(item)]
    if not rows:
        return []
    return ["### Flaky: a path that disagrees with itself", "",
            "| scenario | path | field | one repeat | another |", "|---|---|---|---|---|",
            *_capped(rows, len(rows), "flaky values"), ""]


def _registry_section(run: dict[str, Any]) -> list[str]:
    entries = run["registry"]["entries"]
    if not entries:
        return []
    rows = [f"| #{e['index']} | {code(e['scenario'])} | {code(e['path'])} | {e['matched']} |"
            for e in entries]
    return ["### Divergence registry: differences explained per entry", "",
            "| entry | scenario | path | explained |", "|---|---|---|---:|",
            *_capped(rows, len(rows), "entries"), ""]


def _stale_section(run: dict[str, Any]) -> list[str]:
    lines = [f"- #{e['index']} {code(e['scenario'])} {code(e['path'])}: {cell(e['reason'])}"
             for e in stale_entries(run)]
    if not lines:
        return []
    return ["### Stale registry entries", "", *_capped(lines, len(lines), "entries"), ""]
