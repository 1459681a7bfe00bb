"""The harness catches regressions: each deliberately broken convergence path is reported
as an unexpected divergence or a failed expectation by at least one scenario."""

from __future__ import annotations

import pytest

from harness.experiment import runner
from harness.selftest.mutants import MUTANTS
from scenarios.loader import corpus_root

# the scenarios whose story each mutant breaks; the test names the ones that caught it
TARGETS = {
    "skip-replaced-cleanup": "update/*",
    "ignore-depends-on": "create/*",
    "complete-before-last-node": "create/*",
    "drop-create-complete-event": "create/*",
}
CAUGHT = {"unexpected-divergence", "failed"}


def test_every_mutant_has_a_target():
    assert set(TARGETS) == set(MUTANTS)


@pytest.mark.slow
@pytest.mark.parametrize("mutant", sorted(MUTANTS))
def test_mutant_is_caught(mutant, capsys):
    options = runner.RunOptions(scenario_root=corpus_root(), pattern=TARGETS[mutant],
                                repeat=1, jobs=2, mutant=mutant)
    data = runner.run(options)
    caught = sorted(s["id"] for s in data["scenarios"] if s["verdict"] in CAUGHT)
    with capsys.disabled():
        print(f"\nmutant {mutant}: caught by {len(caught)} scenario(s): {', '.join(caught)}")
    assert caught, f"mutant {mutant} went unnoticed by {TARGETS[mutant]}"
    assert data["run"]["mutant"] == mutant
    assert runner.exit_code(data) == 1


def test_the_unbroken_path_is_at_parity_on_the_same_scenarios():
    options = runner.RunOptions(scenario_root=corpus_root(), pattern="create/*", repeat=1,
                                jobs=2)
    data = runner.run(options)
    assert {s["verdict"] for s in data["scenarios"]} <= {"parity", "path-specific",
                                                         "expected-divergence"}
