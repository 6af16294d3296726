"""What the migration tests share: alembic run on an open connection, the revision a migration
follows once the migrations are chained, the names a schema holds, and a new table's round
trip."""

from typing import Any

from alembic import command
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, inspect, text
from sqlalchemy.ext.asyncio import create_async_engine

from colloquy.store import migrate
from colloquy.store.factory import async_url


def revision_before(revision: str) -> str:
    """The revision ``revision`` follows (its ``down_revision``)."""
    script = ScriptDirectory.from_config(migrate.alembic_config()).get_revision(revision)
    assert script is not None and isinstance(script.down_revision, str)
    return script.down_revision


def run_alembic(connection: Connection, action: str, revision: str) -> None:
    """``upgrade`` or ``downgrade`` to ``revision`` inside the caller's connection."""
    config = migrate.alembic_config()
    config.attributes["connection"] = connection
    getattr(command, action)(config, revision)


def table_names(connection: Connection) -> set[str]:
    return set(inspect(connection).get_table_names())


def column_names(connection: Connection, table: str) -> set[str]:
    return {c["name"] for c in inspect(connection).get_columns(table)}


async def round_trip_new_table(url: str, revision: str, table: str, kept: str) -> tuple[Any, int]:
    """Downgrade ``url`` to before ``revision`` (which adds ``table``) and upgrade again,
    checking ``table`` goes and comes back: what the query ``kept`` then reads (the data the
    migration must leave alone), and how many rows the new ``table`` holds."""
    engine = create_async_engine(async_url(url))
    try:
        async with engine.begin() as conn:
            await conn.run_sync(run_alembic, "downgrade", revision_before(revision))
            assert table not in await conn.run_sync(table_names)
            await conn.run_sync(run_alembic, "upgrade", revision)
            assert table in await conn.run_sync(table_names)
            rows = (await conn.execute(text(kept))).scalars().all()
            count = (await conn.execute(text(f"SELECT count(*) FROM {table}"))).scalar_one()
            return rows, count
    finally:
        await engine.dispose()
