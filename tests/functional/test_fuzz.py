"""``dualpath fuzz`` in the everyday loop: a fixed seed and a budget of about a minute on
the embedded default (SQLite, in-process messaging) finds nothing unexplained on the
unbroken engine, and the command's input checks and mutant list behave."""

from __future__ import annotations

import json
import os

import pytest

from harness.cli.main import main
from harness.fuzz.mutants import catalogue

SEED = int(os.environ.get("DUALPATH_FUZZ_SEED", "1"))
BUDGET = os.environ.get("DUALPATH_FUZZ_BUDGET", "60")


@pytest.mark.slow
def test_a_fixed_seed_finds_nothing_on_the_unbroken_engine(tmp_path, capsys):
    out = tmp_path / "fuzz.json"
    code = main(["fuzz", "--seed", str(SEED), "--budget", BUDGET, "--shrink-budget", "30",
                 "--findings", str(tmp_path / "findings"), "--json", str(out), "-j", "2",
                 "--quiet"])
    data = json.loads(out.read_text())
    with capsys.disabled():
        print(f"\nfuzz --seed {SEED} --budget {BUDGET}: {data['summary']['cases']} cases, "
              f"{data['summary']['mean_case_s']}s a case")
        for finding in data["findings"]:
            print(f"  {finding['verdict']} on {', '.join(finding['paths'])}: "
                  f"{finding['story']}\n  " + "\n  ".join(finding["issues"]))
    assert data["summary"]["cases"] > 0
    assert data["findings"] == [], [f["file"] for f in data["findings"]]
    assert code == 0


def test_list_mutants_says_what_each_breaks(capsys):
    assert main(["fuzz", "--list-mutants"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == len(catalogue()) >= 10
    for line in lines:
        name, what = line.split("  ", 1)
        assert name in catalogue() and what.strip()


@pytest.mark.parametrize("argv", [["--budget", "0"], ["--max-resources", "0"],
                                  ["--engines", "nowhere"], ["--mutant", "no-such"],
                                  ["--workers", "2"], ["--repeat", "0"]])
def test_bad_input_exits_2(argv, tmp_path, capsys):
    assert main(["fuzz", *argv, "--json", str(tmp_path / "f.json")]) == 2
    assert "error:" in capsys.readouterr().err
