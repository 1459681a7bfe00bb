"""Worker processes forked from a server that has already imported the worker: what a
``python -m engines.cli_worker`` start costs is mostly its imports (oslo.messaging, oslo.db,
SQLAlchemy, eventlet: about a second of CPU), and a run on real servers starts two workers
for every convergence scenario run. multiprocessing's *forkserver* imports them once per
calling process; each worker is then a fork of that clean, single-threaded server, never of
the caller (whose threads fork would copy badly).

A forked worker runs exactly what the command runs (``engines.cli_worker.main`` with the
same arguments) with the caller's environment and working directory of the moment, and
writes its output to its log file as the command's would. ``ForkedWorker`` answers like the
``subprocess.Popen`` of that command: ``pid``, ``poll``, ``wait``, ``send_signal`` and
``returncode`` (negative for a signal).
"""

from __future__ import annotations

import io
import multiprocessing
import os
import subprocess
import sys
import threading
from collections.abc import Mapping, Sequence
from multiprocessing import forkserver, popen_forkserver, reduction, spawn, util
from pathlib import Path

PRELOAD = ["engines.convergence.worker_preload"]
_preload_lock = threading.Lock()
_preloaded = False


class _Launch(popen_forkserver.Popen):
    """The forkserver's launch, less the caller's main module: multiprocessing would have
    every child import it again (the caller's script, or the whole ``dualpath`` command),
    which costs what the fork saves and runs any unguarded code of that script."""

    def _launch(self, process_obj: multiprocessing.process.BaseProcess) -> None:
        prep_data = {key: value for key, value in
                     spawn.get_preparation_data(process_obj._name).items()
                     if key not in ("init_main_from_name", "init_main_from_path")}
        buf = io.BytesIO()
        popen_forkserver.set_spawning_popen(self)
        try:
            reduction.dump(prep_data, buf)
            reduction.dump(process_obj, buf)
        finally:
            popen_forkserver.set_spawning_popen(None)
        self.sentinel, w = forkserver.connect_to_new_process(self._fds)
        parent_w = os.dup(w)  # the child's sentinel of its parent, as the stdlib keeps it
        self.finalizer = util.Finalize(self, util.close_fds, (parent_w, self.sentinel))
        with open(w, "wb", closefd=True) as f:
            f.write(buf.getbuffer())
        self.pid = forkserver.read_signed(self.sentinel)


class _WorkerProcess(multiprocessing.context.ForkServerProcess):
    _start_method = "forkserver"

    @staticmethod
    def _Popen(process_obj: multiprocessing.process.BaseProcess) -> _Launch:  # noqa: N802
        return _Launch(process_obj)


def _forkserver() -> None:
    """The server's preload, set once, before the server first starts."""
    global _preloaded
    with _preload_lock:
        if not _preloaded:
            multiprocessing.get_context("forkserver").set_forkserver_preload(PRELOAD)
            _preloaded = True


def _run(argv: list[str], environ: dict[str, str], cwd: str, log_path: str) -> None:
    """The worker, in the forked child: the command's environment, directory and output."""
    os.environ.clear()
    os.environ.update(environ)
    os.chdir(cwd)
    sys.stdout.flush()
    sys.stderr.flush()
    log = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    os.dup2(log, 1)
    os.dup2(log, 2)
    os.close(log)
    from engines import cli_worker
    sys.exit(cli_worker.main(argv))


class ForkedWorker:
    """One worker process forked from the server, with the face of a ``Popen``."""

    def __init__(self, argv: Sequence[str], *, log_path: Path,
                 env: Mapping[str, str] | None = None) -> None:
        environ = dict(os.environ if env is None else env)
        # daemon: if the caller dies without stopping it, multiprocessing's exit handler
        # still ends it, so that no worker outlives the run that started it
        _forkserver()
        self._process = _WorkerProcess(
            target=_run, args=(list(argv), environ, os.getcwd(), str(log_path)),
            name=f"dualpath-worker:{Path(log_path).stem}", daemon=True)
        self._process.start()

    @property
    def pid(self) -> int:
        pid = self._process.pid
        assert pid is not None  # started in __init__
        return pid

    @property
    def returncode(self) -> int | None:
        return self._process.exitcode

    def poll(self) -> int | None:
        return self._process.exitcode

    def wait(self, timeout: float | None = None) -> int:
        self._process.join(timeout)
        code = self._process.exitcode
        if code is None:
            raise subprocess.TimeoutExpired(f"dualpath worker pid {self.pid}", timeout or 0.0)
        return code

    def send_signal(self, signum: int) -> None:
        if self._process.exitcode is None:
            os.kill(self.pid, signum)
