"""``dualpath fuzz``: generated scenarios on both paths until the budget is spent; every
finding shrunk and written as a scenario file. Exit 0 when nothing unexplained was found,
1 with findings, 2 for bad input."""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import datetime as dt
import json
import os
import sys
import uuid
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn
from sqlalchemy.engine import make_url

from harness.experiment import provenance
from harness.fuzz.campaign import Campaign, CampaignOptions, CaseRecord, Found
from harness.fuzz.findings import replay, write_finding
from harness.fuzz.mutants import catalogue, replayable
from harness.fuzz.oracle import Oracle, OracleOptions
from harness.fuzz.story import PATHS
from reports.runfile import SCHEMA_VERSION
from reports.verdicts import EXIT_AGAINST, EXIT_OK


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("fuzz", help="generated scenarios on both paths; findings shrunk to "
                       "scenario files")
    p.add_argument("--seed", type=int, default=0, help="the campaign's seed (default 0)")
    p.add_argument("--budget", type=float, default=60.0, metavar="SECONDS",
                   help="wall-clock time to search for (default 60)")
    p.add_argument("--max-resources", type=int, default=4, metavar="N",
                   help="resources per generated template, at most (default 4)")
    p.add_argument("--max-updates", type=int, default=3, metavar="N",
                   help="acts between the create and the delete, at most (default 3)")
    p.add_argument("--shrink-budget", type=float, default=60.0, metavar="SECONDS",
                   help="time to shrink one finding, within the budget (default 60)")
    p.add_argument("--findings", type=Path, default=Path("out/fuzz"), metavar="DIR",
                   help="where findings are written (DIR/found/*.yaml) and Hypothesis "
                   "keeps its example database (DIR/.hypothesis); default out/fuzz")
    p.add_argument("--json", type=Path, default=Path("out/fuzz.json"), metavar="FILE",
                   help="the fuzz run file (default out/fuzz.json)")
    p.add_argument("--engines", default="legacy,convergence")
    p.add_argument("--repeat", type=int, default=2, help="runs per path per case (default 2)")
    p.add_argument("--database-url", help="a PostgreSQL or MariaDB server URL (default: "
                   "SQLite files)")
    p.add_argument("--transport-url", help="rabbit://... to run convergence over RabbitMQ")
    p.add_argument("--workers", type=int, default=0,
                   help="convergence worker processes per run (needs rabbit://)")
    p.add_argument("--divergences", type=Path,
                   help="divergence registry (default: the shipped one)")
    p.add_argument("-j", "--jobs", type=int, default=os.cpu_count() or 1)
    p.add_argument("--mutant", help="break the convergence path on purpose (see "
                   "--list-mutants), to see that the fuzzer catches it")
    p.add_argument("--list-mutants", action="store_true",
                   help="print each mutant's name and what it breaks, and exit")
    p.add_argument("--stop-after", type=int, default=0, metavar="N",
                   help="stop after N findings (default: search the whole budget)")
    p.add_argument("--no-replay", action="store_true",
                   help="do not replay the written findings with the plain harness")
    p.add_argument("--quiet", action="store_true", help="no progress display")
    p.set_defaults(handler=handle)


def _options(args: argparse.Namespace) -> tuple[CampaignOptions, OracleOptions]:
    engines = tuple(e.strip() for e in args.engines.split(",") if e.strip())
    problems = []
    if not engines or set(engines) - set(PATHS):
        problems.append(f"--engines {args.engines!r}: use {', '.join(PATHS)}")
    if args.budget <= 0 or args.shrink_budget <= 0:
        problems.append("--budget and --shrink-budget must be more than 0 seconds")
    if not 1 <= args.max_resources <= 26 or args.max_updates < 0:
        problems.append("--max-resources must be 1 to 26, --max-updates 0 or more")
    if args.repeat < 1 or args.jobs < 1 or args.workers < 0 or args.stop_after < 0:
        problems.append("--repeat and -j must be at least 1, --workers and --stop-after 0 "
                        "or more")
    if args.workers and not (args.transport_url or "").startswith("rabbit"):
        problems.append("--workers needs --transport-url rabbit://...")
    elif args.workers:
        from engines.processes import transport_problem
        problem = transport_problem(args.transport_url)
        if problem:
            problems.append(f"--workers needs a broker that answers: {problem}")
    if args.mutant and args.mutant not in catalogue():
        problems.append(f"unknown mutant {args.mutant!r}; see --list-mutants")
    if problems:
        raise ValueError("; ".join(problems))
    divergences = args.divergences
    if divergences is None:
        from scenarios.loader import corpus_root
        shipped = corpus_root().parent / "divergences.yaml"
        divergences = shipped if shipped.exists() else None
    campaign = CampaignOptions(seed=args.seed, budget=args.budget,
                               max_resources=args.max_resources, max_updates=args.max_updates,
                               findings=args.findings, shrink_budget=args.shrink_budget,
                               stop_after=args.stop_after)
    oracle = OracleOptions(engines=engines, repeat=args.repeat, database_url=args.database_url,
                           transport_url=args.transport_url, workers=args.workers,
                           jobs=args.jobs, mutant=args.mutant, divergences=divergences,
                           config_files=tuple(getattr(args, "config_file", []) or ()))
    return campaign, oracle


def handle(args: argparse.Namespace) -> int:
    if args.list_mutants:
        for name, what in catalogue().items():
            print(f"{name}  {what}")
        return 0
    options, oracle_options = _options(args)
    console = Console(stderr=True)
    columns = (TextColumn("[bold]{task.description}"), BarColumn(),
               TextColumn("{task.fields[left]}"))
    started_at = dt.datetime.now(dt.UTC)
    control_options = dataclasses.replace(oracle_options, mutant=None)
    with Progress(*columns, console=console, disable=args.quiet) as bar, \
            Oracle(oracle_options) as oracle, (Oracle(control_options) if args.mutant
                                               else contextlib.nullcontext()) as control:
        task = bar.add_task("fuzzing", total=options.budget, left="")

        def advance(record: CaseRecord, campaign: Campaign) -> None:
            bar.update(task, completed=min(campaign.elapsed(), options.budget),
                       description=f"fuzz: {len(campaign.records)} cases, "
                       f"{len(campaign.findings) + (record.phase == 'shrink')} findings",
                       left=f"{campaign.left():.0f}s left"
                       + (" (shrinking)" if record.phase == "shrink" else ""))

        campaign = Campaign(options, oracle, on_case=advance, control=control)
        findings = campaign.run()
    written = [_written(f, args, oracle_options) for f in findings]
    data = report(campaign, written, oracle_options, started_at)
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(data, indent=1, default=str), encoding="utf-8")
    out = Console() if sys.stdout.isatty() else Console(width=140)
    fuzz = data["fuzz"]
    for item in fuzz["findings"]:
        style = "bold red" if item["verdict"] != "error" else "bold magenta"
        out.print(f"[{style}]{item['verdict']}[/] on {', '.join(item['paths'])}: "
                  f"{item['scenario_file']} (found after {item['first_after_s']:.0f}s, case "
                  f"{item['first_case']}; replays as {item['replay_verdict'] or '-'})")
        for issue in item["issues"]:
            out.print(f"    {issue}")
    out.print(f"fuzz: {fuzz['cases']} cases in {data['run']['duration_s']:.0f}s "
              f"({fuzz['time_per_case_s']:.2f}s a case), {len(fuzz['findings'])} findings; "
              f"run file: {args.json}")
    return EXIT_AGAINST if findings else EXIT_OK


def _written(found: Found, args: argparse.Namespace,
             oracle_options: OracleOptions) -> tuple[Found, Path, str | None]:
    path = write_finding(found, args.findings, args.seed, args.mutant)
    replays = not args.no_replay and replayable(args.mutant)
    verdict = replay(path, oracle_options) if replays else None
    return found, path, verdict


def report(campaign: Campaign, written: list[tuple[Found, Path, str | None]],
           oracle: OracleOptions, started_at: dt.datetime) -> dict[str, Any]:
    """The fuzz run file (schema version 2, ``kind: fuzz``), which ``dualpath gate``,
    ``dualpath report`` and the renderers read beside the corpus runs."""
    records = campaign.records
    options = campaign.options
    database = (make_url(oracle.database_url).get_backend_name() if oracle.database_url
                else "sqlite")
    transport = ("rabbit" if (oracle.transport_url or "").startswith("rabbit")
                 else "in-process")
    per_case = (sum(r.duration_s for r in records) / len(records)) if records else 0.0
    return {
        "schema_version": SCHEMA_VERSION, "kind": "fuzz",
        "tool": {"name": "dualpath", "version": provenance.package_version()},
        "run": {
            "id": str(uuid.uuid4()), "started_at": started_at.isoformat(),
            "finished_at": dt.datetime.now(dt.UTC).isoformat(),
            "duration_s": round(campaign.elapsed(), 3), "database": database,
            "transport": transport, "workers": oracle.workers, "repeat": oracle.repeat,
            "jobs": oracle.jobs, "engines": list(oracle.engines), "mutant": oracle.mutant,
            "commit": provenance.commit_info(),
            "config": provenance.describe(
                backend=database, database_url=oracle.database_url,
                transport_url=oracle.transport_url, workers=oracle.workers,
                repeat=oracle.repeat, jobs=oracle.jobs, engines=list(oracle.engines),
                scenarios=None, fuzz={"seed": options.seed, "budget_s": options.budget}),
        },
        "fuzz": {
            "seed": options.seed, "budget_s": options.budget, "cases": len(records),
            "time_per_case_s": round(per_case, 3),
            "max_resources": options.max_resources, "max_updates": options.max_updates,
            "shrink_budget_s": options.shrink_budget, "stopped_by": campaign.stopped_by,
            "findings": [_finding(f, path, verdict, options.seed)
                         for f, path, verdict in written],
            # under a mutant: what the unbroken engine shows as well (not the mutant's doing)
            "unbroken": [{"signature": list(sig), "story": story}
                         for sig, story in campaign.unbroken.items()],
            "case_records": [r.to_json() for r in records],
        },
    }


def _finding(f: Found, path: Path, verdict: str | None, seed: int) -> dict[str, Any]:
    paths = f.judgement.paths()
    return {
        "verdict": f.judgement.verdict, "path": paths[0] if len(paths) == 1 else "both",
        "scenario_file": str(path), "issues": [f"{p}: {w}" for p, w in f.judgement.issues()],
        "seed": seed, "name": path.stem, "paths": paths, "replay_verdict": verdict,
        "replays": verdict == f.judgement.verdict if verdict else None,
        "signature": list(f.signature), "round": f.round, "round_seed": f.round_seed,
        "first_case": f.first_case, "first_after_s": f.first_after_s,
        "shrink_cases": f.shrink_cases, "shrink_s": f.shrink_s,
        "resources": f.case.resources, "steps": len(f.case.steps), "story": f.case.summary(),
    }
