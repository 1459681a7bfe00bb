"""``dualpath stack ...``: a person's front end to the engine service.

The embedded engine lives in this process: a command that starts an operation returns once
the operation is over (``--wait`` also follows its events as they happen), so that no
operation is left without an engine.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Any

from rich.console import Console
from rich.table import Table

from engines.core.context import RequestContext
from engines.service import HOOK_TYPES, EngineService, database_url, ensure_schema, new_conf
from harness.cli.template_files import collect

OPERATIONS = ("create", "update", "delete", "rollback", "cancel")


def add_parser(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("stack", help="create, update, delete and inspect stacks")
    parser.add_argument("--project", default=os.environ.get("DUALPATH_PROJECT", "demo"),
                        help="project the request acts for (default: demo)")
    parser.add_argument("--json", action="store_true", help="machine-readable output")
    parser.add_argument("--timeout", type=float, default=600.0,
                        help="seconds to wait for an operation (default 600)")
    stack_sub = parser.add_subparsers(dest="stack_command", required=True)
    for name in ("create", "update"):
        p = stack_sub.add_parser(name, help=f"{name} a stack from a template")
        p.add_argument("stack", help="stack name" + (" or id" if name == "update" else ""))
        p.add_argument("-t", "--template", required=name == "create",
                       help="HOT template file" + (" (with --existing: the stored one "
                                                   "when not given)" if name == "update"
                                                   else ""))
        p.add_argument("-e", "--environment", help="environment file")
        p.add_argument("-P", "--parameter", action="append", default=[], metavar="KEY=VALUE")
        if name == "update":
            _patch_options(p)
        p.add_argument("--disable-rollback", action="store_true", default=None)
        p.add_argument("--stack-timeout", type=int, default=None, metavar="SECONDS",
                       help="seconds the operation may take before the stack fails "
                            "(default: the engine's stack_action_timeout)")
        p.add_argument("--wait", action="store_true", help="follow events until done")
    for name in ("delete", "rollback", "cancel", "show", "events", "resources"):
        help_text = ("cancel the create or update in progress (then roll back, unless "
                     "--no-rollback)" if name == "cancel" else f"{name} a stack")
        p = stack_sub.add_parser(name, help=help_text)
        p.add_argument("stack", help="stack name or id")
        if name == "cancel":
            p.add_argument("--no-rollback", action="store_true",
                           help="keep what was done: the stack ends <ACTION>_FAILED")
        if name in ("delete", "rollback", "cancel"):
            p.add_argument("--wait", action="store_true", help="follow events until done")
    p = stack_sub.add_parser("preview", help="what an update would do, changing nothing")
    p.add_argument("stack", help="stack name or id")
    p.add_argument("template", nargs="?", help="HOT template file (with --existing: the "
                                               "stored one when not given)")
    p.add_argument("-e", "--environment", help="environment file")
    p.add_argument("-P", "--parameter", action="append", default=[], metavar="KEY=VALUE")
    _patch_options(p)
    stack_sub.add_parser("list", help="list the project's stacks")
    sig = stack_sub.add_parser("signal", help="release a hook")
    sig.add_argument("stack")
    sig.add_argument("resource")
    sig.add_argument("hook", choices=HOOK_TYPES)
    parser.set_defaults(handler=run)


def _patch_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--existing", action="store_true",
                   help="PATCH: keep the stored template, environment, parameters and "
                        "files, changing only what is given")
    p.add_argument("--clear-parameter", action="append", default=[], metavar="NAME",
                   help="with --existing: reset this parameter to its default")


def _update_input(args: argparse.Namespace) -> dict[str, Any]:
    """What an update or a preview gives the service, from the files named."""
    if args.template is None and not args.existing:
        raise ValueError(f"{args.stack_command}: a template is required (or --existing, "
                         "to keep the stored one)")
    if args.clear_parameter and not args.existing:
        raise ValueError("--clear-parameter: only with --existing")
    files = collect(args.template, args.environment)
    return {"template": _read(args.template), "environment": _read(args.environment),
            "parameters": _parameters(args.parameter), "source": args.template,
            "files": files or None, "existing": args.existing,
            "clear_parameters": args.clear_parameter or None}


def _parameters(pairs: list[str]) -> dict[str, str]:
    result = {}
    for pair in pairs:
        if "=" not in pair:
            raise ValueError(f"--parameter {pair!r}: expected KEY=VALUE")
        key, value = pair.split("=", 1)
        result[key] = value
    return result


def _read(path: str | None) -> str | None:
    if path is None:
        return None
    with open(path, encoding="utf-8") as handle:
        return handle.read()


def run(args: argparse.Namespace) -> int:
    conf = new_conf(args.config_file)
    ensure_schema(database_url(conf))
    ctx = RequestContext(project_id=args.project)
    console = Console()
    with EngineService(conf) as service:
        command = args.stack_command
        if command == "list":
            return _emit(args, console, service.list_stacks(ctx), _stacks_table)
        if command == "create":
            stack_id = service.create_stack(
                ctx, args.stack, _read(args.template), _read(args.environment),
                _parameters(args.parameter), disable_rollback=bool(args.disable_rollback),
                timeout=args.stack_timeout, source=args.template,
                files=collect(args.template, args.environment))
        else:
            stack_id = service.find_stack(ctx, args.stack)
        if command == "preview":
            return _emit(args, console, service.preview_update_stack(
                ctx, stack_id, **_update_input(args)), _preview_table)
        if command == "update":
            service.update_stack(ctx, stack_id, disable_rollback=args.disable_rollback,
                                 timeout=args.stack_timeout, **_update_input(args))
        elif command == "delete":
            service.delete_stack(ctx, stack_id)
        elif command == "rollback":
            service.rollback_stack(ctx, stack_id)
        elif command == "cancel":
            service.cancel_stack(ctx, stack_id, rollback=not args.no_rollback)
        elif command == "signal":
            service.signal_hook(ctx, stack_id, args.resource, args.hook)
        elif command == "events":
            return _emit(args, console, service.list_events(ctx, stack_id), _events_table)
        elif command == "resources":
            return _emit(args, console, service.list_resources(ctx, stack_id),
                         _resources_table)
        if command in OPERATIONS:
            if getattr(args, "wait", False) and not args.json:
                _follow(service, ctx, stack_id, console, args.timeout)
            view = service.wait_stack(ctx, stack_id, timeout=args.timeout)
        else:
            view = service.show_stack(ctx, stack_id)
        view["resources"] = service.list_resources(ctx, stack_id)
        _emit(args, console, view, _stack_panel)
        return 0 if view["status"] != "FAILED" else 1


def _follow(service: EngineService, ctx: RequestContext, stack_id: str, console: Console,
            timeout: float) -> None:
    seen = 0

    def more() -> bool:
        nonlocal seen
        events = service.list_events(ctx, stack_id)
        for event in events[seen:]:
            console.print(f"{event['timestamp']}  {event['resource_name']:<20} "
                          f"{event['action']}_{event['status']:<12} {event['reason'] or ''}")
        seen = len(events)
        view = service.show_stack(ctx, stack_id)
        return view["status"] != "IN_PROGRESS" and not view["busy"]

    service.wait_until(more, timeout, f"stack {stack_id}")
    more()


def _emit(args: argparse.Namespace, console: Console, data: Any, render) -> int:  # noqa: ANN001
    if args.json:
        json.dump(data, sys.stdout, indent=2, sort_keys=True, default=str)
        sys.stdout.write("\n")
    else:
        console.print(render(data))
    return 0


def _stacks_table(stacks: list[dict[str, Any]]) -> Table:
    table = Table(title="stacks")
    for column in ("name", "id", "status", "engine", "updated"):
        table.add_column(column)
    for s in stacks:
        table.add_row(s["name"], s["id"], s["stack_status"], s["engine"],
                      s["updated_at"] or s["created_at"])
    return table


def _events_table(events: list[dict[str, Any]]) -> Table:
    table = Table(title="events")
    for column in ("time", "resource", "status", "reason"):
        table.add_column(column)
    for e in events:
        table.add_row(e["timestamp"], e["resource_name"], f"{e['action']}_{e['status']}",
                      e["reason"] or "")
    return table


def _resources_table(resources: list[dict[str, Any]]) -> Table:
    table = Table(title="resources")
    for column in ("name", "type", "status", "physical id", "hooks"):
        table.add_column(column)
    for r in resources:
        table.add_row(r["name"], r["type"], r["resource_status"], r["physical_id"] or "",
                      ",".join(r["hooks_pending"]))
    return table


def _preview_table(preview: dict[str, list[dict[str, str]]]) -> Table:
    table = Table(title="update preview")
    for column in ("change", "resource", "type"):
        table.add_column(column)
    for change in ("added", "updated", "replaced", "deleted", "unchanged"):
        for entry in preview.get(change, []):
            table.add_row(change, entry["name"], entry["type"])
    if not any(preview.get(c) for c in ("added", "updated", "replaced", "deleted")):
        table.caption = "nothing would change"
    return table


def _stack_panel(view: dict[str, Any]) -> Table:
    table = Table(title=f"stack {view['name']}", show_header=False)
    table.add_column("field")
    table.add_column("value")
    for key in ("id", "stack_status", "status_reason", "engine"):
        table.add_row(key, str(view[key]))
    for key, value in sorted(view["outputs"].items()):
        table.add_row(f"output {key}", json.dumps(value))
    for r in view.get("resources", []):
        table.add_row(f"resource {r['name']}", f"{r['resource_status']} {r['physical_id'] or ''}")
    return table
