"""The RPC endpoint of a convergence worker: takes a check_resource message, drops it if
its traversal is no longer the stack's current one, hands the node to its logic
(``check_resource``) and moves the traversal on (``propagate``).

A worker that finds its traversal superseded stops moving it on; a worker that releases a
lock after its traversal was superseded re-sends the newer traversal's check for that
node, since that check found the lock taken and gave up.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import sqlalchemy as sa
from oslo_log import log as logging

from engines.convergence import propagate
from engines.convergence.check_resource import CheckResource, Locked, Released, row_by_id
from engines.convergence.graph import BARRIER, Graph, Node, cleanup_row_id
from engines.convergence.interruption import Interruption, rolls_back_on_timeout
from engines.convergence.nested_waits import NestedWaits, is_stack_resource, waits_on_nested
from engines.convergence.propagate import READ_IT
from engines.convergence.traversal import StackStatus, Traversals, stack_status
from engines.convergence.traversal_state import TraversalState
from engines.core import crash_points
from engines.core.converge import Superseded
from engines.core.errors import Cancelled, ResourceFailure
from engines.core.models import Resource
from engines.core.resource_actions import ResourceActions
from engines.core.runtime import Runtime
from engines.core.template import Template

LOG = logging.getLogger(__name__)


class Worker:
    """The endpoint. ``_cleanup`` and ``_propagate`` stay methods of it (and
    ``ResourceActions`` a name of this module): they are the seams the harness's mutants
    patch to prove a broken path gets caught."""

    def __init__(self, rt: Runtime, traversals: Traversals) -> None:
        self.rt = rt
        self.traversals = traversals
        self.node_logic = CheckResource(rt, traversals)
        self.nested_waits = NestedWaits()

    def check_resource(self, ctxt: dict, stack_id: str, traversal_id: str,
                       template_id: int | None, name: str, is_update: bool,
                       data: dict[str, Any]) -> None:
        crash_points.on_check(name)  # a chaos test's, when armed; nothing otherwise
        self._guarded(self._check, stack_id, traversal_id, template_id, name, is_update, data)

    def _guarded(self, check: Callable[..., None], stack_id: str, traversal_id: str,
                 template_id: int | None, name: str, *args: Any) -> None:
        try:
            check(stack_id, traversal_id, template_id, name, *args)
        except Exception as exc:  # noqa: BLE001 - a worker must survive a bad message
            LOG.exception("stack %s: check_resource of %s for traversal %s failed", stack_id,
                          name, traversal_id)
            self.traversals.fail(stack_id, traversal_id,
                                 f"Internal error on {name}: {type(exc).__name__}: {exc}")

    def stop(self) -> None:
        """After the server stopped taking messages: the checks waiting on nested stacks."""
        self.nested_waits.join()

    def _check(self, stack_id: str, traversal_id: str, template_id: int | None, name: str,
               is_update: bool, data: dict[str, Any]) -> None:
        # the few columns a check needs, and the traversal's graph decoded once per process
        stack = stack_status(self.rt.db, stack_id, parameters=True)
        state = self.traversals.state(stack_id, traversal_id) if stack is not None else None
        if stack is None or state is None or not stack.runs(traversal_id):
            LOG.debug("stack %s: check of %s dropped: traversal %s is not current",
                      stack_id, name, traversal_id)
            return
        action = state.action_of(stack)
        if state.timed_out(stack.timeout):
            self.traversals.stop(stack_id, traversal_id, f"Stack {action} timed out",
                                 rollback=rolls_back_on_timeout(stack, action))
            return
        template = self.traversals.template(traversal_id, template_id, stack.parameters)
        watch = Interruption(self.rt, self.traversals, stack, traversal_id, state)
        if self._waits_on_nested(template, name, is_update, state):
            def stopped() -> bool:  # a stopping worker gives up the wait, as at a hook
                return self.rt.stopping.is_set() or watch.cancelled()
            actions = ResourceActions(self.rt, stack_id, stopped, watch.hook_cancelled,
                                      operation=action, hooks=state.hooks)
            self.nested_waits.run(name, functools.partial(
                self._guarded, self._act, stack_id, traversal_id, template_id, template,
                name, is_update, data, state, actions, watch))
            return
        actions = ResourceActions(self.rt, stack_id, watch.cancelled, watch.hook_cancelled,
                                  operation=action, hooks=state.hooks)
        self._act(stack_id, traversal_id, template_id, template, name, is_update, data,
                  state, actions, watch)

    def _waits_on_nested(self, template: Template | None, name: str, is_update: bool,
                         state: TraversalState) -> bool:
        if (name, is_update) == BARRIER:
            return False
        if is_update:
            return waits_on_nested(template, name)
        if state.nested_rows is not None:
            return cleanup_row_id(name) in state.nested_rows
        return is_stack_resource(self._type_of_row(cleanup_row_id(name)))

    def _type_of_row(self, resource_id: int) -> str | None:
        with self.rt.db.connection() as c:
            return c.execute(sa.select(Resource.type).where(Resource.id == resource_id)
                             ).scalar()

    def _act(self, stack_id: str, traversal_id: str, template_id: int | None,
             template: Template | None, name: str, is_update: bool, data: dict[str, Any],
             state: TraversalState, actions: ResourceActions,
             watch: Interruption | None = None) -> None:
        node = (name, is_update)
        released = Released()
        try:
            if node == BARRIER:
                output: dict[str, Any] = {}
            elif is_update:
                output = self.node_logic.update(stack_id, traversal_id, template_id, template,
                                                name, data, actions, released, watch)
            else:
                output = self._cleanup(stack_id, traversal_id, template, cleanup_row_id(name),
                                       state, actions, released, watch)
        except Superseded as exc:
            LOG.info("stack %s: check of %s stopped before acting: %s", stack_id, name, exc)
            return
        except (Locked, Cancelled):
            return
        except ResourceFailure as exc:
            self.traversals.fail(stack_id, traversal_id,
                                 f"Resource {exc.action} failed: {exc}")
            return
        self._propagate(stack_id, traversal_id, template_id, state.graph, node, output,
                        stack=released.stack)

    def _rows_by_id(self, resource_id: int) -> Resource | None:
        return row_by_id(self.rt.db, resource_id)

    def _cleanup(self, stack_id: str, traversal_id: str, template: Template | None,
                 row_id: int, state: TraversalState, actions: ResourceActions,
                 released: Released | None = None, watch: Interruption | None = None
                 ) -> dict[str, Any]:
        return self.node_logic.cleanup(stack_id, traversal_id, template, row_id, state,
                                       actions, released, watch)

    def _propagate(self, stack_id: str, traversal_id: str, template_id: int | None,
                   graph: Graph, node: Node, output: dict[str, Any], *,
                   stack: StackStatus | None | object = READ_IT) -> None:
        propagate.propagate(self.rt, self.traversals, stack_id, traversal_id, template_id,
                            graph, node, output, stack=stack)
