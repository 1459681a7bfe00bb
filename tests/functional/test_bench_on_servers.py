"""The benchmarks that need servers run end to end on them (nothing here is timed: the
speed goals live in the benchmarks' own output). A benchmark that breaks silently would
leave a goal of issue 12 unmeasured."""

from __future__ import annotations

import argparse
import os

import pytest

from benchmarks import bench_workers
from engines.processes import broker_problem
from tests.conftest import require_server, unavailable

pytestmark = [pytest.mark.rabbit, pytest.mark.postgresql]

RABBIT_URL = os.environ.get("DUALPATH_TEST_RABBIT_URL", "rabbit://guest:guest@localhost:5672/")


def test_bench_workers_measures_one_and_two_worker_processes_and_legacy():
    unavailable(broker_problem(RABBIT_URL))
    args = argparse.Namespace(database_url=require_server("postgresql"),
                              transport_url=RABBIT_URL, resources=6, secs=0.0, threads=2)
    result = bench_workers.run(args)
    seconds = result["seconds"]
    assert set(seconds) == {"convergence_1_worker", "convergence_2_workers", "legacy_1_engine"}
    assert all(s > 0 for s in seconds.values())
    assert result["speedup_2_vs_1_workers"] > 0
