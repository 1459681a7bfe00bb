"""``dualpath worker``: a convergence worker process.

It takes check_resource messages off the broker (``rabbit://``), heartbeats in the service
table so that others can tell when it dies, and runs a reaper of its own, so that locks of
dead engines are broken even when no engine process is up. SIGTERM or SIGINT stop it
gracefully: no new message is taken, the calls in flight finish (and hand their results on),
its service row is marked deleted, and it exits 0.
"""

from __future__ import annotations

import argparse
import logging
import os
import re
import signal
import sys

from oslo_config import cfg

from engines.convergence import messaging
from engines.convergence.messaging import WorkerClient, WorkerServer
from engines.convergence.reaper import Reaper
from engines.convergence.traversal import Traversals
from engines.convergence.worker import Worker
from engines.core import config
from engines.core.liveness import Heartbeat
from engines.core.runtime import Runtime
from harness.cli_db import ensure_schema
from harness.workers import BINARY, broker_problem

STOP_SIGNALS = {signal.SIGTERM, signal.SIGINT}
LOG = logging.getLogger("dualpath.worker")


def add_parser(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "worker", help="run a convergence worker process (needs a rabbit:// transport)")
    parser.add_argument("--database-url", help="instead of [database] connection")
    parser.add_argument("--transport-url",
                        help="instead of [DEFAULT] transport_url, e.g. rabbit://guest:guest@"
                        "localhost:5672/")
    parser.add_argument("--threads", type=_positive,
                        help="check_resource calls handled at once "
                        "(default: [DEFAULT] convergence_worker_threads)")
    parser.add_argument("--topic", help="instead of [DEFAULT] convergence_topic")
    parser.set_defaults(handler=run)


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, not {value}")
    return value


def worker_conf(args: argparse.Namespace) -> cfg.ConfigOpts:
    """The configuration files, with the command line winning over them."""
    overrides: dict[str, object] = {}
    if args.database_url:
        overrides["database.connection"] = args.database_url
    if args.transport_url:
        overrides["transport_url"] = args.transport_url
    if args.threads:
        overrides["convergence_worker_threads"] = args.threads
    if args.topic:
        overrides["convergence_topic"] = args.topic
    return config.new_conf(args.config_file, **overrides)


def check_transport(url: str) -> None:
    """Refuse a transport other processes cannot reach: on an in-process one (``inproc:``,
    ``fake:``, the default) this worker would listen on a bus of its own and never see an
    engine's message."""
    if messaging.is_in_process(url):
        raise ValueError(
            f"transport {url!r} is in-process: a worker process cannot be reached through "
            "it; pass --transport-url rabbit://... (or set [DEFAULT] transport_url)")


def safe_url(url: str) -> str:
    """``url`` with its passwords masked, for logs."""
    return re.sub(r"(?<=[/,])([^:/@,]+):[^@/,]*@", r"\1:***@", url)


class WorkerService:
    """The parts of a worker process, started and stopped in an order that loses nothing."""

    def __init__(self, conf: cfg.ConfigOpts) -> None:
        self.rt = Runtime.from_conf(conf)
        self.conf = conf
        self.topic: str = messaging.topic(conf, self.rt.engine_id)  # as the engines cast to
        self.threads: int = conf.convergence_worker_threads
        self._transport = messaging.get_transport(conf)
        traversals = Traversals(self.rt, WorkerClient(self._transport, self.topic))
        self._heartbeat = Heartbeat(self.rt.db, self.rt.engine_id, BINARY,
                                    conf.heartbeat_interval, topic=self.topic)
        self._server = WorkerServer(conf, self._transport, self.topic, self.rt.engine_id,
                                    Worker(self.rt, traversals), self.threads)
        self._reaper = Reaper(self.rt, traversals)
        self._running: list[str] = []

    @property
    def engine_id(self) -> str:
        return self.rt.engine_id

    def start(self) -> None:
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
        transport outlives the server: a call that finishes casts its successors on it."""
        if "reaper" in self._running:
            self._reaper.stop()
        if "server" in self._running:
            self._server.stop()  # stop taking messages, then wait for those in flight
        self._transport.cleanup()
        if "heartbeat" in self._running:
            self._heartbeat.stop()
        self._running.clear()


def _setup_logging() -> None:
    logging.basicConfig(level=logging.INFO, stream=sys.stderr,
                        format="%(asctime)s %(process)d %(levelname)s %(name)s: %(message)s")


def run(args: argparse.Namespace) -> int:
    # Block the stop signals before any thread exists: every thread inherits the mask, so a
    # signal stays pending until the main thread takes it with sigwait -- no handler runs
    # in the middle of a lock it might need.
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, STOP_SIGNALS)
    try:
        conf = worker_conf(args)
        url = messaging.transport_url(conf)
        check_transport(url)
        # oslo.messaging would retry a silent broker forever, deaf to the stop signals
        # blocked above: say so now instead
        problem = broker_problem(url) if url.startswith("rabbit:") else None
        if problem:
            raise ConnectionError(problem)
        ensure_schema(config.database_url(conf))
        _setup_logging()
        service = WorkerService(conf)
        try:
            service.start()
        except BaseException:
            service.stop()
            raise
        LOG.info("dualpath worker %s ready: topic=%s threads=%d transport=%s pid=%d",
                 service.engine_id, service.topic, service.threads, safe_url(url),
                 os.getpid())
        received = signal.sigwait(STOP_SIGNALS)
        LOG.info("dualpath worker %s stopping on %s: finishing the calls in flight",
                 service.engine_id, signal.Signals(received).name)
        service.stop()
        LOG.info("dualpath worker %s stopped", service.engine_id)
        return 0
    finally:
        # a second signal that came while stopping is spent: the stop it asked for is done
        for pending in signal.sigpending() & STOP_SIGNALS:
            signal.sigwait({pending})
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)
