"""SQLite specifics: pragmas, one serialised writer, and a small pool of WAL readers (what the
SQL differs in is ``store.sql.dialects.SQLITE``).

The engines are synchronous (pysqlite): a statement costs what SQLite costs, and each store call
runs on a thread of its own in one hand-off (``store.sql.database.ThreadedDatabase``), but
for an API key's lookup, which runs on the event loop's own connection (``glance``).
SQLite has one writer at a time. Writes funnel through one connection, on one thread, that
opens its transactions with ``BEGIN IMMEDIATE`` (so a transaction never has to upgrade a read
lock and fail with "database is locked"); reads use their own connections, one per reader
thread, which WAL lets run beside it.
Other processes on the same file wait on ``busy_timeout``; past it, the write is run again
(store/sql/retry.py). Reads run without an explicit transaction: each statement sees the latest
committed state.

WAL checkpoints run on a thread of their own (``store.checkpoint``), not inside the writer's
commits; the writer's own automatic checkpoint is raised to a backstop (``BACKSTOP_PAGES``).
"""

import os
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, event
from sqlalchemy.engine import URL, Engine, make_url

from colloquy.store.checkpoint import BACKSTOP_PAGES, Checkpointer
from colloquy.store.sql import SqlStore
from colloquy.store.sql.database import ThreadedDatabase
from colloquy.store.sql.dialects import SQLITE
from colloquy.store.sqlite_memory import switch_off_statistics

BUSY_TIMEOUT_MS = 10_000
# Reader threads by default (each with its own pooled connection; ``CQ_DB_READERS``): one per
# core, at least READERS_FLOOR and at most READERS_CAP. Readers beyond the cores cost CPU on
# every query (threads handing the GIL to one another, more system time, and SQLite's allocation
# mutex, since switched off: store/sqlite_memory.py) and bought no
# throughput: on 2 cores, 2 readers against 4 took 4-12% less server CPU per request at c=8
# over HTTP at 100k, 15-21% at 1M, 13-25% in process, and no steadily more or less at c=2
# (benchmarks/PROFILE.md, "What was cut"). At least two, so that one long query (a hybrid one
# at 1M) does not hold every other read behind it; at most the 4 there were before (more were
# not measured: one thread at a time runs Python). The pool stays FIFO and each connection
# keeps SQLite's default page cache: handing out the last-used connection first (LIFO) or a
# 16 MiB cache per reader showed no steady gain over HTTP, and a larger cache is memory per
# reader.
READERS_FLOOR = 2
READERS_CAP = 4
# Prepared statements kept per connection. Every statement's text is fixed per shape (the ranked
# query's candidates are ranges, not id lists), so the set stays small and re-used.
STATEMENT_CACHE = 128


def default_readers() -> int:
    """One reader thread per core this process may run on, within the floor and the cap."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return min(max(cores or 1, READERS_FLOOR), READERS_CAP)


def sqlite_url(path: Path) -> str:
    return f"sqlite+aiosqlite:///{path}"


def database_path(url: str | URL) -> Path | None:
    """The file behind an SQLite URL, or None for an in-memory database."""
    database = make_url(url).database
    return Path(database) if database and database != ":memory:" else None


def _engine(
    url: URL,
    begin: str | None,
    pool_size: int,
    busy_ms: int | None = None,
    autocheckpoint: int | None = None,
) -> Engine:
    """``begin`` opens each transaction; None leaves every statement to commit on its own,
    which spares read-only connections a ``BEGIN`` and a ``ROLLBACK`` per call. ``busy_ms``:
    how long a statement waits for a lock another connection holds (``BUSY_TIMEOUT_MS``, as
    it is when a connection is made, unless given). ``autocheckpoint``: the WAL pages after which
    a commit on this connection checkpoints (SQLite's 1,000 unless given)."""
    switch_off_statistics()  # before this process's first connection (store.sqlite_memory)
    engine = create_engine(
        url,
        pool_size=pool_size,
        max_overflow=0,
        pool_timeout=60,
        pool_reset_on_return="rollback" if begin else None,
        # A pooled connection serves whichever thread checks it out (one at a time).
        connect_args={"cached_statements": STATEMENT_CACHE, "check_same_thread": False},
    )

    checkpoints = () if autocheckpoint is None else (f"wal_autocheckpoint={autocheckpoint}",)

    @event.listens_for(engine, "connect")
    def _configure(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy's "begin" event open transactions, instead of the driver's own guess.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        for pragma in (
            "journal_mode=WAL",
            "synchronous=NORMAL",
            "foreign_keys=ON",
            f"busy_timeout={BUSY_TIMEOUT_MS if busy_ms is None else busy_ms}",
            *checkpoints,
        ):
            cursor.execute(f"PRAGMA {pragma}")
        cursor.close()

    if begin is not None:

        @event.listens_for(engine, "begin")
        def _begin(conn: Any) -> None:
            conn.exec_driver_sql(begin)

    return engine


def _sync_url(url: str | URL) -> URL:
    url = make_url(url).set(drivername="sqlite+pysqlite")
    path = database_path(url)
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
    return url


def create_engines(url: str | URL, readers: int) -> tuple[Engine, Engine]:
    """A single-connection writer, whose own checkpoints are only the backstop
    (``store.checkpoint``), and a pool of ``readers`` connections on one database file."""
    url = _sync_url(url)
    return (
        _engine(url, "BEGIN IMMEDIATE", 1, autocheckpoint=BACKSTOP_PAGES),
        _engine(url, None, readers),
    )


def create_glance_engine(url: str | URL) -> Engine:
    """The one connection of the event loop's glances (``ThreadedDatabase.glance``): it never
    waits for a lock, so that it never holds up the loop."""
    return _engine(_sync_url(url), None, 1, busy_ms=0)


class SqliteStore(SqlStore):
    """The embedded, zero-configuration backend; ``readers``: reader threads (``CQ_DB_READERS``),
    else ``default_readers()``."""

    def __init__(self, url: str | URL, readers: int | None = None) -> None:
        readers = default_readers() if readers is None else readers
        write, read = create_engines(url, readers)
        path = database_path(url)
        checkpointer = None if path is None else Checkpointer(path)
        super().__init__(
            ThreadedDatabase(write, read, SQLITE, readers, create_glance_engine(url), checkpointer)
        )
