"""Convergence worker processes, for a run, a test or an operator: start N worker
processes (``engines/cli_worker.py``, the ``dualpath worker`` command, forked from a server
that has imported it: engines/convergence/worker_fork.py), wait until each one listens and
heartbeats, stop them.

A worker is *ready* when it has logged its ready line (its RPC server has declared its
queues, so no message cast from now on is lost), its service row is fresh (others take it
for alive, so the locks it takes are not broken under it), and the broker counts it as a
consumer of the topic (so it gets its share of the messages). Each worker's output goes to
a log file of its own, which the errors quote. Stopping takes up to a few seconds per idle
worker: oslo.messaging's rabbit listener notices a stop only between two polls of the
broker, and these grow to 5 seconds when nothing comes.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import re
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import kombu
import sqlalchemy as sa
from sqlalchemy.pool import NullPool

from engines.convergence.worker_fork import ForkedWorker
from engines.convergence.worker_service import BINARY, transport_problem
from engines.core import config
from engines.core import waiting as waiting_mod
from engines.core.errors import WaitTimeout
from engines.core.models import Service, utcnow
from engines.core.urls import safe_url

READY = re.compile(r"dualpath worker (\S+) ready:")
POLL = 0.05  # seconds between two looks at the logs and the service table


class WorkerStartError(RuntimeError):
    """A worker process exited, or was not ready in time."""


@dataclass
class WorkerProcess:
    index: int
    process: ForkedWorker
    log_path: Path
    engine_id: str | None = None

    @property
    def pid(self) -> int:
        return self.process.pid

    def log(self) -> str:
        try:
            return self.log_path.read_text(encoding="utf-8", errors="replace")
        except FileNotFoundError:
            return ""

    def tail(self, lines: int = 30) -> str:
        return "\n".join(self.log().splitlines()[-lines:])

    def kill(self, timeout: float = 10.0) -> int:
        """SIGKILL: the worker dies at once, whatever it holds. Returns the exit status."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
        return self.process.wait(timeout=timeout)

    def terminate(self, timeout: float = 30.0) -> int:
        """SIGTERM and wait; SIGKILL as a last resort. Returns the exit status."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            return self.kill()


def _amqp_url(transport_url: str) -> str:
    """kombu's spelling of the first host of an oslo.messaging ``rabbit://`` URL."""
    return re.sub(r"^rabbit://", "amqp://", transport_url.split(",")[0])


def broker_problem(transport_url: str, timeout: float = 3.0) -> str | None:
    """None when the RabbitMQ of ``transport_url`` answers an AMQP handshake; else why not,
    and how to start it. Only the first host of a multi-host URL is tried."""
    amqp = _amqp_url(transport_url)
    connection = kombu.Connection(amqp, connect_timeout=timeout)
    try:
        connection.connect()
    except Exception as exc:  # noqa: BLE001 - any failure means "no broker here"; say which
        where = safe_url(amqp, keep_user=False)
        return (f"RabbitMQ at {where} does not answer ({type(exc).__name__}: {exc}); "
                "start it with: rabbitmq-server -detached")
    finally:
        connection.release()
    return None


def queue_consumers(connection: kombu.Connection, queue: str) -> int:
    """How many consumers the broker has on ``queue`` (0 when it does not exist yet)."""
    channel = connection.channel()
    try:
        return channel.queue_declare(queue=queue, passive=True).consumer_count
    except connection.channel_errors:  # not declared yet; the broker closed the channel
        return 0
    finally:
        with contextlib.suppress(*connection.connection_errors, *connection.channel_errors):
            channel.close()


def isolated_bus(topic: str) -> dict[str, object]:
    """Settings that give one run (or test) a bus of its own on a shared broker, for the
    engine and its workers alike: an exchange named after its topic, and queues the broker
    deletes once their consumers are gone (a killed worker's within seconds), so that
    thousands of runs leave nothing behind. RabbitMQ refuses to redeclare the shared
    ``openstack`` exchange as auto-delete, hence the exchange of its own."""
    return {"control_exchange": topic,
            "oslo_messaging_rabbit.amqp_auto_delete": True,
            "oslo_messaging_rabbit.rabbit_transient_queues_ttl": 10}


def write_config(path: Path, options: Mapping[str, object]) -> Path:
    """An oslo.config file setting ``options`` (``name`` or ``group.name``)."""
    groups: dict[str, list[str]] = {}
    for key, value in options.items():
        group, name = key.split(".", 1) if "." in key else ("DEFAULT", key)
        text = str(value).lower() if isinstance(value, bool) else str(value)
        groups.setdefault(group, []).append(f"{name} = {text}")
    path.write_text("".join(f"[{group}]\n" + "\n".join(lines) + "\n\n"
                            for group, lines in groups.items()), encoding="utf-8")
    return path


def worker_arguments(*, database_url: str, transport_url: str, topic: str,
                     threads: int | None = None, config_files: Sequence[str | Path] = ()
                     ) -> list[str]:
    """The ``dualpath worker`` command line, after the command itself."""
    command = []
    for path in config_files:
        command += ["--config-file", str(path)]
    command += ["--database-url", database_url, "--transport-url", transport_url,
                "--topic", topic]
    if threads:
        command += ["--threads", str(threads)]
    return command


class WorkerProcesses:
    """A group of worker processes on one database, transport and topic."""

    def __init__(self, workers: list[WorkerProcess], *, database_url: str,
                 transport_url: str, topic: str, stale_after: float, log_dir: Path,
                 own_log_dir: bool) -> None:
        self.workers = workers
        self.transport_url = transport_url
        self.topic = topic
        self.stale_after = stale_after
        self.log_dir = log_dir
        self._own_log_dir = own_log_dir
        self._database_url = database_url
        self._engine: sa.Engine | None = None

    @classmethod
    def start(cls, count: int, *, database_url: str, transport_url: str, topic: str,
              threads: int | None = None, config_files: Sequence[str | Path] = (),
              options: Mapping[str, object] | None = None,
              env: Mapping[str, str] | None = None, log_dir: Path | None = None,
              timeout: float = 60.0) -> WorkerProcesses:
        """Start ``count`` workers and return once all are ready (WorkerStartError, with
        their logs, if one is not). ``options`` (``name`` or ``group.name``: value) win
        over ``config_files``; the command-line arguments win over both."""
        if count < 1:
            raise ValueError(f"count must be at least 1, not {count}")
        problem = transport_problem(transport_url)
        if problem:
            raise ValueError(problem)
        own = log_dir is None
        log_dir = Path(tempfile.mkdtemp(prefix="dualpath-workers-")) if own else log_dir
        log_dir.mkdir(parents=True, exist_ok=True)
        config_files = [str(p) for p in config_files]
        if options:
            config_files.append(str(write_config(log_dir / "workers.conf", options)))
        conf = config.new_conf(config_files)
        arguments = worker_arguments(database_url=database_url, transport_url=transport_url,
                                     topic=topic, threads=threads, config_files=config_files)
        environ = {**os.environ, **(env or {})}
        group = cls([], database_url=database_url, transport_url=transport_url, topic=topic,
                    stale_after=conf.service_stale_after, log_dir=log_dir, own_log_dir=own)
        try:  # whatever fails, no process is left behind
            for index in range(count):
                log_path = log_dir / f"worker-{index}.log"
                log_path.write_bytes(b"")
                process = ForkedWorker(arguments, log_path=log_path, env=environ)
                group.workers.append(WorkerProcess(index, process, log_path))
            group.wait_ready(timeout)
        except BaseException:
            group.stop()
            raise
        return group

    # -- readiness ---------------------------------------------------------------------------
    def _fresh(self, worker: WorkerProcess) -> bool:
        cutoff = utcnow() - dt.timedelta(seconds=self.stale_after)
        query = sa.select(sa.func.count()).select_from(Service).where(
            Service.engine_id == worker.engine_id, Service.binary == BINARY,
            Service.pid == worker.pid, Service.deleted_at.is_(None),
            Service.updated_at >= cutoff)
        if self._engine is None:
            # a pool of its own, closed on stop: the caller may drop the database right after
            self._engine = sa.create_engine(self._database_url, poolclass=NullPool)
        with self._engine.connect() as connection:
            return bool(connection.scalar(query))

    def _ready(self, worker: WorkerProcess) -> bool:
        if worker.process.poll() is not None:
            raise WorkerStartError(
                f"worker {worker.index} (pid {worker.pid}) exited with "
                f"{worker.process.returncode} before it was ready; its log "
                f"{worker.log_path}:\n{worker.tail()}")
        if worker.engine_id is None:
            found = READY.search(worker.log())
            if found is None:
                return False
            worker.engine_id = found.group(1)
        return self._fresh(worker)

    def wait_ready(self, timeout: float) -> None:
        """Until every worker is ready and the broker counts them all as consumers of the
        topic: a worker's server has declared its queue when it says it is ready, but its
        consumer starts a moment later, and until then the broker hands every message to
        the others."""
        waiting = list(self.workers)
        consumers = 0
        with kombu.Connection(_amqp_url(self.transport_url), connect_timeout=5) as broker:
            def all_ready() -> bool:
                nonlocal waiting, consumers
                waiting = [w for w in waiting if not self._ready(w)]
                consumers = 0 if waiting else queue_consumers(broker, self.topic)
                return not waiting and consumers >= len(self.workers)
            try:
                waiting_mod.wait_until(all_ready, timeout=timeout, interval=POLL,
                                       what=f"{len(self.workers)} worker(s) to be ready")
            except WaitTimeout:
                raise WorkerStartError(self._not_ready(waiting, consumers, timeout)) from None

    def _not_ready(self, waiting: list[WorkerProcess], consumers: int, timeout: float) -> str:
        if not waiting:
            return (f"the broker counts {consumers} consumer(s) of topic {self.topic} after "
                    f"{timeout}s, not {len(self.workers)}")
        logs = "\n".join(f"--- worker {w.index} (pid {w.pid}) {w.log_path}:\n{w.tail()}"
                         for w in waiting)
        return f"{len(waiting)} worker(s) not ready after {timeout}s:\n{logs}"

    # -- access ------------------------------------------------------------------------------
    @property
    def engine_ids(self) -> list[str]:
        return [w.engine_id for w in self.workers if w.engine_id]

    def by_engine(self, engine_id: str) -> WorkerProcess:
        for worker in self.workers:
            if worker.engine_id == engine_id:
                return worker
        raise KeyError(f"no worker with engine id {engine_id}")

    # -- stopping ----------------------------------------------------------------------------
    def stop(self, timeout: float = 30.0) -> list[int]:
        """SIGTERM every worker still running (each finishes its calls in flight), wait up
        to ``timeout`` in all, SIGKILL the ones still there. Returns the exit statuses."""
        for worker in self.workers:
            if worker.process.poll() is None:
                worker.process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + timeout
        codes = []
        for worker in self.workers:
            try:
                codes.append(worker.process.wait(timeout=max(0.0, deadline - time.monotonic())))
            except subprocess.TimeoutExpired:
                codes.append(worker.kill())
        if self._engine is not None:
            self._engine.dispose()
        if self._own_log_dir and all(code == 0 for code in codes):
            shutil.rmtree(self.log_dir, ignore_errors=True)
        return codes

    def __enter__(self) -> WorkerProcesses:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
