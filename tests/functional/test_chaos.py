"""``dualpath chaos`` on a few trials: worker processes over RabbitMQ, one killed per trial,
including in the window between the cloud's create and the engine recording the id (the
crash point); each trial must end with nothing stuck, leaked or duplicated.

Runs where RabbitMQ answers on localhost:5672 (``DUALPATH_TEST_RABBIT_URL`` points
elsewhere); skips otherwise, or fails with ``DUALPATH_REQUIRE_SERVERS=1``.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator

import pytest

from engines.processes import broker_problem
from harness.chaos.plan import CRASH_AFTER_CREATE, CRASH_ON_CHECK, TrialPlan
from harness.chaos.trial import ChaosOptions, Trial
from harness.cli.main import main
from harness.infra.databases import DatabaseFactory
from tests.conftest import unavailable

RABBIT_URL = os.environ.get("DUALPATH_TEST_RABBIT_URL", "rabbit://guest:guest@localhost:5672/")


@pytest.fixture(scope="module")
def rabbit_url() -> str:
    unavailable(broker_problem(RABBIT_URL))
    return RABBIT_URL


@pytest.fixture(scope="module")
def factory() -> Iterator[DatabaseFactory]:
    made = DatabaseFactory.prepare(None)
    yield made
    made.close()


def plan(trial: int, phase: str, mode: str, *, kill_at: float | None = None,
         crash_on: str | None = None) -> TrialPlan:
    return TrialPlan(trial, f"test:{trial}", phase, mode, kill_at, crash_on)


@pytest.mark.rabbit
@pytest.mark.parametrize("chosen", [
    plan(0, "create", CRASH_AFTER_CREATE, crash_on="B"),
    plan(1, "update", CRASH_AFTER_CREATE, crash_on="A"),
    plan(2, "create", CRASH_ON_CHECK, crash_on="D"),
], ids=lambda p: p.describe())
def test_a_killed_worker_leaves_nothing_stuck_leaked_or_duplicated(
        chosen, rabbit_url, factory, tmp_path) -> None:
    result = Trial(chosen, factory, ChaosOptions(transport_url=rabbit_url),
                   tmp_path / "trial").run()
    story = "; ".join(result.what_happened)
    assert result.passed, story
    assert result.killed, f"a worker was killed: {story}"
    assert (result.leaked, result.duplicated, result.stuck) == (0, 0, False)
    if chosen.mode == CRASH_AFTER_CREATE:
        assert f"died after the cloud created {chosen.crash_on}" in story
        assert f"{chosen.phase}: {chosen.phase.upper()}_FAILED" in story, \
            "the dead worker's create failed the operation, which ran again"
    if chosen.mode == CRASH_ON_CHECK:
        # no lock was left to break: the reaper's stall watch ended the traversal
        assert f"died having taken the check of {chosen.crash_on}" in story
        assert "traversal" in story and "made no progress since" in story, story


def test_bad_input_is_refused_naming_the_option(capsys) -> None:
    assert main(["chaos", "--trials", "1"]) == 2
    assert "--transport-url is required" in capsys.readouterr().err
    assert main(["chaos", "--trials", "0", "--transport-url", "fake://"]) == 2
    err = capsys.readouterr().err
    assert "--trials must be at least 1" in err and "--transport-url: transport" in err


@pytest.mark.rabbit
def test_the_command_writes_its_figures(rabbit_url, tmp_path) -> None:
    """Seed 2's first trial kills the worker that acted last, 0.61 s into the update."""
    out = tmp_path / "chaos.json"
    code = main(["chaos", "--trials", "1", "--seed", "2", "--quiet",
                 "--transport-url", rabbit_url, "--json", str(out)])
    data = json.loads(out.read_text())
    [trial] = data["per_trial"]
    assert code == 0, trial["what_happened"]
    assert {k: data[k] for k in ("trials", "passed", "leaked", "duplicated", "stuck")} == {
        "trials": 1, "passed": 1, "leaked": 0, "duplicated": 0, "stuck": 0}
    assert (trial["seed"], trial["phase"], trial["kill_at"]) == ("2:0", "update", 0.611)
    assert trial["passed"] is True and "killed worker" in trial["what_happened"]
