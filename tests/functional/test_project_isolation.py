"""Every call is scoped by its request context: another project's stack is NotFound for
every verb, on both paths, through the service and through ``dualpath stack``, and it is
left exactly as it was (issue 14 point 3)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from engines.core.context import RequestContext
from engines.core.errors import NotFound
from harness.cli.main import main
from tests.functional.templates import hooks_env, hot, res

OTHER = RequestContext(project_id="project-b")
TEMPLATE = hot({"A": res("a")})

VERBS: dict[str, Callable[[Any, str], Any]] = {
    "show": lambda service, stack_id: service.show_stack(OTHER, stack_id),
    "update": lambda service, stack_id: service.update_stack(OTHER, stack_id,
                                                             hot({"A": res("b")})),
    "delete": lambda service, stack_id: service.delete_stack(OTHER, stack_id),
    "cancel": lambda service, stack_id: service.cancel_stack(OTHER, stack_id),
    "rollback": lambda service, stack_id: service.rollback_stack(OTHER, stack_id),
    "signal": lambda service, stack_id: service.signal_hook(OTHER, stack_id, "A",
                                                            "pre-create"),
    "events": lambda service, stack_id: service.list_events(OTHER, stack_id),
    "resources": lambda service, stack_id: service.list_resources(OTHER, stack_id),
    "find": lambda service, stack_id: service.find_stack(OTHER, "stack"),
}


@pytest.mark.parametrize("verb", sorted(VERBS))
def test_another_projects_stack_is_not_found(driver, engine_mode, verb):
    # paused at a hook, so that cancel and signal would have something to act on
    stack_id = driver.create(TEMPLATE, environment=hooks_env(A="pre-create"), wait=False)
    driver.wait_hook(stack_id, "A", "pre-create")
    events_before = len(driver.events(stack_id))
    with pytest.raises(NotFound):
        VERBS[verb](driver.service, stack_id)
    view = driver.show(stack_id)
    assert view["stack_status"] == "CREATE_IN_PROGRESS"
    assert driver.resources(stack_id)["A"]["hooks_pending"] == ["pre-create"]
    assert len(driver.events(stack_id)) == events_before
    driver.signal(stack_id, "A", "pre-create")
    assert driver.wait(stack_id)["stack_status"] == "CREATE_COMPLETE"


def test_another_projects_stack_is_not_listed(driver, engine_mode):
    stack_id = driver.create(TEMPLATE)
    assert driver.service.list_stacks(OTHER) == []
    assert [s["id"] for s in driver.service.list_stacks(driver.ctx)] == [stack_id]


# -- the same through the command line ----------------------------------------------------
CLI_VERBS = {
    "show": [], "update": ["-t", "{template}"], "delete": [], "cancel": [],
    "cancel --no-rollback": [], "rollback": [], "signal": ["A", "pre-create"],
    "events": [], "resources": [],
}


@pytest.fixture(params=["legacy", "convergence"])
def cli(request, tmp_path: Path) -> dict[str, Any]:
    conf = tmp_path / "dualpath.conf"
    conf.write_text(f"[DEFAULT]\nstate_path = {tmp_path / 'state'}\npoll_interval = 0.01\n"
                    f"convergence_engine = {request.param == 'convergence'}\n"
                    f"[database]\nconnection = sqlite:///{tmp_path / 'engine.sqlite'}\n")
    template = tmp_path / "t.yaml"
    template.write_text(TEMPLATE)
    return {"conf": str(conf), "template": str(template), "path": request.param}


def _stack(cli: dict[str, Any], project: str, *words: str) -> int:
    return main(["--config-file", cli["conf"], "stack", "--project", project, "--json",
                 *words])


@pytest.mark.parametrize("verb", sorted(CLI_VERBS))
def test_another_projects_stack_is_not_found_on_the_command_line(cli, verb, capsys):
    assert _stack(cli, "mine", "create", "web", "-t", cli["template"]) == 0
    created = json.loads(capsys.readouterr().out)
    assert created["engine"] == cli["path"]
    extra = [word.format(**cli) for word in CLI_VERBS[verb]]
    assert _stack(cli, "other", *verb.split(), "web", *extra) == 1
    captured = capsys.readouterr()
    assert "NotFound" in captured.err and captured.out == ""
    assert _stack(cli, "mine", "show", "web") == 0
    view = json.loads(capsys.readouterr().out)
    assert (view["id"], view["stack_status"]) == (created["id"], "CREATE_COMPLETE")


def test_another_projects_stack_is_not_listed_on_the_command_line(cli, capsys):
    assert _stack(cli, "mine", "create", "web", "-t", cli["template"]) == 0
    capsys.readouterr()
    assert _stack(cli, "other", "list") == 0
    assert json.loads(capsys.readouterr().out) == []
