"""The API in-process for schema fuzzing: one fresh database per backend, an admin, an API key."""

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from fastapi import FastAPI
from pydantic import SecretStr
from schemathesis.python import asgi
from starlette.types import ASGIApp, Receive, Scope, Send

from colloquy.app import create_app
from colloquy.clock import now
from colloquy.config import Settings
from colloquy.domain.models import Role
from colloquy.security.passwords import hash_password
from colloquy.store import migrate
from colloquy.store.factory import open_store
from colloquy.wiring import build_services
from tests.conftest import BACKENDS
from tests.support.pgserver import PostgresServer

ADMIN = "fuzz-admin"
PASSWORD = "fuzz-admin-password"
# The sign-out operation gets about ten cases (its coverage phase; fuzzing has nothing to vary).
SPARE_SESSIONS = 24


@dataclass(frozen=True)
class Target:
    backend: str
    app: ASGIApp
    api_key: str
    session: str
    spare_sessions: list[str]
    """Sessions for sign-out cases, each of which revokes the token it is sent with."""

    @property
    def api_key_id(self) -> str:
        return self.api_key.split(".")[2]

    def spare_session(self) -> str:
        assert self.spare_sessions, "more sign-out cases than SPARE_SESSIONS: raise it"
        return self.spare_sessions.pop()


def served(app: FastAPI) -> ASGIApp:
    """The app as a server runs it: an exception that escapes a request has already been answered
    with a 500 (here with the traceback as its body, ``debug``, for the report) and goes no
    further, as under uvicorn; in-process it would otherwise abort the fuzzer's client."""
    app.debug = True

    async def serve(scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await app(scope, receive, send)
        except Exception:
            if scope["type"] != "http":
                raise

    return serve


@pytest.fixture(scope="module", params=BACKENDS)
async def fuzz_target(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Target]:
    backend: str = request.param
    data_dir: Path = tmp_path_factory.mktemp(f"fuzz-{backend}")
    pg: PostgresServer | None = None
    if backend == "postgres":
        pg = request.getfixturevalue("pg_server")
        name = f"fuzz_{uuid.uuid4().hex[:10]}"
        url = pg.create_database(name)
    else:
        url = f"sqlite+aiosqlite:///{data_dir / 'colloquy.db'}"
    await migrate.upgrade(url)
    settings = Settings(
        data_dir=data_dir,
        database_url=SecretStr(url),
        jwt_secret=SecretStr("fuzz-jwt-secret-" + "x" * 32),
        api_key_pepper=SecretStr("fuzz-pepper-" + "y" * 32),
    )
    store = open_store(url)
    try:
        admin = await store.create_user(ADMIN, await hash_password(PASSWORD), Role.ADMIN, now())
        accounts = build_services(settings, store).accounts
        key = await accounts.create_key(admin, "fuzz", "30d", [])
        tokens = [await accounts.login(ADMIN, PASSWORD, None) for _ in range(SPARE_SESSIONS + 1)]
    finally:
        await store.close()
    # The app's lifespan opens its store on schemathesis' event loop.
    app = served(create_app(settings))
    try:
        yield Target(backend, app, key.token, tokens.pop(), tokens)
    finally:
        asgi.shutdown_lifespans()
        if pg is not None:
            pg.drop_database(name)
