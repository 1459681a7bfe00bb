"""The legacy path as the service sees it: every operation holds the stack lock and runs in
one thread of this engine; a delete or rollback asked for meanwhile stops it first."""

from __future__ import annotations

import threading

from oslo_log import log as logging

from engines.core import hooks, stack_store
from engines.core.context import RequestContext
from engines.core.errors import ActionInProgress, Cancelled, InvalidOperation, ResourceFailure
from engines.core.liveness import alive_engines
from engines.core.models import Stack, utcnow
from engines.core.path import LEGACY, EnginePath, StackRequest, cancellable, stored_template
from engines.core.runtime import Runtime
from engines.core.status import (
    COMPLETE,
    CREATE,
    DELETE,
    FAILED,
    IN_PROGRESS,
    ROLLBACK,
    UPDATE,
)
from engines.legacy import stack_lock
from engines.legacy.operation import Operation
from engines.legacy.stack import LegacyStack
from engines.legacy.update import BackupStack, StackUpdate

LOG = logging.getLogger(__name__)


class Path(EnginePath):
    name = LEGACY

    def __init__(self, rt: Runtime) -> None:
        super().__init__(rt)
        self._ops: dict[str, Operation] = {}
        self._mutex = threading.Lock()

    # -- life cycle -----------------------------------------------------------------------
    def stop(self) -> None:
        with self._mutex:
            ops = list(self._ops.values())
        for op in ops:
            op.request(None)  # type: ignore[arg-type]
        for op in ops:
            op.done.wait(timeout=30)

    def recover(self) -> None:
        """Stacks whose lock is held by an engine that is gone become FAILED, and are
        unlocked, so that the user can update, roll back or delete them."""
        alive = alive_engines(self.rt.db, self.rt.conf.service_stale_after)
        for stack_id, engine_id in stack_lock.orphaned(self.rt, alive | {self.rt.engine_id}):
            stack = stack_store.get(self.rt.db, stack_id)
            if stack.status == IN_PROGRESS:
                stack_store.set_state(
                    self.rt.db, stack_id, stack.action, FAILED,
                    f"Engine {engine_id} went down during stack {stack.action}",
                    self.rt.engine_id)
            for name, paused in hooks.pending_hooks(self.rt.db, stack_id).items():
                for row in stack_store.resources(self.rt.db, stack_id):
                    if row.name == name:
                        for hook in paused:
                            hooks.clear_mark(self.rt.db, row.id, hook)
            stack_lock.force_release(self.rt, stack_id, engine_id)

    # -- API ------------------------------------------------------------------------------
    def create(self, ctx: RequestContext, name: str, request: StackRequest) -> Stack:
        stack = self._store_new_stack(ctx, name, request, lock_engine=self.rt.engine_id)
        self._launch(stack.id, CREATE, request.timeout)
        return stack

    def update(self, ctx: RequestContext, stack: Stack, request: StackRequest) -> None:
        stack_lock.acquire(self.rt, stack.id)
        try:
            backup = BackupStack(self.rt, stack)
            backup.remember_template(stack.raw_template_id, stack.parameters or {})
            with self.rt.db.session() as s:
                template_id = stack_store.store_template(s, request.raw, request.environment,
                                                         request.files)
            try:
                self._enter(stack.id, UPDATE, raw_template_id=template_id,
                            parameters=request.parameters,
                            disable_rollback=request.disable_rollback, timeout=request.timeout)
            except ActionInProgress:
                backup.discard()  # made by this call: a COMPLETE stack had none
                raise
        except BaseException:
            stack_lock.release(self.rt, stack.id)
            raise
        self._launch(stack.id, UPDATE, request.timeout)

    def delete(self, ctx: RequestContext, stack: Stack) -> None:
        with self._mutex:
            op = self._ops.get(stack.id)
            if op is not None:
                op.request(DELETE)
                hooks.release_all(self.rt.db, stack.id, "its operation was stopped by a delete")
                return
            # a lock held elsewhere is taken over: delete is always allowed, and the other
            # engine's operation stops when it sees it no longer holds the lock
            stack_lock.acquire(self.rt, stack.id, steal_from_live=True)
            # the new state is visible when the call returns, as for every other operation
            now = stack_store.get(self.rt.db, stack.id)
            if (now.action, now.status) != (DELETE, IN_PROGRESS):
                self._enter(stack.id, DELETE)
            self._launch_locked(stack.id, DELETE, stack.timeout)

    def rollback(self, ctx: RequestContext, stack: Stack) -> None:
        with self._mutex:
            op = self._ops.get(stack.id)
            if op is not None:
                # a user rollback of a create or update in progress is a cancel with rollback
                self._stop_running(op, stack, ROLLBACK)
                return
        if stack.status == IN_PROGRESS:
            raise ActionInProgress(f"stack {stack.id} is busy on another engine")
        if not (stack.action in (UPDATE, ROLLBACK) and stack.status == FAILED):
            raise InvalidOperation(
                f"stack {stack.id} is {stack.action}_{stack.status}: nothing to roll back")
        stack_lock.acquire(self.rt, stack.id)
        self._begin(stack.id, ROLLBACK)
        self._launch(stack.id, ROLLBACK, stack.timeout)

    def cancel(self, ctx: RequestContext, stack: Stack, rollback: bool) -> None:
        cancellable(stack)
        with self._mutex:
            op = self._ops.get(stack.id)
            if op is not None:
                self._stop_running(op, stack, ROLLBACK if rollback else None)
                return
            # the operation runs on another engine: take its lock (it stops when it sees
            # the lock gone, writing nothing more) and end the operation here
            stack_lock.acquire(self.rt, stack.id, steal_from_live=True)
            hooks.release_all(self.rt.db, stack.id, "its operation was cancelled")
            LOG.info("stack %s: legacy %s of another engine cancelled", stack.id,
                     stack.action)
            self._fail_cancelled(stack.id, stack.action)
            if rollback:
                self._begin(stack.id, ROLLBACK)
                self._launch_locked(stack.id, ROLLBACK, stack.timeout)
            else:
                stack_lock.release(self.rt, stack.id)

    def _stop_running(self, op: Operation, stack: Stack, then: str | None) -> None:
        """Stop ``op`` (its running resource actions are cancelled), then ``then``."""
        if op.kind not in (CREATE, UPDATE) or op.stopping:
            raise InvalidOperation(
                f"stack {stack.id} is {op.kind}_IN_PROGRESS: only a create or an update "
                "in progress can be cancelled or rolled back")
        LOG.info("stack %s: legacy %s cancelled%s", stack.id, op.kind,
                 ", then rolled back" if then == ROLLBACK else "")
        op.request(then)
        hooks.release_all(self.rt.db, stack.id, "its operation was cancelled")

    def is_busy(self, stack: Stack) -> bool:
        return stack_lock.holder(self.rt, stack.id) is not None

    # -- running --------------------------------------------------------------------------
    def _launch(self, stack_id: str, kind: str, timeout: int | None) -> None:
        with self._mutex:
            self._launch_locked(stack_id, kind, timeout)

    def _launch_locked(self, stack_id: str, kind: str, timeout: int | None) -> None:
        op = Operation(self.rt, stack_id, kind, timeout)
        self._ops[stack_id] = op
        op.run_in_thread(self._run)

    def _run(self, op: Operation) -> None:
        kind: str | None = op.kind
        phases = {CREATE: self._create, UPDATE: self._update, DELETE: self._delete,
                  ROLLBACK: self._rollback}
        try:
            while kind:
                op.begin(kind)
                LOG.info("stack %s: legacy %s started on engine %s", op.stack_id, kind,
                         self.rt.engine_id)
                try:
                    kind = phases[kind](op)
                except Exception as exc:  # noqa: BLE001 - an engine bug must not leak a lock
                    LOG.exception("stack %s: legacy %s crashed", op.stack_id, op.kind)
                    stack_store.set_state(self.rt.db, op.stack_id, op.kind, FAILED,
                                          f"Internal error: {type(exc).__name__}: {exc}",
                                          self.rt.engine_id)
                    kind = None
                with self._mutex:
                    if op.after == ROLLBACK and kind is None and self._finished(op):
                        # the cancel came as the operation completed: nothing to roll back
                        LOG.info("stack %s: legacy %s completed before the cancel reached "
                                 "it", op.stack_id, op.kind)
                        op.after = None
                    if op.after:
                        LOG.info("stack %s: legacy %s stopped for the %s asked for",
                                 op.stack_id, op.kind, op.after)
                        kind, op.after = op.after, None
                    if not kind:
                        self._close(op)
        finally:
            with self._mutex:
                if self._ops.get(op.stack_id) is op:
                    self._close(op)

    def _close(self, op: Operation) -> None:
        stack_lock.release(self.rt, op.stack_id)
        if self._ops.get(op.stack_id) is op:
            del self._ops[op.stack_id]

    def _finished(self, op: Operation) -> bool:
        return stack_store.get(self.rt.db, op.stack_id).status == COMPLETE

    def _fail_cancelled(self, stack_id: str, action: str) -> None:
        stack_store.set_state(self.rt.db, stack_id, action, FAILED,
                              f"Stack {action} cancelled", self.rt.engine_id)

    def _fail(self, op: Operation, action: str, reason: str) -> None:
        LOG.info("stack %s: legacy %s failed: %s", op.stack_id, action, reason)
        stack_store.set_state(self.rt.db, op.stack_id, action, FAILED, reason,
                              self.rt.engine_id)

    def _complete(self, op: Operation, action: str, **values: object) -> None:
        LOG.info("stack %s: legacy %s finished", op.stack_id, action)
        stack_store.set_state(self.rt.db, op.stack_id, action, COMPLETE,
                              f"Stack {action} completed successfully", self.rt.engine_id,
                              **values)

    def _enter(self, stack_id: str, action: str, **values: object) -> None:
        """An API call's first state, only while the stack is still on this path: one
        moved onto convergence since the call read it (``db migrate-stacks``) is not this
        path's any more; ActionInProgress, the lock released, and the caller tries again."""
        if not stack_store.set_state(self.rt.db, stack_id, action, IN_PROGRESS,
                                     f"Stack {action} started", self.rt.engine_id,
                                     on_legacy=True, **values):
            stack_lock.release(self.rt, stack_id)
            raise ActionInProgress(f"stack {stack_id} was moved onto the convergence path "
                                   "meanwhile: try again")

    def _begin(self, stack_id: str, action: str) -> None:
        """Enter ``action``_IN_PROGRESS, unless already there (a phase started by the API
        call, or one that follows a stopped operation in the same thread)."""
        stack = stack_store.get(self.rt.db, stack_id)
        if (stack.action, stack.status) != (action, IN_PROGRESS):
            stack_store.set_state(self.rt.db, stack_id, action, IN_PROGRESS,
                                  f"Stack {action} started", self.rt.engine_id)

    def _stopped_reason(self, op: Operation, action: str) -> str:
        return f"Stack {action} timed out" if op.timed_out else f"Stack {action} cancelled"

    def _stopped(self, op: Operation, action: str) -> None:
        """A stopped operation fails, unless a delete took over: the delete's own states
        tell the story (as a superseding delete traversal does on the convergence path)."""
        if op.lock_lost:
            # another engine took the stack over (a delete or cancel): its word is last
            LOG.info("stack %s: legacy %s stopped: the stack lock was taken over",
                     op.stack_id, action)
        elif op.after != DELETE:
            self._fail(op, action, self._stopped_reason(op, action))

    @staticmethod
    def _after_timeout(op: Operation, stack: Stack) -> str | None:
        """A timed-out create or update rolls back where the stack allows it."""
        if op.timed_out and op.after is None and not op.lock_lost \
                and not stack.disable_rollback:
            return ROLLBACK
        return None

    @staticmethod
    def _then_rollback(op: Operation, stack: Stack) -> str | None:
        if stack.disable_rollback:
            return None
        LOG.info("stack %s: legacy rollback started after the failed %s", op.stack_id,
                 op.kind)
        return ROLLBACK

    # -- phases (each returns the phase to run next, if any) -------------------------------
    def _create(self, op: Operation) -> str | None:
        stack = stack_store.get(self.rt.db, op.stack_id)
        template = stored_template(self.rt, stack.raw_template_id, stack.parameters)
        try:
            LegacyStack(self.rt, stack, template, op).create_all()
        except Cancelled:
            self._stopped(op, CREATE)
            return self._after_timeout(op, stack)
        except ResourceFailure as exc:
            self._fail(op, CREATE, f"Resource {exc.action} failed: {exc}")
            return self._then_rollback(op, stack)
        self._complete(op, CREATE)
        return None

    def _update(self, op: Operation) -> str | None:
        stack = stack_store.get(self.rt.db, op.stack_id)
        backup = BackupStack(self.rt, stack)
        template = stored_template(self.rt, stack.raw_template_id, stack.parameters)
        previous = stored_template(self.rt, backup.template_id, backup.parameters)
        try:
            StackUpdate(LegacyStack(self.rt, stack, template, op), backup, previous).run()
        except Cancelled:
            self._stopped(op, UPDATE)
            return self._after_timeout(op, stack)
        except ResourceFailure as exc:
            self._fail(op, UPDATE, f"Resource {exc.action} failed: {exc}")
            return self._then_rollback(op, stack)
        backup.discard()
        self._complete(op, UPDATE)
        return None

    def _rollback(self, op: Operation) -> str | None:
        stack = stack_store.get(self.rt.db, op.stack_id)
        failed_template = stored_template(self.rt, stack.raw_template_id, stack.parameters)
        self._begin(op.stack_id, ROLLBACK)
        try:
            if stack.action == CREATE:
                ls = LegacyStack(self.rt, stack, failed_template, op)
                ls.delete_rows(stack_store.resources(self.rt.db, stack.id), failed_template)
            else:
                backup = BackupStack(self.rt, stack)
                target = stored_template(self.rt, backup.template_id, backup.parameters)
                stack_store.update_stack(self.rt.db, op.stack_id,
                                         raw_template_id=backup.template_id,
                                         parameters=backup.parameters)
                StackUpdate(LegacyStack(self.rt, stack, target, op), backup,
                            failed_template).run()
                backup.discard()
        except Cancelled:
            self._fail(op, ROLLBACK, self._stopped_reason(op, ROLLBACK))
            return None
        except ResourceFailure as exc:
            self._fail(op, ROLLBACK, f"Resource {exc.action} failed: {exc}")
            return None
        self._complete(op, ROLLBACK)
        return None

    def _delete(self, op: Operation) -> str | None:
        stack = stack_store.get(self.rt.db, op.stack_id)
        template = stored_template(self.rt, stack.raw_template_id, stack.parameters)
        self._begin(op.stack_id, DELETE)
        backup = BackupStack(self.rt, stack)
        rows = stack_store.resources(self.rt.db, stack.id) + backup.rows()
        try:
            LegacyStack(self.rt, stack, template, op).delete_rows(rows, template)
        except Cancelled:
            self._fail(op, DELETE, self._stopped_reason(op, DELETE))
            return None
        except ResourceFailure as exc:
            self._fail(op, DELETE, f"Resource {exc.action} failed: {exc}")
            return None
        backup.discard()
        self._complete(op, DELETE, deleted_at=utcnow())
        return None
