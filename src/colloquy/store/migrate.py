"""Schema migrations: Alembic to head, under a lock so that many processes starting at once
migrate exactly once."""

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from filelock import FileLock
from sqlalchemy import Connection, text
from sqlalchemy.ext.asyncio import AsyncConnection, create_async_engine

from colloquy.store.factory import async_url, connect_args, is_postgres
from colloquy.store.sqlite import database_path

MIGRATIONS = Path(__file__).with_name("migrations")
# Any constant shared by every colloquy process: the PostgreSQL advisory lock taken to migrate.
ADVISORY_LOCK_KEY = 0x636F6C6C6F717579  # "colloquy"


def alembic_config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


def head_revision() -> str:
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None
    return head


def _upgrade(connection: Connection) -> None:
    config = alembic_config()
    config.attributes["connection"] = connection
    command.upgrade(config, "head")


def _current(connection: Connection) -> str | None:
    return MigrationContext.configure(connection).get_current_revision()


async def upgrade(url: str) -> None:
    """Bring the database at ``url`` to the newest schema, once, however many processes ask.

    PostgreSQL: a transaction-scoped advisory lock; SQLite: a lock file beside the database.
    """
    url = async_url(url)
    engine = create_async_engine(url, connect_args=connect_args(url))
    try:
        path = None if is_postgres(url) else database_path(url)
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            with FileLock(str(path) + ".migrate.lock"):
                async with engine.begin() as conn:
                    await conn.run_sync(_upgrade)
        else:
            async with engine.begin() as conn:
                await _lock(conn, url)
                await conn.run_sync(_upgrade)
    finally:
        await engine.dispose()


async def _lock(conn: AsyncConnection, url: str) -> None:
    if is_postgres(url):
        await conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": ADVISORY_LOCK_KEY})


async def current_revision(url: str) -> str | None:
    url = async_url(url)
    engine = create_async_engine(url, connect_args=connect_args(url))
    try:
        async with engine.connect() as conn:
            return await conn.run_sync(_current)
    finally:
        await engine.dispose()
