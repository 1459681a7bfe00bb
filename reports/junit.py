"""JUnit XML: one testsuite per path, one testcase per scenario on that path, so that any CI
system shows the parity run like a test run. A divergence belongs to the pair of paths, but
legacy is the reference (the behaviour users have today), so an unexpected divergence fails
the scenario's convergence testcase."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from typing import Any

from reports.runfile import first_line, flaky, format_value, shorten, unexpected

MESSAGE_LIMIT = 1000  # the message attribute is shown in one line by most CI systems
# XML 1.0 cannot carry most control characters, which tracebacks may contain
_INVALID_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def _clean(text: str) -> str:
    return _INVALID_XML.sub("\ufffd", text)


def _diff_lines(differences: list[dict[str, Any]]) -> list[str]:
    return [f"{d['path']}: legacy {format_value(d['legacy'], 200)}, convergence "
            f"{format_value(d['convergence'], 200)}" for d in differences]


def _failure_lines(result: dict[str, Any]) -> list[str]:
    return [f"step {f['step']} {f['check']}: {f['message']} (expected "
            f"{format_value(f.get('expected'))}, actual {format_value(f.get('actual'))})"
            for f in result["failed_expectations"]]


def _testcase(suite: ET.Element, item: dict[str, Any], engine: str) -> str:
    """Add one testcase; returns its outcome: passed, failure, error or skipped."""
    case = ET.SubElement(suite, "testcase", classname=item["group"],
                         name=f"{item['id']} [{engine}]")
    result = item["engines"].get(engine)
    if result is None:
        case.set("time", "0")
        ET.SubElement(case, "skipped", message=f"not run on the {engine} path in this run")
        return "skipped"
    case.set("time", f"{result['duration_s']:.4f}")
    if result["status"] == "error":
        detail = result["error"] or "no detail"
        node = ET.SubElement(case, "error", type="error",
                             message=_clean(f"{engine} path error: {first_line(detail)}"))
        node.text = _clean(detail)
        return "error"
    lines = []
    failed = _failure_lines(result)
    if failed:
        lines += [f"failed expectation(s) on the {engine} path:", *failed]
    unsteady = [f"{f['path']}: {format_value(f['values'][0], 200)} in one repeat, "
                f"{format_value(f['values'][1], 200)} in another"
                for f in flaky(item) if f["engine"] == engine]
    if unsteady:
        lines += [f"flaky: the {engine} path disagrees with itself between repeats:",
                  *unsteady]
    diffs = _diff_lines(unexpected(item)) if engine == "convergence" else []
    if diffs:
        lines += ["unexpected divergence(s) from legacy:", *diffs]
    if lines:
        # failed expectations first: they are what the scenario itself says went wrong
        kind = "failed-expectation" if failed else "flaky" if unsteady else \
            "unexpected-divergence"
        node = ET.SubElement(case, "failure", type=kind,
                             message=_clean(shorten("; ".join(lines), MESSAGE_LIMIT)))
        node.text = _clean("\n".join(lines))
    expected = [d for d in item["differences"] if d["class"] == "expected"]
    if expected:
        out = ET.SubElement(case, "system-out")
        out.text = _clean("\n".join(
            ["expected divergence(s):"] +
            [f"{line} -- {d['reason']}" for line, d in zip(_diff_lines(expected), expected,
                                                           strict=True)]))
    return "failure" if lines else "passed"


def _fuzz_suite(root: ET.Element, run: dict[str, Any]) -> dict[str, int]:
    """A fuzz run as a suite: one failing testcase per finding, or one passing case."""
    fuzz = run["fuzz"]
    suite = ET.SubElement(root, "testsuite", name="dualpath.fuzz",
                          timestamp=run["run"]["started_at"])
    for finding in fuzz["findings"]:
        case = ET.SubElement(suite, "testcase", classname="fuzz",
                             name=f"{finding['scenario_file']} [{finding['path']}]")
        text = "\n".join([f"{finding['verdict']} on {finding['path']}",
                          *finding.get("issues", [])])
        node = ET.SubElement(case, "failure", type=finding["verdict"],
                             message=_clean(shorten(text.replace("\n", "; "), MESSAGE_LIMIT)))
        node.text = _clean(text)
    if not fuzz["findings"]:
        ET.SubElement(suite, "testcase", classname="fuzz",
                      name=f"{fuzz['cases']} cases, seed {fuzz['seed']}: no finding")
    count = max(len(fuzz["findings"]), 1)
    seconds = fuzz["cases"] * fuzz["time_per_case_s"]
    for key, value in (("tests", count), ("failures", len(fuzz["findings"])), ("errors", 0),
                       ("skipped", 0)):
        suite.set(key, str(value))
    suite.set("time", f"{seconds:.3f}")
    return {"tests": count, "failures": len(fuzz["findings"]), "errors": 0, "skipped": 0}


def render_junit(run: dict[str, Any]) -> str:
    info = run["run"]
    root = ET.Element("testsuites", name="dualpath")
    if run.get("kind") == "fuzz":
        for key, value in _fuzz_suite(root, run).items():
            root.set(key, str(value))
        ET.indent(root)
        return ET.tostring(root, encoding="unicode", xml_declaration=True) + "\n"
    totals = dict.fromkeys(("tests", "failures", "errors", "skipped"), 0)
    total_time = 0.0
    for engine in info["engines"]:
        suite = ET.SubElement(root, "testsuite", name=f"dualpath.{engine}",
                              timestamp=info["started_at"], hostname=info["database"])
        counts = dict.fromkeys(("tests", "failures", "errors", "skipped"), 0)
        time = 0.0
        for item in run["scenarios"]:
            if engine not in item["declared_engines"]:
                continue  # path-specific to the other path: not a test of this one
            outcome = _testcase(suite, item, engine)
            counts["tests"] += 1
            if outcome == "failure":
                counts["failures"] += 1
            elif outcome in ("error", "skipped"):
                counts[{"error": "errors", "skipped": "skipped"}[outcome]] += 1
            if engine in item["engines"]:
                time += item["engines"][engine]["duration_s"]
        for key, value in counts.items():
            suite.set(key, str(value))
            totals[key] += value
        suite.set("time", f"{time:.3f}")
        total_time += time
    for key, value in totals.items():
        root.set(key, str(value))
    root.set("time", f"{total_time:.3f}")
    ET.indent(root)
    return ET.tostring(root, encoding="unicode", xml_declaration=True) + "\n"
