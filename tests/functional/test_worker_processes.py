"""Starting worker processes when one cannot start: the error says so at once, with its log,
instead of waiting out the timeout. No broker needed: the one named here never answers."""

from __future__ import annotations

import pytest

from engines.processes import WorkerProcesses, WorkerStartError


def test_a_worker_without_a_broker_refuses_to_start_and_says_why(tmp_path):
    with pytest.raises(WorkerStartError) as error:
        WorkerProcesses.start(1, database_url=f"sqlite:///{tmp_path}/unused.sqlite",
                              transport_url="rabbit://guest:guest@localhost:1/",
                              topic="dualpath-test-unused", log_dir=tmp_path, timeout=60)
    message = str(error.value)
    assert "exited with 2 before it was ready" in message  # 2: bad input, not a crash
    assert "RabbitMQ at amqp://localhost:1/ does not answer" in message, "its log is quoted"
    assert "rabbitmq-server -detached" in message
