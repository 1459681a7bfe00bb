"""Engine liveness: every engine and worker heartbeats a row in the ``service`` table; a
lock whose holder has a stale (or no) heartbeat is held by a dead engine and may be broken."""

from __future__ import annotations

import datetime as dt
import os
import socket
import threading
import uuid

import sqlalchemy as sa
from oslo_log import log as logging

from engines.core.db import Database, answered_again_within
from engines.core.models import Service, utcnow

LOG = logging.getLogger(__name__)


class Heartbeat:
    """Registers ``engine_id`` and refreshes its row from a daemon thread until stopped."""

    def __init__(self, db: Database, engine_id: str, binary: str, interval: float,
                 topic: str | None = None) -> None:
        self.db = db
        self.engine_id = engine_id
        self.binary = binary
        self.interval = interval
        self.topic = topic
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._id = str(uuid.uuid4())

    def start(self) -> None:
        now = utcnow()
        with self.db.session() as s:
            s.add(Service(id=self._id, engine_id=self.engine_id, host=socket.gethostname(),
                          binary=self.binary, topic=self.topic, pid=os.getpid(),
                          report_interval=self.interval, created_at=now, updated_at=now))
        self._thread = threading.Thread(target=self._run, name=f"heartbeat-{self.binary}",
                                        daemon=True)
        self._thread.start()
        LOG.info("engine %s (%s, pid %d) heartbeats every %ss as service %s",
                 self.engine_id, self.binary, os.getpid(), self.interval, self._id)

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.beat()
            except Exception as exc:  # noqa: BLE001 - a missed beat must not kill the engine
                # others take this engine for dead after service_stale_after without one
                LOG.warning("engine %s missed a heartbeat: %s", self.engine_id, exc)
                continue

    def beat(self) -> None:
        with self.db.session() as s:
            s.execute(sa.update(Service).where(Service.id == self._id)
                      .values(updated_at=utcnow()))

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        with self.db.session() as s:
            s.execute(sa.update(Service).where(Service.id == self._id)
                      .values(deleted_at=utcnow()))
        LOG.info("engine %s (%s) stopped heartbeating: service %s marked deleted",
                 self.engine_id, self.binary, self._id)


def alive_engines(db: Database, stale_after: float) -> set[str]:
    """Engines with a fresh heartbeat. Right after the database was away (restarted,
    failed over), every engine that has not stopped counts as alive until it has had a
    whole ``stale_after`` to beat again: its heartbeat went stale because nobody could
    write one, not because it died, and breaking its locks would fail live work."""
    cutoff = utcnow() - dt.timedelta(seconds=stale_after)
    query = sa.select(Service.engine_id).where(Service.deleted_at.is_(None))
    if not just_back(db, stale_after):
        query = query.where(Service.updated_at >= cutoff)
    with db.session() as s:
        return set(s.scalars(query))


def just_back(db: Database, stale_after: float) -> bool:
    """The database answers again after an outage, less than ``stale_after`` ago."""
    return answered_again_within(db.url, stale_after)


def is_alive(db: Database, engine_id: str, stale_after: float) -> bool:
    return engine_id in alive_engines(db, stale_after)
