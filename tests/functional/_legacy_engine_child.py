"""A legacy engine in a process of its own, for test_legacy_engine_death: it starts creating
a stack, which stops at a pre-create hook of A (B, without a hook, is created), writes the
stack id and its engine id to a file, and then waits to be killed.

Run as ``python -m tests.functional._legacy_engine_child CONFIG_FILE READY_FILE``. Its stdin
is its lifeline: it returns when stdin closes, so a test that dies never leaves it behind.
"""

from __future__ import annotations

import json
import os
import sys

from engines.core import config
from engines.core.context import RequestContext
from engines.service import EngineService
from tests.functional.templates import hooks_env, hot, res

PROJECT = "project-a"
TEMPLATE = hot({"A": res("a"), "B": res("b"), "C": {**res("c"), "depends_on": ["A"]}})
ENVIRONMENT = hooks_env(A="pre-create")


def main(argv: list[str]) -> int:
    config_file, ready_file = argv
    conf = config.new_conf([config_file], convergence_engine=False)
    service = EngineService(conf)
    ctx = RequestContext(project_id=PROJECT)
    stack_id = service.create_stack(ctx, "doomed", TEMPLATE, ENVIRONMENT)
    service.wait_resource(ctx, stack_id, "A", hook="pre-create", timeout=60)
    service.wait_resource(ctx, stack_id, "B", status="CREATE_COMPLETE", timeout=60)
    partial = ready_file + ".partial"
    with open(partial, "w", encoding="utf-8") as handle:
        json.dump({"stack_id": stack_id, "engine_id": service.engine_id}, handle)
    os.replace(partial, ready_file)  # the test never reads half a file
    sys.stdin.read()
    service.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
