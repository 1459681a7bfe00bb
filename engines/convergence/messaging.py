"""check_resource over oslo.messaging: ``inproc:/`` (in-process, the default; a variant of
oslo.messaging's ``fake`` driver that wakes listeners on delivery instead of polling) or
``rabbit://`` to spread workers over processes and hosts."""

from __future__ import annotations

import logging as logging_std
from typing import Any

# isort: off
from engines.core import config  # before oslo_messaging: it silences eventlet's notice
from engines.core import waiting
from futurist import _thread as futurist_thread
import oslo_messaging
from oslo_config import cfg
from oslo_log import log as logging
# isort: on

LOG = logging.getLogger(__name__)

VERSION = "1.0"
# An idle thread of the threading executor looks for its stop only when its wait for work
# times out: 1 s in futurist, so stopping an engine took most of a second (every run of a
# scenario, every test). A wait of 50 ms costs an idle thread 20 wake-ups a second.
futurist_thread.ThreadWorker.MAX_IDLE_FOR = 0.05
IN_PROCESS = "inproc:/"  # oslo.messaging's fake transport, woken on delivery


class _ClosingChannelNotice(logging_std.Filter):
    """py-amqp warns of every frame a channel receives while it closes. The broker cancels
    the consumers of auto-delete queues as their connection goes (basic.cancel, method
    (60, 30)), and that frame crosses the close, so every engine and worker stop printed a
    warning that says nothing is wrong. Only that notice is dropped."""

    def filter(self, record: logging_std.LogRecord) -> bool:
        return not (isinstance(record.msg, str) and record.msg.startswith("Received method")
                    and bool(record.args) and record.args[0] == (60, 30))


logging_std.getLogger("amqp").addFilter(_ClosingChannelNotice())


def transport_url(conf: cfg.ConfigOpts) -> str:
    """``[DEFAULT] transport_url``; unset means in-process (oslo.messaging's own default
    would be a RabbitMQ on localhost, which the embedded default must never need)."""
    config.register_messaging_opts(conf)
    return conf.transport_url or IN_PROCESS


def is_in_process(url: str) -> bool:
    return url.split(":", 1)[0] in ("inproc", "fake")


def topic(conf: cfg.ConfigOpts, engine_id: str) -> str:
    """The workers' topic. The in-process drivers keep their queues in one process-wide
    table, so two engines in one process (tests, the harness) get topics of their own."""
    if is_in_process(transport_url(conf)):
        return f"{conf.convergence_topic}.{engine_id}"
    return conf.convergence_topic


def get_transport(conf: cfg.ConfigOpts) -> oslo_messaging.Transport:
    """A new transport. In process (``inproc:/`` or ``fake:/``) each transport is its own
    little broker: the client and the workers of one engine share one, and two engines in a
    process never mix."""
    return oslo_messaging.get_rpc_transport(conf, url=transport_url(conf))


class WorkerClient:
    """Casts check_resource to whichever worker takes it.

    Over RabbitMQ each cast is mandatory and confirmed: a message the broker cannot route
    (no worker's queue is bound to the topic: a restarted broker whose workers have not
    declared their queues again yet) comes back as MessageUndeliverable instead of
    vanishing, and is sent again until a queue takes it or ``undeliverable_wait`` passes.
    Without this one lost message leaves its traversal waiting for the stack timeout."""

    def __init__(self, transport: oslo_messaging.Transport, topic: str, *,
                 confirmed: bool = False, undeliverable_wait: float = 120.0) -> None:
        target = oslo_messaging.Target(topic=topic, version=VERSION)
        options = oslo_messaging.TransportOptions(at_least_once=True) if confirmed else None
        self._client = oslo_messaging.get_rpc_client(transport, target,
                                                     transport_options=options)
        self._topic = topic
        self._wait = undeliverable_wait

    def check_resource(self, **kwargs: Any) -> None:
        def note(_exc: BaseException) -> None:
            LOG.warning("no worker's queue takes topic %s yet; check_resource of %s "
                        "sent again", self._topic, kwargs.get("name"))

        waiting.keep_trying(lambda: self._client.cast({}, "check_resource", **kwargs),
                            lambda exc: isinstance(exc, oslo_messaging.MessageUndeliverable),
                            timeout=self._wait, interval=0.05, max_interval=1.0,
                            on_retry=note)


def worker_client(conf: cfg.ConfigOpts, transport: oslo_messaging.Transport,
                  topic: str) -> WorkerClient:
    """The client an engine or worker casts with: confirmed over a real broker."""
    return WorkerClient(transport, topic, confirmed=not is_in_process(transport_url(conf)))


class WorkerServer:
    """An RPC server whose threading executor runs up to ``threads`` check_resource calls
    at once."""

    def __init__(self, conf: cfg.ConfigOpts, transport: oslo_messaging.Transport, topic: str,
                 server_name: str, endpoint: object, threads: int) -> None:
        config.register_messaging_opts(conf)
        conf.set_override("executor_thread_pool_size", threads)
        target = oslo_messaging.Target(topic=topic, server=server_name, version=VERSION)
        self._server = oslo_messaging.get_rpc_server(
            transport, target, [endpoint])  # threading executor: nothing is monkey-patched

    def start(self) -> None:
        self._server.start()

    def stop(self) -> None:
        self._server.stop()
        self._server.wait()

