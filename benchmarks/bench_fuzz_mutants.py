"""How quickly the fuzzer catches each mutant: cases and seconds until its first finding
with a fixed seed (the goal: every mutant caught within 90 s on 2 cores), not counting
shrinking. A case that is a finding is judged again on the unbroken engine (the control):
what the unbroken engine does as well is not the mutant's catch, and the search goes on. A
mutant not caught within the budget is reported as such, and fails the run.

    python -m benchmarks.bench_fuzz_mutants [--seed 0] [--budget 90] [-j 2] [--mutant NAME]
"""

from __future__ import annotations

import argparse
import json
import time

from harness.fuzz.campaign import Campaign, CampaignOptions
from harness.fuzz.mutants import catalogue
from harness.fuzz.oracle import Oracle, OracleOptions

GOAL_S = 90.0


def first_catch(mutant: str, seed: int, budget: float, jobs: int,
                max_resources: int) -> dict[str, object]:
    started = time.perf_counter()
    # the first finding is all that is measured: no time to shrink it
    options = CampaignOptions(seed=seed, budget=budget, max_resources=max_resources,
                              shrink_budget=0.001, stop_after=1)
    with Oracle(OracleOptions(jobs=jobs, mutant=mutant)) as oracle, \
            Oracle(OracleOptions(jobs=jobs)) as control:
        campaign = Campaign(options, oracle, control=control)
        findings = campaign.run()
    result: dict[str, object] = {"mutant": mutant, "caught": bool(findings),
                                 "cases": len(campaign.records),
                                 "unbroken_engine_too": [" ".join(s) for s in campaign.unbroken],
                                 "wall_s": round(time.perf_counter() - started, 1)}
    if findings:
        found = findings[0]
        result.update(seconds=round(found.first_after_s, 1), case=found.first_case,
                      verdict=found.judgement.verdict, signature=list(found.signature),
                      story=found.case.summary())
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--budget", type=float, default=GOAL_S)
    parser.add_argument("--max-resources", type=int, default=4)
    parser.add_argument("-j", "--jobs", type=int, default=2)
    parser.add_argument("--mutant", action="append", help="only these (default: all)")
    args = parser.parse_args()
    names = args.mutant or list(catalogue())
    results = []
    for name in names:
        results.append(first_catch(name, args.seed, args.budget, args.jobs,
                                   args.max_resources))
        print(json.dumps(results[-1]), flush=True)
    caught = [r for r in results if r["caught"]]
    summary = {
        "seed": args.seed, "budget_s": args.budget, "goal_s": GOAL_S, "jobs": args.jobs,
        "caught": len(caught), "mutants": len(results),
        "slowest_s": max((r["seconds"] for r in caught), default=None),
        "within_goal": sum(1 for r in caught if r["seconds"] <= GOAL_S),
        "missed": [r["mutant"] for r in results if r not in caught],
    }
    print(json.dumps(summary, indent=2))
    return 0 if len(caught) == len(results) else 1


if __name__ == "__main__":
    raise SystemExit(main())
