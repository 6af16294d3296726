"""Reading a cq reference server's database for ``colloquy import-cq``: its SQLite file or its
PostgreSQL database, opened read-only and read a page at a time in the reference's own schema
(Alembic revision 0001, wire-spec 3.5).

Rows come back as stored: the reference keeps timestamps and JSON as text, but a PostgreSQL
deployment may hand back real timestamps or JSON, so the values are passed on untouched and the
importer (``services.import_cq``) reads either.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any, Self
from urllib.parse import quote

from sqlalchemy import Column, Integer, MetaData, Table, Text, func, inspect, select
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from colloquy.store.factory import UnsupportedDatabase, async_url, is_postgres

# The reference's tables, only the columns read here.
_schema = MetaData()
_units = Table(
    "knowledge_units",
    _schema,
    Column("id", Text, primary_key=True),
    Column("data", Text),
    Column("status", Text),
    Column("reviewed_by", Text),
    Column("reviewed_at", Text),
)
_users = Table(
    "users",
    _schema,
    Column("id", Integer, primary_key=True),
    Column("username", Text),
    Column("password_hash", Text),
    Column("created_at", Text),
)
_keys = Table(
    "api_keys",
    _schema,
    Column("id", Text, primary_key=True),
    Column("user_id", Integer),
    Column("name", Text),
    Column("labels", Text),
    Column("key_prefix", Text),
    Column("key_hash", Text),
    Column("ttl", Text),
    Column("expires_at", Text),
    Column("created_at", Text),
    Column("last_used_at", Text),
    Column("revoked_at", Text),
)
CONNECT_TIMEOUT = 10.0


class NotAReferenceDatabase(ValueError):
    """The source cannot be opened, or is not a cq reference server's database."""


@dataclass(frozen=True)
class CqUserRow:
    id: int
    username: str
    password_hash: str
    created_at: Any


@dataclass(frozen=True)
class CqKeyRow:
    id: str
    username: str
    name: str
    labels: Any
    prefix: str
    key_hash: str
    ttl: str
    expires_at: Any
    created_at: Any
    last_used_at: Any
    revoked_at: Any


@dataclass(frozen=True)
class CqUnitRow:
    id: str
    data: Any
    """The unit's JSON: text, or already decoded."""
    status: str
    reviewed_by: str | None
    reviewed_at: Any


@dataclass(frozen=True)
class CqCounts:
    users: int
    keys: int
    units: int


def source_url(source: str) -> str:
    """The read-only async URL of ``source``: a SQLite file's path (or ``sqlite:///`` URL),
    or a PostgreSQL URL."""
    if "://" not in source:
        path = Path(source).expanduser()
        if not path.is_file():
            raise NotAReferenceDatabase("no such file")
        # SQLite's own read-only mode: nothing here can write to the reference's file.
        return f"sqlite+aiosqlite:///file:{quote(str(path.resolve()))}?mode=ro&uri=true"
    try:
        url = make_url(source)
    except ArgumentError as exc:
        raise NotAReferenceDatabase(
            "SOURCE is neither a file nor a database URL (postgresql://USER@HOST/DATABASE)"
        ) from exc
    if url.get_backend_name() == "sqlite":
        return source_url(url.database or "")
    try:
        return async_url(source)
    except UnsupportedDatabase as exc:
        raise NotAReferenceDatabase(
            "SOURCE must be the reference's SQLite file or its postgresql:// URL"
        ) from exc


class CqReference:
    """A reference server's database, read-only; use as ``async with CqReference(source)``."""

    def __init__(self, source: str) -> None:
        url = source_url(source)
        if is_postgres(url):
            # Every transaction of these connections is read-only: the server refuses writes.
            settings = {"default_transaction_read_only": "on", "timezone": "UTC"}
            connect_args: dict[str, Any] = {
                "timeout": CONNECT_TIMEOUT,
                "server_settings": settings,
            }
        else:
            connect_args = {}
        self._engine: AsyncEngine = create_async_engine(url, connect_args=connect_args)

    async def __aenter__(self) -> Self:
        await self._check()
        return self

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        await self._engine.dispose()

    async def _check(self) -> None:
        """Refuse a database without the reference's tables, before anything is read."""
        async with self._engine.connect() as conn:
            found = await conn.run_sync(lambda sync: set(inspect(sync).get_table_names()))
        missing = sorted(table.name for table in _schema.tables.values() if table.name not in found)
        if missing:
            await self._engine.dispose()
            raise NotAReferenceDatabase(
                f"not a cq reference server database (no {', '.join(missing)} table)"
            )

    async def counts(self) -> CqCounts:
        async with self._engine.connect() as conn:
            counted = [
                (await conn.execute(select(func.count()).select_from(table))).scalar_one()
                for table in (_users, _keys, _units)
            ]
        return CqCounts(*counted)

    async def usernames(self, names: Sequence[str]) -> set[str]:
        """Which of ``names`` the reference has."""
        async with self._engine.connect() as conn:
            stmt = select(_users.c.username).where(_users.c.username.in_(list(names)))
            return set((await conn.execute(stmt)).scalars())

    async def users(self, after: int | None, limit: int) -> list[CqUserRow]:
        """Users by id (the first one is the oldest account)."""
        u = _users.c
        stmt = select(u.id, u.username, u.password_hash, u.created_at).order_by(u.id).limit(limit)
        if after is not None:
            stmt = stmt.where(u.id > after)
        async with self._engine.connect() as conn:
            return [CqUserRow(*row) for row in await conn.execute(stmt)]

    async def keys(self, after: str | None, limit: int) -> list[CqKeyRow]:
        """API keys by id, each with its owner's username."""
        k = _keys.c
        stmt = (
            select(
                k.id,
                _users.c.username,
                k.name,
                k.labels,
                k.key_prefix,
                k.key_hash,
                k.ttl,
                k.expires_at,
                k.created_at,
                k.last_used_at,
                k.revoked_at,
            )
            .join(_users, _users.c.id == k.user_id)
            .order_by(k.id)
            .limit(limit)
        )
        if after is not None:
            stmt = stmt.where(k.id > after)
        async with self._engine.connect() as conn:
            return [CqKeyRow(*row) for row in await conn.execute(stmt)]

    async def units(self, after: str | None, limit: int) -> list[CqUnitRow]:
        """Units by id."""
        c = _units.c
        stmt = (
            select(c.id, c.data, c.status, c.reviewed_by, c.reviewed_at).order_by(c.id).limit(limit)
        )
        if after is not None:
            stmt = stmt.where(c.id > after)
        async with self._engine.connect() as conn:
            return [CqUnitRow(*row) for row in await conn.execute(stmt)]
