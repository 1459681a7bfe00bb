"""Private, throwaway PostgreSQL and RabbitMQ servers that a test or benchmark may stop,
crash and restart at will: the shared servers on 5432/5672 serve tests running in
parallel, so outages are only ever made on a server of one's own (temp dir, free ports).
``with PrivatePostgres() as pg: ... pg.restart(down_for=2.0)`` -> seconds it did not answer.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Self


class ServerUnavailable(RuntimeError):
    """The private server cannot be had here (missing binaries, or it did not come up);
    ``str(exc)`` says why and what to install, fit for ``pytest.skip(str(exc))``."""


def free_port() -> int:
    """A port free on 127.0.0.1 now (another process could take it first: a small race)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _poll(check: Callable[[], bool], timeout: float, interval: float = 0.05) -> bool:
    """Call ``check`` until it is true (True) or ``timeout`` seconds have passed (False)."""
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() >= deadline:
            return False
        time.sleep(interval)
    return True


def _lines(path: Path, which: slice = slice(-15, None)) -> str:
    """Some lines of a log, for error messages: by default its last 15."""
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[which])
    except OSError:
        return f"(no {path.name})"


def _alive(pid: int | None) -> bool:
    return bool(pid) and Path(f"/proc/{pid}").exists()  # Linux, as runuser and the paths are


class _PrivateServer:
    """What both servers share: a temp dir and a port, both given up on exit, and restart."""

    def __init__(self, prefix: str, timeout: float) -> None:
        self.timeout = timeout
        self.port = free_port()  # kept across restarts, so clients' URLs stay valid
        self.dir = Path(tempfile.mkdtemp(prefix=prefix))
        self.running = False

    def __enter__(self) -> Self:
        try:
            self._create()
            self.start()
        except BaseException:  # a failed start must not leave a server or a dir behind
            self.__exit__()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        try:
            self._teardown()
        finally:
            shutil.rmtree(self.dir, ignore_errors=True)

    def restart(self, down_for: float = 0.0, immediate: bool = False) -> float:
        """Stop (crash, with ``immediate``), stay down ``down_for`` seconds, start and wait
        until ready; returns the seconds from the start of the stop until it answered."""
        began = time.monotonic()
        self.stop(immediate=immediate)
        if down_for > 0:
            time.sleep(down_for)  # the outage itself, not a wait for anything
        self.start()
        return time.monotonic() - began

    def _create(self) -> None: ...
    def start(self) -> None: ...
    def stop(self, immediate: bool = False) -> None: ...
    def _teardown(self) -> None: ...


class PrivatePostgres(_PrivateServer):
    """A new PostgreSQL cluster (trust auth, superuser ``postgres``, database ``test``) on a
    free 127.0.0.1 port; ``url`` is a SQLAlchemy URL."""

    def __init__(self, timeout: float = 60.0) -> None:
        # the newest major version: /usr/lib/postgresql/<major>/bin/initdb
        found = [p for p in glob.glob("/usr/lib/postgresql/*/bin/initdb")
                 if Path(p).parts[-3].isdigit()]
        if not found:
            raise ServerUnavailable("PostgreSQL server binaries not found (/usr/lib/postgresql/"
                                    "*/bin/initdb): apt-get install postgresql")
        self.bin = Path(max(found, key=lambda p: int(Path(p).parts[-3]))).parent
        # initdb and postgres refuse to run as root: as root, run them as the postgres user
        self.owner: pwd.struct_passwd | None = None
        if os.geteuid() == 0:
            self.owner = next((u for u in pwd.getpwall() if u.pw_name == "postgres"), None)
            if not self.owner or not shutil.which("runuser"):
                raise ServerUnavailable("as root, PostgreSQL runs as the 'postgres' OS user, by "
                                        "runuser: apt-get install postgresql util-linux")
        super().__init__("dualpath-pg-", timeout)
        self.data, self.log = self.dir / "data", self.dir / "server.log"
        self.url = f"postgresql+psycopg2://postgres@127.0.0.1:{self.port}/test"

    def _run(self, *args: str, owner: bool = False, check: bool = True
             ) -> subprocess.CompletedProcess[str]:
        as_owner = ["runuser", "-u", "postgres", "--"] if owner and self.owner else []
        cmd = [*as_owner, str(self.bin / args[0]), *args[1:]]
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=self.timeout,
                              stdin=subprocess.DEVNULL)
        if check and proc.returncode:
            raise ServerUnavailable(f"{' '.join(cmd)} failed ({proc.returncode}): "
                                    f"{(proc.stderr or proc.stdout).strip()}\n{_lines(self.log)}")
        return proc

    def _create(self) -> None:
        if self.owner:
            os.chown(self.dir, self.owner.pw_uid, self.owner.pw_gid)
        # --no-sync: a throwaway cluster need not survive a power cut, and it saves seconds
        self._run("initdb", "-D", str(self.data), "-U", "postgres", "--auth=trust",
                  "--encoding=UTF8", "--locale=C", "--no-sync", owner=True)

    def _ready(self) -> bool:
        return self._run("pg_isready", "-q", "-h", "127.0.0.1", "-p", str(self.port),
                         "-d", "postgres", "-U", "postgres", "-t", "1", check=False
                         ).returncode == 0

    def _psql(self, sql: str) -> str:
        return self._run("psql", "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres",
                         "-d", "postgres", "-tAc", sql).stdout.strip()

    def start(self) -> None:
        """Start the server; return once it accepts connections and has database ``test``."""
        # own socket dir (-k): the shared cluster's is /var/run/postgresql. fsync=off: data
        # survives a server crash (stop(immediate=True)), only an OS crash would lose it
        opts = f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 -c fsync=off"
        # -w: pg_ctl watches postmaster.pid, so a postmaster that dies at once fails fast
        proc = self._run("pg_ctl", "-D", str(self.data), "-l", str(self.log), "-o", opts,
                         "-w", "-t", str(int(self.timeout)), "start", owner=True, check=False)
        self.running = True
        if proc.returncode or not _poll(self._ready, self.timeout):
            raise ServerUnavailable(f"private PostgreSQL on port {self.port} did not come up "
                                    f"(timeout {self.timeout:.0f}s): {proc.stdout.strip()}\n"
                                    f"{_lines(self.log)}")
        if not self._psql("select 1 from pg_database where datname = 'test'"):
            self._psql("create database test")

    def stop(self, immediate: bool = False) -> None:
        """Fast shutdown (sessions ended, checkpoint written), or with ``immediate`` a crash
        that the next start recovers from; returns once the server is gone."""
        self._run("pg_ctl", "-D", str(self.data), "stop", "-w", "-t", str(int(self.timeout)),
                  "-m", "immediate" if immediate else "fast", owner=True)
        self.running = False

    def _teardown(self) -> None:
        # pg_ctl status, not self.running: a start that timed out may have left one running
        if self.data.exists() and self._run("pg_ctl", "-D", str(self.data), "status",
                                            owner=True, check=False).returncode == 0:
            self._run("pg_ctl", "-D", str(self.data), "stop", "-w", "-m", "immediate",
                      owner=True, check=False)


class PrivateRabbit(_PrivateServer):
    """A RabbitMQ node of its own (``dualpath-<hex>@localhost``: own cookie, config, data,
    logs and ports, no plugins). ``url`` is an oslo.messaging transport URL; kombu does not
    know the ``rabbit://`` scheme, so ``amqp_url`` is the same broker for kombu."""

    def __init__(self, timeout: float = 60.0) -> None:
        # Debian's /usr/sbin/rabbitmq-* wrappers su to the rabbitmq user and reset HOME to
        # its home, sharing the shared node's Erlang cookie; the real scripts run as we are
        search = os.pathsep.join(["/usr/lib/rabbitmq/bin", os.environ.get("PATH", ""),
                                  "/usr/sbin"])
        server = shutil.which("rabbitmq-server", path=search)
        ctl = shutil.which("rabbitmqctl", path=search)
        if not server or not ctl:
            raise ServerUnavailable("rabbitmq-server/rabbitmqctl not found: "
                                    "apt-get install rabbitmq-server")
        self.server, self.ctl = server, ctl
        super().__init__("dualpath-rabbit-", timeout)
        self.node = f"dualpath-{uuid.uuid4().hex[:8]}@localhost"  # never rabbit@localhost
        self.pid: int | None = None
        self.url = f"rabbit://guest:guest@127.0.0.1:{self.port}/"
        self.amqp_url = f"amqp://guest:guest@127.0.0.1:{self.port}//"
        d = self.dir
        self.log, self.crash_dump = d / "log" / f"{self.node}.log", d / "erl_crash.dump"
        self.pid_file = d / "node.pid"
        self.env = {  # none of the caller's RABBITMQ_*/ERL_* (ERL_FLAGS, say) leak in
            **{k: v for k, v in os.environ.items() if not k.startswith(("RABBITMQ_", "ERL_"))},
            # own HOME, so own .erlang.cookie: a stray CLI call cannot even reach the shared
            # node; own env file: /etc/rabbitmq/rabbitmq-env.conf sets NODENAME=rabbit@localhost
            "HOME": str(d), "RABBITMQ_CONF_ENV_FILE": str(d / "rabbitmq-env.conf"),
            "RABBITMQ_CONFIG_FILE": str(d / "rabbitmq.conf"),
            "RABBITMQ_ADVANCED_CONFIG_FILE": str(d / "advanced.config"),  # none, on purpose
            "RABBITMQ_ENABLED_PLUGINS_FILE": str(d / "enabled_plugins"),
            "RABBITMQ_NODENAME": self.node, "RABBITMQ_NODE_IP_ADDRESS": "127.0.0.1",
            "RABBITMQ_NODE_PORT": str(self.port), "RABBITMQ_DIST_PORT": str(free_port()),
            "RABBITMQ_MNESIA_BASE": str(d / "mnesia"), "RABBITMQ_LOG_BASE": str(d / "log"),
            "RABBITMQ_PID_FILE": str(self.pid_file), "ERL_CRASH_DUMP": str(self.crash_dump),
            "ERL_EPMD_ADDRESS": "127.0.0.1",  # as the shared node's, should we start epmd
            # distribution on loopback only, as /etc/rabbitmq/rabbitmq-env.conf does for its own
            "RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS": "-kernel inet_dist_use_interface {127,0,0,1}",
        }

    def _create(self) -> None:
        (self.dir / "rabbitmq-env.conf").write_text("")
        (self.dir / "enabled_plugins").write_text("[].\n")
        (self.dir / "rabbitmq.conf").write_text(  # guest may log in from localhost: default
            f"listeners.tcp.local = 127.0.0.1:{self.port}\nloopback_users.guest = true\n")

    def _ctl(self, *args: str, timeout: float = 15) -> subprocess.CompletedProcess[str]:
        return subprocess.run([self.ctl, "-n", self.node, *args], env=self.env, cwd=self.dir,
                              capture_output=True, text=True, stdin=subprocess.DEVNULL,
                              timeout=timeout)

    def start(self) -> None:
        """Start the node detached; return once the broker has booted."""
        self.crash_dump.unlink(missing_ok=True)  # stale ones would read as a failed boot
        self.pid_file.unlink(missing_ok=True)
        subprocess.run([self.server, "-detached"], env=self.env, cwd=self.dir, check=True,
                       stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL, timeout=self.timeout)
        self.running = True
        # await_startup fails at once until the node has registered with epmd (a second or
        # so), hence the retries; a crash dump means that the boot failed for good
        up = _poll(lambda: self.crash_dump.exists()
                   or self._ctl("await_startup", "-t", "10").returncode == 0, self.timeout, 0.2)
        if not up or self.crash_dump.exists():
            slogan = _lines(self.crash_dump, slice(2, 3))[:1000]  # "Slogan: <why>"
            raise ServerUnavailable(f"private RabbitMQ node {self.node} did not come up "
                                    f"(timeout {self.timeout:.0f}s): {slogan}\n{_lines(self.log)}")
        # the node writes its pid file itself, -detached or not; eval is the fallback
        pid = _lines(self.pid_file) if self.pid_file.exists() else \
            self._ctl("eval", "os:getpid().").stdout.strip().strip('"')
        self.pid = int(pid)

    def stop(self, immediate: bool = False) -> None:
        """``rabbitmqctl stop``, or with ``immediate`` SIGKILL (a crash); returns once the
        process is gone, killing it should it outlast the timeout."""
        if immediate and self.pid:
            os.kill(self.pid, signal.SIGKILL)
        else:
            self._ctl("stop", timeout=self.timeout)
        if self.pid and not _poll(lambda: not _alive(self.pid), self.timeout):
            os.kill(self.pid, signal.SIGKILL)
            _poll(lambda: not _alive(self.pid), 10)
        self.running = False

    def _teardown(self) -> None:
        if self.running:
            try:
                self.stop()
            except (OSError, subprocess.SubprocessError):
                pass  # cleanup goes on: the kill below, then the dir
        if self.pid and _alive(self.pid):
            os.kill(self.pid, signal.SIGKILL)
