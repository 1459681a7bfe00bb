"""An engine stops even while one of its resources waits at a breakpoint (found by
``dualpath fuzz``: on the convergence path the stop waited for ever on the worker thread
paused at the hook)."""

from __future__ import annotations

import threading

from engines.core.context import RequestContext
from tests.functional.templates import hooks_env, hot, res


def test_an_engine_paused_at_a_hook_still_stops(dualpath_service):
    ctx = RequestContext(project_id="p")
    stack_id = dualpath_service.create_stack(ctx, "s", hot({"A": res()}),
                                             hooks_env(A="pre-create"))
    dualpath_service.wait_resource(ctx, stack_id, "A", hook="pre-create", timeout=30)
    stopper = threading.Thread(target=dualpath_service.stop, daemon=True)
    stopper.start()
    stopper.join(timeout=60)  # a bound on a hang, not a speed goal
    assert not stopper.is_alive(), "EngineService.stop() is still waiting on the paused hook"
