"""Workers forked from the preloaded server behave as the ``dualpath worker`` command they
replace: its arguments, the caller's working directory, its output in its log, its exit
status; and the caller's main module is not run again in them. None of these workers gets
as far as a broker: each is refused at start, which is what can be seen without one."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from engines.convergence.worker_fork import ForkedWorker

REFUSAL = "in-process: a worker process cannot be reached"


def test_a_refused_worker_exits_2_with_its_reason_in_its_log(tmp_path: Path) -> None:
    database = tmp_path / "unused.sqlite"
    log = tmp_path / "worker.log"
    worker = ForkedWorker(["--database-url", f"sqlite:///{database}",
                           "--transport-url", "fake:/"], log_path=log)
    assert worker.wait(timeout=60) == 2
    assert worker.returncode == worker.poll() == 2
    assert REFUSAL in log.read_text()
    assert not database.exists(), "refused before touching anything"


def test_a_relative_config_file_is_read_from_the_callers_directory(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "worker.conf").write_text("[DEFAULT]\ntransport_url = fake:/\n")
    monkeypatch.chdir(tmp_path)
    worker = ForkedWorker(["--config-file", "worker.conf", "--database-url", "sqlite://"],
                          log_path=tmp_path / "worker.log")
    assert worker.wait(timeout=60) == 2
    assert REFUSAL in (tmp_path / "worker.log").read_text()


def test_the_callers_main_module_is_not_run_again(tmp_path: Path) -> None:
    # a script with no ``if __name__ == "__main__"`` guard: multiprocessing's own launch
    # would have each worker run it again (and start workers of its own)
    script = tmp_path / "unguarded.py"
    script.write_text(textwrap.dedent(f"""
        import sys
        sys.path.insert(0, {str(Path.cwd())!r})
        from engines.convergence.worker_fork import ForkedWorker
        print("main ran", flush=True)
        worker = ForkedWorker(["--transport-url", "fake:/"], log_path={str(tmp_path)!r} + "/w.log")
        print("worker exit", worker.wait(timeout=60), flush=True)
    """))
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                          timeout=120, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == ["main ran", "worker exit 2"]
    assert "main ran" not in (tmp_path / "w.log").read_text()
