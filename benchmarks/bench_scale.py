"""Cost per resource against stack size, both paths side by side in one run.

A stack of N zero-latency TestResources in layers of 20, each depending on two resources
of the layer before, is created, updated (every value changes, so every resource is
updated in place) and deleted through the public service API. For each N and path the
output gives milliseconds per resource for each operation, convergence / legacy ratios,
and the growth of the per-resource cost from the smallest N to each larger one (flat is
1.0). Peak memory is the process's peak RSS after each size, which only ever grows, so
run one size per process (``--sizes 10000``) to read the peak of that size alone.

    python -m benchmarks.bench_scale [--sizes 100,500,1000] [--threads 8] [--json F]

Each path's numbers come as wall clock (``legacy``, ``convergence``) and as the process's
CPU time (``legacy_cpu``, ``convergence_cpu``): on a machine shared with other work the
wall clock says more about the neighbours than about the engine.
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
from engines.service import CONVERGENCE, PATH_NAMES, EngineService
from migrations import api

LAYER = 20
OPERATIONS = ("create", "update", "delete")


def layered_template(size: int, value: str) -> str:
    """N resources in layers of LAYER; each depends on two of the layer before."""
    resources = {}
    for i in range(size):
        layer, pos = divmod(i, LAYER)
        res: dict = {"type": "OS::Heat::TestResource", "properties": {"value": value}}
        if layer:
            before = (layer - 1) * LAYER
            res["depends_on"] = sorted({f"R{before + pos}", f"R{before + (pos + 1) % LAYER}"})
        resources[f"R{i}"] = res
    return yaml.safe_dump({"heat_template_version": "2015-04-30", "resources": resources})


def measure(engine: str, size: int, url: str, threads: int
            ) -> tuple[dict[str, float], dict[str, float]]:
    """Milliseconds per resource of each operation: wall clock, and CPU time of the whole
    process (every thread), which a machine loaded by other work disturbs less."""
    conf = config.new_conf(**{
        "database.connection": url, "poll_interval": 0.01,
        "convergence_engine": engine == CONVERGENCE,
        "legacy_action_threads": threads, "convergence_worker_threads": threads,
        "max_resources_per_stack": max(size, 1000),
        # a 10,000-resource template is over the default size limit
        "max_template_size": max(size * 200, 524288)})
    ctx = RequestContext("bench")
    per_resource, cpu = {}, {}
    with EngineService(conf) as service:
        for op in OPERATIONS:
            started, cpu_started = time.perf_counter(), time.process_time()
            if op == "create":
                stack_id = service.create_stack(ctx, f"scale-{engine}",
                                                layered_template(size, "v1"))
            elif op == "update":
                service.update_stack(ctx, stack_id, layered_template(size, "v2"))
            else:
                service.delete_stack(ctx, stack_id)
            view = service.wait_stack(ctx, stack_id, timeout=3600)
            if view["status"] != "COMPLETE":
                raise SystemExit(f"{engine} {op} of {size} resources ended {view}")
            per_resource[op] = (time.perf_counter() - started) * 1000 / size
            cpu[op] = (time.process_time() - cpu_started) * 1000 / size
    return per_resource, cpu


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="100,500,1000",
                        help="comma-separated stack sizes (default: %(default)s)")
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--engines", default=",".join(PATH_NAMES))
    parser.add_argument("--json", type=Path, help="also write the result here")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    engines = args.engines.split(",")
    directory = Path(tempfile.mkdtemp(prefix="bench-scale-"))
    template_db = directory / "template.sqlite"
    api.upgrade(f"sqlite:///{template_db}")
    rows = []
    try:
        for size in sizes:
            row: dict = {"resources": size}
            for engine in engines:
                db = directory / f"{engine}-{size}.sqlite"
                shutil.copyfile(template_db, db)
                ms, cpu = measure(engine, size, f"sqlite:///{db}", args.threads)
                row[engine] = {op: round(v, 2) for op, v in ms.items()}
                row[f"{engine}_cpu"] = {op: round(v, 2) for op, v in cpu.items()}
            row["peak_rss_mib"] = round(
                resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
            if set(PATH_NAMES) <= set(engines):
                row["convergence_vs_legacy"] = {
                    op: round(row["convergence"][op] / row["legacy"][op], 2)
                    for op in OPERATIONS}
                row["convergence_vs_legacy_cpu"] = {
                    op: round(row["convergence_cpu"][op] / row["legacy_cpu"][op], 2)
                    for op in OPERATIONS}
            rows.append(row)
            print(json.dumps(row), flush=True)
    finally:
        shutil.rmtree(directory, ignore_errors=True)
    first = rows[0]
    for row in rows:
        row["growth_vs_smallest"] = {
            name: {op: round(row[name][op] / first[name][op], 2) for op in OPERATIONS}
            for engine in engines for name in (engine, f"{engine}_cpu")}
    result = {"layer": LAYER, "threads": args.threads, "sizes": rows}
    if args.json:
        args.json.write_text(json.dumps(result, indent=2))
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
