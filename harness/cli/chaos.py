"""``dualpath chaos``: trials of one stack's create, update with replacements and delete
on the convergence path, done by worker processes of which one is SIGKILLed at a seeded
moment of each trial (harness/chaos/plan.py) and replaced by a new one; each trial checks
that nothing hung, leaked or was made twice (harness/chaos/trial.py).

Worker processes need a transport they share: ``--transport-url rabbit://...`` is
required (the default, in-process transport cannot reach them). The database is a fresh
SQLite file per trial unless ``--database-url`` names a PostgreSQL or MariaDB server.
Exit 0 when every trial passed, 1 when one failed, 2 for bad input. ``leaked``,
``duplicated`` and ``stuck`` in the JSON count trials; each trial's entry has its own
counts of physical resources.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn
from rich.table import Table

from engines.processes import broker_problem, transport_problem
from engines.service import safe_url
from harness.chaos.plan import TrialPlan
from harness.chaos.trial import ChaosOptions, Trial, TrialResult
from harness.experiment import provenance
from harness.infra.databases import DatabaseFactory
from reports.verdicts import EXIT_AGAINST, EXIT_OK


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("chaos", help="kill convergence worker processes at seeded moments "
                       "of a stack's life; check nothing hangs, leaks or is made twice")
    p.add_argument("--trials", type=int, default=10, help="how many trials (default 10)")
    p.add_argument("--seed", type=int, default=0,
                   help="the run's seed; trial i draws its plan from (seed, i) (default 0)")
    p.add_argument("--database-url", help="a PostgreSQL or MariaDB server URL; each trial "
                   "gets a database of its own there (default: SQLite files)")
    p.add_argument("--transport-url", help="rabbit://... the workers and the engine share "
                   "(required)")
    p.add_argument("--workers", type=int, default=2,
                   help="worker processes per trial (default 2)")
    p.add_argument("--stack-timeout", type=int, default=60, metavar="SECONDS",
                   help="timeout of every stack operation (default 60)")
    p.add_argument("--json", type=Path, metavar="FILE", help="write the results there")
    p.add_argument("--quiet", action="store_true", help="no progress display")
    p.set_defaults(handler=handle)


def options(args: argparse.Namespace) -> ChaosOptions:
    """The options, or ValueError naming the one that is wrong (exit 2)."""
    problems = []
    if args.trials < 1:
        problems.append(f"--trials must be at least 1, not {args.trials}")
    if args.workers < 1:
        problems.append(f"--workers must be at least 1, not {args.workers}")
    if args.stack_timeout < 1:
        problems.append(f"--stack-timeout must be at least 1, not {args.stack_timeout}")
    if not args.transport_url:
        problems.append("--transport-url is required: worker processes need a transport "
                        "they share, e.g. --transport-url rabbit://guest:guest@127.0.0.1:5672/")
    elif problem := transport_problem(args.transport_url):
        problems.append(f"--transport-url: {problem}")
    elif args.transport_url.startswith("rabbit") and \
            (problem := broker_problem(args.transport_url)):
        problems.append(f"--transport-url: {problem}")
    if problems:
        raise ValueError("; ".join(problems))
    return ChaosOptions(transport_url=args.transport_url, database_url=args.database_url,
                        workers=args.workers, stack_timeout=args.stack_timeout,
                        config_files=tuple(getattr(args, "config_file", []) or ()))


def handle(args: argparse.Namespace) -> int:
    chaos = options(args)
    try:
        factory = DatabaseFactory.prepare(chaos.database_url)
    except ValueError as exc:
        raise ValueError(f"--database-url: {exc}") from None
    logs = Path(tempfile.mkdtemp(prefix="dualpath-chaos-"))
    started_at, started = dt.datetime.now(dt.UTC), time.monotonic()
    results: list[TrialResult] = []
    columns = (TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
               TextColumn("{task.fields[tally]}"))
    try:
        with Progress(*columns, console=Console(stderr=True), disable=args.quiet) as bar:
            task = bar.add_task("chaos", total=args.trials, tally="")
            for index in range(args.trials):
                plan = TrialPlan.draw(args.seed, index)
                bar.update(task, description=f"trial {index}: {plan.describe()}")
                results.append(Trial(plan, factory, chaos, logs / f"trial-{index}").run())
                failed = sum(not r.passed for r in results)
                bar.update(task, advance=1, tally=f"{len(results) - failed} passed, "
                           f"{failed} failed")
    finally:
        factory.close()
    data = report(results, args, chaos, started_at, time.monotonic() - started)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(data, indent=1), encoding="utf-8")
    print_table(results, data)
    if data["passed"] == data["trials"]:
        shutil.rmtree(logs, ignore_errors=True)
        return EXIT_OK
    print(f"worker logs of the trials: {logs}", file=sys.stderr)
    return EXIT_AGAINST


def report(results: list[TrialResult], args: argparse.Namespace, chaos: ChaosOptions,
           started_at: dt.datetime, duration: float) -> dict[str, Any]:
    backend = "sqlite" if not chaos.database_url else chaos.database_url.split(":")[0]
    return {
        "tool": {"name": "dualpath chaos", "version": provenance.package_version()},
        "seed": args.seed, "workers": chaos.workers, "database": backend,
        "transport": safe_url(chaos.transport_url), "started_at": started_at.isoformat(),
        "duration_s": round(duration, 3), "trials": len(results),
        "passed": sum(r.passed for r in results),
        "leaked": sum(bool(r.leaked) for r in results),
        "duplicated": sum(bool(r.duplicated) for r in results),
        "stuck": sum(r.stuck for r in results),
        "per_trial": [r.to_json() for r in results],
    }


def print_table(results: list[TrialResult], data: dict[str, Any]) -> None:
    out = Console() if sys.stdout.isatty() else Console(width=160)
    table = Table(title=f"dualpath chaos: seed {data['seed']}, {data['workers']} workers, "
                  f"{data['database']}, {data['duration_s']:.0f}s")
    for column in ("trial", "disruption", "verdict", "what happened", "s"):
        table.add_column(column, overflow="fold")
    for r in results:
        verdict = "[green]passed[/]" if r.passed else "[bold red]failed[/]"
        table.add_row(str(r.plan.trial), r.plan.describe(), verdict,
                      "; ".join(r.what_happened), f"{r.duration_s:.1f}")
    out.print(table)
    out.print(f"{data['passed']}/{data['trials']} passed; leaked {data['leaked']}, "
              f"duplicated {data['duplicated']}, stuck {data['stuck']}")
