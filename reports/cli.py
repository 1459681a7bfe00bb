"""``dualpath report`` and ``dualpath gate``: re-render a run file, compare two, or decide
the flip. Exit codes as for every dualpath command: 0 ok (flip), 1 a verdict against (don't
flip; a regression in a comparison), 2 bad input."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from rich.console import Console

from reports import compare as compare_mod
from reports.gate import Policy, PolicyError, evaluate, evaluate_runs
from reports.html import render_html
from reports.junit import render_junit
from reports.markdown import render_gate_markdown, render_markdown
from reports.runfile import RunFileError, load_run, validate_run, with_defaults
from reports.verdicts import EXIT_AGAINST, EXIT_BAD_INPUT, EXIT_OK


def add_parsers(subparsers: argparse._SubParsersAction) -> None:
    report = subparsers.add_parser(
        "report", help="render a run file as HTML, JUnit XML or Markdown, or compare two",
        description="Render RUN.json (Markdown to stdout when no output is named), or with "
        "--compare show what changed between two runs.")
    report.add_argument("run", nargs="?", type=Path, metavar="RUN.json")
    report.add_argument("--compare", nargs=2, type=Path, metavar=("OLD.json", "NEW.json"),
                        help="new and fixed divergences, verdict and time changes")
    report.add_argument("--html", type=Path, metavar="FILE", help="write the HTML report")
    report.add_argument("--junit", type=Path, metavar="FILE", help="write JUnit XML")
    report.add_argument("--markdown", type=Path, metavar="FILE",
                        help="write the Markdown summary with the gate's verdict (or the "
                        "comparison)")
    report.add_argument("--policy", type=Path, metavar="gate.yaml",
                        help="gate policy for the verdict in the Markdown summary; default: "
                        "the built-in policy")
    report.set_defaults(handler=handle_report)

    gate = subparsers.add_parser(
        "gate", help="flip or don't flip: weigh run files against the gate policy",
        description="Weigh every run file given (corpus runs on each set-up, fuzz runs) "
        "against the policy: exit 0 (flip) when they meet it, all for one commit, 1 (don't "
        "flip) otherwise, 2 for bad input; every reason is printed, and missing evidence "
        "is named.")
    gate.add_argument("runs", type=Path, nargs="+", metavar="RUN.json")
    gate.add_argument("--policy", type=Path, metavar="gate.yaml",
                      help="policy file (YAML); default: the built-in policy")
    gate.add_argument("--markdown", type=Path, metavar="FILE",
                      help="also write the Markdown summary with the gate's verdict")
    gate.set_defaults(handler=handle_gate)


def _bad_input(message: str) -> int:
    print(f"error: {message}", file=sys.stderr)
    return EXIT_BAD_INPUT


def _write(path: str | Path, text: str) -> None:
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(text, encoding="utf-8")


def summary_with_gate(run: dict[str, Any], policy: Policy | None = None) -> str:
    """The Markdown summary always carries the gate's verdict (built-in policy unless one is
    given): a review comment that shows the counts but not the decision invites a guess."""
    return render_markdown(with_defaults(run), evaluate(run, policy))


def write_reports(run: dict[str, Any], html: str | None = None, junit: str | None = None,
                  markdown: str | None = None, policy: Policy | None = None) -> None:
    """Write the reports of a run just made (``dualpath run``). The run is validated first:
    a writer that drifted from the format must fail here, not in a later reader."""
    validate_run(run, "<dualpath run>")
    for path, render in ((html, render_html), (junit, render_junit),
                         (markdown, lambda r: summary_with_gate(r, policy))):
        if path:
            _write(path, render(run))


def handle_report(args: argparse.Namespace) -> int:
    try:
        if args.compare:
            if args.run or args.html or args.junit or args.policy:
                return _bad_input("--compare takes OLD.json NEW.json and only --markdown")
            return _compare(*args.compare, markdown=args.markdown)
        if not args.run:
            return _bad_input("report needs RUN.json, or --compare OLD.json NEW.json")
        policy = Policy.load(args.policy)
        run = load_run(args.run)
    except (RunFileError, PolicyError) as exc:
        return _bad_input(str(exc))
    if not (args.html or args.junit or args.markdown):
        sys.stdout.write(summary_with_gate(run, policy))
        return EXIT_OK
    write_reports(run, html=args.html, junit=args.junit, markdown=args.markdown,
                  policy=policy)
    for kind, path in (("html", args.html), ("junit", args.junit),
                       ("markdown", args.markdown)):
        if path:
            print(f"{kind}: {path}")
    return EXIT_OK


def _compare(old_path: Path, new_path: Path, markdown: Path | None) -> int:
    result = compare_mod.compare(load_run(old_path), load_run(new_path))
    console = Console()
    for table in compare_mod.tables(result):
        if table.row_count:
            console.print(table)
        else:
            console.print(f"{table.title}: none")
    regressions = result.regressions()
    for line in regressions:
        console.print(f"regression: {line}", markup=False)
    if markdown:
        _write(markdown, compare_mod.render_compare_markdown(result))
    return EXIT_AGAINST if regressions else EXIT_OK


def handle_gate(args: argparse.Namespace) -> int:
    try:
        policy = Policy.load(args.policy)
        runs = [(str(path), load_run(path)) for path in args.runs]
    except (RunFileError, PolicyError) as exc:
        return _bad_input(str(exc))
    if len({name for name, _ in runs}) < len(runs):
        return _bad_input("a run file is named twice: each piece of evidence counts once")
    result = evaluate_runs(runs, policy)
    print(result.verdict)
    for reason in result.reasons:
        print(f"- {reason}")
    for check in result.checks:
        print(f"  [{'ok' if check.ok else 'FAIL'}] {check.name}: {check.detail}")
    if args.markdown:
        text = render_markdown(with_defaults(runs[0][1]), result) if len(runs) == 1 else \
            render_gate_markdown([(n, with_defaults(r)) for n, r in runs], result)
        _write(args.markdown, text)
    return EXIT_OK if result.flip else EXIT_AGAINST
