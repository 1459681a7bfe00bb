"""``dualpath worker``: the engine's worker process (engines/convergence/worker_service.py)
from the command line, over ``rabbit://``. SIGTERM or SIGINT stop it gracefully: no new
message is taken, the calls in flight finish (and hand their results on), its service row
is marked deleted, and it exits 0. A worker that cannot start (an in-process transport, a
broker that does not answer, a database not migrated) exits 2, as bad input.

The ``dualpath`` command mounts it as a subcommand (``add_parser``); ``python -m
engines.cli_worker`` runs it alone, as engines/convergence/processes.py starts workers.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
from collections.abc import Sequence

from oslo_config import cfg

from engines.convergence import messaging
from engines.convergence.processes import broker_problem
from engines.convergence.worker_service import WorkerService, check_transport
from engines.core import config
from engines.core.urls import safe_url
from engines.service import ensure_schema

STOP_SIGNALS = {signal.SIGTERM, signal.SIGINT}
LOG = logging.getLogger("dualpath.worker")
HELP = "run a convergence worker process (needs a rabbit:// transport)"


def configure(parser: argparse.ArgumentParser) -> None:
    """The worker's own options."""
    parser.add_argument("--database-url", help="instead of [database] connection")
    parser.add_argument("--transport-url",
                        help="instead of [DEFAULT] transport_url, e.g. rabbit://guest:guest@"
                        "localhost:5672/")
    parser.add_argument("--threads", type=_positive,
                        help="check_resource calls handled at once "
                        "(default: [DEFAULT] convergence_worker_threads)")
    parser.add_argument("--topic", help="instead of [DEFAULT] convergence_topic")
    parser.set_defaults(handler=run)


def add_parser(sub: argparse._SubParsersAction) -> None:
    configure(sub.add_parser("worker", help=HELP))


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


def main(argv: Sequence[str] | None = None) -> int:
    """The worker alone. A refusal to start is a usage error: argparse's exit status 2,
    which is also the ``dualpath`` command's status for bad input."""
    parser = argparse.ArgumentParser(prog="dualpath worker", description=HELP)
    parser.add_argument("--config-file", action="append", default=[], metavar="PATH",
                        help="oslo.config file(s); later files win")
    configure(parser)
    args = parser.parse_args(argv)
    try:
        return run(args)
    except (OSError, ValueError) as exc:
        parser.error(str(exc))
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
