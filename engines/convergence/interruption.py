"""When one check's work must stop. A running resource action is cancelled when an
operation that stops older work started after this check's traversal (a delete, a cancel,
a user rollback, a timeout: a higher ``stop_epoch``), or when its stack runs past its
timeout -- which this check then declares itself, so that a stack times out even if no
new check is sent. A plain update that supersedes lets the action finish (Heat's
``handle_preempt`` does nothing for such resources); a wait at a hook also stops then.

Each look costs one read of one column, at most once per poll interval; the stack's
stored state is read only when its current traversal changed."""

from __future__ import annotations

import time

import sqlalchemy as sa
from oslo_log import log as logging

from engines.convergence.traversal import StackStatus, Traversals, stack_row
from engines.convergence.traversal_state import TraversalState
from engines.core.models import Stack
from engines.core.runtime import Runtime
from engines.core.status import CREATE, UPDATE

LOG = logging.getLogger(__name__)


def rolls_back_on_timeout(stack: Stack, action: str) -> bool:
    return not stack.disable_rollback and action in (CREATE, UPDATE)


class Interruption:
    def __init__(self, rt: Runtime, traversals: Traversals, stack: Stack, traversal_id: str,
                 state: TraversalState) -> None:
        self.rt = rt
        self.traversals = traversals
        self.stack_id = stack.id
        self.traversal_id = traversal_id
        self.epoch = state.stop_epoch
        self.action = state.action_of(stack)
        self.rollback = rolls_back_on_timeout(stack, self.action)
        self.deadline = (state.started + stack.timeout
                         if stack.timeout and state.started is not None else None)
        # made right after a read of the stack that found ``traversal_id`` current: that
        # counts as the first look
        self._looked = time.monotonic()
        self._seen = traversal_id  # the stack's current traversal at the last look
        self._superseded = False
        self._stopped = False

    def cancelled(self) -> bool:
        """For a running action: stopped by a later operation, or past the deadline."""
        return self._past_deadline() or self._look()[1]

    def hook_cancelled(self) -> bool:
        """For a wait at a hook: as ``cancelled``, or superseded by any newer operation."""
        if self._past_deadline():
            return True
        superseded, stopped = self._look()
        return superseded or stopped

    def vouch(self, stack: StackStatus | None) -> None:
        """``stack`` was read just now (with the resource's lock): if it shows what the
        last look saw, it counts as a look, and the action's first question within a poll
        interval costs no read."""
        if stack is not None and not self._stopped and stack.current_traversal == self._seen:
            self._looked = time.monotonic()

    def _look(self) -> tuple[bool, bool]:
        now = time.monotonic()
        if self._stopped or now - self._looked < self.rt.poll_interval:
            return self._superseded, self._stopped
        self._looked = now
        with self.rt.db.session() as s:
            current = s.scalar(sa.select(Stack.current_traversal)
                               .where(Stack.id == self.stack_id))
        if current != self._seen:
            self._seen = current
            self._superseded = current != self.traversal_id
            if self._superseded:
                stack = stack_row(self.rt.db, self.stack_id)
                self._stopped = (stack is None
                                 or TraversalState.of(stack).stop_epoch > self.epoch)
                if self._stopped:
                    LOG.info("stack %s: work of traversal %s is cancelled: traversal %s "
                             "stops it", self.stack_id, self.traversal_id, current)
        return self._superseded, self._stopped

    def _past_deadline(self) -> bool:
        if self._stopped or self.deadline is None or time.time() <= self.deadline:
            return False
        if self._superseded:
            return False  # the deadline was this traversal's, and it is over
        LOG.info("stack %s: traversal %s ran past the stack timeout", self.stack_id,
                 self.traversal_id)
        self.traversals.stop(self.stack_id, self.traversal_id,
                             f"Stack {self.action} timed out", rollback=self.rollback)
        self._stopped = True
        return True
