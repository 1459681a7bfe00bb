"""A database of its own for each test or scenario, on SQLite, PostgreSQL or MariaDB/MySQL.

The servers are the local ones by default (PostgreSQL with trust auth, MariaDB's root with
an empty password); ``DUALPATH_TEST_POSTGRESQL_URL`` / ``DUALPATH_TEST_MYSQL_URL`` point
elsewhere. Names are random, so parallel runs (pytest-xdist, several scenarios) never share
a database.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import tempfile
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import URL, make_url
from sqlalchemy.pool import NullPool

DEFAULT_SERVER_URLS = {
    "postgresql": "postgresql+psycopg2://postgres@localhost:5432/postgres",
    "mysql": "mysql+pymysql://root@localhost:3306/test",
}
ENV_VARS = {
    "postgresql": "DUALPATH_TEST_POSTGRESQL_URL",
    "mysql": "DUALPATH_TEST_MYSQL_URL",
}
START_COMMANDS = {
    "postgresql": "pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start",
    "mysql": "start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd",
}
CONNECT_TIMEOUT = 3  # seconds: a server that is down must not stall a test run


def server_url(backend: str) -> str:
    """The server URL for ``backend`` (``postgresql`` or ``mysql``), env var first."""
    if backend not in DEFAULT_SERVER_URLS:
        raise ValueError(f"no server for backend {backend!r}; one of {sorted(ENV_VARS)}")
    return os.environ.get(ENV_VARS[backend]) or DEFAULT_SERVER_URLS[backend]


def _backend(url: URL) -> str:
    return url.get_backend_name()


# the drivers the project installs: a URL that leaves the driver to be guessed gets
# SQLAlchemy's default (psycopg 3, mysqlclient: not installed) and a warning from oslo.db
# for every engine made on it, which is every scenario of a run
DRIVERS = {"postgresql": "postgresql+psycopg2", "mysql": "mysql+pymysql"}


def with_driver(url: URL | str) -> URL:
    """``url`` naming the driver this project installs (``postgresql://`` ->
    ``postgresql+psycopg2://``); a URL that names one is kept as it is."""
    url = make_url(url)
    return url.set(drivername=DRIVERS[url.drivername]) if url.drivername in DRIVERS else url


def _engine(url: URL | str, **kwargs: object) -> sa.Engine:
    url = with_driver(url)
    connect_args: dict[str, object] = {}
    if _backend(url) in ("postgresql", "mysql"):
        connect_args["connect_timeout"] = CONNECT_TIMEOUT
    # NullPool: nothing stays connected to a database we are about to drop
    return sa.create_engine(url, poolclass=NullPool, connect_args=connect_args, **kwargs)


def _render(url: URL) -> str:
    return with_driver(url).render_as_string(hide_password=False)


def probe(server_url: str) -> str | None:
    """None when the server at ``server_url`` answers; else why not, and how to start it."""
    url = make_url(server_url)
    backend = _backend(url)
    if backend == "sqlite":
        return None
    engine = _engine(url)
    try:
        with engine.connect() as connection:
            connection.execute(sa.text("SELECT 1"))
    except Exception as exc:  # any failure means "not usable here"; say which
        where = f"{url.host or 'localhost'}:{url.port or ''}".rstrip(":")
        reason = f"{backend} at {where} does not answer ({type(exc).__name__}: "
        reason += f"{str(exc).strip().splitlines()[0] if str(exc).strip() else exc!r})"
        if backend in START_COMMANDS:
            reason += f"; start it with: {START_COMMANDS[backend]}"
        if backend in ENV_VARS:
            reason += f" (or set {ENV_VARS[backend]})"
        return reason
    finally:
        engine.dispose()
    return None


def create_database(
    server_url: str, prefix: str = "dualpath", directory: str | os.PathLike[str] | None = None
) -> str:
    """Create an empty database with a unique name; return its URL.

    For SQLite, ``server_url`` is just ``sqlite://`` (or ``sqlite:///<directory>``) and the
    database is a new file in ``directory`` (default: the URL's directory, else a new
    temporary one).
    """
    url = make_url(server_url)
    backend = _backend(url)
    name = f"{prefix}_{secrets.token_hex(6)}"
    if backend == "sqlite":
        if directory is None:
            directory = url.database or tempfile.mkdtemp(prefix=f"{prefix}_")
        path = Path(directory) / f"{name}.sqlite"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.touch(exist_ok=False)
        return _render(url.set(database=str(path)))
    engine = _engine(url, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as connection:
            quoted = connection.dialect.identifier_preparer.quote(name)
            if backend == "postgresql":
                connection.execute(sa.text(f"CREATE DATABASE {quoted} ENCODING 'UTF8'"))
            elif backend == "mysql":
                connection.execute(sa.text(f"CREATE DATABASE {quoted} CHARACTER SET utf8mb4"))
            else:
                raise ValueError(f"cannot create a database on {backend}")
    finally:
        engine.dispose()
    return _render(url.set(database=name))


def drop_database(url: str) -> None:
    """Drop the database at ``url`` (delete the SQLite file); missing is not an error.

    Connections still open on it are closed first, the engine's pooled ones included, so
    that a test that leaked one does not leave the database behind.
    """
    from engines.service import dispose_connections

    parsed = make_url(url)
    backend = _backend(parsed)
    dispose_connections(url)
    if backend == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            for suffix in ("", "-wal", "-shm", "-journal"):
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(parsed.database + suffix)
        return
    name = parsed.database
    if not name:
        raise ValueError(f"no database named in {parsed!r}")
    if backend == "postgresql":
        admin = parsed.set(database="postgres")
    elif backend == "mysql":
        # URL.set(database=None) means "unchanged": build the URL without one
        admin = URL.create(
            parsed.drivername, parsed.username, parsed.password, parsed.host, parsed.port,
            query=parsed.query,
        )
    else:
        raise ValueError(f"cannot drop a database on {backend}")
    engine = _engine(admin, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as connection:
            quoted = connection.dialect.identifier_preparer.quote(name)
            if backend == "postgresql":
                connection.execute(
                    sa.text(
                        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                        "WHERE datname = :name AND pid <> pg_backend_pid()"
                    ),
                    {"name": name},
                )
            else:
                ids = connection.execute(
                    sa.text(
                        "SELECT id FROM information_schema.processlist "
                        "WHERE db = :name AND id <> CONNECTION_ID()"
                    ),
                    {"name": name},
                ).scalars()
                for thread_id in list(ids):
                    # it may have gone meanwhile
                    with contextlib.suppress(sa.exc.DBAPIError):
                        connection.execute(sa.text(f"KILL {int(thread_id)}"))
            connection.execute(sa.text(f"DROP DATABASE IF EXISTS {quoted}"))
    finally:
        engine.dispose()
