"""WAL checkpoints off the writer's thread (``store.checkpoint``): the writer's own automatic
checkpoint is only a backstop, the checkpointer keeps the WAL short, and closes cleanly."""

import asyncio
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.engine import Connection

from colloquy.store import checkpoint
from colloquy.store.checkpoint import BACKSTOP_PAGES, Checkpointer
from colloquy.store.sql.database import ThreadedDatabase
from colloquy.store.sql.dialects import SQLITE
from colloquy.store.sqlite import SqliteStore, create_engines, create_glance_engine

PAGE = 4096
ROW = b"x" * (2 * PAGE)  # each write adds a few WAL frames
WRITES = 1_500


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "checkpoint.db"


@pytest.fixture
async def database(path: Path) -> AsyncIterator[ThreadedDatabase]:
    url = f"sqlite:///{path}"
    write, read = create_engines(url, readers=1)
    db = ThreadedDatabase(
        write, read, SQLITE, 1, create_glance_engine(url), Checkpointer(path, interval=0.01)
    )
    await db.write(lambda conn: conn.execute(text("CREATE TABLE blobs (b BLOB)")))
    yield db
    await db.close()


def insert(conn: Connection, row: bytes = ROW) -> None:
    conn.execute(text("INSERT INTO blobs (b) VALUES (:b)"), {"b": row})


async def test_the_writers_own_checkpoint_is_the_backstop(path: Path):
    store = SqliteStore(f"sqlite:///{path}")
    try:
        database = store.database
        assert isinstance(database, ThreadedDatabase) and database.checkpointer is not None
        pages = await database.write(
            lambda conn: conn.exec_driver_sql("PRAGMA wal_autocheckpoint").scalar()
        )
        assert pages == BACKSTOP_PAGES
    finally:
        await store.close()


async def test_the_checkpointer_keeps_the_wal_short_under_sustained_writes(
    path: Path, database: ThreadedDatabase
):
    for n in range(WRITES):
        await database.write(insert)
        if n % 100 == 99:
            await asyncio.sleep(0.05)  # a gap between bursts: room for a pass to catch up
    checkpointer = database.checkpointer
    assert checkpointer is not None and checkpointer.passes > 0
    written = WRITES * len(ROW)
    wal = path.with_name(path.name + "-wal").stat().st_size
    # The writer's backstop (16,000 pages) never fired: only the checkpointer's passes let the
    # log restart from its start, so the file holds a burst or so, not every write.
    assert written < BACKSTOP_PAGES * PAGE
    assert wal < written / 4
    with sqlite3.connect(path) as conn:
        assert conn.execute("SELECT count(*) FROM blobs").fetchone() == (WRITES,)


async def test_the_backstop_bounds_the_wal_under_writes_without_a_gap(
    path: Path, database: ThreadedDatabase
):
    row = b"y" * (32 * PAGE)
    writes = BACKSTOP_PAGES * 13 // 10 // 33  # ~33 frames each: 1.3 times the backstop in all
    for _ in range(writes):
        await database.write(lambda conn: insert(conn, row))
    assert writes * len(row) > 1.2 * BACKSTOP_PAGES * PAGE
    wal = path.with_name(path.name + "-wal").stat().st_size
    # Past the backstop the log restarted: the file holds at most the backstop's pages and
    # what was written while the last checkpoint ran (frames are a page and a 24-byte header).
    assert wal < 1.1 * BACKSTOP_PAGES * (PAGE + 24)


async def test_close_runs_a_last_pass_and_stops_the_thread(path: Path):
    writer = sqlite3.connect(path, isolation_level=None)
    writer.execute("PRAGMA journal_mode=WAL")
    writer.execute("PRAGMA wal_autocheckpoint=0")
    writer.execute("CREATE TABLE blobs (b BLOB)")
    checkpointer = Checkpointer(path, interval=60)
    try:
        for _ in range(20):
            writer.execute("INSERT INTO blobs (b) VALUES (?)", (ROW,))
            checkpointer.committed()
        await asyncio.sleep(0.05)
        assert checkpointer.passes == 0  # still within its interval
        checkpointer.close()
        assert not checkpointer._thread.is_alive()
        assert checkpointer.passes == 1
        assert checkpointer.last is not None
        busy, frames, copied = checkpointer.last
        assert busy == 0 and frames >= 20 and copied == frames
    finally:
        writer.close()


async def test_past_the_catch_up_mark_passes_follow_until_the_log_stops_growing(
    path: Path, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setattr(checkpoint, "CATCH_UP_PAGES", 20)
    monkeypatch.setattr(checkpoint, "CATCH_UP_PAUSE", 0.001)
    writer = sqlite3.connect(path, isolation_level=None)
    writer.execute("PRAGMA journal_mode=WAL")
    writer.execute("PRAGMA wal_autocheckpoint=0")
    writer.execute("CREATE TABLE blobs (b BLOB)")
    for _ in range(20):
        writer.execute("INSERT INTO blobs (b) VALUES (?)", (ROW,))
    checkpointer = Checkpointer(path, interval=0.01)
    try:
        checkpointer.committed()
        await asyncio.sleep(0.3)
        # One pass found the log past the mark; the next found it no longer (no writes since).
        assert checkpointer.passes == 2
    finally:
        checkpointer.close()
        writer.close()


async def test_close_stops_the_thread_when_it_comes_as_a_pass_is_about_to_begin(path: Path):
    """``close`` between the interval's end and the pass's clearing of ``_written``: that clear
    undoes close's signal, and the thread must still see that it is closing."""
    writer = sqlite3.connect(path, isolation_level=None)
    writer.execute("PRAGMA journal_mode=WAL")
    checkpointer = Checkpointer(path, interval=0.01)
    written = checkpointer._written
    real_clear = written.clear

    def close_then_clear() -> None:
        written.clear = real_clear  # type: ignore[method-assign]
        checkpointer._closing.set()  # what close() does, just before this clear
        written.set()
        real_clear()

    written.clear = close_then_clear  # type: ignore[method-assign]
    try:
        checkpointer.committed()
        checkpointer._thread.join(timeout=2)
        assert not checkpointer._thread.is_alive()
    finally:
        checkpointer._closing.set()
        written.set()
        checkpointer.close()
        writer.close()
