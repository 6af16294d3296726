"""SQLite specifics: pragmas, one serialised writer, and a small pool of WAL readers (what the
SQL differs in is ``store.sql.dialects.SQLITE``).

SQLite has one writer at a time. Writes funnel through one connection that opens its
transactions with ``BEGIN IMMEDIATE`` (so a transaction never has to upgrade a read lock and
fail with "database is locked"); reads use their own connections, which WAL lets run beside it.
Other processes on the same file wait on ``busy_timeout``; past it, the write is run again
(store/sql/retry.py). Reads run without an explicit transaction: each statement sees the latest
committed state.
"""

from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from colloquy.store.sql import SqlStore
from colloquy.store.sql.database import Database
from colloquy.store.sql.dialects import SQLITE
from colloquy.store.sqlite_cursor import use_one_trip_cursors

BUSY_TIMEOUT_MS = 10_000
READ_POOL_SIZE = 4
# Prepared statements kept per connection. Every statement's text is fixed per shape (the ranked
# query's candidates are ranges, not id lists), so the set stays small and re-used.
STATEMENT_CACHE = 128


def sqlite_url(path: Path) -> str:
    return f"sqlite+aiosqlite:///{path}"


def database_path(url: str | URL) -> Path | None:
    """The file behind an SQLite URL, or None for an in-memory database."""
    database = make_url(url).database
    return Path(database) if database and database != ":memory:" else None


def _engine(url: URL, begin: str | None, pool_size: int) -> AsyncEngine:
    """``begin`` opens each transaction; None leaves every statement to commit on its own,
    which spares read-only connections two round trips to the driver's thread per request."""
    engine = create_async_engine(
        url,
        pool_size=pool_size,
        max_overflow=0,
        pool_timeout=60,
        pool_reset_on_return="rollback" if begin else None,
        connect_args={"cached_statements": STATEMENT_CACHE},
    )

    @event.listens_for(engine.sync_engine, "connect")
    def _configure(dbapi_connection: Any, _record: Any) -> None:
        use_one_trip_cursors(dbapi_connection)
        # Let SQLAlchemy's "begin" event open transactions, instead of the driver's own guess.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        for pragma in (
            "journal_mode=WAL",
            "synchronous=NORMAL",
            "foreign_keys=ON",
            f"busy_timeout={BUSY_TIMEOUT_MS}",
        ):
            cursor.execute(f"PRAGMA {pragma}")
        cursor.close()

    if begin is not None:

        @event.listens_for(engine.sync_engine, "begin")
        def _begin(conn: Any) -> None:
            conn.exec_driver_sql(begin)

    return engine


def create_engines(url: str | URL) -> tuple[AsyncEngine, AsyncEngine]:
    """A single-connection writer and a pool of readers on one database file."""
    url = make_url(url).set(drivername="sqlite+aiosqlite")
    path = database_path(url)
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
    return (
        _engine(url, "BEGIN IMMEDIATE", 1),
        _engine(url, None, READ_POOL_SIZE),
    )


class SqliteStore(SqlStore):
    """The embedded, zero-configuration backend."""

    def __init__(self, url: str | URL) -> None:
        super().__init__(Database(*create_engines(url), SQLITE))
