"""Load a service must hold: N stacks go through create, update (one resource replaced,
one updated in place) and delete at the same time, each driven by a thread of its own
calling one EngineService, on each path.

The report counts operations completed, answers of EngineOverloaded (retried, as a
client should: nothing was stored), errors of any other kind reaching a caller (a
driver's exception, e.g. a deadlock, would be one: "unhandled"), and lost updates (a
stack whose resources, after its update, do not hold the values the update asked for,
or whose cloud does not hold exactly one copy of each).

    python -m benchmarks.bench_load [--stacks 200] [--engines legacy,convergence]
        [--database-url URL --transport-url rabbit://... --workers 2]
"""

from __future__ import annotations

import argparse
import json
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from benchmarks import servers
from engines.core.context import RequestContext
from engines.core.errors import EngineOverloaded
from engines.service import CONVERGENCE, PATH_NAMES, EngineService, new_conf

OVERLOAD_RETRIES = 50
# how often each client looks at its stack: a client polls (the openstack client every
# few seconds); 200 clients looking every 20 ms would load the engine more than their
# operations do
CLIENT_POLL = 0.25


def template(generation: int) -> str:
    """Three resources; from one generation to the next A changes in place and C (which
    needs B) is replaced."""
    value = f"v{generation}"
    return yaml.safe_dump({"heat_template_version": "2015-04-30", "resources": {
        "A": {"type": "OS::Heat::TestResource", "properties": {"value": value}},
        "B": {"type": "OS::Heat::TestResource", "properties": {"value": "b"}},
        "C": {"type": "OS::Heat::TestResource", "depends_on": ["B"],
              "properties": {"value": value, "update_replace_value": value}},
    }})


@dataclass
class LoadReport:
    engine: str
    stacks: int
    completed: Counter = field(default_factory=Counter)  # operation -> completed
    overloaded: int = 0  # EngineOverloaded answers, each retried
    errors: list[str] = field(default_factory=list)  # anything else reaching a caller
    lost_updates: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def unhandled_deadlocks(self) -> int:
        return sum("Deadlock" in e or "deadlock" in e for e in self.errors)

    def as_dict(self) -> dict[str, Any]:
        return {"engine": self.engine, "stacks": self.stacks,
                "completed": dict(self.completed),
                "completed_operations": sum(self.completed.values()),
                "overloaded_answers_retried": self.overloaded,
                "unhandled_errors": len(self.errors), "errors": self.errors[:10],
                "unhandled_deadlocks": self.unhandled_deadlocks,
                "lost_updates": len(self.lost_updates),
                "lost_update_examples": self.lost_updates[:10],
                "seconds": round(self.seconds, 1)}


def run_load(service: EngineService, engine: str, stacks: int, *,
             wait_timeout: float = 1800.0) -> LoadReport:
    """Run ``stacks`` lifecycles at once through ``service``; the report says what held."""
    report = LoadReport(engine, stacks)
    lock = threading.Lock()
    start = threading.Barrier(stacks)

    def call(fn: Callable[[], Any]) -> Any:
        for _ in range(OVERLOAD_RETRIES):
            try:
                return fn()
            except EngineOverloaded:
                with lock:
                    report.overloaded += 1
                time.sleep(0.05)
        return fn()

    def lifecycle(index: int) -> None:
        ctx = RequestContext(f"load-{index % 7}")
        try:
            start.wait(timeout=600)
            stack_id = call(lambda: service.create_stack(ctx, f"load-{index}", template(1)))
            _expect(service.wait_stack(ctx, stack_id, timeout=wait_timeout,
                                       interval=CLIENT_POLL), "CREATE")
            with lock:
                report.completed["create"] += 1
            before = {r["name"]: r["physical_id"]
                      for r in service.list_resources(ctx, stack_id)}
            call(lambda: service.update_stack(ctx, stack_id, template(2)))
            _expect(service.wait_stack(ctx, stack_id, timeout=wait_timeout,
                                       interval=CLIENT_POLL), "UPDATE")
            with lock:
                report.completed["update"] += 1
            lost = _lost_update(service, ctx, stack_id, before)
            if lost:
                with lock:
                    report.lost_updates.append(f"stack {index}: {lost}")
            call(lambda: service.delete_stack(ctx, stack_id))
            _expect(service.wait_stack(ctx, stack_id, timeout=wait_timeout,
                                       interval=CLIENT_POLL), "DELETE")
            if service.cloud.copies(stack_id):
                raise AssertionError(f"left behind: {service.cloud.copies(stack_id)}")
            with lock:
                report.completed["delete"] += 1
        except Exception as exc:  # noqa: BLE001 - counted, and the run goes on
            with lock:
                report.errors.append(f"stack {index}: {type(exc).__module__}."
                                     f"{type(exc).__name__}: {exc}"[:300])

    started = time.perf_counter()
    threads = [threading.Thread(target=lifecycle, args=(i,), name=f"load-{i}")
               for i in range(stacks)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    report.seconds = time.perf_counter() - started
    return report


def _expect(view: dict[str, Any], action: str) -> None:
    if (view["action"], view["status"]) != (action, "COMPLETE"):
        raise AssertionError(f"{action} ended {view['action']}_{view['status']}: "
                             f"{view.get('status_reason')}")


def _lost_update(service: EngineService, ctx: RequestContext, stack_id: str,
                 before: dict[str, str]) -> str | None:
    resources = {r["name"]: r for r in service.list_resources(ctx, stack_id)}
    copies = service.cloud.copies(stack_id)
    if copies != {"A": 1, "B": 1, "C": 1}:
        return f"copies {copies}"
    if resources["A"]["attributes"].get("output") != "v2":
        return f"A reads {resources['A']['attributes']}"
    if resources["C"]["attributes"].get("output") != "v2":
        return f"C reads {resources['C']['attributes']}"
    if resources["C"]["physical_id"] == before["C"]:
        return "C was not replaced"
    if resources["A"]["physical_id"] != before["A"]:
        return "A was replaced instead of updated in place"
    return None


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--stacks", type=int, default=200)
    parser.add_argument("--engines", default=",".join(PATH_NAMES))
    parser.add_argument("--database-url", help="default: a new SQLite file")
    parser.add_argument("--transport-url", help="e.g. rabbit://guest:guest@localhost:5672/")
    parser.add_argument("--workers", type=int, default=0,
                        help="convergence worker processes (needs --transport-url)")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    reports = []
    for engine in args.engines.split(","):
        with servers.database(args.database_url) as url, servers.workers(
                args.transport_url, url, engine, args.workers) as extra:
            conf = new_conf(**{"database.connection": url, "poll_interval": 0.05,
                               "convergence_engine": engine == CONVERGENCE, **extra})
            with EngineService(conf) as service:
                report = run_load(service, engine, args.stacks)
        reports.append(report.as_dict())
        print(json.dumps(reports[-1]), flush=True)
    if args.json:
        args.json.write_text(json.dumps(reports, indent=2))
    return 0 if all(r["unhandled_errors"] == 0 and r["lost_updates"] == 0
                    for r in reports) else 1


if __name__ == "__main__":
    raise SystemExit(main())
