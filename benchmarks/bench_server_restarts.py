"""Servers that restart under running stacks, both paths side by side: ``dualpath chaos
--restart`` trials (a PostgreSQL and a RabbitMQ of the run's own, restarted at seeded
moments of a stack's create, update or delete) on the legacy path (database restarts)
and on the convergence path with worker processes (database and broker restarts). For
each path: trials, passed, stuck, leaked, duplicated, how many disrupted operations
completed anyway and how many failed with a reason (and converged when run again), and
how long the servers did not answer.

    python -m benchmarks.bench_server_restarts [--trials 10] [--seed 0] [--workers 2]
                                               [--json out/bench-restarts.json]
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path
from typing import Any

from harness.cli.main import main as dualpath

RUNS = {"legacy": ["--path", "legacy", "--restart", "database"],
        "convergence": ["--restart", "database,broker"]}


def run_path(path: str, trials: int, seed: int, workers: int) -> dict[str, Any]:
    out = Path(tempfile.mkdtemp(prefix="dualpath-bench-restarts-")) / f"{path}.json"
    code = dualpath(["chaos", "--quiet", "--trials", str(trials), "--seed", str(seed),
                     "--workers", str(workers), "--json", str(out), *RUNS[path]])
    data = json.loads(out.read_text())
    per = data["per_trial"]
    failed_then_converged = sum("run again" in t["what_happened"] for t in per)
    return {"path": path, "exit": code, "trials": data["trials"], "passed": data["passed"],
            "stuck": data["stuck"], "leaked": data["leaked"],
            "duplicated": data["duplicated"],
            "restarts": {mode: sum(t["mode"] == mode for t in per)
                         for mode in sorted({t["mode"] for t in per})},
            "completed_through_the_restart": len(per) - failed_then_converged,
            "failed_with_a_reason_then_converged": failed_then_converged,
            "max_unanswered_s": data["max_unanswered_s"],
            "duration_s": data["duration_s"], "per_trial": per}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--trials", type=int, default=10)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--json", type=Path, default=Path("out/bench-restarts.json"))
    args = parser.parse_args(argv)
    results = {path: run_path(path, args.trials, args.seed, args.workers) for path in RUNS}
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps({"seed": args.seed, "paths": results}, indent=1),
                         encoding="utf-8")
    print(f"{'path':12} {'passed':>8} {'stuck':>6} {'leaked':>7} {'dup':>4} "
          f"{'through':>8} {'reason':>7} {'down s':>7}")
    for path, r in results.items():
        print(f"{path:12} {r['passed']:>4}/{r['trials']:<3} {r['stuck']:>6} {r['leaked']:>7} "
              f"{r['duplicated']:>4} {r['completed_through_the_restart']:>8} "
              f"{r['failed_with_a_reason_then_converged']:>7} {r['max_unanswered_s']:>7.2f}")
    print(f"run file: {args.json}")
    return max(r["exit"] for r in results.values())


if __name__ == "__main__":
    raise SystemExit(main())
