"""The fuzzer's "a rollback brings back what it replaced" check (what a rollback that makes a
new copy beside the old one breaks), and the cases where a new copy is right."""

from __future__ import annotations

from engines.observe import PhysicalCopy
from harness.fuzz.restores import had, restore_problems

PROPS = {"value": "c1"}


def _copy(physical_id: str, name: str = "C", props: dict | None = None,
          type_name: str = "OS::Heat::TestResource") -> PhysicalCopy:
    return PhysicalCopy(physical_id, "s", name, type_name, dict(props or PROPS))


def _event(physical_id: str, action: str, status: str, reason: str = "state changed",
           name: str = "C") -> dict:
    return {"resource_name": name, "physical_id": physical_id, "action": action,
            "status": status, "reason": reason}


BEFORE = had("v1", [_copy("old"), _copy("a", name="A")], events_seen=1)
EARLIER = [_event("old", "CREATE", "COMPLETE")]


def test_the_old_copy_back_passes():
    events = EARLIER + [_event("new", "CREATE", "COMPLETE"), _event("new", "DELETE", "COMPLETE")]
    assert restore_problems(BEFORE, [_copy("old"), _copy("a", name="A")], events) == []


def test_a_new_copy_made_beside_the_old_one_is_named():
    events = EARLIER + [_event("new", "CREATE", "COMPLETE"),  # the update's replacement
                        _event("again", "CREATE", "COMPLETE"),  # the rollback's new copy
                        _event("old", "DELETE", "COMPLETE")]
    [problem] = restore_problems(BEFORE, [_copy("again"), _copy("a", name="A")], events)
    assert problem.startswith("C: the rollback made a new copy (again)")
    assert "old one (old)" in problem


def test_a_new_copy_is_right_where_the_old_one_was_gone_or_harmed_first():
    for harm in (_event("old", "DELETE", "IN_PROGRESS"),  # the update removed it
                 _event("old", "UPDATE", "FAILED"),  # Heat replaces a FAILED resource
                 _event("old", "UPDATE", "IN_PROGRESS", reason="UPDATE cancelled")):
        events = EARLIER + [harm, _event("again", "CREATE", "COMPLETE")]
        assert restore_problems(BEFORE, [_copy("again")], events) == [], harm


def test_events_before_the_last_complete_do_not_excuse():
    before = had("v1", [_copy("old")], events_seen=2)
    events = [_event("old", "UPDATE", "FAILED"), _event("old", "UPDATE", "COMPLETE"),
              _event("again", "CREATE", "COMPLETE"), _event("old", "DELETE", "COMPLETE")]
    assert len(restore_problems(before, [_copy("again")], events)) == 1


def test_a_copy_that_must_differ_from_the_old_one_is_no_claim():
    events = EARLIER + [_event("again", "CREATE", "COMPLETE")]
    assert restore_problems(BEFORE, [_copy("again", props={"value": "c1-x"})], events) == []
    assert restore_problems(BEFORE, [_copy("again", type_name="OS::Heat::None")],
                            events) == []


def test_names_that_had_two_copies_or_none_are_no_claim():
    before = had("v1", [_copy("old"), _copy("older")], events_seen=0)
    events = [_event("again", "CREATE", "COMPLETE")]
    assert restore_problems(before, [_copy("again")], events) == []
    assert restore_problems(had("v1", [], 0), [_copy("again")], events) == []
