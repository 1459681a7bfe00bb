"""Rules every revision keeps, so that upgrading a database full of live stacks is safe.

* expand only: an upgrade adds tables, columns and indexes; it never drops, renames or
  alters a column in place, nor adds a NOT NULL column without a default (contraction is a
  later, separate revision, once no running code needs the old shape), as Heat's migration
  tests banned such operations;
* bounded waits: every revision after the first, up and down, sets ``lock_timeout`` and
  ``statement_timeout`` (``SET LOCAL``, inside its own transaction) on PostgreSQL, and
  ``lock_wait_timeout`` on MariaDB/MySQL, before its first DDL (``migrations.bounded_ddl``);
* MariaDB/MySQL add columns with ``ALGORITHM=INSTANT`` (no table copy).

The rules are read from each revision's offline SQL (``alembic upgrade A:B --sql``), so they
see raw ``op.execute`` as well as ``op`` calls; a revision written against them is refused,
as the test with a contracting revision of our own making shows.
"""

from __future__ import annotations

import io
import re
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy.pool import NullPool

import migrations
from migrations import api

PG = "postgresql+psycopg2://"
MYSQL = "mysql+pymysql://"
DDL = re.compile(r"^\s*(CREATE|ALTER|DROP)\b", re.IGNORECASE)

CONTRACTIONS = [
    (re.compile(r"\bDROP\s+COLUMN\b", re.I), "drops a column"),
    (re.compile(r"\bALTER\s+COLUMN\b", re.I), "alters a column in place"),
    (re.compile(r"\bMODIFY\b|\bCHANGE\s+(COLUMN\s+)?\S+\s+\S+", re.I),
     "alters a column in place"),
    (re.compile(r"\bRENAME\b", re.I), "renames"),
    (re.compile(r"^\s*DROP\s+TABLE\b", re.I), "drops a table"),
]


def _statements(sql: str) -> list[str]:
    """The statements of alembic's offline SQL, without its comments."""
    lines = [line for line in sql.splitlines() if not line.lstrip().startswith("--")]
    return [s.strip() for s in re.split(r";\s*$", "\n".join(lines), flags=re.M) if s.strip()]


def contractions(sql: str) -> list[str]:
    """What in ``sql`` (an upgrade's DDL) is not expand-only, one line per offence."""
    found = []
    for statement in _statements(sql):
        for pattern, what in CONTRACTIONS:
            if pattern.search(statement):
                found.append(f"{what}: {statement}")
        for clause in re.split(r"\bADD\s+COLUMN\b", statement, flags=re.I)[1:]:
            clause = clause.split(", ALGORITHM")[0]
            if re.search(r"\bNOT\s+NULL\b", clause, re.I) and not re.search(
                    r"\bDEFAULT\b", clause, re.I):
                found.append(f"adds a NOT NULL column without a default: {statement}")
    return found


def unbounded(sql: str, dialect_url: str) -> list[str]:
    """Why the DDL in ``sql`` (one revision, one direction) may wait without bound."""
    statements = _statements(sql)
    first_ddl = next((i for i, s in enumerate(statements) if DDL.match(s)), None)
    if first_ddl is None:
        return []
    before = "\n".join(statements[:first_ddl])
    if dialect_url == PG:
        needed = ["SET LOCAL lock_timeout", "SET LOCAL statement_timeout"]
    else:
        needed = ["SET SESSION lock_wait_timeout"]
    return [f"no {what} before {statements[first_ddl]!r}" for what in needed
            if what not in before]


def _steps(config: Config) -> list[tuple[str | None, str]]:
    """(down revision, revision), base to head."""
    script = ScriptDirectory.from_config(config)
    steps = []
    for rev in reversed(list(script.walk_revisions("base", "heads"))):
        assert rev.down_revision is None or isinstance(rev.down_revision, str)
        steps.append((rev.down_revision, rev.revision))
    return steps


def _sql(config: Config, dialect_url: str, direction: str, spec: str) -> str:
    buffer = io.StringIO()
    config.set_main_option("sqlalchemy.url", dialect_url)
    config.output_buffer = buffer
    getattr(command, direction)(config, spec, sql=True)
    return buffer.getvalue()


def _upgrade_sql(config: Config, dialect_url: str, down: str | None, rev: str) -> str:
    return _sql(config, dialect_url, "upgrade", rev if down is None else f"{down}:{rev}")


def _violations(config: Config) -> list[str]:
    """Every rule any revision of ``config``'s history breaks."""
    found = []
    for down, rev in _steps(config):
        for dialect_url in (PG, MYSQL):
            up = _upgrade_sql(config, dialect_url, down, rev)
            found += [f"{rev} ({dialect_url}): {c}" for c in contractions(up)]
            if down is None:
                continue  # the first revision creates the schema in an empty database
            found += [f"{rev} upgrade ({dialect_url}): {u}" for u in unbounded(up, dialect_url)]
            back = _sql(config, dialect_url, "downgrade", f"{rev}:{down}")
            found += [f"{rev} downgrade ({dialect_url}): {u}"
                      for u in unbounded(back, dialect_url)]
    return found


def test_every_revision_keeps_the_rules() -> None:
    assert _violations(api.alembic_config()) == []


def test_mariadb_adds_every_column_instantly() -> None:
    config = api.alembic_config()
    adds = [
        statement
        for down, rev in _steps(config)
        for statement in _statements(_upgrade_sql(config, MYSQL, down, rev))
        if re.search(r"\bADD\s+COLUMN\b", statement, re.I)
    ]
    assert adds, "the history adds columns: the check must see them"
    assert [s for s in adds if "ALGORITHM=INSTANT" not in s] == []


BAD_REVISION = '''"""A contraction, in place: what the rules must refuse.

Revision ID: 0099_contract_in_place
Revises: {head}
"""
import sqlalchemy as sa
from alembic import op

revision = "0099_contract_in_place"
down_revision = "{head}"
branch_labels = None
depends_on = None


def upgrade():
    op.alter_column("stack", "name", type_=sa.String(512))
    op.drop_column("resource", "engine_id")
    op.add_column("stack", sa.Column("tenant", sa.String(64), nullable=False))


def downgrade():
    op.drop_column("stack", "tenant")
'''


def test_a_revision_that_contracts_in_place_is_refused(tmp_path: Path) -> None:
    # the real history, plus one revision that breaks every rule
    history = tmp_path / "history"
    shutil.copytree(
        api.SCRIPT_LOCATION, history, ignore=shutil.ignore_patterns("__pycache__", "*.pyc")
    )
    head = api.heads()[0]
    (history / "versions" / "0099_contract_in_place.py").write_text(
        BAD_REVISION.format(head=head)
    )
    config = api.alembic_config()
    config.set_main_option("script_location", str(history))

    violations = _violations(config)
    assert violations and all(v.startswith("0099_contract_in_place") for v in violations)
    text = "\n".join(violations)
    for expected in (
        "alters a column in place", "drops a column",
        "adds a NOT NULL column without a default",
        "no SET LOCAL lock_timeout", "no SET LOCAL statement_timeout",
        "no SET SESSION lock_wait_timeout",
    ):
        assert expected in text, (expected, text)


@pytest.mark.parametrize("statement, offence", [
    ("ALTER TABLE stack MODIFY name VARCHAR(512) NOT NULL", "alters a column in place"),
    ("ALTER TABLE stack CHANGE name title VARCHAR(255)", "alters a column in place"),
    ("ALTER TABLE stack RENAME COLUMN name TO title", "renames"),
    ("DROP TABLE stack_lock", "drops a table"),
    ("ALTER TABLE stack ADD COLUMN x INT NOT NULL, ALGORITHM=INSTANT",
     "adds a NOT NULL column without a default"),
])
def test_the_mariadb_forms_of_a_contraction_are_seen(statement: str, offence: str) -> None:
    assert [c.split(":")[0] for c in contractions(statement + ";\n")] == [offence]


def test_expanding_statements_pass() -> None:
    sql = (
        "ALTER TABLE stack ADD COLUMN convergence BOOLEAN DEFAULT false NOT NULL;\n"
        "ALTER TABLE `stack` ADD COLUMN current_traversal VARCHAR(36), "
        "ADD COLUMN atomic_key INTEGER, ALGORITHM=INSTANT;\n"
        "CREATE TABLE service (id VARCHAR(36) NOT NULL, PRIMARY KEY (id));\n"
        "CREATE INDEX ix_service_engine_id ON service (engine_id);\n"
    )
    assert contractions(sql) == []


@pytest.mark.postgresql
def test_the_timeouts_hold_inside_the_revision_only(
    new_database: Callable[[str], str],
) -> None:
    """Online, not only in the offline SQL: while a revision's ALTER runs, the session has
    its timeouts; once the revision is committed they are the server's again."""
    url = new_database("postgresql")
    api.upgrade(url, "0001_pre_convergence")
    engine = sa.create_engine(url, poolclass=NullPool)
    seen: dict[str, tuple[str, str]] = {}

    def timeouts() -> tuple[str, str]:
        with engine.connect() as conn:
            return (conn.execute(sa.text("SHOW lock_timeout")).scalar(),
                    conn.execute(sa.text("SHOW statement_timeout")).scalar())

    servers = timeouts()

    @sa.event.listens_for(engine, "after_cursor_execute")
    def during_ddl(conn, cursor, statement, parameters, context, executemany) -> None:
        if statement.lstrip().upper().startswith("ALTER TABLE") and not seen:
            cursor.execute("SHOW lock_timeout")
            lock = cursor.fetchone()[0]
            cursor.execute("SHOW statement_timeout")
            seen["during"] = (lock, cursor.fetchone()[0])

    try:
        config = api.alembic_config()
        config.attributes["connection"] = engine
        command.upgrade(config, "head")
        after = timeouts()
    finally:
        engine.dispose()
    # PostgreSQL shows 5000 ms as "5s" and 60000 ms as "1min"
    assert seen["during"] == (
        f"{int(migrations.DEFAULT_LOCK_TIMEOUT)}s",
        f"{int(migrations.DEFAULT_STATEMENT_TIMEOUT // 60)}min",
    )
    assert after == servers


# squawk's rules about column types, not locks: the schema keeps Heat's types (VARCHAR(36)
# ids, naive UTC timestamps, 32-bit integer keys), which the lock rules do not judge
SQUAWK_TYPE_RULES = ("prefer-text-field", "prefer-bigint-over-int", "prefer-timestamp-tz",
                     "prefer-bigint-over-smallint", "prefer-identity", "ban-char-field")


def test_squawk_finds_no_lock_hazard_in_any_revision_after_the_first(tmp_path: Path) -> None:
    """squawk (squawk-cli, a linter of PostgreSQL migrations) reads each revision's
    offline DDL: no blocking index build, no table rewrite, no lock taken without a
    timeout, no constraint validated under an exclusive lock. The first revision creates
    the schema in an empty database, where none of that can block anyone."""
    squawk = shutil.which("squawk") or str(Path(sys.executable).parent / "squawk")
    if not Path(squawk).exists():
        pytest.fail("squawk is not installed: pip install -e '.[test]' brings squawk-cli")
    config = api.alembic_config()
    files = []
    for down, rev in _steps(config):
        if down is None:
            continue
        path = tmp_path / f"{rev}.sql"
        path.write_text(_upgrade_sql(config, PG, down, rev), encoding="utf-8")
        files.append(str(path))
    assert files, "no revision after the first"
    found = subprocess.run(
        [squawk, "--reporter", "gcc", "--pg-version", "15.0",
         "--exclude", ",".join(SQUAWK_TYPE_RULES), *files],
        capture_output=True, text=True, timeout=120)
    assert found.returncode == 0, found.stdout + found.stderr
