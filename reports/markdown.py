"""A short Markdown summary of a run, sized for a review comment: the counts, the gate's
verdict when there is one, and what went wrong, capped so that a bad run stays readable."""

from __future__ import annotations

from typing import Any

from reports.gate import GateResult
from reports.runfile import (
    ENGINES,
    first_line,
    format_value,
    stale_entries,
    unexpected,
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


def render_markdown(run: dict[str, Any], gate_result: GateResult | None = None) -> str:
    summary = run["summary"]
    out = [f"## dualpath parity run: {summary['scenarios']} scenarios", ""]
    if gate_result is not None:
        out += [f"**Gate: {gate_result.verdict}**", ""]
        out += [f"- {r}" for r in _capped(gate_result.reasons, len(gate_result.reasons),
                                          "reasons")]
        if gate_result.reasons:
            out.append("")
    out += ["| verdict | scenarios |", "|---|---:|"]
    out += [f"| {v} | {summary[v]} |" for v in VERDICTS]
    diffs = summary["differences"]
    durations = summary["duration_s"]
    timing = ", ".join(f"{e} {durations[e]:.2f}s" for e in ENGINES if e in durations)
    out += ["", f"Differences: {diffs['unexpected']} unexpected, {diffs['expected']} expected, "
                f"{diffs['noise']} noise. Stale registry entries: {summary['stale_entries']}. "
                f"Time (all repeats): {timing}.", ""]
    out += _unexpected_section(run)
    out += _problem_section(run)
    out += _stale_section(run)
    text = "\n".join(out).rstrip() + "\n"
    if len(text) > MAX_CHARS:
        text = text[:MAX_CHARS].rsplit("\n", 1)[0] + "\n\n… (truncated)\n"
    return text


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


def _stale_section(run: dict[str, Any]) -> list[str]:
    lines = [f"- #{e['index']} {code(e['scenario'])} {code(e['path'])}: {cell(e['reason'])}"
             for e in stale_entries(run)]
    if not lines:
        return []
    return ["### Stale registry entries", "", *_capped(lines, len(lines), "entries"), ""]
