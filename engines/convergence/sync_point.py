"""Sync points: one row per graph node per traversal, collecting the node's inputs. The
writer whose input completes the set is the one that moves the traversal on, decided by a
compare-and-swap on ``atomic_key``, so concurrent workers never trigger a node twice.

A node whose inputs carry no data and may be as many as the stack has resources (the
barrier between updates and clean-ups, the stack's own completion) *counts* them instead
(``count``): each input is a marker row of its own, so an input sent twice counts once,
and ``atomic_key`` of the node's row is the number of inputs in. A write then costs the
same whatever the size of the stack, where merging would rewrite all inputs so far.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from typing import Any

import sqlalchemy as sa
from oslo_db import exception as db_exc
from oslo_log import log as logging

from engines.core import db as db_api
from engines.core.db import Database
from engines.core.models import Stack, SyncPoint, utcnow

LOG = logging.getLogger(__name__)


_T = SyncPoint.__table__
_PK = (_T.c.entity_id == sa.bindparam("e"), _T.c.traversal_id == sa.bindparam("t"),
       _T.c.is_update == sa.bindparam("u"))
# built once: every node of every traversal runs these
_READ = sa.select(_T.c.stack_id, _T.c.atomic_key, _T.c.input_data).where(*_PK)
_SWAP = (sa.update(_T).where(*_PK, _T.c.atomic_key == sa.bindparam("key"))
         .values(input_data=sa.bindparam("inputs", type_=_T.c.input_data.type),
                 atomic_key=sa.bindparam("key") + 1, updated_at=sa.bindparam("now")))
_RAISE = (sa.update(_T).where(*_PK)
          .values(atomic_key=_T.c.atomic_key + sa.bindparam("by"), updated_at=sa.bindparam("now")))
_COUNTED = sa.select(_T.c.atomic_key).where(*_PK)


def create_all(session: sa.orm.Session, stack_id: str, traversal_id: str,
               nodes: Iterable[tuple[str, bool]]) -> None:
    now = utcnow()
    rows = [dict(entity_id=entity_id, traversal_id=traversal_id, is_update=is_update,
                 stack_id=stack_id, atomic_key=0, input_data={}, created_at=now)
            for entity_id, is_update in nodes]
    if rows:
        session.execute(sa.insert(_T), rows)  # one executemany, not a unit of work


def sync(db: Database, traversal_id: str, entity_id: str, is_update: bool, sender: str,
         value: Any, required: set[str]) -> dict[str, Any] | None:
    """Record ``sender``'s input; return every input if this write completed the set.

    A lost compare-and-swap means another input got in first: read again and retry, after
    a jittered pause. Every loss is another sender's win, so the retries are bounded by the
    number of inputs (plus the deadlock allowance): beyond that it is a fault, and raised."""
    number = 0
    pk = {"e": entity_id, "t": traversal_id, "u": is_update}

    @db_api.retry_on_race(max_retries=len(required) + db_api.MAX_RETRIES)
    def attempt() -> dict[str, Any] | None:
        nonlocal number
        number += 1
        with db.connection() as c:
            row = c.execute(_READ, pk).first()
            if row is None:
                return None  # the traversal was cleaned up: nothing waits any more
            stack_id, key, stored = row
            inputs = dict(stored or {})
            was_complete = required <= inputs.keys()
            inputs[sender] = value
            swapped = c.execute(_SWAP, {**pk, "key": key, "inputs": inputs,
                                        "now": utcnow()}).rowcount
        if not swapped:
            LOG.debug("stack %s traversal %s: sync point %s/%s, input from %s lost the "
                      "compare-and-swap at atomic key %s (attempt %d); retrying",
                      stack_id, traversal_id, entity_id, _kind(is_update), sender,
                      key, number)
            raise db_api.LostRace(f"sync point {entity_id} of traversal {traversal_id}")
        if number > 1:
            LOG.debug("stack %s traversal %s: sync point %s/%s took the input from %s at "
                      "attempt %d", stack_id, traversal_id, entity_id, _kind(is_update),
                      sender, number)
        return inputs if (not was_complete and required <= inputs.keys()) else None

    return attempt()


def input_marker(entity_id: str, is_update: bool, sender: str) -> str:
    """The entity of the row that says ``sender`` is in for a counting node. Stored as a
    clean-up kind (is_update false) with no ``#<row id>`` ending, so it names no node."""
    digest = hashlib.sha1(f"{entity_id}|{_kind(is_update)}|{sender}".encode(),
                          usedforsecurity=False).hexdigest()
    return f"#input:{digest}"


def count(db: Database, stack_id: str, traversal_id: str, entity_id: str, is_update: bool,
          sender: str, required: int) -> bool:
    """Count ``sender`` in for a counting node that waits for ``required`` inputs; True for
    exactly one caller: the one whose input was the last. An input counted before (a check
    sent twice) changes nothing and returns False.

    One transaction: the node's counter is raised first, which makes rival senders to the
    same node queue behind it (a row lock on the servers, the write lock on SQLite), then
    the sender's marker row is inserted; a duplicate marker undoes the raise."""
    return count_many(db, stack_id, traversal_id, entity_id, is_update, [sender], required)


def count_many(db: Database, stack_id: str, traversal_id: str, entity_id: str,
               is_update: bool, senders: list[str], required: int) -> bool:
    """``count`` for several senders in one transaction: three statements whatever their
    number. Should one of them have been counted before, the whole batch is undone and
    each is counted on its own, so that the others still count once."""
    pk = {"e": entity_id, "t": traversal_id, "u": is_update}
    senders = list(dict.fromkeys(senders))

    @db_api.retry_on_race()
    def attempt() -> bool:
        now = utcnow()
        with db.connection() as c:
            if not c.execute(_RAISE, {**pk, "by": len(senders), "now": now}).rowcount:
                return False  # the traversal was cleaned up: nothing waits any more
            c.execute(sa.insert(_T), [
                dict(entity_id=input_marker(entity_id, is_update, sender),
                     traversal_id=traversal_id, is_update=False, stack_id=stack_id,
                     atomic_key=0, input_data=None, created_at=now)
                for sender in senders])
            return c.execute(_COUNTED, pk).scalar() == required

    try:
        return attempt()
    except db_exc.DBDuplicateEntry:
        if len(senders) > 1:
            return any([count(db, stack_id, traversal_id, entity_id, is_update, sender,
                              required) for sender in senders])
        LOG.debug("stack %s traversal %s: sync point %s/%s had the input from %s already",
                  stack_id, traversal_id, entity_id, _kind(is_update), senders[0])
        return False


def _kind(is_update: bool) -> str:
    return "update" if is_update else "cleanup"


def inputs_if_complete(db: Database, traversal_id: str, entity_id: str, is_update: bool,
                       required: set[str]) -> dict[str, Any] | None:
    with db.connection() as c:
        row = c.execute(_READ, {"e": entity_id, "t": traversal_id, "u": is_update}).first()
    if row is None:
        return None
    inputs = row.input_data or {}
    return dict(inputs) if required <= inputs.keys() else None


@db_api.retry_on_race()  # a delete of whole traversals may deadlock with their writers
def purge(db: Database, stack_id: str, *, keep_traversal: str | None = None,
          traversal: str | None = None) -> None:
    """Drop the sync points of superseded traversals (all but ``keep_traversal`` and the
    stack's current one) or of one finished ``traversal``. Never "all of the stack": once
    a traversal has marked the stack complete, the next operation may already have stored
    its own. The current traversal is read by the delete itself: the traversal that asks
    may have been superseded since it started (two failures that both started a rollback),
    and a purge by the older one, landing after the newer one's start, took the newer
    one's sync points with it and left its nodes waiting for ever."""
    if (keep_traversal is None) == (traversal is None):
        raise ValueError("purge needs exactly one of keep_traversal and traversal")
    with db.session() as s:
        query = sa.delete(SyncPoint).where(SyncPoint.stack_id == stack_id)
        if keep_traversal is not None:
            current = (sa.select(Stack.current_traversal).where(Stack.id == stack_id)
                       .scalar_subquery())
            query = query.where(SyncPoint.traversal_id != keep_traversal,
                                SyncPoint.traversal_id != sa.func.coalesce(current, ""))
        else:
            query = query.where(SyncPoint.traversal_id == traversal)
        s.execute(query)
