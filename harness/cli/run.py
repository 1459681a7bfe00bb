"""``dualpath run``: every scenario on both paths, with a progress bar and a summary; writes
the run file and, when asked, the reports. Exit 0 when every verdict is parity, an expected
divergence or a path-specific pass; 1 otherwise (an unexpected divergence, a flaky path, a
failure, an error); 2 for bad input."""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from engines.service import PATH_NAMES
from harness.experiment import cross, runner

VERDICT_STYLE = {"parity": "green", "expected-divergence": "cyan", "path-specific": "blue",
                 "unexpected-divergence": "bold red", "flaky": "bold yellow", "failed": "red",
                 "error": "bold magenta"}


def _default_root() -> Path:
    from scenarios.loader import corpus_root
    return corpus_root()


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("run", help="run the scenarios on both paths and write the reports")
    p.add_argument("--scenarios", type=Path, help="scenario tree (groups as subfolders); "
                   "default: the shipped corpus")
    p.add_argument("--divergences", type=Path,
                   help="divergence registry (default: divergences.yaml beside the corpus)")
    p.add_argument("--scenario", metavar="GLOB", help="only scenario ids matching GLOB")
    p.add_argument("--engines", default="legacy,convergence")
    p.add_argument("--repeat", type=int, default=2,
                   help="runs per path; two or more find noise (default 2)")
    p.add_argument("--database-url", help="a PostgreSQL or MariaDB server URL: every "
                   "scenario run gets its own database there (default: SQLite files)")
    p.add_argument("--transport-url", help="rabbit://... to run convergence over RabbitMQ")
    p.add_argument("--workers", type=int, default=0,
                   help="convergence worker processes per scenario run (needs rabbit://)")
    p.add_argument("-j", "--jobs", type=int, default=os.cpu_count() or 1)
    p.add_argument("--json", type=Path, default=Path("out/run.json"), metavar="PATH",
                   help="run file to write (default out/run.json)")
    p.add_argument("--html", type=Path, help="also write the HTML report")
    p.add_argument("--junit", type=Path, help="also write JUnit XML")
    p.add_argument("--markdown", type=Path, help="also write a Markdown summary")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.add_argument("--cross-path", action="store_true",
                   help="also run each scenario with its stack made on legacy and moved onto "
                   "convergence once COMPLETE, compared with both paths' runs")
    p.add_argument("--mutant", help="break the convergence path on purpose (see "
                   "harness/selftest/mutants.py), to see that the run catches it")
    p.set_defaults(handler=handle)


def handle(args: argparse.Namespace) -> int:
    root = args.scenarios or _default_root()
    if not root.is_dir():
        raise ValueError(f"--scenarios {root}: not a directory")
    divergences = args.divergences
    if divergences is None and (root / "divergences.yaml").exists():
        divergences = root / "divergences.yaml"
    if divergences is None and (root.parent / "divergences.yaml").exists():
        divergences = root.parent / "divergences.yaml"
    options = runner.RunOptions(
        scenario_root=root, divergences=divergences, pattern=args.scenario,
        engines=tuple(e.strip() for e in args.engines.split(",") if e.strip()),
        repeat=args.repeat, database_url=args.database_url,
        transport_url=args.transport_url, workers=args.workers, jobs=args.jobs,
        mutant=args.mutant, config_files=tuple(args.config_file),
        cross_path=args.cross_path)
    console = Console(stderr=True)
    columns = (TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
               TimeElapsedColumn())
    with Progress(*columns, console=console, disable=args.quiet, transient=False) as bar:
        task = bar.add_task("scenario runs", total=None)

        def advance(unit: runner.Unit, result: object) -> None:
            bar.update(task, advance=1, description=f"{unit.scenario.id} [{unit.engine}]")

        data = runner.run(options, progress=advance,
                          planned=lambda total: bar.update(task, total=total))
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(data, indent=1, default=str), encoding="utf-8")
    _write_reports(data, args)
    # a log (CI, a pipe) gets full scenario ids instead of a table cut to 80 columns
    out = Console() if sys.stdout.isatty() else Console(width=140)
    out.print(summary_table(data))
    for item in data["scenarios"]:
        for f in item["flaky"]:
            out.print(f"flaky: {item['id']} [{f['engine']}] {f['path']}: "
                      f"{json.dumps(f['values'][0], default=str)} in one repeat, "
                      f"{json.dumps(f['values'][1], default=str)} in another", markup=False)
    commit = data["run"]["commit"]
    out.print(f"commit {commit['id'][:12]}{' (uncommitted changes)' if commit['dirty'] else ''}"
              f", dualpath {commit['version']}", markup=False)
    out.print(f"run file: {args.json}")
    return runner.exit_code(data)


def _write_reports(data: dict, args: argparse.Namespace) -> None:
    if not (args.html or args.junit or args.markdown):
        return
    from reports.cli import write_reports
    write_reports(data, html=str(args.html) if args.html else None,
                  junit=str(args.junit) if args.junit else None,
                  markdown=str(args.markdown) if args.markdown else None)


def summary_table(data: dict) -> Table:
    table = Table(title=f"dualpath parity run: {data['summary']['scenarios']} scenarios")
    crossed = "cross" in data["summary"]
    for column in ("scenario", "verdict", "legacy", "convergence", "differences") + (
            ("cross-path",) if crossed else ()):
        table.add_column(column)
    for item in data["scenarios"]:
        cells = []
        for engine in PATH_NAMES:
            e = item["engines"].get(engine)
            cells.append(f"{e['status']} {e['duration_s']:.2f}s" if e else "-")
        c = item["counts"]
        style = VERDICT_STYLE.get(item["verdict"], "")
        table.add_row(item["id"], f"[{style}]{item['verdict']}[/]", *cells,
                      f"{c['unexpected']} unexpected, {c['expected']} expected, "
                      f"{c['noise']} noise" + (f", {c['flaky']} flaky" if c["flaky"] else ""),
                      *((cross.cell(item.get("cross")),) if crossed else ()))
    s = data["summary"]
    table.caption = (f"parity {s['parity']}, expected {s['expected-divergence']}, "
                     f"path-specific {s['path-specific']}, unexpected "
                     f"{s['unexpected-divergence']}, flaky {s['flaky']}, failed {s['failed']}, "
                     f"error {s['error']}; "
                     f"stale registry entries {s['stale_entries']}; time legacy "
                     f"{s['duration_s']['legacy']}s, convergence "
                     f"{s['duration_s']['convergence']}s"
                     + cross.caption(s.get("cross")))
    return table
