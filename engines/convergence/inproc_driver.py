"""``inproc:/``: oslo.messaging's in-process fake transport, woken by deliveries.

The stock fake driver's listener looks at its queues every 50 ms, so every hop of a
traversal (a cast to the next node) waits up to 50 ms; on small stacks that dominates the
convergence path's time and would make any timing comparison with the legacy path measure
the test transport instead of the engine. This subclass rings a bell on every send and the
listeners wait on it, keeping the 50 ms look only as a fallback.
"""

from __future__ import annotations

import threading
import time
from typing import Any

import oslo_messaging
from oslo_messaging._drivers import base, impl_fake

_BELL = threading.Condition()
_RINGS = [0]  # deliveries so far: a listener waits only if none came since it looked


def _ring() -> None:
    with _BELL:
        _RINGS[0] += 1
        _BELL.notify_all()


class InProcessListener(impl_fake.FakeListener):
    @base.batch_poll_helper
    def poll(self, timeout: float | None = None) -> Any:
        deadline = None if timeout is None else time.monotonic() + timeout
        while not self._stopped.is_set():
            seen = _RINGS[0]
            for target in self._targets:
                exchange = self._exchange_manager.get_exchange(target.exchange)
                ctxt, message, reply_q, requeue = exchange.poll(target, self._pool)
                if message is not None:
                    return impl_fake.FakeIncomingMessage(ctxt, message, reply_q, requeue)
            pause = 0.05
            if deadline is not None:
                pause = min(pause, deadline - time.monotonic())
                if pause <= 0:
                    return None
            with _BELL:
                if _RINGS[0] == seen:
                    _BELL.wait(pause)
        return None

    def stop(self) -> None:
        super().stop()
        _ring()


class InProcessDriver(impl_fake.FakeDriver):
    def _send(self, *args: Any, **kwargs: Any) -> Any:
        try:
            return super()._send(*args, **kwargs)
        finally:
            _ring()

    def listen(self, target: Any, batch_size: int, batch_timeout: float) -> Any:
        exchange = target.exchange or self._default_exchange
        # like the fake driver: this server's own queue and the topic's shared one
        targets = [oslo_messaging.Target(topic=target.topic, server=target.server,
                                         exchange=exchange),
                   oslo_messaging.Target(topic=target.topic, exchange=exchange)]
        listener = InProcessListener(self._exchange_manager, targets)
        return base.PollStyleListenerAdapter(listener, batch_size, batch_timeout)
