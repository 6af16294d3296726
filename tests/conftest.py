"""Shared fixtures. Every store and API test runs once per backend: SQLite and a real,
throwaway PostgreSQL server that the test run starts itself."""

import shutil
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
from pydantic import SecretStr

from colloquy.app import create_app
from colloquy.config import Settings
from colloquy.domain.tags import DEFAULT_ALIASES
from colloquy.store import migrate, tables
from colloquy.store.factory import open_store
from colloquy.store.protocol import Store
from tests.support.pgserver import PostgresServer

BACKENDS = ["sqlite", "postgres"]
# What migration 0007 seeds, put back after emptying the tables: a fresh database has it.
SEED_ALIASES = "INSERT INTO tag_aliases VALUES " + ", ".join(
    f"('{alias}', '{canonical}', 'colloquy', CURRENT_TIMESTAMP)"
    for alias, canonical in DEFAULT_ALIASES.items()
)


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PostgresServer]:
    with PostgresServer() as server:
        yield server


@pytest.fixture(scope="session")
async def pg_database(pg_server: PostgresServer) -> str:
    """One migrated database for the in-process tests; each test empties it first."""
    url = pg_server.create_database("colloquy_tests")
    await migrate.upgrade(url)
    return url


@pytest.fixture(scope="session")
async def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "colloquy.db"
    await migrate.upgrade(f"sqlite:///{path}")
    return path


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture
def database_url(backend: str, request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, migrated, empty database of the test's backend."""
    if backend == "sqlite":
        template: Path = request.getfixturevalue("sqlite_template")
        path = tmp_path / "colloquy.db"
        shutil.copyfile(template, path)
        yield f"sqlite+aiosqlite:///{path}"
        return
    server: PostgresServer = request.getfixturevalue("pg_server")
    url: str = request.getfixturevalue("pg_database")
    names = ", ".join(table.name for table in tables.metadata.sorted_tables)
    server.execute_sql(
        f"TRUNCATE {names} RESTART IDENTITY CASCADE; {SEED_ALIASES}", database="colloquy_tests"
    )
    yield url


@pytest.fixture
async def store(database_url: str) -> AsyncIterator[Store]:
    opened = open_store(database_url)
    yield opened
    await opened.close()


# Write limits far above what any test not about them sends with one key (the limits still
# run: every write takes from its key's allowance).
UNLIMITED_WRITES = dict.fromkeys(
    ("rate_limit_propose", "rate_limit_confirm", "rate_limit_flag"), 1_000_000
)


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    return Settings(
        data_dir=tmp_path,
        database_url=SecretStr(database_url),
        jwt_secret=SecretStr("test-jwt-secret-" + "x" * 32),
        api_key_pepper=SecretStr("test-pepper-" + "y" * 32),
        **UNLIMITED_WRITES,
    )


@pytest.fixture
async def client(settings: Settings, store: Store) -> AsyncIterator[httpx.AsyncClient]:
    """The API in-process (httpx over ASGI), on the test's backend."""
    app = create_app(settings, store)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        yield http
