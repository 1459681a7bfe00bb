"""The convergence path as the service sees it: every operation is a traversal; no stack
lock, so an update or delete of a busy stack is accepted and supersedes what runs."""

from __future__ import annotations

import sqlalchemy as sa

from engines.convergence.messaging import WorkerServer, get_transport, topic, worker_client
from engines.convergence.reaper import Reaper
from engines.convergence.traversal import Traversals
from engines.convergence.traversal_state import TraversalState
from engines.convergence.worker import Worker
from engines.core import stack_store
from engines.core.context import RequestContext
from engines.core.errors import InvalidOperation
from engines.core.models import Resource, Stack
from engines.core.path import CONVERGENCE, EnginePath, StackRequest, cancellable
from engines.core.runtime import Runtime
from engines.core.status import CREATE, DELETE, FAILED, IN_PROGRESS, ROLLBACK, UPDATE


class Path(EnginePath):
    name = CONVERGENCE

    def __init__(self, rt: Runtime) -> None:
        super().__init__(rt)
        self._transport = None
        self._servers: list[WorkerServer] = []
        self._workers: list[Worker] = []
        self.traversals: Traversals | None = None
        self._reaper: Reaper | None = None

    def start(self) -> None:
        conf = self.rt.conf
        self._transport = get_transport(conf)
        bus_topic = topic(conf, self.rt.engine_id)
        client = worker_client(conf, self._transport, bus_topic)
        self.traversals = Traversals(self.rt, client)
        for index in range(conf.convergence_local_workers):
            worker = Worker(self.rt, self.traversals)
            server = WorkerServer(conf, self._transport, bus_topic,
                                  f"{self.rt.engine_id}-{index}", worker,
                                  conf.convergence_worker_threads)
            server.start()
            self._servers.append(server)
            self._workers.append(worker)
        self._reaper = Reaper(self.rt, self.traversals)
        self._reaper.start()

    def stop(self) -> None:
        if self._reaper:
            self._reaper.stop()
        for server in self._servers:
            server.stop()
        for worker in self._workers:
            worker.stop()
        self._servers.clear()
        self._workers.clear()
        if self._transport is not None:
            self._transport.cleanup()
            self._transport = None

    def serve_nested(self, traversals: Traversals) -> None:
        """Use ``traversals`` to start nested stacks' traversals, unstarted: a worker
        process's stack resources create their children through this path."""
        self.traversals = traversals

    def _traversals(self) -> Traversals:
        if self.traversals is None:
            raise RuntimeError("the convergence path is not started")
        return self.traversals

    def create(self, ctx: RequestContext, name: str, request: StackRequest) -> Stack:
        stack = self._store_new_stack(ctx, name, request)
        try:
            self._traversals().start(stack.id, CREATE, stack.raw_template_id,
                                     request.parameters, reason="Stack creation started",
                                     announce=False)
        except BaseException:
            stack_store.discard_new(self.rt.db, stack.id)  # no stack half made
            raise
        return stack

    def update(self, ctx: RequestContext, stack: Stack, request: StackRequest) -> None:
        with self.rt.db.session() as s:
            template_id = stack_store.store_template(s, request.raw, request.environment,
                                                        request.files)
        self._traversals().start(stack.id, UPDATE, template_id, request.parameters,
                                 reason="Stack UPDATE started",
                                 disable_rollback=request.disable_rollback,
                                 timeout=request.timeout)

    def delete(self, ctx: RequestContext, stack: Stack) -> None:
        self._traversals().start(stack.id, DELETE, None, None, reason="Stack DELETE started",
                                 stops_running=True)

    def rollback(self, ctx: RequestContext, stack: Stack) -> None:
        if stack.status == IN_PROGRESS:
            # as on the legacy path: a rollback of a create or update in progress is a
            # cancel with rollback
            self.cancel(ctx, stack, rollback=True)
            return
        action = TraversalState.of(stack).action_of(stack)
        if not (action == UPDATE or (action == ROLLBACK and stack.status == FAILED)):
            raise InvalidOperation(
                f"stack {stack.id} is {stack.action}_{stack.status}: nothing to roll back")
        if stack.prev_raw_template_id is None:
            raise InvalidOperation(f"stack {stack.id}: no previous template to roll back to")
        self._traversals().rollback(stack.id, "Stack ROLLBACK started", stops_running=True)

    def cancel(self, ctx: RequestContext, stack: Stack, rollback: bool) -> None:
        action = TraversalState.of(stack).action_of(stack)
        if stack.status == IN_PROGRESS and action not in (CREATE, UPDATE):
            raise InvalidOperation(
                f"stack {stack.id} is {action}_IN_PROGRESS: only a create or an update "
                "in progress can be cancelled or rolled back")
        cancellable(stack)
        if not self._traversals().stop(stack.id, stack.current_traversal,
                                       f"Stack {action} cancelled", rollback=rollback):
            raise InvalidOperation(f"stack {stack.id}: its {action.lower()} is no longer "
                                   "in progress: nothing to cancel")

    def _rollback_pending(self, stack_id: str) -> bool:
        """About to roll back, or rolling back already: read now, not from the caller's row
        (a polling caller's row leaves the graph out, and it may be older than the
        rollback's start, which clears the pending mark as it sets IN_PROGRESS)."""
        with self.rt.db.session() as s:
            row = s.execute(sa.select(Stack.status, Stack.current_deps)
                            .where(Stack.id == stack_id)).first()
        if row is None:
            return False
        return row[0] == IN_PROGRESS or TraversalState.from_json(row[1]).rollback_pending

    def is_busy(self, stack: Stack) -> bool:
        """Running, about to roll back, or with work still in flight: a failed traversal
        stops moving on, but what its workers hold finishes (as legacy's scheduler lets
        running tasks end before it releases the stack lock)."""
        if stack.status == IN_PROGRESS or self._rollback_pending(stack.id):
            return True
        with self.rt.db.session() as s:
            return s.scalar(sa.select(Resource.id).where(
                Resource.stack_id == stack.id, Resource.engine_id.is_not(None)).limit(1)
            ) is not None
