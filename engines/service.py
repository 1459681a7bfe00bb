"""The engine's one public API. Every stack carries the path it was created on
(``stack.convergence``); each call dispatches on that stored field, never on the current
configuration, which is read exactly once: when a stack is created."""

from __future__ import annotations

import contextlib
import functools
import importlib
import threading
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

from oslo_config import cfg

from engines import migrate_stacks
from engines.core import config, db, hooks, snapshot, stack_store, waiting
from engines.core.config import database_url, new_conf
from engines.core.context import RequestContext
from engines.core.errors import EngineOverloaded, InvalidOperation, PathNotAvailable
from engines.core.liveness import Heartbeat
from engines.core.models import Stack
from engines.core.patch import check_timeout, update_inputs
from engines.core.path import CONVERGENCE, LEGACY, PATH_NAMES, EnginePath, StackRequest
from engines.core.preview import preview_update
from engines.core.runtime import Runtime
from engines.core.status import HOOK_TYPES, IN_PROGRESS, is_terminal
from engines.core.template import parse
from engines.core.update_checks import check_hook_names, check_update
from engines.core.urls import safe_url
from engines.nested_stacks import ServiceNestedStacks
from engines.observe import CloudView

__all__ = ["CONVERGENCE", "HOOK_TYPES", "LEGACY", "PATH_NAMES", "CloudView", "EngineService",
           "database_url", "dispose_connections", "ensure_schema", "new_conf", "safe_url",
           "schema_drift"]

F = TypeVar("F", bound=Callable[..., Any])


def _api(operation: bool = False) -> Callable[[F], F]:
    """A call of the API: its statements use the API's connection pool (db.serving_api);
    an ``operation`` (one that changes stacks) is admitted first, so that an engine asked
    for more than it can take answers EngineOverloaded before it stores anything."""
    def decorate(fn: F) -> F:
        @functools.wraps(fn)
        def call(self: EngineService, *args: Any, **kwargs: Any) -> Any:
            admitted = self._admitted() if operation else contextlib.nullcontext()
            with db.serving_api(), admitted:
                return fn(self, *args, **kwargs)
        return call  # type: ignore[return-value]
    return decorate


# each path is a plug-in of its own; a build without one refuses its stacks loudly
PATH_MODULES = {LEGACY: "engines.legacy.path", CONVERGENCE: "engines.convergence.path"}


def _load_path(name: str, rt: Runtime) -> EnginePath | None:
    try:
        module = importlib.import_module(PATH_MODULES[name])
    except ModuleNotFoundError:
        return None
    factory = getattr(module, "Path", None)
    return factory(rt) if factory is not None else None


class EngineService:
    """Create, update, delete, roll back and observe stacks, on both paths."""

    def __init__(self, conf: cfg.ConfigOpts | None = None, *, start: bool = True,
                 paths: dict[str, EnginePath | None] | None = None) -> None:
        self.rt = Runtime.from_conf(conf)
        self.conf = self.rt.conf
        self._paths = paths if paths is not None else {
            name: _load_path(name, self.rt) for name in PATH_MODULES}
        self._heartbeat = Heartbeat(self.rt.db, self.rt.engine_id, "dualpath-engine",
                                    self.conf.heartbeat_interval)
        self._started = False
        self._lock = threading.Lock()
        self.rt.nested = ServiceNestedStacks(self.rt, self._path_of)
        self._operations = threading.BoundedSemaphore(self.conf.max_concurrent_operations)
        if start:
            self.start()

    # -- life cycle -----------------------------------------------------------------------
    def start(self) -> None:
        with self._lock:
            if self._started:
                return
            config.setup_logging(self.conf, embedded=True)
            self.rt.stopping.clear()
            self._heartbeat.start()
            for path in self._paths.values():
                if path is not None:
                    path.start()
                    path.recover()
            self._started = True

    def stop(self) -> None:
        with self._lock:
            if not self._started:
                return
            self.rt.stopping.set()  # a worker paused at a hook would hold the stop for ever
            for path in self._paths.values():
                if path is not None:
                    path.stop()
            self._heartbeat.stop()
            self._started = False

    def __enter__(self) -> EngineService:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def engine_id(self) -> str:
        return self.rt.engine_id

    @property
    def database_url(self) -> str:
        return self.rt.db.url

    @property
    def cloud(self) -> CloudView:
        """A read-only view of the simulated cloud this engine acts on."""
        return CloudView(self.rt.reality)

    def inject_fault(self, logical_name: str, action: str, *, times: int = 1,
                     latency: float = 0.0, stack_id: str | None = None,
                     message: str | None = None) -> None:
        """Make the simulated cloud fail (or, with ``latency``, slow down) the next
        ``times`` ``action`` calls (CREATE, UPDATE, DELETE) of ``logical_name`` (-1: every
        call), in any stack unless ``stack_id`` is given; every process sees the fault."""
        self.rt.reality.inject_fault(logical_name, action, times=times, latency=latency,
                                     stack_id=stack_id, message=message)

    @contextlib.contextmanager
    def _admitted(self) -> Iterator[None]:
        wait = self.rt.db.budget.timeout
        if not self._operations.acquire(timeout=wait):
            raise EngineOverloaded(
                f"the engine is overloaded: {self.conf.max_concurrent_operations} stack "
                f"operations were under way for {wait:g}s; nothing was changed, try again")
        try:
            yield
        finally:
            self._operations.release()

    # -- dispatch -------------------------------------------------------------------------
    def _path_named(self, name: str) -> EnginePath:
        path = self._paths.get(name)
        if path is None:
            raise PathNotAvailable(f"{name} path not available in this build")
        return path

    def _path_of(self, stack: Stack) -> EnginePath:
        return self._path_named(CONVERGENCE if stack.convergence else LEGACY)

    def path_of_stack(self, stack: Stack) -> EnginePath:
        """The path ``stack`` was created on (a nested stack: its root's)."""
        return self._path_of(stack)

    def _request(self, template: Any, environment: Any, parameters: dict[str, Any] | None,
                 disable_rollback: bool, timeout: int | None, source: str | None,
                 files: dict[str, str] | None = None,
                 stack: Stack | None = None) -> StackRequest:
        check_timeout(timeout)
        tmpl = parse(template, environment, parameters or {},
                     max_template_size=self.conf.max_template_size,
                     max_resources=self.conf.max_resources_per_stack, source=source,
                     files=files, max_nested_depth=self.conf.max_nested_stack_depth)
        check_hook_names(self.rt, tmpl, stack)
        return StackRequest(tmpl, dict(parameters or {}), disable_rollback,
                            int(timeout) if timeout else self.conf.stack_action_timeout)

    # -- operations -----------------------------------------------------------------------
    @_api(operation=True)
    def create_stack(self, ctx: RequestContext, name: str, template: Any,
                     environment: Any = None, parameters: dict[str, Any] | None = None, *,
                     disable_rollback: bool = False, timeout: int | None = None,
                     source: str | None = None, files: dict[str, str] | None = None) -> str:
        """Validate and store a stack, start creating it, return its id. The stack's path is
        the configuration's ``convergence_engine`` at this moment, for life. ``files`` is
        what the template reads (get_file, template resources); ``environment`` may be a
        list of environments, merged in order."""
        if not name or len(name) > 255:
            raise InvalidOperation("a stack name must have 1 to 255 characters")
        path = self._path_named(CONVERGENCE if self.conf.convergence_engine else LEGACY)
        request = self._request(template, environment, parameters, disable_rollback,
                                timeout, source, files)
        return path.create(ctx, name, request).id

    def _update_request(self, stack: Stack, template: Any, environment: Any,
                        parameters: dict[str, Any] | None, files: dict[str, str] | None,
                        disable_rollback: bool | None, timeout: int | None,
                        source: str | None, existing: bool,
                        clear_parameters: list[str] | None) -> StackRequest:
        given = update_inputs(self.rt, stack, template, environment, parameters, files,
                              timeout, existing=existing, clear_parameters=clear_parameters)
        request = self._request(given.template, given.environment, given.parameters,
                                stack.disable_rollback if disable_rollback is None
                                else disable_rollback, given.timeout, source, given.files,
                                stack)
        check_update(self.rt, stack, request)
        return request

    @_api(operation=True)
    def update_stack(self, ctx: RequestContext, stack_id: str, template: Any = None,
                     environment: Any = None, parameters: dict[str, Any] | None = None, *,
                     disable_rollback: bool | None = None, timeout: int | None = None,
                     source: str | None = None, files: dict[str, str] | None = None,
                     existing: bool = False, clear_parameters: list[str] | None = None
                     ) -> None:
        """``existing``: a PATCH, keeping what the request does not say (the template
        when None, environment, parameters but ``clear_parameters``, files, timeout);
        otherwise a PUT. See engines/core/patch.py."""
        stack = stack_store.get(self.rt.db, stack_id, ctx.project_id, include_deleted=False)
        path = self._path_of(stack)
        path.update(ctx, stack, self._update_request(
            stack, template, environment, parameters, files, disable_rollback, timeout,
            source, existing, clear_parameters))

    @_api()
    def preview_update_stack(self, ctx: RequestContext, stack_id: str, template: Any = None,
                             environment: Any = None, parameters: dict[str, Any] | None = None,
                             files: dict[str, str] | None = None, existing: bool = False, *,
                             clear_parameters: list[str] | None = None,
                             source: str | None = None) -> dict[str, list[dict[str, str]]]:
        """What the update would do, changing nothing: {added, updated, replaced, deleted,
        unchanged: [{name, type}]}, nested stacks' resources as db/R (engines/core/
        preview.py). Validated as the update would be."""
        stack = stack_store.get(self.rt.db, stack_id, ctx.project_id, include_deleted=False)
        self._path_of(stack)  # a stack whose path is missing cannot be acted on
        request = self._update_request(stack, template, environment, parameters, files,
                                       None, None, source, existing, clear_parameters)
        return preview_update(self.rt, stack, request.template)

    @_api(operation=True)
    def delete_stack(self, ctx: RequestContext, stack_id: str) -> None:
        stack = stack_store.get(self.rt.db, stack_id, ctx.project_id, include_deleted=False)
        self._path_of(stack).delete(ctx, stack)

    @_api(operation=True)
    def rollback_stack(self, ctx: RequestContext, stack_id: str) -> None:
        """Cancel an in-progress update and return to the previous template."""
        stack = stack_store.get(self.rt.db, stack_id, ctx.project_id, include_deleted=False)
        self._path_of(stack).rollback(ctx, stack)

    @_api(operation=True)
    def cancel_stack(self, ctx: RequestContext, stack_id: str, rollback: bool = True) -> None:
        """Stop the stack's create or update in progress; its running resource actions
        are cancelled (<ACTION>_FAILED "<ACTION> cancelled"). With ``rollback`` the stack
        then rolls back (a create: to nothing, ROLLBACK_COMPLETE with nothing left in the
        cloud); without, it ends <ACTION>_FAILED "Stack <ACTION> cancelled", keeping what
        was done. InvalidOperation, changing nothing, when nothing is in progress."""
        stack = stack_store.get(self.rt.db, stack_id, ctx.project_id, include_deleted=False)
        self._path_of(stack).cancel(ctx, stack, rollback)

    @_api(operation=True)
    def signal_hook(self, ctx: RequestContext, stack_id: str, resource_name: str,
                    hook: str) -> str:
        """Release ``hook`` of ``resource_name``; returns what happened (a pause whose
        operation was stopped or superseded meanwhile is answered, not refused)."""
        stack = stack_store.get(self.rt.db, stack_id, ctx.project_id, include_deleted=False)
        self._path_of(stack)  # a stack whose path is missing cannot be acted on
        return hooks.signal(self.rt.db, stack.id, resource_name, hook, self.rt.engine_id)

    @_api(operation=True)
    def migrate_stack(self, ctx: RequestContext, stack_id: str, *,
                      dry_run: bool = False) -> dict[str, str]:
        """Move a COMPLETE legacy stack onto convergence (engines.migrate_stacks); refused:
        InvalidOperation, nothing changed. Returns {"result", "reason"}."""
        stack = stack_store.get(self.rt.db, stack_id, ctx.project_id, include_deleted=False)
        self._path_named(CONVERGENCE)
        done = migrate_stacks.migrate_stack(self.rt, stack.id, dry_run=dry_run)
        if done.refused:
            raise InvalidOperation(f"stack {stack.id} not moved: {done.reason}")
        return {"result": done.result, "reason": done.reason}

    # -- observation ----------------------------------------------------------------------
    @_api()
    def show_stack(self, ctx: RequestContext, stack_id: str) -> dict[str, Any]:
        stack = stack_store.get(self.rt.db, stack_id, ctx.project_id, traversal_state=False)
        view = snapshot.stack_view(self.rt, stack)
        view["busy"] = self._is_busy(stack)
        return view

    @_api()
    def find_stack(self, ctx: RequestContext, name_or_id: str) -> str:
        return stack_store.find(self.rt.db, ctx.project_id, name_or_id).id

    @_api()
    def list_stacks(self, ctx: RequestContext) -> list[dict[str, Any]]:
        return [snapshot.stack_view(self.rt, s, outputs=False)
                for s in stack_store.list_live(self.rt.db, ctx.project_id)]

    @_api()
    def list_resources(self, ctx: RequestContext, stack_id: str) -> list[dict[str, Any]]:
        stack = stack_store.get(self.rt.db, stack_id, ctx.project_id)
        return snapshot.resources_view(self.rt, stack)

    @_api()
    def list_events(self, ctx: RequestContext, stack_id: str) -> list[dict[str, Any]]:
        stack = stack_store.get(self.rt.db, stack_id, ctx.project_id)
        return snapshot.events_view(self.rt, stack)

    def _is_busy(self, stack: Stack) -> bool:
        path = self._paths.get(CONVERGENCE if stack.convergence else LEGACY)
        return stack.status == IN_PROGRESS or bool(path and path.is_busy(stack))

    # -- waiting --------------------------------------------------------------------------
    def wait_until(self, predicate: Callable[[], Any], timeout: float, what: str,
                   interval: float | None = None) -> Any:
        """Poll ``predicate`` until it returns something truthy; WaitTimeout otherwise."""
        return waiting.wait_until(predicate, timeout=timeout,
                                  interval=interval or self.rt.poll_interval, what=what)

    @_api()
    def wait_stack(self, ctx: RequestContext, stack_id: str, timeout: float = 60.0,
                   interval: float | None = None) -> dict[str, Any]:
        """Wait until the stack's operation is over (terminal state, nothing running),
        looking every ``interval`` seconds (default: ``poll_interval``)."""
        def done() -> dict[str, Any] | None:
            stack = stack_store.get(self.rt.db, stack_id, ctx.project_id,
                                    traversal_state=False)
            if is_terminal(stack.status) and not self._is_busy(stack):
                return snapshot.stack_view(self.rt, stack)
            return None
        return self.wait_until(done, timeout, f"stack {stack_id} to finish", interval)

    @_api()
    def wait_resource(self, ctx: RequestContext, stack_id: str, name: str, *,
                      status: str | None = None, hook: str | None = None,
                      timeout: float = 60.0) -> dict[str, Any]:
        """Wait until resource ``name`` is in ``status`` (e.g. CREATE_IN_PROGRESS) or paused
        at ``hook``."""
        if not status and not hook:
            raise InvalidOperation("wait_resource needs a status or a hook")

        def reached() -> dict[str, Any] | None:
            for view in self.list_resources(ctx, stack_id):
                if view["name"] != name:
                    continue
                if hook and hook in view["hooks_pending"]:
                    return view
                if status and view["resource_status"] == status:
                    return view
            return None
        what = f"resource {name} to reach {hook or status}"
        return self.wait_until(reached, timeout, what)


# -- the engine's database, as its callers manage it --------------------------------------
def dispose_connections(url: str | None = None) -> None:
    """Close this process's pooled connections to ``url`` (all databases when None), e.g.
    before the database is dropped."""
    db.dispose(url)


def ensure_schema(url: str) -> None:
    """The embedded SQLite default is migrated on first use; a server database must be
    migrated on purpose (``dualpath db upgrade``): ValueError, saying so, when it is not at
    head."""
    from migrations import api as migrations

    at = migrations.current(url)
    head = migrations.heads()[0]
    if at == head:
        return
    if at is None and url.startswith("sqlite"):
        migrations.upgrade(url)
        return
    raise ValueError(f"database {safe_url(url)} is at {at or 'no revision'}, not {head}: "
                     "run 'dualpath db upgrade'")


def schema_drift(url: str) -> list[Any]:
    """How the schema of the database at ``url`` differs from the engine's models
    (alembic's autogenerate comparison; empty when they match). The simulated cloud's own
    tables are not the engine's schema."""
    import sqlalchemy as sa
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext
    from sqlalchemy.pool import NullPool

    from engines.core.models import Base

    engine = sa.create_engine(url, poolclass=NullPool)
    try:
        with engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"compare_type": True})
            return [d for d in compare_metadata(context, Base.metadata)
                    if "cloud_" not in repr(d)]
    finally:
        engine.dispose()
