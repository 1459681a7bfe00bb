"""The rules of the house, read from the code (imports parsed with ``ast``, nothing run):
the harness, the reports and the scenario format reach the engine only through its public
modules; the two paths never import each other; no module of the product grows past 400
lines."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PRODUCT = ("engines", "harness", "reports", "scenarios", "migrations")
MAX_LINES = 400

# what the harness and the scenario format may import of the engine
PUBLIC_ENGINE = {
    "engines.service",  # the one API, and the facts that go with it (path names, config)
    "engines.processes",  # worker processes: start, stop, the bus they need
    "engines.observe",  # a read-only view of the simulated cloud
    "engines.cli_worker",  # the engine's own command, mounted as `dualpath worker`
    "engines.upgrade_checks",  # the operator's readiness checks, `dualpath upgrade-check`
    "engines.migrate_stacks",  # legacy stacks moved onto convergence, `db migrate-stacks`
    "engines.core.errors",  # the error classes callers see (the contract is the class)
    "engines.core.context",  # the request context every call takes
}
# the one part of the harness allowed to patch engine internals: it breaks them on purpose
MUTANTS = ROOT / "harness" / "selftest" / "mutants.py"
HARD_MUTANTS = ROOT / "harness" / "selftest" / "mutants_hard.py"  # the fuzzer's, likewise


def _modules(*folders: str) -> Iterator[Path]:
    for folder in folders:
        yield from sorted((ROOT / folder).rglob("*.py"))


def _imports(path: Path) -> set[str]:
    """Every module ``path`` imports, at any depth (lazy imports in functions too); ``from
    package import name`` counts as ``package.name`` when that is a module."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            for alias in node.names:
                candidate = f"{node.module}.{alias.name}"
                as_file = ROOT / Path(*candidate.split("."))
                if as_file.with_suffix(".py").is_file() or as_file.is_dir():
                    found.add(candidate)
    return found


def _rel(path: Path) -> str:
    return path.relative_to(ROOT).as_posix()


def _engine_imports_outside_the_api(path: Path) -> list[str]:
    engine = {m for m in _imports(path) if m == "engines" or m.startswith("engines.")}
    # "from engines import cli_worker" names the package and the module: the module counts
    return sorted(m for m in engine - PUBLIC_ENGINE
                  if m != "engines" and not any(p.startswith(m + ".") for p in engine))


@pytest.mark.parametrize("folder", ["harness", "scenarios"])
def test_the_harness_and_the_scenarios_use_only_the_engine_s_public_modules(folder):
    wrong = {_rel(p): bad for p in _modules(folder) if p not in (MUTANTS, HARD_MUTANTS)
             if (bad := _engine_imports_outside_the_api(p))}
    assert wrong == {}, f"engine internals imported (use engines.service & co): {wrong}"


def test_the_mutants_are_the_one_exception_and_nothing_imports_them_but_the_runners():
    for mutants in (MUTANTS, HARD_MUTANTS):
        assert _engine_imports_outside_the_api(mutants), "mutants patch the engine's insides"
    users = {_rel(p) for p in _modules(*PRODUCT) if p not in (MUTANTS, HARD_MUTANTS)
             if {"harness.selftest.mutants", "harness.selftest.mutants_hard"} & _imports(p)}
    assert users == {"harness/experiment/runner.py", "harness/fuzz/mutants.py"}


def test_reports_read_result_data_and_import_no_engine_or_harness():
    wrong = {_rel(p): sorted(m for m in _imports(p)
                             if m.split(".")[0] in ("engines", "harness", "scenarios"))
             for p in _modules("reports")}
    assert {k: v for k, v in wrong.items() if v} == {}


def test_the_engine_imports_no_harness_and_no_reports():
    wrong = {_rel(p): sorted(m for m in _imports(p) if m.split(".")[0] in ("harness", "reports"))
             for p in _modules("engines")}
    assert {k: v for k, v in wrong.items() if v} == {}


@pytest.mark.parametrize(("path", "other"), [("legacy", "convergence"),
                                             ("convergence", "legacy")])
def test_the_two_paths_never_import_each_other(path, other):
    wrong = {_rel(p): sorted(m for m in _imports(p) if m.startswith(f"engines.{other}"))
             for p in _modules(f"engines/{path}")}
    assert {k: v for k, v in wrong.items() if v} == {}


def test_no_module_of_the_product_is_over_400_lines():
    lengths = {_rel(p): len(p.read_text(encoding="utf-8").splitlines())
               for p in _modules(*PRODUCT)}
    over = {name: n for name, n in lengths.items()
            if n > MAX_LINES}
    assert over == {}, f"split these by concept (at most {MAX_LINES} lines each): {over}"


def test_the_import_reader_sees_lazy_and_from_imports(tmp_path):
    probe = ROOT / "harness" / "cli" / "main.py"  # imports engines.cli_worker as a name
    assert "engines.cli_worker" in _imports(probe)
    assert "reports.verdicts" in _imports(probe)
    runner = ROOT / "harness" / "experiment" / "runner.py"  # imports mutants in a function
    assert "harness.selftest.mutants" in _imports(runner)
