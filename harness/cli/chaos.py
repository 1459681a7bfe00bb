"""``dualpath chaos``: trials of one stack's create, update with replacements and delete
on the convergence path, done by worker processes of which one is SIGKILLed at a seeded
moment of each trial (harness/chaos/plan.py) and replaced by a new one; each trial checks
that nothing hung, leaked or was made twice (harness/chaos/trial.py).

Worker processes need a transport they share: ``--transport-url rabbit://...`` is
required (the default, in-process transport cannot reach them). The database is a fresh
SQLite file per trial unless ``--database-url`` names a PostgreSQL or MariaDB server.
``--restart database,broker`` disrupts each trial by restarting a server instead: the run
starts a PostgreSQL and a RabbitMQ of its own (harness/infra/private_servers.py), which it
may stop and start at will without disturbing anyone else's, and checks as well that no
worker died of it. ``--path legacy`` runs the trials on the legacy path (the engine alone,
no workers; only the database can be restarted then).
Exit 0 when every trial passed, 1 when one failed, 2 for bad input. ``leaked``,
``duplicated`` and ``stuck`` in the JSON count trials; each trial's entry has its own
counts of physical resources.
"""

from __future__ import annotations

import argparse
import contextlib
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
from harness.chaos.plan import RESTARTS, TrialPlan
from harness.chaos.servers import PrivateServers
from harness.chaos.trial import ChaosOptions, Trial, TrialResult
from harness.experiment import provenance
from harness.infra.databases import DatabaseFactory
from harness.infra.private_servers import ServerUnavailable
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
    p.add_argument("--restart", metavar="SERVERS", default="",
                   help="restart a server in each trial instead of killing a worker: "
                   "database, broker or database,broker (private servers the run starts)")
    p.add_argument("--path", choices=("convergence", "legacy"), default="convergence",
                   help="the path the trials' stacks are on (default convergence)")
    p.add_argument("--json", type=Path, metavar="FILE", help="write the results there")
    p.add_argument("--quiet", action="store_true", help="no progress display")
    p.set_defaults(handler=handle)


def options(args: argparse.Namespace) -> ChaosOptions:
    """The options, or ValueError naming the one that is wrong (exit 2)."""
    problems = []
    restarts = tuple(sorted({k.strip() for k in args.restart.split(",") if k.strip()}))
    unknown = [k for k in restarts if k not in RESTARTS]
    if unknown:
        problems.append(f"--restart: {', '.join(unknown)} is not a server it can restart "
                        f"(one or more of {', '.join(RESTARTS)})")
    if args.trials < 1:
        problems.append(f"--trials must be at least 1, not {args.trials}")
    if args.workers < 1:
        problems.append(f"--workers must be at least 1, not {args.workers}")
    if args.stack_timeout < 1:
        problems.append(f"--stack-timeout must be at least 1, not {args.stack_timeout}")
    legacy = args.path == "legacy"
    if legacy and not restarts:
        problems.append("--path legacy has no worker to kill: give --restart database")
    if legacy and "broker" in restarts:
        problems.append("--restart broker: the legacy path uses no broker")
    if "database" in restarts and args.database_url:
        problems.append("--restart database restarts a PostgreSQL server the run starts "
                        "for itself: leave --database-url out")
    if "broker" in restarts and args.transport_url:
        problems.append("--restart broker restarts a RabbitMQ the run starts for itself: "
                        "leave --transport-url out")
    if legacy or "broker" in restarts:
        pass  # the run brings its own broker, or needs none
    elif not args.transport_url:
        problems.append("--transport-url is required: worker processes need a transport "
                        "they share, e.g. --transport-url rabbit://guest:guest@127.0.0.1:5672/")
    elif problem := transport_problem(args.transport_url):
        problems.append(f"--transport-url: {problem}")
    elif args.transport_url.startswith("rabbit") and \
            (problem := broker_problem(args.transport_url)):
        problems.append(f"--transport-url: {problem}")
    if problems:
        raise ValueError("; ".join(problems))
    return ChaosOptions(transport_url=None if legacy else args.transport_url,
                        database_url=args.database_url, workers=args.workers,
                        stack_timeout=args.stack_timeout,
                        config_files=tuple(getattr(args, "config_file", []) or ()),
                        path=args.path, restarts=restarts)


def handle(args: argparse.Namespace) -> int:
    chaos = options(args)
    with contextlib.ExitStack() as servers:
        if chaos.restarts:
            try:
                private = PrivateServers.start(chaos.restarts, servers)
            except ServerUnavailable as exc:
                raise ValueError(f"--restart: {exc}") from None
            chaos.restarter = private
            chaos.database_url = private.database_url or chaos.database_url
            chaos.transport_url = private.transport_url or chaos.transport_url
        return _trials(args, chaos)


def _trials(args: argparse.Namespace, chaos: ChaosOptions) -> int:
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
                plan = TrialPlan.draw(args.seed, index, chaos.restarts)
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
        "seed": args.seed, "path": chaos.path, "restarts": list(chaos.restarts),
        "workers": chaos.workers if chaos.path == "convergence" else 0, "database": backend,
        "transport": safe_url(chaos.transport_url) if chaos.transport_url else None,
        "restarted": sum(r.restarted for r in results),
        "max_unanswered_s": max((r.unanswered_s for r in results), default=0.0),
        "started_at": started_at.isoformat(),
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
