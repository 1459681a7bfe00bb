"""Where the time of one bench_scale run goes: yappi (wall clock, every thread) over a
create, update and delete of N layered resources on one path, plus the SQL statements
issued per resource, by kind.

    python -m benchmarks.profile_scale --engine convergence --size 1000 [--top 40]
"""

from __future__ import annotations

import argparse
import collections
import re
import shutil
import tempfile
import threading
import time
from pathlib import Path

import yappi
from sqlalchemy import event

from benchmarks.bench_scale import OPERATIONS, layered_template
from engines.core import config, db
from engines.core.context import RequestContext
from engines.service import CONVERGENCE, EngineService
from migrations import api

OURS = ("/engines/", "/benchmarks/")


def _count_statements(url: str) -> collections.Counter:
    counts: collections.Counter = collections.Counter()
    lock = threading.Lock()

    def hook(conn, cursor, statement, params, context, executemany):  # noqa: ANN001
        words = statement.split(None, 3)
        kind = words[0].upper()
        table = ""
        if kind == "SELECT":
            found = re.search(r"\bFROM\s+(\w+)", statement)
            table = found.group(1) if found else ""
        elif kind in ("UPDATE",):
            table = words[1]
        elif kind in ("INSERT", "DELETE") and len(words) > 2:
            table = words[2]
        with lock:
            counts[f"{kind} {table}"] += 1

    event.listen(db.get_engine(url), "before_cursor_execute", hook)
    return counts


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--engine", default=CONVERGENCE)
    parser.add_argument("--size", type=int, default=1000)
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--top", type=int, default=40)
    parser.add_argument("--all", action="store_true", help="not only the engine's functions")
    parser.add_argument("--clock", default="wall", choices=("wall", "cpu"))
    parser.add_argument("--sort", default="ttot", choices=("ttot", "tsub"),
                        help="by time in the function and its callees, or in its own code")
    args = parser.parse_args()
    directory = Path(tempfile.mkdtemp(prefix="profile-scale-"))
    url = f"sqlite:///{directory}/p.sqlite"
    try:
        api.upgrade(url)
        conf = config.new_conf(**{
            "database.connection": url, "poll_interval": 0.01,
            "convergence_engine": args.engine == CONVERGENCE,
            "legacy_action_threads": args.threads,
            "convergence_worker_threads": args.threads,
            "max_resources_per_stack": max(args.size, 1000)})
        counts = _count_statements(url)
        ctx = RequestContext("bench")
        yappi.set_clock_type(args.clock)
        with EngineService(conf) as service:
            yappi.start()
            for op in OPERATIONS:
                started = time.perf_counter()
                if op == "create":
                    stack_id = service.create_stack(ctx, "p", layered_template(args.size, "v1"))
                elif op == "update":
                    service.update_stack(ctx, stack_id, layered_template(args.size, "v2"))
                else:
                    service.delete_stack(ctx, stack_id)
                service.wait_stack(ctx, stack_id, timeout=3600)
                print(f"{op}: {(time.perf_counter() - started) * 1000 / args.size:.2f} "
                      "ms per resource", flush=True)
            yappi.stop()
        stats = yappi.get_func_stats()
        rows = [s for s in stats if args.all or any(p in s.module for p in OURS)]
        rows.sort(key=lambda s: getattr(s, args.sort), reverse=True)
        print(f"{'calls':>8} {'ttot s':>9} {'tsub s':>9}  function")
        for s in rows[:args.top]:
            where = s.module.split("/engines/")[-1].split("/site-packages/")[-1]
            print(f"{s.ncall:>8} {s.ttot:>9.2f} {s.tsub:>9.2f}  {where}:{s.lineno} {s.name}")
        total = sum(counts.values())
        print(f"\nSQL statements: {total} ({total / args.size:.1f} per resource)")
        for kind, n in counts.most_common(25):
            print(f"{n:>8} {n / args.size:>6.2f}/res  {kind}")
    finally:
        shutil.rmtree(directory, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
