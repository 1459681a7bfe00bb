"""The HTML report: one self-contained page (inline CSS and JS, nothing fetched) with the
matrix of scenarios x paths, filters, and per scenario the steps and both normalised
snapshots side by side, the differing rows marked. The page is built from a view model
prepared here, so that the template stays free of logic."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import jinja2

from reports.runfile import ENGINES, flaky, stale_entries, with_defaults
from reports.verdicts import VERDICTS

_CLASS_RANK = {"flaky": 4, "unexpected": 3, "expected": 2, "noise": 1}


def _environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(Path(__file__).with_name("templates")),
        autoescape=True, undefined=jinja2.StrictUndefined, trim_blocks=True,
        lstrip_blocks=True)


def slug(scenario_id: str) -> str:
    """An HTML id that needs no escaping in CSS selectors or URLs."""
    return "sc-" + re.sub(r"[^A-Za-z0-9_-]", "-", scenario_id)


def child_path(path: str, key: str) -> str:
    """The difference path of ``key`` under ``path``: the convention of
    harness.experiment.diff, which wrote the paths in the run file; the rows are matched on
    these strings."""
    plain = key.replace("_", "").replace("-", "")
    return f"{path}.{key}" if plain.isalnum() else f"{path}[{key!r}]"


def flatten(value: Any, path: str) -> list[tuple[str, Any]]:
    """Leaves of a snapshot as (path, value) rows. A list of plain values stays one row (an
    event sequence reads better whole); a difference inside it marks that row."""
    if isinstance(value, dict) and value:
        rows: list[tuple[str, Any]] = []
        for key in sorted(value, key=str):
            rows.extend(flatten(value[key], child_path(path, str(key))))
        return rows
    if isinstance(value, list) and any(isinstance(v, dict | list) for v in value):
        rows = []
        for index, item in enumerate(value):
            rows.extend(flatten(item, f"{path}[{index}]"))
        return rows
    return [(path, value)]


def _related(row: str, marked: str) -> bool:
    """Whether a difference at ``marked`` concerns the row at ``row``: the same leaf, a
    subtree present on one side only that contains the row, or an item inside a list row."""
    if row == marked:
        return True
    return marked.startswith((row + "[", row + ".")) or row.startswith((marked + ".",
                                                                         marked + "["))


def _mark(row: str, marks: list[tuple[str, str]]) -> str:
    best = ""
    for path, kind in marks:
        if _related(row, path) and _CLASS_RANK[kind] > _CLASS_RANK.get(best, 0):
            best = kind
    return best


def _text(value: Any) -> str:
    return json.dumps(value, sort_keys=True, ensure_ascii=False, default=str)


def _snapshot_views(item: dict[str, Any], engines: list[str]) -> list[dict[str, Any]]:
    marks = [(d["path"], d["class"]) for d in item["differences"]]
    marks += [(n["path"], "noise") for n in item["noise"]]
    marks += [(f["path"], "flaky") for f in flaky(item)]
    series = {e: item["engines"][e]["snapshots"] for e in engines}
    length = max((len(s) for s in series.values()), default=0)
    views = []
    for index in range(length):
        prefix = f"$.steps[{index}]"
        values: dict[str, dict[str, Any]] = {}
        order: list[str] = []
        header = None
        for engine in engines:
            snap = series[engine][index] if index < len(series[engine]) else None
            if snap is None:
                continue
            header = header or snap
            for path, value in flatten(snap, prefix):
                if path not in values:
                    values[path] = {}
                    order.append(path)
                values[path][engine] = value
        rows = []
        for path in order:
            kind = _mark(path, marks)
            rows.append({"path": path, "mark": kind,
                         "cells": [_text(values[path][e]) if e in values[path] else None
                                   for e in engines]})
        views.append({"index": index, "step": header.get("step", index) if header else index,
                      "op": header.get("op", "") if header else "", "rows": rows,
                      "marked": sum(1 for r in rows if r["mark"])})
    return views


def _scenario_view(item: dict[str, Any], longest: float) -> dict[str, Any]:
    engines = [e for e in ENGINES if e in item["engines"]]
    paths = []
    for engine in ENGINES:
        result = item["engines"].get(engine)
        declared = engine in item["declared_engines"]
        paths.append({
            "engine": engine, "declared": declared, "ran": result is not None,
            "status": result["status"] if result else ("not run" if declared else "n/a"),
            "duration": result["duration_s"] if result else None,
            "durations": result["durations_s"] if result else [],
            "width": _percent(result["duration_s"], longest) if result else 0,
            "error": result["error"] if result and result["status"] == "error" else None,
            "failed": [{**f, "expected_text": _text(f.get("expected")),
                        "actual_text": _text(f.get("actual"))}
                       for f in (result["failed_expectations"] if result else [])],
        })
    return {
        "id": item["id"], "anchor": slug(item["id"]), "group": item["group"],
        "verdict": item["verdict"], "description": item.get("description") or "",
        "tags": item.get("tags", []), "counts": item["counts"], "paths": paths,
        "engines": engines,
        "steps": [{"index": s["index"], "op": s["op"], "args": _text(s.get("args", {}))}
                  for s in item["steps"]],
        "differences": [{**d, "legacy_text": _text(d["legacy"]),
                         "convergence_text": _text(d["convergence"])}
                        for d in item["differences"]],
        "noise": item["noise"],
        "flaky": [{**f, "first_text": _text(f["values"][0]),
                   "other_text": _text(f["values"][1])} for f in flaky(item)],
        "snapshots": _snapshot_views(item, engines),
    }


def _percent(value: float, maximum: float) -> float:
    return round(100.0 * value / maximum, 1) if maximum > 0 else 0.0


def _fuzz_view(run: dict[str, Any]) -> dict[str, Any] | None:
    fuzz = run.get("fuzz")
    if fuzz is None:
        return None
    return {**fuzz, "findings": [{**f, "issues": f.get("issues", [])}
                                 for f in fuzz["findings"]]}


def build_view(run: dict[str, Any]) -> dict[str, Any]:
    run = with_defaults(run)
    summary = run["summary"]
    longest = max((r["duration_s"] for item in run["scenarios"]
                   for r in item["engines"].values()), default=0.0)
    totals = summary["duration_s"]
    biggest = max(totals.values(), default=0.0)
    stale = {e["index"] for e in stale_entries(run)}
    return {
        "run": run["run"], "tool": run["tool"], "summary": summary,
        "kind": run.get("kind", "corpus"), "fuzz": _fuzz_view(run),
        # a fuzz run without scenario results of its own shows its cases and findings only
        "corpus": run.get("kind", "corpus") == "corpus" or bool(run["scenarios"]),
        "commit": run["run"]["commit"], "config": run["run"]["config"],
        "verdicts": [{"name": v, "count": summary[v]} for v in VERDICTS],
        "groups": sorted({item["group"] for item in run["scenarios"]}),
        "engines": list(ENGINES),
        "totals": [{"engine": e, "seconds": totals.get(e, 0.0),
                    "width": _percent(totals.get(e, 0.0), biggest)} for e in ENGINES],
        "scenarios": [_scenario_view(item, longest) for item in run["scenarios"]],
        "entries": [{**e, "stale": e["index"] in stale, "legacy_text": _text(e.get("legacy")),
                     "convergence_text": _text(e.get("convergence")),
                     "explained": e.get("explained", {})}
                    for e in run["registry"]["entries"]],
        "stale": [e for e in run["registry"]["entries"] if e["index"] in stale],
    }


def render_html(run: dict[str, Any]) -> str:
    return _environment().get_template("report.html.j2").render(build_view(run))
