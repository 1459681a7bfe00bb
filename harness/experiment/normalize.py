"""Normalisation: what makes two runs comparable. Physical ids become ``NAME#n`` (n counts
the copies of that logical resource in order of first appearance), so "C was replaced" reads
the same on both paths; ids, uuids and timestamps are not kept at all.

Two more things make a run comparable without hiding anything a path does:

- **what the engine declares random**: the values of ``RANDOM_TYPES`` resources' attributes,
  and every value they flow into (a property through ``get_attr``, an output, a string built
  with ``str_replace``/``list_join``). ``mask_random`` replaces each of them by a token
  naming its source (``<random Secret#1.value>``): two runs that differ only there are
  equal once masked, while a value taken from the wrong source, or not random at all on one
  side, still differs. Everything else that differs between two repeats of one path is
  flaky (harness.experiment.classify);
- **concurrent events of one logical name**: two physical copies of B (the old one and its
  replacement) deleted at once by the convergence path interleave their events in any
  order; within such an overlap the events are listed copy by copy (each copy's own order
  kept), so the interleaving, which is timing, is not read as the path's behaviour;
- **nested stacks** are in the snapshot by path (``db/R``; ``stacks.db`` for the stack
  itself): their resources' ids are named as any (``db/R#1``), the stack's own id is its
  owner's physical id (``db#1``), wherever it appears; its name (OS::Heat::Stack's
  ``stack_name``) ends in a random short id, as Heat's, which becomes ``<short-id>``;
- **rows stored ahead of the work**: the convergence path stores a row for every resource
  of the new template when its traversal starts, as Heat's does, where the legacy path
  stores one when it reaches the resource; a row that was never acted on (INIT_COMPLETE,
  nothing physical, not paused at a hook) is no resource a user has, and is left out. A
  resource one path made and the other did not still differs (a status against nothing).
"""

from __future__ import annotations

import copy
import re
from typing import Any

_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
# a nested stack's name ends in a short random id, as Heat's (<parent>-<resource>-<id>)
_NESTED_NAME_ID = re.compile(r"(?<=-)[0-9a-f]{12}\b")

# the resource types whose attribute values the engine declares random (DESIGN: "a real
# source of non-determinism"); the snapshot shows a resource's concrete type, aliases
# resolved, so an aliased RandomString is still one
RANDOM_TYPES = frozenset({"OS::Heat::RandomString"})
# a random value this long is looked for inside longer strings (str_replace, list_join);
# a shorter one only as a whole value: a 3-letter string inside a status reason is chance
EMBEDDED_MIN_LENGTH = 6


class IdNames:
    """Gives each physical id a stable name, per logical resource."""

    def __init__(self) -> None:
        self.names: dict[str, str] = {}
        self._counts: dict[str, int] = {}

    def name(self, logical: str, physical_id: str | None) -> str | None:
        if physical_id is None:
            return None
        if physical_id not in self.names:
            self._counts[logical] = self._counts.get(logical, 0) + 1
            self.names[physical_id] = f"{logical}#{self._counts[logical]}"
        return self.names[physical_id]

    def text(self, value: str) -> str:
        """Replace known physical ids in free text (reasons); other uuids become <uuid>,
        and the short random id that ends a nested stack's name ``<short-id>``."""
        for physical_id, name in self.names.items():
            value = value.replace(physical_id, name)
        return _NESTED_NAME_ID.sub("<short-id>", _UUID.sub("<uuid>", value))


def normalize_value(value: Any, ids: IdNames) -> Any:
    """Physical ids inside property and attribute values (get_resource) become names."""
    if isinstance(value, str):
        return ids.text(value)
    if isinstance(value, list):
        return [normalize_value(v, ids) for v in value]
    if isinstance(value, dict):
        return {k: normalize_value(v, ids) for k, v in value.items()}
    return value


def _settled_events(events: list[str], copies: list[str | None]) -> list[str]:
    """``events`` of one logical name, each overlap of two or more physical copies listed
    copy by copy. An overlap is a stretch during which some copy has an action open
    (IN_PROGRESS seen, its end not yet); copies are ordered by what they did, so the result
    does not depend on which started first. A stretch with an event of no physical id (a
    create not yet given one) is left as it happened: it cannot be told apart."""
    if len(copies) != len(events):
        return events
    copies = _creates_given_their_ids(events, copies)
    if len(set(copies)) < 2:
        return events
    result: list[str] = []
    block: list[tuple[str | None, str]] = []
    open_: set[str | None] = set()
    for event, physical in zip(events, copies, strict=True):
        block.append((physical, event))
        if event.endswith("_IN_PROGRESS"):
            open_.add(physical)
        else:
            open_.discard(physical)
        if not open_:
            result += _block_order(block)
            block = []
    return result + _block_order(block)


def _creates_given_their_ids(events: list[str], copies: list[str | None]
                             ) -> list[str | None]:
    """A create starts before its resource has a physical id, and ends with one: its
    IN_PROGRESS event is of the copy its end names. Without this the open create would
    never close, and every later overlap of that name would be left in the order it
    happened (seen as a flaky order of two copies' deletes)."""
    copies = list(copies)
    started: list[int] = []  # IN_PROGRESS events of no physical id, not yet ended
    open_: set[str | None] = set()
    for index, (event, physical) in enumerate(zip(events, copies, strict=True)):
        if event.endswith("_IN_PROGRESS"):
            if physical is None:
                started.append(index)
            else:
                open_.add(physical)
        elif physical is not None and physical not in open_ and started:
            copies[started.pop(0)] = physical
        else:
            open_.discard(physical)
    return copies


def _block_order(block: list[tuple[str | None, str]]) -> list[str]:
    owners = [physical for physical, _ in block]
    # only copies doing the same thing at once (two deletes) are timing; a delete of the
    # old copy that overlaps the create of the new one is an order the path chose
    actions = {event.split("_", 1)[0] for _, event in block}
    if None in owners or len(set(owners)) < 2 or len(actions) > 1:
        return [event for _, event in block]
    chains: dict[str | None, list[str]] = {}
    for physical, event in block:
        chains.setdefault(physical, []).append(event)
    return [event for chain in sorted(chains.values()) for event in chain]


def _never_acted_on(res: dict[str, Any]) -> bool:
    return (res.get("status") == "INIT_COMPLETE" and res.get("physical_id") is None
            and not res.get("hooks"))


def normalize(snapshots: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Normalise a run's snapshots (raw, as harness.experiment.observation takes them), in
    step order."""
    ids = IdNames()
    result = []
    for raw in snapshots:
        snap = copy.deepcopy(raw)
        if snap.get("resources"):
            snap["resources"] = {name: res for name, res in snap["resources"].items()
                                 if not _never_acted_on(res)}
        for name, res in snap.get("resources", {}).items():
            res["physical_id"] = ids.name(name, res.get("physical_id"))
        for res in snap.get("resources", {}).values():
            res["properties"] = normalize_value(res.get("properties", {}), ids)
            res["attributes"] = normalize_value(res.get("attributes", {}), ids)
        if snap.get("stack") and "reason" in snap["stack"]:
            snap["stack"]["reason"] = ids.text(snap["stack"].get("reason") or "")
        # a nested stack's id is its owner's physical id (``db#1`` by now), in its reason
        # and outputs as anywhere else
        for nested in (snap.get("stacks") or {}).values():
            nested["reason"] = ids.text(nested.get("reason") or "")
            nested["outputs"] = normalize_value(nested.get("outputs", {}), ids)
        snap["outputs"] = normalize_value(snap.get("outputs", {}), ids)
        snap.pop("resource_reasons", None)  # for expectations, never compared
        copies = snap.pop("event_copies", None) or {}
        if snap.get("events"):
            snap["events"] = {name: _settled_events(seq, copies.get(name, []))
                              for name, seq in snap["events"].items()}
        snap.pop("physical", None)
        result.append(snap)
    return result


def random_sources(snapshots: list[dict[str, Any]]) -> dict[str, str]:
    """Every random value seen in a normalised run, with the token naming its source."""
    found: dict[str, str] = {}
    for snap in snapshots:
        for res in (snap.get("resources") or {}).values():
            if res.get("type") not in RANDOM_TYPES:
                continue
            for attribute, value in sorted((res.get("attributes") or {}).items()):
                if isinstance(value, str) and value and value not in found:
                    found[value] = f"<random {res.get('physical_id')}.{attribute}>"
    return found


def _masked(value: Any, sources: dict[str, str], longest_first: list[str]) -> Any:
    if isinstance(value, str):
        if value in sources:
            return sources[value]
        for random in longest_first:
            if random in value:
                value = value.replace(random, sources[random])
        return value
    if isinstance(value, list):
        return [_masked(v, sources, longest_first) for v in value]
    if isinstance(value, dict):
        return {k: _masked(v, sources, longest_first) for k, v in value.items()}
    return value


def mask_random(snapshots: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The normalised run with every random value, and every value derived from one,
    replaced by the token of its source: what two repeats of one path must agree on."""
    sources = random_sources(snapshots)
    if not sources:
        return snapshots
    embedded = sorted((v for v in sources if len(v) >= EMBEDDED_MIN_LENGTH),
                      key=lambda v: (-len(v), v))
    return [_masked(snap, sources, embedded) for snap in snapshots]
