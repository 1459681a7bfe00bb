"""The whole corpus as users on real servers run it: every scenario on both paths, each run
in a database of its own on PostgreSQL or MariaDB, the convergence side done by two
``dualpath worker`` processes over RabbitMQ. What `tox -e parity-postgresql` and
`tox -e parity-mysql` run, kept in the everyday suite so that CI has the evidence too."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from engines.processes import broker_problem
from harness.cli.main import main
from reports.verdicts import BAD_VERDICTS
from tests.conftest import require_server, unavailable
from tests.functional.test_convergence_rabbit import RABBIT_URL


@pytest.mark.slow
@pytest.mark.rabbit
@pytest.mark.parametrize("backend", [pytest.param("postgresql", marks=pytest.mark.postgresql),
                                     pytest.param("mysql", marks=pytest.mark.mysql)])
def test_the_corpus_is_at_parity_on_a_server_with_worker_processes(tmp_path: Path,
                                                                   backend: str) -> None:
    server = require_server(backend)
    unavailable(broker_problem(RABBIT_URL))
    run_file = tmp_path / "run.json"
    # one run per path here: each costs a database and two worker processes, and the suite
    # must stay within CI's budget; repeats (flakiness) are the embedded corpus run's job
    # in this suite, and `tox -e parity-postgresql` / `-e parity-mysql` run two
    code = main(["run", "--quiet", "--database-url", server, "--transport-url", RABBIT_URL,
                 "--workers", "2", "-j", "2", "--repeat", "1", "--json", str(run_file)])
    data = json.loads(run_file.read_text())
    assert (data["run"]["database"], data["run"]["transport"], data["run"]["workers"]) == (
        backend, "rabbit", 2)
    bad = {s["id"]: (s["verdict"], {p: r.get("error") or r.get("failed_expectations")
                                    for p, r in s["engines"].items()
                                    if r["status"] != "passed"})
           for s in data["scenarios"] if s["verdict"] in BAD_VERDICTS}
    assert bad == {}
    assert len(data["scenarios"]) >= 68
    assert code == 0
