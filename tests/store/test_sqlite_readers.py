"""SQLite's reader threads (``CQ_DB_READERS``): the setting reaches the store as that many
threads, each with a connection of its own; out-of-range values are refused; and reads on any
number of them see every commit before them."""

import asyncio
import shutil
import threading
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from pydantic import ValidationError
from sqlalchemy import Connection, event

from colloquy.config import MAX_DB_READERS, Settings
from colloquy.store.factory import open_store
from colloquy.store.sql.database import ThreadedDatabase
from colloquy.store.sqlite import READERS_CAP, READERS_FLOOR, SqliteStore, default_readers
from colloquy.wiring import pool_settings
from tests.store.factories import T0, add_user

# Long enough for any number of threads to reach the barrier on a busy machine: only a reader
# short of a thread waits this long, and then the test fails.
BARRIER_SECONDS = 30


@pytest.fixture
def sqlite_url(sqlite_template: Path, tmp_path: Path) -> str:
    path = tmp_path / "readers.db"
    shutil.copyfile(sqlite_template, path)
    return f"sqlite:///{path}"


@pytest.fixture
async def opened(sqlite_url: str) -> AsyncIterator[list[SqliteStore]]:
    """Stores a test opens, closed after it."""
    stores: list[SqliteStore] = []
    yield stores
    for store in stores:
        await store.close()


async def meet_on_every_reader(database: ThreadedDatabase, readers: int) -> set[int]:
    """``readers`` reads at once, each holding its thread until all of them run: only as many
    threads as that let them all finish. The driver connection each one ran on."""
    barrier = threading.Barrier(readers, timeout=BARRIER_SECONDS)

    def meet(conn: Connection) -> int:
        barrier.wait()
        return id(conn.connection.dbapi_connection)

    return set(await asyncio.gather(*(database.read(meet) for _ in range(readers))))


@pytest.mark.parametrize("readers", [1, 3])
async def test_the_setting_reaches_the_store_as_threads_with_their_own_connections(
    sqlite_url: str, opened: list[SqliteStore], readers: int
) -> None:
    store = open_store(sqlite_url, pool_settings(Settings(db_readers=readers)))
    assert isinstance(store, SqliteStore)
    opened.append(store)
    database = store.database
    assert isinstance(database, ThreadedDatabase)
    assert len(await meet_on_every_reader(database, readers)) == readers
    assert database.read_engine.pool.size() == readers  # type: ignore[attr-defined]


async def test_unset_it_is_one_reader_per_core_within_the_floor_and_the_cap(
    sqlite_url: str, opened: list[SqliteStore]
) -> None:
    store = open_store(sqlite_url, pool_settings(Settings()))
    assert isinstance(store, SqliteStore)
    opened.append(store)
    readers = default_readers()
    assert READERS_FLOOR <= readers <= READERS_CAP
    database = store.database
    assert isinstance(database, ThreadedDatabase)
    assert len(await meet_on_every_reader(database, readers)) == readers


@pytest.mark.parametrize("readers", [0, -1, MAX_DB_READERS + 1])
def test_a_count_out_of_bounds_is_refused(readers: int, monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ValidationError, match="db_readers"):
        Settings(db_readers=readers)
    monkeypatch.setenv("CQ_DB_READERS", str(readers))
    with pytest.raises(ValidationError, match="db_readers"):
        Settings()


def test_the_variable_is_read(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CQ_DB_READERS", str(MAX_DB_READERS))
    assert Settings().db_readers == MAX_DB_READERS


@pytest.mark.parametrize("readers", [1, 2, 4])
async def test_concurrent_reads_see_every_commit_before_them(
    sqlite_url: str, opened: list[SqliteStore], readers: int
) -> None:
    """More reads at once than there are readers, after each commit: whichever pooled
    connection answers, none answers from a state before it."""
    store = SqliteStore(sqlite_url, readers)
    opened.append(store)
    for n in range(12):
        await add_user(store, f"user{n}", when=T0)
        seen = await asyncio.gather(*(store.get_user(f"user{n}") for _ in range(3 * readers)))
        assert all(user is not None and user.username == f"user{n}" for user in seen)


async def test_each_reader_keeps_its_connection_and_gives_it_back_when_a_read_fails(
    sqlite_url: str, opened: list[SqliteStore]
) -> None:
    """Reads after the first take no connection from the pool; a read that raises hands its
    connection back (the error reaches its caller), and the next read checks one out again."""
    store = SqliteStore(sqlite_url, 2)
    opened.append(store)
    database = store.database
    assert isinstance(database, ThreadedDatabase)
    checkouts: list[int] = []
    event.listen(database.read_engine, "checkout", lambda *_: checkouts.append(1))
    first = await meet_on_every_reader(database, 2)
    assert len(checkouts) == 2
    for _ in range(3):
        assert await meet_on_every_reader(database, 2) == first
    assert len(checkouts) == 2

    def fails(conn: Connection) -> None:
        raise LookupError("from the read")

    with pytest.raises(LookupError, match="from the read"):
        await database.read(fails)
    assert await store.get_user("nobody") is None
    # A read on every reader, so the one whose read failed serves one too (a single read may go
    # to the other reader, which kept its connection).
    assert len(await meet_on_every_reader(database, 2)) == 2
    assert len(checkouts) == 3


async def test_preparing_on_every_reader_given_up_holds_no_thread(
    sqlite_url: str, opened: list[SqliteStore]
) -> None:
    """A caller of ``each_reader`` that gives up while one reader is busy leaves no thread
    waiting for the skipped turn: every reader serves reads again (and the store closes)."""
    store = SqliteStore(sqlite_url, 2)
    opened.append(store)
    database = store.database
    assert isinstance(database, ThreadedDatabase)
    release = threading.Event()
    busy = asyncio.ensure_future(database.read(lambda conn: release.wait(BARRIER_SECONDS)))
    await asyncio.sleep(0.2)  # one reader now holds the busy read
    preparing = asyncio.ensure_future(database.each_reader(lambda conn: None))
    await asyncio.sleep(0.2)  # the other waits for its partner in the preparation
    preparing.cancel()
    with pytest.raises(asyncio.CancelledError):
        await preparing
    release.set()
    assert await busy
    assert len(await meet_on_every_reader(database, 2)) == 2
