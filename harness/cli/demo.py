"""``dualpath demo``: create, update (with a replacement) and delete a demo stack on the
configured database, on each path the build has, and print what happened."""

from __future__ import annotations

import argparse
import os

from rich.console import Console
from rich.table import Table

from engines.core.context import RequestContext
from engines.service import EngineService, database_url, ensure_schema, new_conf

DEMO_TEMPLATE = os.path.join(os.path.dirname(__file__), "demo.yaml")


def add_parser(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("demo", help="create, update and delete a demo stack")
    parser.add_argument("--engines", default="legacy,convergence",
                        help="comma-separated paths to run the demo on")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    console = Console()
    with open(DEMO_TEMPLATE, encoding="utf-8") as handle:
        template = handle.read()
    failures = 0
    for engine in [e.strip() for e in args.engines.split(",") if e.strip()]:
        conf = new_conf(args.config_file, convergence_engine=engine == "convergence")
        ensure_schema(database_url(conf))
        ctx = RequestContext(project_id=f"demo-{os.getpid()}")
        table = Table(title=f"demo on the {engine} path")
        for column in ("step", "stack", "resources", "outputs"):
            table.add_column(column)
        with EngineService(conf) as service:
            stack_id = service.create_stack(ctx, f"demo-{engine}", template)
            table.add_row("create", *_describe(service, ctx, stack_id))
            service.update_stack(ctx, stack_id, template, parameters={"greeting": "bonjour"})
            table.add_row("update (replaces app)", *_describe(service, ctx, stack_id))
            service.delete_stack(ctx, stack_id)
            view = service.wait_stack(ctx, stack_id, timeout=120)
            left = service.cloud.copies(stack_id)
            table.add_row("delete", view["stack_status"], f"cloud copies left: {left or 0}", "")
            failures += view["stack_status"] != "DELETE_COMPLETE" or bool(left)
        console.print(table)
    return 1 if failures else 0


def _describe(service: EngineService, ctx: RequestContext, stack_id: str) -> tuple[str, ...]:
    view = service.wait_stack(ctx, stack_id, timeout=120)
    resources = service.list_resources(ctx, stack_id)
    summary = ", ".join(f"{r['name']}={r['resource_status']}" for r in resources)
    return view["stack_status"], summary, str(view["outputs"])
