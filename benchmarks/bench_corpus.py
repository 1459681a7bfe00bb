"""How long the whole corpus takes on both paths, noise repeats included (the goal: under
3 minutes with -j 2 on a 2-core machine), and the two paths' time side by side.

    python -m benchmarks.bench_corpus [-j 2] [--repeat 2]
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from harness.experiment import runner
from scenarios.loader import corpus_root

GOAL_S = 180.0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("-j", "--jobs", type=int, default=2)
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--scenario", default=None)
    parser.add_argument("--json", type=Path, help="also write the result here")
    args = parser.parse_args()
    started = time.perf_counter()
    root = corpus_root()
    data = runner.run(runner.RunOptions(scenario_root=root, jobs=args.jobs,
                                        divergences=root.parent / "divergences.yaml",
                                        repeat=args.repeat, pattern=args.scenario))
    wall = time.perf_counter() - started
    per_path = data["summary"]["duration_s"]
    units = sum(len(s["engines"]) for s in data["scenarios"]) * args.repeat
    result = {
        "scenarios": data["summary"]["scenarios"], "runs": units, "jobs": args.jobs,
        "wall_s": round(wall, 1), "goal_s": GOAL_S, "wall_vs_goal": round(wall / GOAL_S, 2),
        "steps_s": per_path,
        "convergence_vs_legacy": round(per_path["convergence"] / per_path["legacy"], 2),
        "verdicts": {k: data["summary"][k] for k in (
            "parity", "expected-divergence", "path-specific", "unexpected-divergence",
            "failed", "error")},
    }
    if args.json:
        args.json.write_text(json.dumps(result, indent=2))
    print(json.dumps(result, indent=2))
    # a time measured on a run that is not at parity measures the wrong thing
    return runner.exit_code(data)


if __name__ == "__main__":
    raise SystemExit(main())
