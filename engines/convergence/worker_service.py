"""A convergence worker process: the parts that let it take check_resource messages off a
shared bus, heartbeat in the service table so that others can tell when it dies, and break
the locks of dead engines even when no engine process is up."""

from __future__ import annotations

from oslo_config import cfg

from engines.convergence import messaging
from engines.convergence.messaging import WorkerServer
from engines.convergence.path import Path
from engines.convergence.reaper import Reaper
from engines.convergence.traversal import Traversals
from engines.convergence.worker import Worker
from engines.core import config
from engines.core.liveness import Heartbeat
from engines.core.runtime import Runtime
from engines.nested_stacks import ServiceNestedStacks

BINARY = "dualpath-worker"  # how a worker registers in the service table


def transport_problem(url: str | None) -> str | None:
    """None when worker processes can be reached through ``url``; else why not. On an
    in-process transport (``inproc:``, ``fake:``, the default) a worker process would
    listen on a bus of its own and never see an engine's message."""
    if url and not messaging.is_in_process(url):
        return None
    return (f"transport {url or messaging.IN_PROCESS!r} is in-process: a worker process "
            "cannot be reached through it; worker processes need a transport they can "
            "share, e.g. rabbit://...")


def check_transport(url: str) -> None:
    """Refuse a transport other processes cannot reach (see transport_problem)."""
    problem = transport_problem(url)
    if problem:
        raise ValueError(f"{problem} (--transport-url, or [DEFAULT] transport_url)")


class WorkerService:
    """The parts of a worker process, started and stopped in an order that loses nothing."""

    def __init__(self, conf: cfg.ConfigOpts) -> None:
        self.rt = Runtime.from_conf(conf)
        self.conf = conf
        self.topic: str = messaging.topic(conf, self.rt.engine_id)  # as the engines cast to
        self.threads: int = conf.convergence_worker_threads
        self._transport = messaging.get_transport(conf)
        traversals = Traversals(self.rt, messaging.worker_client(conf, self._transport, self.topic))
        # its stack resources make their nested stacks here, on the only path a worker has
        nested_path = Path(self.rt)
        nested_path.serve_nested(traversals)
        self.rt.nested = ServiceNestedStacks(self.rt, lambda _stack: nested_path)
        self._worker = Worker(self.rt, traversals)
        self._heartbeat = Heartbeat(self.rt.db, self.rt.engine_id, BINARY,
                                    conf.heartbeat_interval, topic=self.topic)
        self._server = WorkerServer(conf, self._transport, self.topic, self.rt.engine_id,
                                    self._worker, self.threads)
        self._reaper = Reaper(self.rt, traversals)
        self._running: list[str] = []

    @property
    def engine_id(self) -> str:
        return self.rt.engine_id

    def start(self) -> None:
        config.setup_logging(self.conf)  # a worker is a process of its own
        # the service row comes first: a lock taken by an engine without one is taken for a
        # dead engine's and broken by the others' reapers
        self._heartbeat.start()
        self._running.append("heartbeat")
        self._server.start()
        self._running.append("server")
        self._reaper.start()
        self._running.append("reaper")

    def stop(self) -> None:
        """Finish the check_resource calls in flight, then leave the service table. The
        transport outlives the server: a call that finishes casts its successors on it.
        A call paused at a hook gives up its wait (no signal may ever come)."""
        self.rt.stopping.set()
        if "reaper" in self._running:
            self._reaper.stop()
        if "server" in self._running:
            self._server.stop()  # stop taking messages, then wait for those in flight
            self._worker.stop()
        self._transport.cleanup()
        if "heartbeat" in self._running:
            self._heartbeat.stop()
        self._running.clear()
