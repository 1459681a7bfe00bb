"""What every part of an engine process shares: configuration, database, the simulated
cloud and this process's engine identity."""

from __future__ import annotations

import threading
import uuid
from dataclasses import dataclass, field
from typing import Any

from oslo_config import cfg

from engines.core import config
from engines.core.db import Database
from engines.core.reality import Reality


@dataclass
class Runtime:
    conf: cfg.ConfigOpts
    db: Database
    reality: Reality
    engine_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    # what stack resources ask about their nested stacks (engines.core.nested); set by
    # the service, which alone knows the paths
    nested: Any = None
    # set while the engine (or worker) stops: waits at a hook give up instead of keeping
    # the stop waiting for a signal that may never come
    stopping: threading.Event = field(default_factory=threading.Event)

    @classmethod
    def from_conf(cls, conf: cfg.ConfigOpts | None = None) -> Runtime:
        conf = conf or config.CONF
        db = Database(config.database_url(conf), config.pool_budget(conf))
        return cls(conf=conf, db=db, reality=Reality(db),
                   engine_id=conf.engine_id or str(uuid.uuid4()))

    @property
    def poll_interval(self) -> float:
        return self.conf.poll_interval
