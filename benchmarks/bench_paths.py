"""Legacy and convergence side by side on stack shapes whose resources take known time:
each operation's wall time as a ratio of its critical path (the slowest dependency chain,
the least any engine can take) and of the other path.

    python -m benchmarks.bench_paths [--width 16] [--depth 4] [--secs 0.2]
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import tempfile
import time
from pathlib import Path

import yaml

from engines.core import config
from engines.core.context import RequestContext
from engines.service import EngineService
from migrations import api


def _res(secs: float, value: str, deps: list[str] | None = None) -> dict:
    res = {"type": "OS::Heat::TestResource",
           "properties": {"value": value, "wait_secs": secs}}
    if deps:
        res["depends_on"] = deps
    return res


def shapes(width: int, depth: int, secs: float) -> dict[str, tuple[str, int]]:
    """name -> (template, resources on the critical path)."""
    fan = {f"R{i}": _res(secs, "v") for i in range(width)}
    chain = {f"C{i}": _res(secs, "v", [f"C{i-1}"] if i else None) for i in range(depth)}
    grid = {f"G{d}_{w}": _res(secs, "v", [f"G{d-1}_{x}" for x in range(width // 4)] if d else None)
            for d in range(depth) for w in range(width // 4)}
    doc = lambda r: yaml.safe_dump({"heat_template_version": "2015-04-30", "resources": r})  # noqa: E731
    return {"fan-out": (doc(fan), 1), "chain": (doc(chain), depth), "grid": (doc(grid), depth)}


def measure(engine: str, template: str, url: str) -> dict[str, float]:
    conf = config.new_conf(**{"database.connection": url, "poll_interval": 0.01,
                              "convergence_engine": engine == "convergence",
                              "legacy_action_threads": 16, "convergence_worker_threads": 16})
    ctx = RequestContext("bench")
    timings = {}
    with EngineService(conf) as service:
        updated = template.replace("value: v", "value: w")
        for op in ("create", "update", "delete"):
            started = time.perf_counter()
            if op == "create":
                stack_id = service.create_stack(ctx, f"b-{engine}", template)
            elif op == "update":
                service.update_stack(ctx, stack_id, updated)
            else:
                service.delete_stack(ctx, stack_id)
            view = service.wait_stack(ctx, stack_id, timeout=600)
            assert view["status"] == "COMPLETE", view
            timings[op] = time.perf_counter() - started
    return timings


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--width", type=int, default=16)
    parser.add_argument("--depth", type=int, default=4)
    parser.add_argument("--secs", type=float, default=0.2)
    parser.add_argument("--json", type=Path, help="also write the result here")
    args = parser.parse_args()
    directory = tempfile.mkdtemp()
    template_db = f"{directory}/template.sqlite"
    api.upgrade(f"sqlite:///{template_db}")
    report = {}
    for shape, (template, critical) in shapes(args.width, args.depth, args.secs).items():
        floor = critical * args.secs
        row: dict[str, object] = {"critical_path_s": round(floor, 2)}
        for engine in ("legacy", "convergence"):
            url = f"sqlite:///{directory}/{shape}-{engine}.sqlite"
            shutil.copyfile(template_db, url[len("sqlite:///"):])
            # no tracemalloc here: it slows every Python line several times over, and
            # what it would add to the makespan is the tracer's, not the engine's
            timings = measure(engine, template, url)
            row[engine] = {op: {"s": round(t, 3), "vs_critical_path": round(t / floor, 2)}
                           for op, t in timings.items()}
        row["convergence_vs_legacy"] = {
            op: round(row["convergence"][op]["s"] / row["legacy"][op]["s"], 2)
            for op in ("create", "update", "delete")}
        report[shape] = row
    report["peak_rss_mib"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    if args.json:
        args.json.write_text(json.dumps(report, indent=2))
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
