"""More workers, more speed: a wide stack of slow resources (400 independent resources of
0.5 s each by default) created over RabbitMQ and a database server, by convergence with
1 worker process, by convergence with 2, and by legacy on one engine, every process with
the same number of threads. The output gives the wall time of each and the ratios: 2
workers vs 1 (the goal is 1.8 or more) and legacy vs convergence on 2 workers.

    python -m benchmarks.bench_workers --database-url postgresql://root@localhost/test \\
        --transport-url rabbit://guest:guest@localhost:5672/ [--resources 400] [--secs 0.5]
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

import yaml

from benchmarks import servers
from engines.core.context import RequestContext
from engines.processes import broker_problem
from engines.service import CONVERGENCE, LEGACY, EngineService, new_conf


def wide_template(resources: int, secs: float) -> str:
    return yaml.safe_dump({"heat_template_version": "2015-04-30", "resources": {
        f"R{i}": {"type": "OS::Heat::TestResource",
                  "properties": {"value": "v", "action_wait_secs": {"create": secs}}}
        for i in range(resources)}})


def measure(engine: str, workers: int, args: argparse.Namespace) -> float:
    """Seconds to create the wide stack (its delete is not timed)."""
    with servers.database(args.database_url) as url, servers.workers(
            args.transport_url, url, engine, workers, threads=args.threads) as extra:
        conf = new_conf(**{"database.connection": url, "poll_interval": 0.02,
                           "convergence_engine": engine == CONVERGENCE,
                           "legacy_action_threads": args.threads,
                           "convergence_worker_threads": args.threads, **extra})
        ctx = RequestContext("bench")
        with EngineService(conf) as service:
            template = wide_template(args.resources, args.secs)
            started = time.perf_counter()
            stack_id = service.create_stack(ctx, "wide", template)
            view = service.wait_stack(ctx, stack_id, timeout=3600)
            took = time.perf_counter() - started
            if view["status"] != "COMPLETE":
                raise SystemExit(f"{engine} with {workers} workers ended {view}")
            service.delete_stack(ctx, stack_id)
            service.wait_stack(ctx, stack_id, timeout=3600)
    return took


def run(args: argparse.Namespace) -> dict[str, Any]:
    floor = args.resources * args.secs / args.threads  # one process's threads, all busy
    one = measure(CONVERGENCE, 1, args)
    two = measure(CONVERGENCE, 2, args)
    legacy = measure(LEGACY, 0, args)
    return {
        "resources": args.resources, "secs_each": args.secs,
        "threads_per_process": args.threads,
        "one_process_floor_s": round(floor, 2),
        "seconds": {"convergence_1_worker": round(one, 2),
                    "convergence_2_workers": round(two, 2), "legacy_1_engine": round(legacy, 2)},
        "speedup_2_vs_1_workers": round(one / two, 2),
        "legacy_vs_convergence_2_workers": round(legacy / two, 2),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", required=True,
                        help="a PostgreSQL or MariaDB server (a new database is made on it)")
    parser.add_argument("--transport-url", required=True)
    parser.add_argument("--resources", type=int, default=400)
    parser.add_argument("--secs", type=float, default=0.5)
    parser.add_argument("--threads", type=int, default=8,
                        help="threads of every engine and worker process")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    problem = broker_problem(args.transport_url)
    if problem:
        raise SystemExit(f"bench_workers needs a broker: {problem}")
    result = run(args)
    if args.json:
        args.json.write_text(json.dumps(result, indent=2))
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
