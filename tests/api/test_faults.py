"""Faults answered clearly: a stopped database is a 503 with ``Retry-After`` (within the connect
timeout, while ``health`` stays 200 and ``ready`` says 503), a full disk is a 507, and both
recover by themselves. The faults are real: a PostgreSQL server of its own is stopped and
started again, SQLite's file is capped with ``max_page_count``; only PostgreSQL's full disk is
raised on purpose, by a trigger, with the real error code through the real driver."""

import os
import signal
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import AsyncExitStack, asynccontextmanager
from pathlib import Path

import httpx
import pytest
from pydantic import SecretStr
from sqlalchemy.engine import Connection

from colloquy.app import create_app
from colloquy.config import Settings
from colloquy.domain.models import Role
from colloquy.store import migrate
from colloquy.store.factory import PoolSettings, open_store
from colloquy.web.security import SESSION_COOKIE
from tests.api.conftest import API, PASSWORD, Api, bearer
from tests.support.pgserver import PostgresServer

CONNECT_TIMEOUT = 3.0
POOL_SIZE = 2
POOL_TIMEOUT = 1.0
UNAVAILABLE = {"detail": "The database is unavailable; try again shortly"}
FULL = {"detail": "The database's storage is full; nothing was saved"}


def assert_unavailable(response: httpx.Response) -> None:
    assert response.status_code == 503, response.text
    assert response.headers["retry-after"] == "5"
    if response.request.url.path.startswith("/api/"):
        assert response.json() == UNAVAILABLE
    else:  # the dashboard's own error page
        assert response.headers["content-type"].startswith("text/html")
        assert "Database unavailable" in response.text


@pytest.fixture(scope="module")
def own_pg() -> Iterator[PostgresServer]:
    """A PostgreSQL server for these tests alone: they stop it, and the shared one must not be."""
    # Commits reach the log before they are acknowledged, so a crash keeps them.
    with PostgresServer(host_auth="trust", settings={"synchronous_commit": "on"}) as server:
        yield server


@asynccontextmanager
async def api_on(url: str, tmp_path: Path, password_hash: str) -> AsyncIterator[Api]:
    settings = Settings(
        data_dir=tmp_path,
        database_url=SecretStr(url),
        jwt_secret=SecretStr("j" * 48),
        api_key_pepper=SecretStr("p" * 48),
    )
    pool = PoolSettings(size=POOL_SIZE, timeout=POOL_TIMEOUT, connect_timeout=CONNECT_TIMEOUT)
    store = open_store(url, pool)
    transport = httpx.ASGITransport(app=create_app(settings, store))
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
            yield Api(client=http, store=store, settings=settings, password_hash=password_hash)
    finally:
        await store.close()


async def test_stopped_postgres_is_503_then_recovers(own_pg, tmp_path, password_hash):
    url = own_pg.create_database("faults")
    await migrate.upgrade(url)
    async with api_on(url, tmp_path, password_hash) as api:
        token = await api.token("admin", Role.ADMIN)
        key = await api.key(token)
        assert (await api.client.get(f"{API}/ready")).json() == {"status": "ready"}

        own_pg.halt()
        calls = [
            ("GET", f"{API}/knowledge", {"params": {"domains": "web"}, "headers": bearer(key)}),
            ("GET", f"{API}/knowledge/stats", {"headers": bearer(key)}),
            ("POST", f"{API}/knowledge", {"json": {"domains": ["web"]}, "headers": bearer(key)}),
            ("POST", f"{API}/auth/login", {"json": {"username": "admin", "password": PASSWORD}}),
            ("POST", f"{API}/auth/logout", {"headers": bearer(token)}),
            ("GET", f"{API}/review/queue", {"headers": bearer(token)}),
            ("GET", f"{API}/ready", {}),
            ("GET", "/review", {"cookies": {SESSION_COOKIE: token}}),
        ]
        for method, path, options in calls:
            cookies = options.pop("cookies", None)
            api.client.cookies.clear()
            if cookies:
                api.client.cookies.update(cookies)
            started = time.monotonic()
            response = await api.client.request(method, path, **options)
            assert time.monotonic() - started < CONNECT_TIMEOUT, path
            assert_unavailable(response)
        api.client.cookies.clear()
        assert (await api.client.get(f"{API}/health")).json() == {"status": "ok"}

        own_pg.resume()
        assert (await api.client.get(f"{API}/ready")).status_code == 200
        assert (await api.query({"domains": "web"})) == []  # the reader key still works
        unit = await api.propose(key)
        assert (await api.review_item(token, unit["id"]))["status"] == "pending"


async def test_hung_postgres_is_503_after_the_connect_timeout(own_pg, tmp_path, password_hash):
    """A database that accepts connections but never answers (its postmaster stopped with
    SIGSTOP): a new connection gives up after the connect timeout, the request does not hang."""
    url = own_pg.create_database("hung")
    postmaster = int((own_pg.data_dir / "postmaster.pid").read_text().split()[0])
    async with api_on(url, tmp_path, password_hash) as api:
        os.kill(postmaster, signal.SIGSTOP)
        try:
            started = time.monotonic()
            response = await api.client.get(f"{API}/ready")
            waited = time.monotonic() - started
        finally:
            os.kill(postmaster, signal.SIGCONT)
        assert_unavailable(response)
        assert CONNECT_TIMEOUT <= waited < CONNECT_TIMEOUT + 2
        assert (await api.client.get(f"{API}/ready")).status_code == 200


async def test_no_free_connection_is_503_after_the_pool_timeout(own_pg, tmp_path, password_hash):
    """Every pooled connection busy for longer than the pool timeout: 503, not an endless wait."""
    url = own_pg.create_database("busy")
    async with api_on(url, tmp_path, password_hash) as api, AsyncExitStack() as held:
        for _ in range(2 * POOL_SIZE):  # the pool's size plus as many on overflow
            engine = api.store.database.read_engine  # type: ignore[attr-defined]
            await held.enter_async_context(engine.connect())
        started = time.monotonic()
        response = await api.client.get(f"{API}/ready")
        waited = time.monotonic() - started
        assert_unavailable(response)
        assert POOL_TIMEOUT <= waited < POOL_TIMEOUT + 2
        await held.aclose()
        assert (await api.client.get(f"{API}/ready")).status_code == 200


# Big enough to need pages of its own (SQLite overflow pages), so the capped file fills at once.
BIG_DETAIL = "x" * 8000
MAX_PAGES = 1_073_741_823
MAX_WRITES = 20
TRIGGER = """
CREATE FUNCTION full_disk() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN RAISE EXCEPTION 'could not extend file: No space left on device' USING ERRCODE = 'disk_full';
END $$;
CREATE TRIGGER full_disk BEFORE INSERT ON events FOR EACH ROW EXECUTE FUNCTION full_disk();
"""
NO_TRIGGER = "DROP TRIGGER IF EXISTS full_disk ON events; DROP FUNCTION IF EXISTS full_disk();"


@asynccontextmanager
async def full_disk(backend: str, api: Api, request: pytest.FixtureRequest) -> AsyncIterator[None]:
    """Writes that need room fail with the backend's real "disk full" error until the block ends.

    SQLite: the writer connection may not grow the file past its current size (a limit of that
    connection only). PostgreSQL: a trigger raises ``disk_full`` on every new event row, i.e.
    on every unit write.
    """
    if backend == "sqlite":

        async def cap(pages: int | None) -> None:
            def limit(conn: Connection) -> None:  # on the one writer's own connection
                size = conn.exec_driver_sql("PRAGMA page_count").scalar_one()
                conn.exec_driver_sql(f"PRAGMA max_page_count = {pages or size}")

            await api.store.database.write(limit)  # type: ignore[attr-defined]

        await cap(None)
        try:
            yield
        finally:
            await cap(MAX_PAGES)
        return
    server: PostgresServer = request.getfixturevalue("pg_server")
    server.execute_sql(TRIGGER, database="colloquy_tests")
    try:
        yield
    finally:
        server.execute_sql(NO_TRIGGER, database="colloquy_tests")


async def test_full_disk_is_507_and_nothing_is_half_written(
    backend, api, api_key, admin_token, request
):
    await api.reader_headers()  # the reader key exists before the disk fills
    body = {
        "domains": ["web"],
        "insight": {"summary": "s", "detail": BIG_DETAIL, "action": "a"},
        "context": {"languages": [], "frameworks": [], "pattern": ""},
    }
    async with full_disk(backend, api, request):
        for _ in range(MAX_WRITES):  # SQLite first uses up the room left in its pages
            response = await api.client.post(f"{API}/knowledge", json=body, headers=bearer(api_key))
            if response.status_code != 201:
                break
        assert response.status_code == 507, response.text
        assert response.json() == FULL
        stored = (await api.knowledge_stats())["total_count"]  # reads still work
        again = await api.client.post(f"{API}/knowledge", json=body, headers=bearer(api_key))
        assert again.status_code == 507
        assert (await api.knowledge_stats())["total_count"] == stored  # nothing half-written
        page = await api.client.get(f"{API}/review/queue", headers=bearer(admin_token))
        assert page.json()["total"] == stored

        # Logout either works (the session is revoked) or fails clearly (it stays valid).
        logout = await api.client.post(f"{API}/auth/logout", headers=bearer(admin_token))
        me = await api.client.get(f"{API}/users/me", headers=bearer(admin_token))
        print(f"\n[{backend}] logout with a full disk: {logout.status_code}")
        if logout.status_code == 200:
            assert me.status_code == 401
        else:
            assert (logout.status_code, logout.json()) == (507, FULL)
            assert me.status_code == 200
    assert (await api.propose(api_key))["id"]  # room again: writes succeed
    assert (await api.knowledge_stats())["total_count"] == stored + 1
