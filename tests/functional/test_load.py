"""Load a service must hold (issue 12 point 5): many stack operations at once on one
EngineService complete on each path; an engine asked for more than it admits answers
EngineOverloaded, having stored nothing. Nothing here is timed."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from benchmarks.bench_load import run_load
from engines.core.errors import EngineOverloaded
from tests.functional.templates import hot, res

WAIT = 60  # seconds; only a hung engine gets near it


@pytest.mark.slow
@pytest.mark.parametrize("stacks", [200])
def test_two_hundred_stacks_go_through_create_update_and_delete_at_once(
        dualpath_conf_factory, engine_mode, stacks):
    from engines.service import EngineService

    conf = dualpath_conf_factory(poll_interval=0.05)
    with EngineService(conf) as service:
        report = run_load(service, engine_mode, stacks, wait_timeout=1800)
    result = report.as_dict()
    assert result["errors"] == [], result  # no driver exception, no deadlock reached a caller
    assert result["completed"] == {"create": stacks, "update": stacks, "delete": stacks}
    assert result["lost_updates"] == 0, result["lost_update_examples"]


def test_an_engine_over_its_operation_budget_answers_overloaded_and_stores_nothing(
        dualpath_conf_factory, ctx, monkeypatch):
    from engines import service as service_module
    from engines.service import EngineService

    conf = dualpath_conf_factory(max_concurrent_operations=1, **{"database.pool_timeout": 1})
    inside, release = threading.Event(), threading.Event()
    real_parse = service_module.parse

    def parse(*args: Any, **kwargs: Any) -> Any:
        if threading.current_thread().name == "first":
            inside.set()  # the first create holds the engine's only operation slot
            assert release.wait(WAIT)
        return real_parse(*args, **kwargs)

    monkeypatch.setattr(service_module, "parse", parse)
    with EngineService(conf) as service:
        created: list[str] = []
        first = threading.Thread(name="first", target=lambda: created.append(
            service.create_stack(ctx, "first", hot({"A": res()}))))
        first.start()
        assert inside.wait(WAIT)
        with pytest.raises(EngineOverloaded) as refused:
            service.create_stack(ctx, "second", hot({"A": res()}))
        assert refused.value.http_status == 503 and refused.value.retryable
        assert [s["name"] for s in service.list_stacks(ctx)] == []  # nothing half made
        release.set()
        first.join(WAIT)
        again = service.create_stack(ctx, "second", hot({"A": res()}))  # retried: accepted
        for stack_id in (*created, again):
            assert service.wait_stack(ctx, stack_id, timeout=WAIT)["status"] == "COMPLETE"
        assert sorted(s["name"] for s in service.list_stacks(ctx)) == ["first", "second"]
