"""``dualpath worker``'s refusals and small helpers (nothing here starts a worker)."""

from __future__ import annotations

import signal

import pytest

from engines.processes import WorkerProcesses
from engines.service import safe_url
from harness.cli import main as cli


@pytest.mark.parametrize("transport", [["--transport-url", "fake:/"], []])
def test_an_in_process_transport_is_refused(transport, capsys, tmp_path):
    url = f"sqlite:///{tmp_path}/unused.sqlite"
    assert cli.main(["worker", "--database-url", url, *transport]) == cli.EXIT_BAD_INPUT
    assert "in-process: a worker process cannot be reached" in capsys.readouterr().err
    assert not (tmp_path / "unused.sqlite").exists(), "refused before touching anything"
    blocked = signal.pthread_sigmask(signal.SIG_BLOCK, [])
    assert signal.SIGTERM not in blocked, "the signal mask is given back"


def test_threads_must_be_positive(capsys):
    with pytest.raises(SystemExit) as exit_:
        cli.main(["worker", "--threads", "0"])
    assert exit_.value.code == cli.EXIT_BAD_INPUT
    assert "must be at least 1" in capsys.readouterr().err


def test_passwords_are_masked_in_logs():
    assert safe_url("rabbit://guest:secret@h1:5672,admin:x@h2:5672/vh") == \
        "rabbit://guest:***@h1:5672,admin:***@h2:5672/vh"
    assert safe_url("rabbit://h1:5672/") == "rabbit://h1:5672/"


@pytest.mark.parametrize("url", ["", "fake:/"])
def test_worker_processes_need_a_shared_transport(url):
    with pytest.raises(ValueError, match="need a transport they can share"):
        WorkerProcesses.start(1, database_url="sqlite://", transport_url=url, topic="t")
