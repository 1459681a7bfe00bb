"""The schema moves under traffic: how long the previous release's writes stall while
``alembic upgrade head`` runs on a database full of legacy stacks, and whether any is lost.

A new database on the server is brought to the pre-convergence revision and filled with N
legacy stacks (two resources and an event each), in bulk. Writers then create and update
stacks through the pre-convergence code's SQL (naming only the columns it knows, as the
previous release does during a rolling upgrade) while the upgrade runs, and keep on after
it. Every write's latency is kept; afterwards every stack a writer created must be there.

Goal (issue 14): at 100,000 stacks, on PostgreSQL and MariaDB, no write stalls more than
100 ms and none is lost. ``max_write_stall_ms`` is the slowest write that overlapped the
upgrade; the goal is judged on what the upgrade adds over the slowest write before it
(``stall_added_by_upgrade_ms``), since a server's own commit latency is not the schema's.

    python -m benchmarks.bench_live_upgrade \
        --database-url postgresql+psycopg2://root@localhost/test \
        --stacks 100000 --json out/live-upgrade-pg.json
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import statistics
import sys
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.pool import NullPool

from harness.infra import provisioning
from migrations import api

PRE_CONVERGENCE = "0001_pre_convergence"
GOAL_STALL_MS = 100.0
BATCH = 5000
TEMPLATE = {"heat_template_version": "2016-10-14",
            "resources": {"A": {"type": "OS::Heat::TestResource"},
                          "B": {"type": "OS::Heat::TestResource", "depends_on": ["A"]}}}


def _tables(conn: sa.Connection) -> dict[str, sa.Table]:
    """The tables as the pre-convergence code knew them: reflected before the upgrade, so
    its statements never name a column it did not have."""
    meta = sa.MetaData()
    return {name: sa.Table(name, meta, autoload_with=conn)
            for name in ("raw_template", "stack", "resource", "event")}


def _stack(sid: str, name: str, template_id: int, now: dt.datetime) -> dict[str, Any]:
    return {"id": sid, "name": name, "project_id": "bench", "raw_template_id": template_id,
            "parameters": "{}", "action": "CREATE", "status": "COMPLETE",
            "disable_rollback": False, "backup": False, "created_at": now}


def _resources(sid: str, now: dt.datetime) -> list[dict[str, Any]]:
    return [{"uuid": str(uuid.uuid4()), "stack_id": sid, "name": name,
             "type": "OS::Heat::TestResource", "physical_resource_id": str(uuid.uuid4()),
             "action": "CREATE", "status": "COMPLETE", "properties_data": "{}",
             "created_at": now} for name in ("A", "B")]


def fill(engine: sa.Engine, tables: dict[str, sa.Table], stacks: int) -> tuple[int, list[str]]:
    """N legacy stacks in bulk; (template id, stack ids)."""
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    with engine.begin() as conn:
        template_id = conn.execute(tables["raw_template"].insert().values(
            template=json.dumps(TEMPLATE), environment="{}", created_at=now)
        ).inserted_primary_key[0]
    ids = [str(uuid.uuid4()) for _ in range(stacks)]
    for start in range(0, stacks, BATCH):
        chunk = ids[start:start + BATCH]
        with engine.begin() as conn:
            conn.execute(tables["stack"].insert(),
                         [_stack(sid, f"old-{start + i}", template_id, now)
                          for i, sid in enumerate(chunk)])
            conn.execute(tables["resource"].insert(),
                         [r for sid in chunk for r in _resources(sid, now)])
            conn.execute(tables["event"].insert(), [
                {"uuid": str(uuid.uuid4()), "stack_id": sid, "resource_name": "A",
                 "resource_action": "CREATE", "resource_status": "COMPLETE",
                 "created_at": now} for sid in chunk])
    return template_id, ids


class Writer(threading.Thread):
    """The previous release at work: each write creates a stack with its resources, or
    updates an existing stack and one of its resources, in one transaction."""

    def __init__(self, engine: sa.Engine, tables: dict[str, sa.Table], template_id: int,
                 existing: list[str], number: int) -> None:
        super().__init__(daemon=True, name=f"writer-{number}")
        self.engine, self.tables, self.template_id = engine, tables, template_id
        self.existing, self.number = existing, number
        self.stop = threading.Event()
        self.writes: list[tuple[float, float]] = []  # (started, took) in perf_counter s
        self.created: list[str] = []
        self.errors: list[str] = []

    def _write(self, i: int) -> str | None:
        now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
        stack, resource = self.tables["stack"], self.tables["resource"]
        with self.engine.begin() as conn:
            if i % 2 == 0:
                sid = str(uuid.uuid4())
                conn.execute(stack.insert().values(
                    _stack(sid, f"live-{self.number}-{i}", self.template_id, now)))
                conn.execute(resource.insert(), _resources(sid, now))
                return sid
            target = self.existing[(i * 7919 + self.number) % len(self.existing)]
            conn.execute(stack.update().where(stack.c.id == target).values(
                action="UPDATE", status="COMPLETE", updated_at=now))
            conn.execute(resource.update().where(resource.c.stack_id == target,
                                                 resource.c.name == "A")
                         .values(properties_data=json.dumps({"value": i}), updated_at=now))
            return None

    def run(self) -> None:
        i = 0
        while not self.stop.is_set():
            started = time.perf_counter()
            try:
                sid = self._write(i)
            except Exception as exc:  # noqa: BLE001 - a failed write is a finding to report
                self.errors.append(f"{type(exc).__name__}: {exc}".splitlines()[0])
                sid = None
            self.writes.append((started, time.perf_counter() - started))
            if sid:
                self.created.append(sid)
            i += 1


def _p(values: list[float], q: float) -> float:
    if len(values) < 2:
        return values[0] if values else 0.0
    return statistics.quantiles(values, n=100, method="inclusive")[int(q) - 1]


def measure(server_url: str, stacks: int, writers: int, settle_s: float) -> dict[str, Any]:
    url = provisioning.create_database(server_url, prefix="bench_live_upgrade")
    engine = sa.create_engine(url, poolclass=NullPool)
    try:
        api.upgrade(url, PRE_CONVERGENCE)
        with engine.connect() as conn:
            tables = _tables(conn)
        started = time.perf_counter()
        template_id, ids = fill(engine, tables, stacks)
        fill_s = time.perf_counter() - started
        threads = [Writer(engine, tables, template_id, ids, n) for n in range(writers)]
        for thread in threads:
            thread.start()
        threading.Event().wait(settle_s)  # writes before the upgrade, as a baseline
        up_from = time.perf_counter()
        api.upgrade(url)
        up_to = time.perf_counter()
        threading.Event().wait(settle_s)  # and after it
        for thread in threads:
            thread.stop.set()
        for thread in threads:
            thread.join(timeout=60)
        writes = [w for t in threads for w in t.writes]
        during = [took for begun, took in writes if begun + took >= up_from and begun <= up_to]
        before = [took for begun, took in writes if begun + took < up_from]
        created = [sid for t in threads for sid in t.created]
        stack = tables["stack"]
        with engine.connect() as conn:
            present = {r[0] for r in conn.execute(sa.select(stack.c.id).where(
                stack.c.name.like("live-%")))}
            legacy = conn.execute(sa.text(
                "SELECT COUNT(*) FROM stack WHERE convergence = :f"), {"f": False}).scalar()
            total = conn.execute(sa.select(sa.func.count()).select_from(stack)).scalar()
        lost = len([sid for sid in created if sid not in present])
        stall = max(during, default=0.0) * 1000
        # what the server's own commit latency is without the upgrade (MariaDB's fsync on
        # a small machine can exceed the goal by itself): the upgrade's share is the excess
        baseline = max(before, default=0.0) * 1000
        added = max(0.0, stall - baseline)
        return {
            "database": engine.dialect.name, "stacks": stacks, "writers": writers,
            "fill_s": round(fill_s, 1), "upgrade_s": round(up_to - up_from, 3),
            "writes": len(writes), "writes_during_upgrade": len(during),
            "failed_writes": sum(len(t.errors) for t in threads),
            "errors": sorted({e for t in threads for e in t.errors})[:5],
            "lost_writes": lost,
            "max_write_stall_ms": round(stall, 1),
            "baseline_max_write_ms": round(baseline, 1),
            "stall_added_by_upgrade_ms": round(added, 1),
            "p99_write_ms": round(_p([took for _, took in writes], 99) * 1000, 2),
            "p50_write_ms": round(_p([took for _, took in writes], 50) * 1000, 2),
            "all_stacks_legacy_after": legacy == total,
            "at_head": api.current(url) == api.heads()[0],
            "within_goal": added <= GOAL_STALL_MS and lost == 0
            and not any(t.errors for t in threads),
        }
    finally:
        engine.dispose()
        provisioning.drop_database(url)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", required=True,
                        help="a PostgreSQL or MariaDB server (a new database is made on it)")
    parser.add_argument("--stacks", type=int, default=100_000)
    parser.add_argument("--writers", type=int, default=2)
    parser.add_argument("--settle", type=float, default=2.0,
                        help="seconds of writes before and after the upgrade")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    if args.stacks < 1 or args.writers < 1:
        parser.error("--stacks and --writers must be at least 1")
    problem = provisioning.probe(args.database_url)
    if problem:
        print(f"error: --database-url {args.database_url}: {problem}", file=sys.stderr)
        return 2
    result = measure(args.database_url, args.stacks, args.writers, args.settle)
    result["goal"] = {"stall_added_by_upgrade_ms": GOAL_STALL_MS, "lost_writes": 0}
    text = json.dumps(result, indent=2)
    print(text)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(text + "\n", encoding="utf-8")
    return 0 if result["within_goal"] else 1


if __name__ == "__main__":
    sys.exit(main())
