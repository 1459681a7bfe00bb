"""Moving a traversal on after a node is done: hand its output to the successors' sync
points, cast check_resource for every successor whose inputs are all in, and complete the
stack when the last node is in. And the one move a superseded traversal still makes: when
its worker releases a resource, re-send the newer traversal's checks of that resource,
which found the lock taken and gave up."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from oslo_log import log as logging

from engines.convergence import sync_point
from engines.convergence.graph import (
    BARRIER,
    Graph,
    Node,
    cleanup_entity,
    cleanup_name,
    cleanup_row_id,
    key,
    parse_key,
)
from engines.convergence.traversal import StackStatus, Traversals, stack_status
from engines.core.models import Resource
from engines.core.runtime import Runtime
from engines.core.status import IN_PROGRESS

LOG = logging.getLogger(__name__)


def update_outputs(inputs: dict[str, Any]) -> dict[str, Any]:
    """Sync point inputs -> the data a node resolves against: update outputs by name."""
    result = {}
    for sender, value in inputs.items():
        name, is_update = parse_key(sender)
        if is_update:
            result[name] = value
    return result


READ_IT = object()  # propagate's ``stack`` when the caller has not read it


def propagate(rt: Runtime, traversals: Traversals, stack_id: str, traversal_id: str,
              template_id: int | None, graph: Graph, node: Node,
              output: dict[str, Any], *, stack: StackStatus | None | object = READ_IT
              ) -> None:
    """``node`` of ``traversal_id`` is done with ``output``: move the traversal on, if it is
    still the stack's current one (``stack``: its status as the node's check read it when
    it released the resource, the moment its work ended; read now if not given).

    A successor that would do nothing is passed here instead of being sent to a worker:
    the barrier, and the clean-up of a row that is the current one of a resource the
    target template keeps (``nothing_to_clean``), which is every row of an update that
    replaces nothing. Sending them would cost a message and a check each, and half the
    checks of an update."""
    if stack is READ_IT:
        stack = stack_status(rt.db, stack_id)
    if not isinstance(stack, StackStatus) or not stack.runs(traversal_id):
        return
    done = [(node, output)]
    roots_done: list[str] = []
    while done:
        node, output = done.pop()
        sender = key(node)
        successors = graph.successors(node)
        # clean-ups whose one input is this node are complete now: whether they have
        # anything to do is read for all of them at once, and one with nothing to do is
        # passed without writing its sync point, which nothing would read again (it is
        # never sent, so never sent again)
        fed_here = {s for s in successors if graph.requires[s] == {node}}
        idle = _nothing_to_clean(rt, graph, list(fed_here))
        for successor in successors:
            if successor == BARRIER:
                if sync_point.count(rt.db, stack_id, traversal_id, BARRIER[0], BARRIER[1],
                                    sender, len(graph.requires[BARRIER])):
                    done.append((BARRIER, {}))
                continue
            if successor in idle:
                done.append((successor, {}))
                continue
            inputs = sync_point.sync(rt.db, traversal_id, successor[0], successor[1],
                                     sender, output, graph.required_keys(successor))
            if inputs is None:
                continue
            if successor not in fed_here and nothing_to_clean(rt, graph, successor):
                done.append((successor, {}))
            else:
                traversals.cast(stack_id, traversal_id, template_id, successor[0],
                                successor[1], update_outputs(inputs))
        if graph.is_root(node):
            roots_done.append(sender)
    # the roots this move finished are counted in at once: after the barrier, those are
    # every clean-up with nothing to do, as many as the stack has resources
    if roots_done and sync_point.count_many(rt.db, stack_id, traversal_id, stack_id, True,
                                            roots_done, len(graph.roots())):
        traversals.complete(stack_id, traversal_id)


_IN_CHUNK = 500  # below every backend's limit on bound parameters
_REPLACED_BY = sa.select(Resource.__table__.c.id, Resource.__table__.c.replaced_by).where(
    Resource.__table__.c.id.in_(sa.bindparam("ids", expanding=True)))


def nothing_to_clean(rt: Runtime, graph: Graph, node: Node) -> bool:
    """A clean-up node whose check would find nothing to do, as the check decides it
    (``CheckResource.cleanup``): its row is gone, or is the current copy of a resource of
    the target template (whose names are the graph's update nodes). Every update node is
    done before any clean-up starts, so what is read now is what the check would read."""
    return node in _nothing_to_clean(rt, graph, [node])


def _nothing_to_clean(rt: Runtime, graph: Graph, nodes: list[Node]) -> set[Node]:
    """Those of ``nodes`` that ``nothing_to_clean`` holds for, read in one statement per
    ``_IN_CHUNK`` rows."""
    rows = {cleanup_row_id(n[0]): n for n in nodes if not n[1] and n != BARRIER}
    if not rows:
        return set()
    ids = list(rows)
    found: dict[int, int | None] = {}
    with rt.db.connection() as c:
        for start in range(0, len(ids), _IN_CHUNK):
            found.update(c.execute(_REPLACED_BY, {"ids": ids[start:start + _IN_CHUNK]}).all())
    idle = set()
    for row_id, node in rows.items():
        if row_id not in found or (found[row_id] is None
                                   and (cleanup_name(node[0]), True) in graph.requires):
            idle.add(node)
    return idle


def retrigger_if_superseded(rt: Runtime, traversals: Traversals, stack_id: str,
                            traversal_id: str, row: Resource) -> None:
    """A check of ``traversal_id`` released ``row``: if a newer traversal is current, its
    checks of this resource (update or clean-up) may have found the lock taken and given
    up; send again those whose inputs are all in. A check sent twice finds nothing left
    to do the second time."""
    stack = stack_status(rt.db, stack_id)
    if stack is not None:
        resend_waiting(rt, traversals, stack, traversal_id, row)


def resend_waiting(rt: Runtime, traversals: Traversals, stack: StackStatus,
                   traversal_id: str, row: Resource) -> None:
    """``retrigger_if_superseded`` with the stack's status as read when ``row`` was
    released (in the same transaction)."""
    if stack.current_traversal in (None, traversal_id) or stack.status != IN_PROGRESS:
        return
    current = stack.current_traversal
    state = traversals.state(stack.id, current)
    if state is None:
        return  # superseded again meanwhile: the newest one finds the lock free
    graph = state.graph
    for waiting in ((row.name, True), (cleanup_entity(row.name, row.id), False)):
        if waiting not in graph.requires:
            continue
        inputs = sync_point.inputs_if_complete(rt.db, current, waiting[0], waiting[1],
                                               graph.required_keys(waiting))
        if inputs is not None:
            LOG.info("stack %s: resource %s (id %s) released by superseded traversal %s; "
                     "re-sending %s of traversal %s", stack.id, row.name, row.id,
                     traversal_id, key(waiting), current)
            traversals.cast(stack.id, current, state.template_id, waiting[0], waiting[1],
                            update_outputs(inputs))
