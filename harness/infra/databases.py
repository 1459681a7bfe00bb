"""A fresh, migrated database for every scenario run, made by cloning a template that was
migrated once per run (replaying the alembic history per scenario would dominate the run).

SQLite: a file copy. PostgreSQL: CREATE DATABASE ... TEMPLATE. MariaDB/MySQL, which has no
template databases: CREATE TABLE ... LIKE for every table, plus the alembic version row.
"""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

from engines.service import schema_drift
from harness.infra import provisioning
from migrations import api as migrations


@dataclass(frozen=True)
class DatabaseFactory:
    """Picklable: workers of a process pool make their databases from it."""

    backend: str  # sqlite | postgresql | mysql
    template_url: str
    server_url: str
    directory: str

    @classmethod
    def prepare(cls, server_url: str | None) -> DatabaseFactory:
        directory = tempfile.mkdtemp(prefix="dualpath-run-")
        if not server_url or server_url.startswith("sqlite"):
            template = Path(directory) / "template.sqlite"
            url = f"sqlite:///{template}"
            migrations.upgrade(url)
            return cls("sqlite", url, "sqlite://", directory)
        reason = provisioning.probe(server_url)
        if reason:
            raise ValueError(reason)
        backend = make_url(server_url).get_backend_name()
        url = provisioning.create_database(server_url, prefix="dualpath_tmpl")
        migrations.upgrade(url)
        return cls(backend, url, server_url, directory)

    def verify(self) -> dict[str, object]:
        """Whether the template is at head and matches the models (no autogenerate diff)."""
        head = migrations.heads()[0]
        at = migrations.current(self.template_url)
        drift = schema_drift(self.template_url)
        ok = at == head and not drift
        detail = (f"template database at {at}, head {head}; "
                  f"{'models match the migrated schema' if not drift else f'drift: {drift!r}'}")
        return {"verified": ok, "head": head, "detail": detail}

    def new(self, label: str) -> str:
        if self.backend == "sqlite":
            path = Path(self.directory) / f"{label}.sqlite"
            shutil.copyfile(self.template_url[len("sqlite:///"):], path)
            return f"sqlite:///{path}"
        url = make_url(self.template_url)
        name = f"dualpath_{label}"[:60].replace("-", "_").lower()
        admin = sa.create_engine(self.server_url, poolclass=NullPool,
                                 isolation_level="AUTOCOMMIT")
        try:
            with admin.connect() as conn:
                quote = conn.dialect.identifier_preparer.quote
                if self.backend == "postgresql":
                    conn.execute(sa.text(
                        f"CREATE DATABASE {quote(name)} TEMPLATE {quote(url.database)}"))
                else:
                    conn.execute(sa.text(f"CREATE DATABASE {quote(name)} "
                                         "CHARACTER SET utf8mb4"))
                    tables = conn.execute(sa.text(
                        "SELECT table_name FROM information_schema.tables "
                        "WHERE table_schema = :db"), {"db": url.database}).scalars().all()
                    # SHOW CREATE TABLE keeps foreign keys (CREATE TABLE ... LIKE drops
                    # them); without checks the tables can be made in any order
                    conn.execute(sa.text(f"USE {quote(name)}"))
                    conn.execute(sa.text("SET FOREIGN_KEY_CHECKS = 0"))
                    for table in tables:
                        ddl = conn.execute(sa.text(
                            f"SHOW CREATE TABLE {quote(url.database)}.{quote(table)}")).one()[1]
                        conn.exec_driver_sql(ddl)
                    conn.execute(sa.text("SET FOREIGN_KEY_CHECKS = 1"))
                    conn.execute(sa.text(
                        f"INSERT INTO {quote(name)}.alembic_version "
                        f"SELECT * FROM {quote(url.database)}.alembic_version"))
        finally:
            admin.dispose()
        return url.set(database=name).render_as_string(hide_password=False)

    def drop(self, url: str) -> None:
        provisioning.drop_database(url)

    def close(self) -> None:
        if self.backend != "sqlite":
            provisioning.drop_database(self.template_url)
        shutil.rmtree(self.directory, ignore_errors=True)
