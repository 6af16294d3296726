"""Schema migrations: Alembic to head, under a lock so that many processes starting at once
migrate exactly once."""

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from filelock import FileLock
from sqlalchemy import Connection
from sqlalchemy.ext.asyncio import create_async_engine

from colloquy.store.sqlite import database_path

MIGRATIONS = Path(__file__).with_name("migrations")


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
    """Bring the database at ``url`` to the newest schema."""
    engine = create_async_engine(url)
    try:
        path = database_path(url) if url.startswith("sqlite") else None
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            with FileLock(str(path) + ".migrate.lock"):
                async with engine.begin() as conn:
                    await conn.run_sync(_upgrade)
        else:
            async with engine.begin() as conn:
                await conn.run_sync(_upgrade)
    finally:
        await engine.dispose()


async def current_revision(url: str) -> str | None:
    engine = create_async_engine(url)
    try:
        async with engine.connect() as conn:
            return await conn.run_sync(_current)
    finally:
        await engine.dispose()
