"""``dualpath upgrade-check``: is this deployment ready for the new code, and for the flip?

Built on oslo.upgradecheck's conventions: each check answers Success, Warning or Failure
with details; the command exits with the worst code (0 / 1 / 2). As its convention asks,
the checks read the database with plain SQL on the columns each needs, never through the
engine's models, so that they also run against the schema of the release before
(a check that needs a table the old schema lacks says so instead of failing).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa
from oslo_config import cfg
from oslo_upgradecheck import upgradecheck
from sqlalchemy.pool import NullPool

from engines.convergence.messaging import transport_url as configured_transport
from engines.convergence.worker_service import BINARY as WORKER_BINARY
from engines.core.urls import safe_url
from migrations import api as migrations

Code, Result = upgradecheck.Code, upgradecheck.Result


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


class DualpathChecks(upgradecheck.UpgradeCommands):
    """The checks, run in order against one database and one configuration."""

    display_title = "dualpath upgrade check"

    def __init__(self, conf: cfg.ConfigOpts, database_url: str) -> None:
        self.conf = conf
        self.url = database_url
        self.engine = sa.create_engine(database_url, poolclass=NullPool)

    # -- helpers ----------------------------------------------------------------------------
    def _tables(self) -> set[str]:
        return set(sa.inspect(self.engine).get_table_names())

    def _columns(self, table: str) -> set[str]:
        return {c["name"] for c in sa.inspect(self.engine).get_columns(table)}

    def _rows(self, sql: str, **params: Any) -> list[sa.Row]:
        with self.engine.connect() as conn:
            return list(conn.execute(sa.text(sql), params))

    def _live_engines(self, binary: str | None = None) -> set[str]:
        """Engines (or, with ``binary``, processes of that kind) with a fresh heartbeat."""
        if "service" not in self._tables():
            return set()
        cutoff = _utcnow() - dt.timedelta(seconds=self.conf.service_stale_after)
        # a table clause rather than text: "binary" is a reserved word on MySQL
        service = sa.table("service", sa.column("engine_id"), sa.column("binary"),
                           sa.column("updated_at"), sa.column("deleted_at"))
        query = sa.select(service.c.engine_id).where(
            service.c.deleted_at.is_(None), service.c.updated_at >= cutoff)
        if binary is not None:
            query = query.where(service.c.binary == binary)
        with self.engine.connect() as conn:
            return set(conn.scalars(query))

    # -- the checks -------------------------------------------------------------------------
    def check_schema(self) -> Result:
        current = migrations.current(self.url)
        heads = migrations.heads()
        if current in heads:
            return Result(Code.SUCCESS, f"schema at head ({current})")
        return Result(Code.FAILURE,
                      f"schema at {current or 'no revision'}, head is {', '.join(heads)}: "
                      f"run 'dualpath db upgrade --database-url {safe_url(self.url)}'")

    def check_stuck_stacks(self) -> Result:
        tables = self._tables()
        if "stack" not in tables:
            return Result(Code.FAILURE, "no stack table: the database holds no dualpath "
                          "schema; run 'dualpath db upgrade'")
        columns = self._columns("stack")
        convergence = "convergence" if "convergence" in columns else "0"
        busy = self._rows(f"SELECT id, name, action, {convergence} FROM stack "
                          "WHERE status = 'IN_PROGRESS' AND deleted_at IS NULL")
        if not busy:
            return Result(Code.SUCCESS, "no stack is IN_PROGRESS")
        alive = self._live_engines()
        locks = ({r[0]: r[1] for r in self._rows("SELECT stack_id, engine_id FROM stack_lock")}
                 if "stack_lock" in tables else {})
        stuck = []
        for stack_id, name, action, on_convergence in busy:
            if on_convergence:
                # a traversal goes on while any engine or worker lives to take its messages
                held = bool(alive)
            else:
                held = locks.get(stack_id) in alive
            if not held:
                stuck.append(f"{name} ({stack_id}, {action})")
        if not stuck:
            return Result(Code.SUCCESS,
                          f"{len(busy)} stack(s) IN_PROGRESS, each held by a live engine")
        return Result(Code.FAILURE,
                      f"{len(stuck)} stack(s) IN_PROGRESS with no live engine to finish "
                      f"them: {', '.join(sorted(stuck))}. Start an engine (its recovery "
                      "marks them FAILED and frees them), then update or roll them back.")

    def check_legacy_stacks(self) -> Result:
        if "stack" not in self._tables():
            return Result(Code.FAILURE, "no stack table")
        if "convergence" not in self._columns("stack"):
            rows = self._rows("SELECT status FROM stack WHERE deleted_at IS NULL "
                              "AND backup = :no AND owner_id IS NULL", no=False)
        else:
            rows = self._rows("SELECT status FROM stack WHERE deleted_at IS NULL "
                              "AND backup = :no AND owner_id IS NULL AND convergence = :no",
                              no=False)
        if not rows:
            return Result(Code.SUCCESS, "no stack is on the legacy path")
        movable = sum(1 for (status,) in rows if status == "COMPLETE")
        return Result(Code.WARNING,
                      f"{len(rows)} stack(s) on the legacy path: {movable} COMPLETE and "
                      f"movable onto convergence, {len(rows) - movable} not (IN_PROGRESS "
                      "or FAILED stacks must reach COMPLETE first). A stack stays on its "
                      "path for life unless moved: 'dualpath db migrate-stacks --all' moves "
                      "the COMPLETE ones.")

    def check_workers(self) -> Result:
        url = configured_transport(self.conf)
        if not url.startswith("rabbit:"):
            return Result(Code.SUCCESS, f"in-process transport ({url}): every engine runs "
                          "its convergence workers itself")
        if "service" not in self._tables():
            return Result(Code.FAILURE, "no service table: workers cannot register; run "
                          "'dualpath db upgrade'")
        workers = self._live_engines(WORKER_BINARY)
        if workers:
            return Result(Code.SUCCESS, f"{len(workers)} convergence worker(s) alive on "
                          f"{safe_url(url)}")
        code = Code.FAILURE if self.conf.convergence_engine else Code.WARNING
        return Result(code, f"no convergence worker alive on {safe_url(url)}: start "
                      "'dualpath worker' processes"
                      + ("" if self.conf.convergence_engine else
                         " before new stacks are sent down the convergence path"))

    _upgrade_checks = (
        ("Database schema", check_schema),
        ("Stacks stuck IN_PROGRESS", check_stuck_stacks),
        ("Stacks still on the legacy path", check_legacy_stacks),
        ("Convergence workers", check_workers),
    )

    def results(self) -> list[tuple[str, Result]]:
        """Every check's result, without printing (for --json and tests)."""
        return [(name, func(self)) for name, func in self._upgrade_checks]

    def close(self) -> None:
        self.engine.dispose()
