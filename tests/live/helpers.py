"""Helpers for black-box tests against a real ``colloquy serve`` process.

A ``Deployment`` is a live server on one backend with an admin user (created with the CLI), an
API key for that admin and a session token (JWT) from ``POST /api/v1/auth/login``.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import time
import uuid
from collections import Counter
from collections.abc import Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import AbstractContextManager, ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from tests.support.live import COLLOQUY, LiveServer, live_server, server_env
from tests.support.pgserver import PostgresServer

BACKENDS = ("sqlite", "postgres")
ADMIN = "admin"
ADMIN_PASSWORD = "admin-password-1"
TIMEOUT = httpx.Timeout(120.0)
SECRET_NAMES = ("jwt_secret", "api_key_pepper")  # colloquy.config secrets.json


def unique(prefix: str = "d") -> str:
    """A fresh lower-case name (domains, users), so tests sharing a server stay independent."""
    return f"{prefix}{uuid.uuid4().hex[:10]}"


def run_cli(
    env: dict[str, str],
    *args: str,
    stdin: str | None = None,
    timeout: float = 120,
    program: Path = COLLOQUY,
) -> subprocess.CompletedProcess[str]:
    """Run ``colloquy ARGS`` (or ``program ARGS``) with ``env``; never raises on a non-zero
    exit."""
    return subprocess.run(
        [str(program), *args],
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def check_cli(env: dict[str, str], *args: str, stdin: str | None = None) -> str:
    done = run_cli(env, *args, stdin=stdin)
    assert done.returncode == 0, f"colloquy {' '.join(args)} failed:\n{done.stderr[-3000:]}"
    return done.stdout


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def login(base_url: str, username: str, password: str) -> httpx.Response:
    return httpx.post(
        f"{base_url}/api/v1/auth/login",
        json={"username": username, "password": password},
        timeout=TIMEOUT,
    )


def propose_body(domain: str, summary: str = "live test unit") -> dict[str, Any]:
    return {
        "domains": [domain],
        "insight": {"summary": summary, "detail": "detail", "action": "action"},
        "context": {"languages": ["python"], "frameworks": [], "pattern": ""},
    }


@dataclass(frozen=True)
class Deployment:
    """Live server process(es) on one database, with a bootstrapped admin."""

    backend: str
    servers: tuple[LiveServer, ...]
    admin_created: str  # stdout of the bootstrap ``colloquy user create``
    api_key: str
    jwt: str

    @property
    def server(self) -> LiveServer:
        return self.servers[0]

    @property
    def base_url(self) -> str:
        return self.server.base_url

    @property
    def key_headers(self) -> dict[str, str]:
        return bearer(self.api_key)

    @property
    def jwt_headers(self) -> dict[str, str]:
        return bearer(self.jwt)

    def cli(self, *args: str, stdin: str | None = None) -> str:
        """``colloquy ARGS`` against this deployment's database; stdout, exit 0 asserted."""
        return check_cli(self.server.env, *args, stdin=stdin)

    def request(
        self, method: str, path: str, headers: dict[str, str] | None = None, **kwargs: Any
    ) -> httpx.Response:
        return httpx.request(
            method, f"{self.base_url}{path}", headers=headers, timeout=TIMEOUT, **kwargs
        )

    def spread(self, calls: Sequence[Call]) -> list[Call]:
        """The calls with absolute URLs, round-robin over this deployment's servers."""
        urls = [s.base_url for s in self.servers]
        return [Call(c.method, urls[i % len(urls)] + c.path, c.json) for i, c in enumerate(calls)]

    def propose(self, domain: str, api_key: str | None = None) -> dict[str, Any]:
        response = self.request(
            "POST",
            "/api/v1/knowledge",
            bearer(api_key or self.api_key),
            json=propose_body(domain),
        )
        assert response.status_code == 201, response.text
        return response.json()

    def approve(self, unit_id: str) -> None:
        response = self.request("POST", f"/api/v1/review/{unit_id}/approve", self.jwt_headers)
        assert response.status_code == 200, response.text

    def approved_unit(self, domain: str | None = None) -> str:
        unit_id = self.propose(domain or unique())["id"]
        self.approve(unit_id)
        return unit_id

    def review_item(self, unit_id: str) -> dict[str, Any]:
        response = self.request("GET", f"/api/v1/review/{unit_id}", self.jwt_headers)
        assert response.status_code == 200, response.text
        return response.json()

    def unit(self, unit_id: str) -> dict[str, Any]:
        return self.review_item(unit_id)["knowledge_unit"]

    def create_user(self, username: str, password: str, role: str = "member") -> None:
        """A user over the admin HTTP API (much faster than a CLI process)."""
        response = self.request(
            "POST",
            "/api/v1/users",
            self.jwt_headers,
            json={"username": username, "password": password, "role": role},
        )
        assert response.status_code == 201, response.text

    def session(self, username: str, password: str) -> str:
        response = login(self.base_url, username, password)
        assert response.status_code == 200, response.text
        return response.json()["token"]


@contextmanager
def fresh_database(backend: str, pg: PostgresServer | None) -> Iterator[str | None]:
    """An empty database: a new PostgreSQL database (dropped afterwards), or ``None`` for
    SQLite, which then lives in the server's data directory."""
    if backend == "sqlite":
        yield None
        return
    assert pg is not None
    name = unique("live_")
    url = pg.create_database(name)
    try:
        yield url
    finally:
        pg.drop_database(name)


@contextmanager
def deploy(
    backend: str,
    data_dir: Path,
    pg: PostgresServer | None = None,
    *,
    servers: int = 1,
    workers: int = 1,
    admin_role: str | None = None,
    admin_during_startup: bool = True,
) -> Iterator[Deployment]:
    """Start ``servers`` x ``colloquy serve`` on one fresh, empty database; bootstrap an admin.

    Everything starts at once: the admin is created with the CLI while the servers are still
    starting, so several processes migrate the new database at the same time, and all of them
    must cope. With one server it and the CLI also race to create the secrets file in
    ``data_dir``; several servers each get a data directory of their own (for separate logs)
    holding the same secrets. ``admin_role=None`` relies on the "first user is an admin" rule.
    ``admin_during_startup=False`` creates the admin only once the servers are up (so a server
    that fails to start fails fast).
    """
    role_args = ("--role", admin_role) if admin_role else ()
    with (
        fresh_database(backend, pg) as database_url,
        ExitStack() as stack,
        ThreadPoolExecutor(servers + 1) as pool,
    ):
        server_dirs = [data_dir]
        if servers > 1:
            server_dirs = [data_dir / f"server{i}" for i in range(servers)]
            secrets = json.dumps({name: uuid.uuid4().hex * 2 for name in SECRET_NAMES})
            for directory in [data_dir, *server_dirs]:
                directory.mkdir(exist_ok=True)
                (directory / "secrets.json").write_text(secrets)
            database_url = database_url or f"sqlite:///{data_dir / 'colloquy.db'}"
        env = server_env(data_dir, database_url)

        def create_admin() -> Future[str]:
            return pool.submit(
                check_cli,
                env,
                "user",
                "create",
                ADMIN,
                *role_args,
                "--password-stdin",
                stdin=ADMIN_PASSWORD + "\n",
            )

        created = create_admin() if admin_during_startup else None
        starting = [
            pool.submit(_enter, live_server(directory, database_url, workers))
            for directory in server_dirs
        ]
        started: list[LiveServer] = []
        failures: list[BaseException] = []
        for future in starting:
            try:
                manager, server = future.result()
            except Exception as exc:
                failures.append(exc)
            else:
                stack.push(manager.__exit__)
                started.append(server)
        if created is not None:
            created.result()
        if failures:
            raise failures[0]
        admin_created = (created or create_admin()).result().strip()
        api_key = check_cli(
            env, "key", "create", "--user", ADMIN, "--name", "live", "--ttl", "30d"
        ).strip()
        response = login(started[0].base_url, ADMIN, ADMIN_PASSWORD)
        assert response.status_code == 200, response.text
        yield Deployment(
            backend=backend,
            servers=tuple(started),
            admin_created=admin_created,
            api_key=api_key,
            jwt=response.json()["token"],
        )


def _enter(manager: AbstractContextManager[LiveServer]) -> tuple[Any, LiveServer]:
    return manager, manager.__enter__()


def child_pids(pid: int) -> list[int]:
    """Direct children of ``pid`` (uvicorn's worker processes), read from /proc."""
    children = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            children.append(int(stat.parent.name))
    return children


# ---------------------------------------------------------------------------- bursts


@dataclass(frozen=True)
class Call:
    method: str
    path: str
    json: Any = None


@dataclass(frozen=True)
class Burst:
    label: str
    responses: list[httpx.Response]
    seconds: float
    connections: int

    @property
    def statuses(self) -> Counter[int]:
        return Counter(r.status_code for r in self.responses)

    def report(self, backend: str) -> str:
        n = len(self.responses)
        line = (
            f"[{backend}] {self.label}: {n} requests over {self.connections} connections "
            f"-> {dict(sorted(self.statuses.items()))} in {self.seconds:.2f}s "
            f"({n / self.seconds:.0f} req/s)"
        )
        print(line)
        return line


async def burst(
    label: str,
    base_url: str,
    calls: Sequence[Call],
    headers: dict[str, str],
    connections: int | None = None,
) -> Burst:
    """Send every call at once (``asyncio.gather``) over up to ``connections`` connections."""
    connections = connections or len(calls)
    limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)
    async with httpx.AsyncClient(
        base_url=base_url, headers=headers, limits=limits, timeout=TIMEOUT
    ) as http:
        start = time.perf_counter()
        responses = await asyncio.gather(
            *(http.request(c.method, c.path, json=c.json) for c in calls)
        )
        seconds = time.perf_counter() - start
    return Burst(label, list(responses), seconds, connections)


def confirmations(unit_id: str, n: int) -> list[Call]:
    return [Call("POST", f"/api/v1/knowledge/{unit_id}/confirmations")] * n


# ---------------------------------------------------------------------------- sustained writes


@dataclass
class WriteLog:
    """What a sustained write load was told: each acknowledged (201) proposal with the time of
    its answer, acknowledged confirmations per unit, every status, and requests that got no
    answer."""

    proposed: list[tuple[float, str]] = field(default_factory=list)
    confirmed: Counter[str] = field(default_factory=Counter)
    statuses: Counter[int] = field(default_factory=Counter)
    unanswered: int = 0

    def proposed_before(self, moment: float) -> list[str]:
        return [unit_id for at, unit_id in self.proposed if at < moment]


async def sustained_writes(
    base_url: str,
    api_key: str,
    stop: asyncio.Event,
    log: WriteLog,
    connections: int = 8,
    confirm: Sequence[str] = (),
) -> None:
    """Propose (and confirm the ``confirm`` units, in turn) over ``connections`` connections
    until ``stop`` is set; the server may die meanwhile, which only counts as unanswered."""
    limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)
    async with httpx.AsyncClient(
        base_url=base_url, headers=bearer(api_key), limits=limits, timeout=10
    ) as http:

        async def worker(n: int) -> None:
            step = 0
            while not stop.is_set():
                step += 1
                target = confirm[(n + step) % len(confirm)] if confirm and step % 2 else None
                try:
                    if target is None:
                        body = propose_body(unique(), f"sustained write {n}.{step}")
                        response = await http.post("/api/v1/knowledge", json=body)
                        log.statuses[response.status_code] += 1
                        if response.status_code == 201:
                            log.proposed.append((time.monotonic(), response.json()["id"]))
                    else:
                        response = await http.post(f"/api/v1/knowledge/{target}/confirmations")
                        log.statuses[response.status_code] += 1
                        if response.status_code == 201:
                            log.confirmed[target] += 1
                except httpx.TransportError:
                    log.unanswered += 1
                    await asyncio.sleep(0.05)

        await asyncio.gather(*(worker(n) for n in range(connections)))


def process_tree(pid: int) -> list[int]:
    """``pid`` and all its descendants."""
    found = [pid]
    for child in child_pids(pid):
        found.extend(process_tree(child))
    return found


def worker_pids(supervisor: int) -> set[int]:
    """uvicorn's worker processes (spawned children), not multiprocessing's resource tracker."""
    workers = set()
    for pid in child_pids(supervisor):
        try:
            command = Path(f"/proc/{pid}/cmdline").read_bytes()
        except OSError:
            continue
        if b"spawn_main" in command:
            workers.add(pid)
    return workers
