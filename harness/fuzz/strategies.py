"""Hypothesis strategies for cases: a random DAG template, update templates derived by
mutation, and a sequence of acts (create, update, rollback, delete, faults, breakpoints,
slow actions, and a second operation while the first is in progress).

Every choice is a Hypothesis draw whose simplest value is the plainest story (the first
act kind is ``plain``, fewer resources, no edges), so Hypothesis's shrinking turns a
finding into the smallest case that still shows it. Where an act stops, slows or fails one
resource, the template is ``isolate``d around it, so the case is a deterministic story and
not a race: a generated case must be as reproducible as a hand-written scenario."""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

from harness.fuzz.model import ATTRIBUTE, EDGE_KINDS, NAMES, Model, Res, valid_refs
from harness.fuzz.story import Case, Story

KINDS = ("test", "test", "none", "value", "random")
# the simplest first (what shrinking goes to); the hardest for the paths more than once
MUTATIONS = ("change", "add", "remove", "rename", "replace", "invert", "replace")
CREATE_ACTS = ("plain", "fail", "fault", "latency", "hook", "slow", "hook")
UPDATE_ACTS = ("plain", "fail", "fault", "hook", "slow", "refused-rollback", "hook", "fail",
               "fail")
FINAL_ACTS = ("plain", "hold", "fault")
SLOW = (0.3, 0.4, 0.5)  # s: long enough to be seen under load, short enough to be fast
# s: an action that a delete or rollback is to find running. A stopped action ends at once,
# so this costs nothing unless the stop fails; a short one could finish before a busy
# engine's delete commits, and the story would then depend on the machine's load.
INTERRUPTED = 30.0
STOPS = ("delete", "rollback")  # second acts that stop running work


@st.composite
def models(draw: Any, max_resources: int = 4) -> Model:
    """A DAG of 1..max_resources resources: resource i may use any of 0..i-1."""
    model = Model()
    if draw(st.booleans()):
        model.parameters["p"] = "p0"
    for index in range(draw(st.integers(1, max(1, max_resources)))):
        name = NAMES[index]
        kind = draw(st.sampled_from(KINDS))
        refs = []
        if index:
            refs = draw(st.lists(st.tuples(st.integers(0, index - 1),
                                           st.sampled_from(EDGE_KINDS)), max_size=2))
        res = Res(kind, f"{name.lower()}0", valid_refs(model, [(NAMES[j], k) for j, k in refs]))
        if kind == "test" and draw(st.booleans()):
            res.replace_value = "r0"
        if model.parameters and draw(st.booleans()):
            res.param = "p"
        model.resources[name] = res
    for name in draw(st.lists(st.sampled_from(sorted(model.resources)), max_size=2,
                              unique=True)):
        kind = "get_attr" if model.resources[name].kind in ATTRIBUTE else "get_resource"
        model.outputs[f"{name.lower()}_out"] = (name, kind)
    return model


def _pick(draw: Any, names: list[str]) -> str | None:
    return draw(st.sampled_from(sorted(names))) if names else None


def _tests(model: Model, *, in_place: bool = False) -> list[str]:
    return [n for n, r in model.resources.items() if r.kind == "test"
            and not (in_place and r.update_replace)]


def _in_place(model: Model) -> list[str]:
    """Resources a value change updates in place (a replacement passes no pre-update)."""
    return [n for n, r in model.resources.items() if r.kind in ("value", "none")
            or (r.kind == "test" and not r.update_replace)]


def mutate(draw: Any, story: Story, model: Model) -> Model:
    """An update template: 1..3 mutations of ``model``."""
    new = model.copy()
    for res in new.resources.values():
        res.fail, res.wait = False, None
    done = []
    for kind in draw(st.lists(st.sampled_from(MUTATIONS), min_size=1, max_size=3)):
        target = _pick(draw, list(new.resources))
        if kind == "change":
            done.append(new.change_value(target, story.fresh(target)))
        elif kind == "add":
            refs = draw(st.lists(st.tuples(st.sampled_from(sorted(new.resources)),
                                           st.sampled_from(EDGE_KINDS)), max_size=2))
            done.append(new.add(draw(st.sampled_from(KINDS)), story.fresh("n"), refs))
        elif kind == "remove":
            done.append(new.remove(target))
        elif kind == "rename":
            done.append(new.rename(target))
        elif kind == "replace":
            how = draw(st.sampled_from(("replace_value", "update_replace", "type")))
            done.append(new.force_replace(target, how, story.fresh(target)))
        else:
            done.append(new.invert(target, draw(st.integers(0, 2))))
    story.acts.append("update: " + (", ".join(d for d in done if d) or "no change"))
    return new


def _isolated(model: Model, name: str) -> Model:
    shown = model.copy()
    shown.isolate(name)
    return shown


def _rollback_flag(draw: Any, story: Story) -> bool | None:
    """disable_rollback for an act that fails: a rollback may not bring back a template
    whose environment holds breakpoints."""
    if story.hooked or draw(st.booleans()):
        return True
    return None


# -- the first act: create ------------------------------------------------------------------
def create_act(draw: Any, story: Story, model: Model) -> None:
    how = draw(st.sampled_from(CREATE_ACTS))
    x = _pick(draw, _tests(model) if how in ("fail", "slow") else list(model.resources))
    if x is None:
        how = "plain"
    story.current, story.status = model, "complete"
    if how == "plain":
        story.acts.append("create")
        story.operate("create", model, disable_rollback=draw(st.sampled_from((None, True))))
    elif how in ("fail", "fault"):
        shown = _isolated(model, x)
        if how == "fail":
            shown.resources[x].fail = True
        else:
            story.step("fault", {"resource": x, "action": "CREATE"})
        disable = draw(st.sampled_from((None, True)))
        story.acts.append(f"create, {x} fails ({how})"
                          + (" without rollback" if disable else ""))
        story.operate("create", shown, disable_rollback=disable)
        story.status = "other"
    elif how == "latency":
        story.acts.append(f"create, {x} slow (latency)")
        story.step("fault", {"resource": x, "action": "CREATE",
                             "latency": draw(st.sampled_from(SLOW))})
        story.operate("create", model)
    elif how == "hook":
        story.acts.append(f"create, {x} held at pre-create")
        story.operate("create", _isolated(model, x), environment=story.hold(x, "pre-create"),
                      wait=False)
        story.wait_for(x, hook="pre-create")
        # a rollback of a create in progress is a cancel with rollback (Heat's stack
        # cancel): the create stops at the breakpoint and the stack rolls back to nothing
        _second(draw, story, model, x, "pre-create", ("signal", "delete", "rollback", "update"))
    else:
        shown = _isolated(model, x)
        second = _draw_second(draw, story, ("wait", "delete", "update"))
        shown.resources[x].wait = {"create": _slowness(draw, second)}
        story.acts.append(f"create, {x} slow")
        story.operate("create", shown, wait=False)
        story.wait_for(x, status="CREATE_IN_PROGRESS")
        _second(draw, story, model, x, None, second)


def _draw_second(draw: Any, story: Story, choices: tuple[str, ...]) -> str:
    second = draw(st.sampled_from(choices))
    if second == "rollback" and story.hooked_before:
        second = choices[0]  # the template it would bring back holds breakpoints
    return second


def _slowness(draw: Any, second: str) -> float:
    return INTERRUPTED if second in STOPS else draw(st.sampled_from(SLOW))


def _second(draw: Any, story: Story, model: Model, x: str, hook: str | None,
            choices: tuple[str, ...] | str) -> None:
    """The second operation while the first is held (at ``hook``) or slow at ``x``
    (drawn from ``choices``, or drawn already); ``model`` is what the stack becomes if the
    first one finishes."""
    second = choices if isinstance(choices, str) else _draw_second(draw, story, choices)
    story.acts.append(f"then {second}")
    if second in ("signal", "wait"):
        if hook:
            story.step("signal", {"resource": x, "hook": hook})
        story.step("wait")
        story.current = model
    elif second == "delete":
        story.operate("delete")
        story.alive = False
    elif second == "rollback":
        story.operate("rollback")
        story.hooked, story.status = False, "other"
    else:
        story.only("convergence", "an update of a busy stack supersedes it")
        new = mutate(draw, story, model)
        story.operate("update", new)
        story.current, story.status = new, "complete"


# -- the acts in between: updates -----------------------------------------------------------
def update_act(draw: Any, story: Story) -> None:
    how = draw(st.sampled_from(UPDATE_ACTS))
    current = story.current
    story.hooked_before = story.hooked
    if how in ("fault", "hook", "slow") and story.status != "complete":
        how = "plain"  # they act on resources that must exist, complete, as they are
    if how == "refused-rollback" and story.status == "complete":
        story.acts.append("rollback with nothing to roll back")
        story.step("rollback", {"expect_error": "InvalidOperation"})
        return
    if how == "fail":
        new = mutate(draw, story, current)
        x = _pick(draw, _tests(new))
        if x is not None:
            what = f"{x} fails"
            # a replacement done before the failure, or the failing one's own, is what a
            # rollback must undo by bringing the old copy back: made likely, not left to
            # the mutations' chance
            before = [n for n in _tests(new) if n not in new.descendants(x)]
            if before and draw(st.integers(0, 7)):  # seven times in eight
                y = _pick(draw, before)
                what += ", after " + (new.force_replace(y, "replace_value", story.fresh(y))
                                      or f"replacing {y}")
            shown = _isolated(new, x)
            shown.resources[x].fail = True
            _failing_update(draw, story, shown, new, what)
            return
        how = "plain"
    if how == "fault":
        new = current.copy()
        x = _pick(draw, _tests(new, in_place=True))
        if x is None or draw(st.booleans()):  # a new resource whose create fails
            new.add("test", story.fresh("n"), [])
            x, action = list(new.resources)[-1], "CREATE"
        else:
            new.change_value(x, story.fresh(x))
            action = "UPDATE"
        story.step("fault", {"resource": x, "action": action})
        _failing_update(draw, story, _isolated(new, x), new, f"{action} of {x} fails")
        return
    if how in ("hook", "slow"):
        x = _pick(draw, _in_place(current) if how == "hook"
                  else _tests(current, in_place=True))
        if x is not None:
            _held_update(draw, story, x, how)
            return
    new = mutate(draw, story, current)
    params = None  # the values the stack has now
    if new.parameters:
        how_params = draw(st.sampled_from(("keep", "new", "reset")))
        # reset: left out, so back to the template's defaults (a PUT update, as in Heat)
        params = {"keep": None, "new": {"p": story.fresh("p")}, "reset": {}}[how_params]
    story.operate("update", new, parameters=params,
                  disable_rollback=draw(st.sampled_from((None, True))))
    story.current, story.status = new, "complete"


def _failing_update(draw: Any, story: Story, shown: Model, new: Model, what: str) -> None:
    disable = _rollback_flag(draw, story)
    story.operate("update", shown, disable_rollback=disable)
    if disable and not story.hooked_before and draw(st.booleans()):
        story.acts.append(f"update, {what}, then a rollback")
        story.operate("rollback")
        story.hooked, story.status = False, "other"
    elif disable:
        story.acts.append(f"update, {what}, no rollback")
        story.current, story.status = new, "other"
    else:
        story.acts.append(f"update, {what}, rolled back")
        story.status = "other"


def _held_update(draw: Any, story: Story, x: str, how: str) -> None:
    """An update held (or slow) at ``x``, changed in place; with other changes too, made
    before ``x`` (isolated), such as replacements a rollback must undo."""
    new = story.current.copy()
    if draw(st.booleans()):
        changed = mutate(draw, story, story.current)
        if x in changed.resources and x in _in_place(changed) and \
                changed.resources[x].kind == new.resources[x].kind and \
                changed.resources[x].replace_value == new.resources[x].replace_value:
            new = changed
    for res in new.resources.values():
        res.fail, res.wait = False, None
    new.change_value(x, story.fresh(x))
    shown = _isolated(new, x)
    environment = None
    second = _draw_second(draw, story, ("signal", "rollback", "delete", "update")
                          if how == "hook" else ("wait", "rollback", "delete", "update"))
    if how == "hook":
        story.acts.append(f"update, {x} held at pre-update")
        environment = story.hold(x, "pre-update")
    elif draw(st.booleans()):
        story.acts.append(f"update, {x} slow (latency)")
        story.step("fault", {"resource": x, "action": "UPDATE",
                             "latency": _slowness(draw, second)})
    else:
        story.acts.append(f"update, {x} slow")
        shown.resources[x].wait = {"update": _slowness(draw, second)}
    story.operate("update", shown, environment=environment, wait=False)
    if how == "hook":
        story.wait_for(x, hook="pre-update")
        _second(draw, story, new, x, "pre-update", second)
    else:
        story.wait_for(x, status="UPDATE_IN_PROGRESS")
        _second(draw, story, new, x, None, second)


# -- the last act: delete -------------------------------------------------------------------
def final_act(draw: Any, story: Story) -> None:
    how = draw(st.sampled_from(FINAL_ACTS)) if story.status == "complete" else "plain"
    x = _pick(draw, list(story.current.resources))
    if how == "hold":
        story.acts.append(f"delete, {x} held at pre-delete")
        story.operate("update", story.current, environment=story.hold(x, "pre-delete"))
        story.operate("delete", wait=False)
        story.wait_for(x, hook="pre-delete")
        story.step("signal", {"resource": x, "hook": "pre-delete"})
        story.step("wait")
    elif how == "fault":
        times = draw(st.integers(1, 2))
        story.acts.append(f"delete, DELETE of {x} fails {times}x")
        story.operate("update", _isolated(story.current, x))
        story.step("fault", {"resource": x, "action": "DELETE", "times": times})
        for _ in range(times + 1):
            story.operate("delete")
    else:
        story.acts.append("delete")
        story.operate("delete")
    story.alive = False


@st.composite
def cases(draw: Any, max_resources: int = 4, max_updates: int = 3) -> Case:
    """One whole story: create, up to ``max_updates`` update acts, delete."""
    story = Story()
    create_act(draw, story, draw(models(max_resources)))
    for _ in range(draw(st.integers(0, max_updates))):
        if not story.alive:
            break
        update_act(draw, story)
    if story.alive:
        final_act(draw, story)
    return story.case()
