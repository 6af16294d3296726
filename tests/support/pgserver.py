"""Throwaway PostgreSQL servers for tests and benchmarks.

Tests need a real PostgreSQL (asyncpg behaviour, locking, constraints) without depending on a
shared, long-lived database. ``PostgresServer`` runs ``initdb`` into a fresh temporary
directory, starts a private server on a free loopback port with durability switched off for
speed, creates a ``colloquy`` role and database, and deletes everything again on ``stop()``.

Install the binaries with ``scripts/ensure-postgres.sh``. Typical use::

    with PostgresServer() as pg:
        url = pg.create_database("test_rooms")  # postgresql+asyncpg://...
"""

from __future__ import annotations

import atexit
import contextlib
import glob
import os
import pwd
import re
import secrets
import shlex
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import Self
from urllib.parse import quote

__all__ = ["PostgresServer", "find_postgres_bindir"]

_SERVICE_USER = "postgres"
_SUPERUSER = "postgres"
_HOST = "127.0.0.1"
_PORT_ATTEMPTS = 3
_MAX_IDENTIFIER_BYTES = 63

# Durability is pointless for a server whose data is deleted afterwards; turning it off makes
# test suites and benchmarks much faster. max_connections is generous for connection pools.
DEFAULT_SETTINGS: Mapping[str, str] = {
    "fsync": "off",
    "synchronous_commit": "off",
    "full_page_writes": "off",
    "max_connections": "300",
    "shared_buffers": "128MB",
}


def find_postgres_bindir() -> Path:
    """Return the bin directory of the highest installed PostgreSQL major version.

    Debian installs versioned binaries outside PATH, so they are located by glob.
    """
    candidates = [Path(p).parent for p in glob.glob("/usr/lib/postgresql/*/bin/initdb")]
    if not candidates:
        raise RuntimeError(
            "PostgreSQL server binaries not found under /usr/lib/postgresql/*/bin; "
            "run `bash scripts/ensure-postgres.sh` (as root) to install them."
        )

    def major(bindir: Path) -> tuple[int, ...]:
        version = bindir.parent.name
        return tuple(int(part) for part in re.findall(r"\d+", version)) or (0,)

    return max(candidates, key=major)


def _free_port() -> int:
    """Ask the kernel for an unused loopback port (racy, hence the retry in ``start``)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((_HOST, 0))
        return int(sock.getsockname()[1])


def _quote_ident(name: str) -> str:
    """Quote an SQL identifier so arbitrary database names are safe to interpolate."""
    if not name or "\x00" in name or len(name.encode()) > _MAX_IDENTIFIER_BYTES:
        raise ValueError(f"invalid PostgreSQL identifier: {name!r}")
    return '"' + name.replace('"', '""') + '"'


def _clean_env() -> dict[str, str]:
    """Environment without PG* variables, so a developer's libpq settings cannot interfere."""
    return {k: v for k, v in os.environ.items() if not k.startswith("PG")}


class PostgresServer:
    """A private PostgreSQL server living in a temporary directory.

    Use as a context manager or call ``start()``/``stop()``. ``stop()`` is idempotent and is
    also run by an ``atexit`` hook so an aborted test run does not leak a running server.
    """

    def __init__(
        self,
        *,
        bindir: Path | str | None = None,
        settings: Mapping[str, str] | None = None,
        base_dir: Path | str | None = None,
        host_auth: str = "scram-sha-256",
    ) -> None:
        """Configure (but do not start) a server.

        ``settings`` are extra ``-c`` server options merged over ``DEFAULT_SETTINGS``;
        ``base_dir`` is where the temporary directory is created (default: system temp dir).
        ``host_auth`` is the pg_hba method for TCP clients: real password checking by default
        so the URL's credentials are exercised; ``"trust"`` skips the SCRAM handshake cost.
        The unix socket always uses trust, for the superuser administration done here.
        """
        self._bindir = Path(bindir) if bindir is not None else None
        self._settings: dict[str, str] = {**DEFAULT_SETTINGS, **(settings or {})}
        self._base_dir = Path(base_dir) if base_dir is not None else None
        self._host_auth = host_auth
        self.user = "colloquy"
        self.database = "colloquy"
        self.password = secrets.token_hex(16)
        self.host = _HOST
        self._port: int | None = None
        self._tmpdir: Path | None = None
        self._running = False
        # The server refuses to run as root, so as root everything runs as the postgres user.
        self._as_service_user = os.geteuid() == 0

    # ----------------------------------------------------------------------------- lifecycle

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def start(self) -> Self:
        """Initialise a cluster, start the server and create the ``colloquy`` role/database."""
        if self._tmpdir is not None:
            raise RuntimeError("PostgresServer already started")
        bindir = self._bindir or find_postgres_bindir()
        self._bindir = bindir
        self._tmpdir = Path(tempfile.mkdtemp(prefix="colloquy-pg-", dir=self._base_dir))
        _live_servers.add(self)
        try:
            self.socket_dir.mkdir()
            if self._as_service_user:
                self._chown_to_service_user(self._tmpdir)
            self._initdb()
            self._start_server()
            self._psql(f"CREATE ROLE {_quote_ident(self.user)} LOGIN PASSWORD '{self.password}'")
            self._psql(
                f"CREATE DATABASE {_quote_ident(self.database)} OWNER {_quote_ident(self.user)}"
            )
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        """Kill the server (no clean shutdown needed) and delete its directory. Idempotent."""
        _live_servers.discard(self)
        tmpdir, self._tmpdir = self._tmpdir, None
        if tmpdir is None:
            return
        if self._running and self._bindir is not None:
            self._running = False
            with contextlib.suppress(OSError, subprocess.SubprocessError):
                self._kill_server(tmpdir / "data")
        shutil.rmtree(tmpdir, ignore_errors=True)

    def halt(self) -> None:
        """Stop the server abruptly but keep its data, as a crash or a lost database host would:
        clients see their connections cut and new ones refused."""
        if not self._running:
            raise RuntimeError("PostgresServer not running")
        self._kill_server(self.data_dir)
        self._running = False

    def resume(self) -> None:
        """Start a halted server again on the same port, so existing URLs reconnect."""
        if self._running:
            raise RuntimeError("PostgresServer already running")
        self._start_server(port=self.port)

    # ---------------------------------------------------------------------------- properties

    @property
    def port(self) -> int:
        """TCP port the server listens on (127.0.0.1 only)."""
        if self._port is None:
            raise RuntimeError("PostgresServer not started")
        return self._port

    @property
    def tmpdir(self) -> Path:
        """Temporary directory holding the data dir, socket dir and log."""
        if self._tmpdir is None:
            raise RuntimeError("PostgresServer not started")
        return self._tmpdir

    @property
    def data_dir(self) -> Path:
        """Cluster data directory (PGDATA)."""
        return self.tmpdir / "data"

    @property
    def socket_dir(self) -> Path:
        """Unix-socket directory, used for superuser access without a password."""
        return self.tmpdir / "sock"

    @property
    def log_path(self) -> Path:
        """Server log file, quoted in the error when startup fails."""
        return self.tmpdir / "log"

    @property
    def url(self) -> str:
        """SQLAlchemy asyncpg URL of the ``colloquy`` database."""
        return self.url_for(self.database)

    @property
    def dsn(self) -> str:
        """Connection URI of the ``colloquy`` database for libpq clients (psql, psycopg)."""
        return self.dsn_for(self.database)

    def url_for(self, database: str) -> str:
        """SQLAlchemy asyncpg URL of ``database`` on this server, as the ``colloquy`` role."""
        return f"postgresql+asyncpg://{self._netloc()}/{quote(database, safe='')}"

    def dsn_for(self, database: str) -> str:
        """Libpq-style URI of ``database`` on this server, as the ``colloquy`` role."""
        return f"postgresql://{self._netloc()}/{quote(database, safe='')}"

    # ----------------------------------------------------------------------------- databases

    def create_database(self, name: str, template: str | None = None) -> str:
        """Create a database owned by ``colloquy`` and return its asyncpg URL: empty, or a
        copy of ``template`` (a file-level copy, much faster than loading it again; nobody
        may be connected to the template meanwhile).

        Lets tests isolate themselves with one database per module or backend.
        """
        copy = f" TEMPLATE {_quote_ident(template)}" if template else ""
        self._psql(f"CREATE DATABASE {_quote_ident(name)}{copy} OWNER {_quote_ident(self.user)}")
        return self.url_for(name)

    def drop_database(self, name: str) -> None:
        """Drop ``name`` if it exists, terminating any connections still open to it."""
        self._psql(f"DROP DATABASE IF EXISTS {_quote_ident(name)} WITH (FORCE)")

    def execute_sql(self, sql: str, database: str = "postgres") -> str:
        """Run ``sql`` as the superuser over the unix socket and return psql's output."""
        return self._psql(sql, database=database)

    # ------------------------------------------------------------------------------ internals

    def _netloc(self) -> str:
        user = quote(self.user, safe="")
        return f"{user}:{quote(self.password, safe='')}@{self.host}:{self.port}"

    def _chown_to_service_user(self, path: Path) -> None:
        try:
            entry = pwd.getpwnam(_SERVICE_USER)
        except KeyError:
            raise RuntimeError(
                f"running as root but system user {_SERVICE_USER!r} does not exist; "
                "run `bash scripts/ensure-postgres.sh` to create it."
            ) from None
        for root, dirs, files in os.walk(path):
            for name in [root, *dirs, *files]:
                os.chown(os.path.join(root, name), entry.pw_uid, entry.pw_gid)
        # Every ancestor must be traversable by postgres, which is not true of e.g. /root.
        probe = self._run(["test", "-w", str(path)], cwd=Path("/"), timeout=30)
        if probe.returncode != 0:
            raise RuntimeError(
                f"user {_SERVICE_USER!r} cannot access {path}; pass a base_dir such as /tmp"
            )

    def _run(
        self, cmd: Sequence[str], *, cwd: Path, timeout: float
    ) -> subprocess.CompletedProcess[str]:
        """Run a PostgreSQL tool, as the service user when we are root."""
        full = ["runuser", "-u", _SERVICE_USER, "--", *cmd] if self._as_service_user else cmd
        return subprocess.run(
            full,
            cwd=cwd,
            env=_clean_env(),
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )

    def _initdb(self) -> None:
        assert self._bindir is not None
        base = [
            str(self._bindir / "initdb"),
            "-D",
            str(self.data_dir),
            "-U",
            _SUPERUSER,
            "--auth-local=trust",
            f"--auth-host={self._host_auth}",
            "-E",
            "UTF8",
            "--no-sync",
        ]
        result = self._run([*base, "--locale=C.UTF-8"], cwd=self.tmpdir, timeout=180)
        if result.returncode != 0:
            # C.UTF-8 is missing on some systems; initdb may have left a partial data dir.
            shutil.rmtree(self.data_dir, ignore_errors=True)
            result = self._run([*base, "--no-locale"], cwd=self.tmpdir, timeout=180)
        if result.returncode != 0:
            raise RuntimeError(f"initdb failed:\n{result.stdout}\n{result.stderr}")

    def _server_options(self) -> str:
        settings = {
            **self._settings,
            "listen_addresses": self.host,
            "port": str(self.port),
            "unix_socket_directories": str(self.socket_dir),
        }
        # pg_ctl hands -o to /bin/sh, so every value is shell-quoted.
        return " ".join(f"-c {shlex.quote(f'{key}={value}')}" for key, value in settings.items())

    def _start_server(self, port: int | None = None) -> None:
        """Start on ``port``, or on a free port (retried if another process takes it first)."""
        assert self._bindir is not None
        pg_ctl = str(self._bindir / "pg_ctl")
        attempts = 1 if port is not None else _PORT_ATTEMPTS
        for attempt in range(1, attempts + 1):
            self._port = port or _free_port()
            log_offset = self.log_path.stat().st_size if self.log_path.exists() else 0
            result = self._run(
                [
                    pg_ctl,
                    "-D",
                    str(self.data_dir),
                    "-l",
                    str(self.log_path),
                    "-w",
                    "-t",
                    "60",
                    "-o",
                    self._server_options(),
                    "start",
                ],
                cwd=self.tmpdir,
                timeout=90,
            )
            # pg_ctl may time out with a postmaster still starting; let stop() kill it.
            self._running = True
            if result.returncode == 0:
                return
            log = self._log_tail(log_offset)
            if "already in use" not in log or attempt == attempts:
                raise RuntimeError(
                    f"PostgreSQL failed to start (pg_ctl exit {result.returncode}):\n"
                    f"{result.stdout}{result.stderr}\n--- server log tail ---\n"
                    f"{log}"
                )
            # Lost the race for the port to another process: retry with a new one.
            self._kill_server(self.data_dir)

    def _kill_server(self, data_dir: Path) -> None:
        """Stop without a checkpoint: the data is about to be deleted anyway."""
        assert self._bindir is not None
        self._run(
            [str(self._bindir / "pg_ctl"), "-D", str(data_dir), "-m", "immediate", "stop"],
            cwd=data_dir.parent,
            timeout=60,
        )

    def _log_tail(self, offset: int = 0, lines: int = 30) -> str:
        try:
            with self.log_path.open(encoding="utf-8", errors="replace") as fh:
                fh.seek(offset)
                return "".join(fh.readlines()[-lines:])
        except OSError as exc:
            return f"<could not read {self.log_path}: {exc}>"

    def _psql(self, sql: str, database: str = "postgres") -> str:
        assert self._bindir is not None
        result = self._run(
            [
                str(self._bindir / "psql"),
                "-X",
                "-q",
                "-A",
                "-t",
                "-v",
                "ON_ERROR_STOP=1",
                "-h",
                str(self.socket_dir),
                "-p",
                str(self.port),
                "-U",
                _SUPERUSER,
                "-d",
                database,
                "-c",
                sql,
            ],
            cwd=self.tmpdir,
            timeout=60,
        )
        if result.returncode != 0:
            raise RuntimeError(f"psql failed for {sql!r}: {result.stderr.strip()}")
        return result.stdout


_live_servers: set[PostgresServer] = set()


@atexit.register
def _stop_live_servers() -> None:
    """Last-resort cleanup so a crashed or interrupted test run does not leak servers."""
    for server in list(_live_servers):
        server.stop()
