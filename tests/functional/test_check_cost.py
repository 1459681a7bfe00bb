"""What one resource costs the database does not grow with the stack: the SQL statements
per resource of a create, an update (every value changes) and a delete of a stack of 100
and of 400 resources (layers of 20, each depending on two of the layer before, as in
benchmarks/bench_scale.py), on each path. Statements, not time: a count is the same on a
busy machine. The allowance covers the engine's looks that depend on the clock (a check
looks at its stack again once a poll interval has passed) and the share of resources of
the first layer, which have no inputs to pass on (a fifth of the small stack)."""

from __future__ import annotations

import collections
import threading
from pathlib import Path

import pytest
from sqlalchemy import event

from benchmarks.bench_scale import OPERATIONS, layered_template
from engines.core import config, db
from engines.core.context import RequestContext
from engines.service import CONVERGENCE, LEGACY, EngineService
from migrations import api

# statements per resource, on the convergence path, measured when this test was written
# (20.1 / 23.2 / 22.4 at 400 resources; 22.4 / 26.5 / 24.3 before a check read its stack
# once less and wrote its COMPLETE state with its release) plus room for the looks that
# depend on time
CONVERGENCE_BUDGET = {"create": 23.0, "update": 26.0, "delete": 25.0}


def _statements_per_resource(tmp_path: Path, path: str, size: int) -> dict[str, float]:
    url = f"sqlite:///{tmp_path}/{path}-{size}.sqlite"
    api.upgrade(url)
    conf = config.new_conf(**{"database.connection": url,
                              "convergence_engine": path == CONVERGENCE,
                              "max_resources_per_stack": 1000})
    counts: collections.Counter[str] = collections.Counter()
    lock = threading.Lock()
    operation = [""]

    def count(*_args: object) -> None:
        with lock:
            counts[operation[0]] += 1

    ctx = RequestContext("cost")
    engines = []
    try:
        with EngineService(conf) as service:
            # the engine's own pool: its checks and actions, not the API calls (the
            # client's looks at its stack among them), which have a pool of their own
            engines = [service.rt.db.engine]
            for engine in engines:
                event.listen(engine, "before_cursor_execute", count)
            stack_id = None
            for op in OPERATIONS:
                operation[0] = op
                if op == "create":
                    stack_id = service.create_stack(ctx, "cost", layered_template(size, "v1"))
                elif op == "update":
                    service.update_stack(ctx, stack_id, layered_template(size, "v2"))
                else:
                    service.delete_stack(ctx, stack_id)
                view = service.wait_stack(ctx, stack_id, timeout=300, interval=0.5)
                assert view["stack_status"] == f"{op.upper()}_COMPLETE"
    finally:
        for engine in engines:
            event.remove(engine, "before_cursor_execute", count)
        db.dispose(url)
    return {op: counts[op] / size for op in OPERATIONS}


@pytest.mark.slow
@pytest.mark.parametrize("path", [LEGACY, CONVERGENCE])
def test_statements_per_resource_do_not_grow_with_the_stack(tmp_path: Path, path: str) -> None:
    small = _statements_per_resource(tmp_path, path, 100)
    big = _statements_per_resource(tmp_path, path, 400)
    for op in OPERATIONS:
        # work per check that grows with the stack would show as 4 times as much here
        assert big[op] <= small[op] * 1.15, (op, small, big)
    if path == CONVERGENCE:
        over = {op: big[op] for op in OPERATIONS if big[op] > CONVERGENCE_BUDGET[op]}
        assert not over, f"statements per resource over budget {CONVERGENCE_BUDGET}: {over}"
