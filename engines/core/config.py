"""Configuration options (oslo.config).

The one option the whole migration turns on is ``[DEFAULT] convergence_engine``: it is read
once, when a stack is created, and stored on the stack; nothing else ever reads it to decide
a path.
"""

from __future__ import annotations

import copy
import logging
import os
import threading
import warnings
from typing import TYPE_CHECKING

from oslo_config import cfg
from oslo_db import options as db_options
from oslo_log import log as oslo_log

if TYPE_CHECKING:
    from engines.core.db import PoolBudget

DEFAULT_STATE_PATH = os.environ.get("DUALPATH_STATE", os.path.join(os.getcwd(), "state"))

engine_opts = [
    cfg.BoolOpt(
        "convergence_engine",
        default=False,
        help="Create new stacks on the convergence path. Existing stacks keep the path they "
        "were created on, whatever this says.",
    ),
    cfg.StrOpt(
        "state_path",
        default=DEFAULT_STATE_PATH,
        sample_default="$PWD/state",
        help="Directory for local state: the default SQLite database lives here.",
    ),
    cfg.StrOpt(
        "engine_id",
        help="Identity of this engine process in locks and heartbeats. Generated when unset.",
    ),
    cfg.IntOpt(
        "max_template_size",
        default=524288,
        min=1,
        help="Largest template accepted, in bytes, checked before it is parsed.",
    ),
    cfg.IntOpt(
        "max_nested_stack_depth",
        default=5,
        min=1,
        help="Most levels of nested stacks under a top stack (as Heat's).",
    ),
    cfg.IntOpt(
        "max_resources_per_stack",
        default=1000,
        min=1,
        help="Most resources one stack may have.",
    ),
    cfg.IntOpt(
        "legacy_action_threads",
        default=16,
        min=1,
        help="Threads the legacy task scheduler uses to act on independent resources at once.",
    ),
    cfg.IntOpt(
        "convergence_worker_threads",
        default=8,
        min=1,
        help="check_resource messages one convergence worker handles at once.",
    ),
    cfg.IntOpt(
        "convergence_local_workers",
        default=1,
        min=0,
        help="Convergence workers the engine process starts itself. 0 leaves the work to "
        "separate 'dualpath worker' processes (over rabbit://).",
    ),
    cfg.FloatOpt(
        "heartbeat_interval",
        default=1.0,
        min=0.05,
        help="Seconds between two heartbeats of an engine or worker in the service table.",
    ),
    cfg.FloatOpt(
        "service_stale_after",
        default=5.0,
        min=0.1,
        help="Seconds without a heartbeat after which an engine is taken for dead and its "
        "locks are broken.",
    ),
    cfg.FloatOpt(
        "stall_watch_after",
        default=0.0,
        min=0.0,
        help="Seconds a convergence traversal may make no progress, with none of its "
        "resources locked, after an engine that could hold its next message died, before "
        "it is failed naming that engine (engines/convergence/stall_watch.py). 0, the "
        "default: never, the stack timeout ends it, as in Heat. On a loaded host a live "
        "engine's heartbeat can be late and its traversal slow, which this would fail.",
    ),
    cfg.FloatOpt(
        "poll_interval",
        default=0.02,
        min=0.001,
        help="Seconds between two looks at the database while waiting for a hook or a lock.",
    ),
    cfg.IntOpt(
        "max_concurrent_operations",
        default=32,
        min=1,
        help="Stack operations (create, update, delete, rollback, signal) one engine "
        "accepts at once. A call beyond waits up to [database] pool_timeout for its turn, "
        "then fails with EngineOverloaded, having changed nothing: try it again.",
    ),
    cfg.IntOpt(
        "stack_action_timeout",
        default=3600,
        min=1,
        help="Default timeout of a stack operation, in seconds.",
    ),
]


convergence_opts = [
    cfg.StrOpt(
        "convergence_topic",
        default="dualpath-worker",
        help="oslo.messaging topic the convergence workers listen on. Runs that share a "
        "broker but not a database need topics of their own.",
    ),
]


database_opts = [
    cfg.FloatOpt(
        "reconnect_timeout",
        default=120.0,
        min=0.0,
        help="Seconds a transaction waits for a database server that stopped answering "
        "(restarted, failed over) to answer again before it fails: its work resumes when "
        "the server is back, instead of failing every operation in flight. 0: fail at "
        "once.",
    ),
]

# interpolated by oslo.config, so the database follows state_path wherever that is set
DEFAULT_CONNECTION = "sqlite:///$state_path/dualpath.sqlite"


def register_opts(conf: cfg.ConfigOpts) -> None:
    """Register every dualpath option on ``conf`` (idempotent)."""
    conf.register_opts(engine_opts)
    conf.register_opts(convergence_opts)
    # oslo.db's pool options, with a budget a 2-core host and a default PostgreSQL
    # (100 connections) can give an engine and two workers: see pool_budget
    db_options.set_defaults(conf, connection=DEFAULT_CONNECTION, max_pool_size=5,
                            max_overflow=10, pool_timeout=30)
    conf.register_opts(database_opts, group="database")
    register_messaging_opts(conf)
    register_logging_opts(conf)


def register_logging_opts(conf: cfg.ConfigOpts) -> None:
    """oslo.log's options (``debug``, ``log_file``, ``log_dir``, ``use_stderr``, ...) and
    its command-line flags. They must be on ``conf`` before it parses its arguments."""
    oslo_log.register_options(conf)


# where an operator asks for the engine's log; without one an embedded engine leaves the
# host process's logging as the host set it up
_LOG_DESTINATIONS = ("log_file", "log_dir", "log_config_append", "use_stderr", "use_syslog",
                     "use_journal")
_logging_lock = threading.Lock()
_logging_set_up = False


def setup_logging(conf: cfg.ConfigOpts, *, embedded: bool = False) -> bool:
    """Hand this process's logging to oslo.log (``log.setup(conf, "dualpath")``), once per
    process; True if this call did it.

    ``log.setup`` replaces every handler of the root logger. A process of the engine's own
    (a ``dualpath worker``) always calls it. An engine ``embedded`` in a host -- a command,
    the harness, a test session, which may start many engines -- calls it only when its
    configuration names a log destination; otherwise its records go wherever the host's
    logging sends them, as a library's do.
    """
    global _logging_set_up
    with _logging_lock:
        if _logging_set_up:
            return False
        if embedded and not any(getattr(conf, name) for name in _LOG_DESTINATIONS):
            return False
        oslo_log.setup(conf, "dualpath")
        _logging_set_up = True
    logging.getLogger(__name__).debug("logging set up by oslo.log")
    return True


def register_messaging_opts(conf: cfg.ConfigOpts) -> None:
    """oslo.messaging's options (transport_url first), on ``conf``.

    oslo.messaging registers most of them lazily, some only on the global CONF; each engine
    has a ConfigOpts of its own, so they are all registered up front. ``transport_url``
    defaults to nothing, which means in-process: oslo.messaging's own default would be a
    RabbitMQ on localhost, which the embedded default must never need.
    """
    # importing oslo.messaging shows eventlet's deprecation notice; we never use eventlet
    warnings.filterwarnings("ignore", message=r"\s*Eventlet is deprecated")
    from oslo_messaging import opts
    from oslo_messaging._metrics import client as metrics
    from oslo_messaging._tracing import client as tracing
    from oslo_messaging.rpc import dispatcher

    groups = list(opts.list_opts())
    groups += [("oslo_messaging_tracing", tracing.oslo_messaging_tracing),
               ("oslo_messaging_metrics", metrics.oslo_messaging_metrics),
               (None, dispatcher._dispatcher_opts)]
    for group, options in groups:
        for option in options:
            try:
                conf.register_opt(option, group=group)
            except cfg.DuplicateOptError:
                pass
    conf.set_default("transport_url", None)
    # check_resource messages queued on a broker that restarts must still be there when it
    # is back: durable queues (the messages are persistent already). A traversal whose
    # message was lost would wait for its stack timeout.
    conf.set_default("amqp_durable_queues", True, group="oslo_messaging_rabbit")


# documented with our default: oslo.messaging's own sample says rabbit://
transport_url_doc = cfg.StrOpt(
    "transport_url",
    secret=True,
    sample_default="<None>",
    help="oslo.messaging URL of the convergence workers' bus. Unset: in-process (inproc:/), "
    "workers are threads of the engine. rabbit://user:pass@host:5672/ spreads them over "
    "'dualpath worker' processes.",
)


def _database_opts_for_sample() -> list[cfg.Opt]:
    # oslo.db's own list says the connection defaults to nothing; ours is a SQLite file
    options = []
    for option in db_options.database_opts:
        if option.name == "connection":
            option = copy.deepcopy(option)
            option.default = DEFAULT_CONNECTION
        options.append(option)
    return options


def list_opts() -> list[tuple[str, list[cfg.Opt]]]:
    """Entry point for oslo-config-generator (our namespace, beside oslo.log's; [database]
    is here rather than oslo.db's namespace, so that it is documented with our default)."""
    return [("DEFAULT", [*engine_opts, *convergence_opts, transport_url_doc]),
            ("database", _database_opts_for_sample())]


def new_conf(config_files: list[str] | None = None, **overrides: object) -> cfg.ConfigOpts:
    """A fresh, loaded ConfigOpts: one per service, so that tests and the harness can run
    several engines with different settings in one process."""
    conf = cfg.ConfigOpts()
    register_opts(conf)
    conf([], project="dualpath", default_config_files=config_files or [])
    for name, value in overrides.items():
        group = None
        if "." in name:
            group, name = name.split(".", 1)
        conf.set_override(name, value, group=group)
    return conf


def pool_budget(conf: cfg.ConfigOpts) -> PoolBudget:
    """``[database] max_pool_size``, ``max_overflow`` and ``pool_timeout``: the connections
    of each of a process's two pools (API calls; the engine's own work)."""
    from engines.core.db import PoolBudget

    db = conf.database
    return PoolBudget(size=db.max_pool_size if db.max_pool_size is not None else 5,
                      overflow=db.max_overflow if db.max_overflow is not None else 10,
                      timeout=float(db.pool_timeout if db.pool_timeout is not None else 30),
                      reconnect_timeout=db.reconnect_timeout)


def database_url(conf: cfg.ConfigOpts) -> str:
    """The configured database URL; the default SQLite file follows ``state_path``."""
    url = conf.database.connection
    if url.startswith("sqlite:///") and not url.startswith("sqlite:///:memory:"):
        os.makedirs(os.path.dirname(url[len("sqlite:///"):]) or ".", exist_ok=True)
    return url


CONF = cfg.CONF
register_opts(CONF)

