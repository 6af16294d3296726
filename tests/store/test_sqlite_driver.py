"""The SQLite driver path: one hand-off to a thread per store call, reads and writes alike,
and a failed write rolled back."""

import asyncio
import shutil
import sqlite3
from collections.abc import AsyncIterator, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from sqlalchemy import event

from colloquy.domain.models import Role
from colloquy.store.protocol import UsernameTaken
from colloquy.store.sql.readers import Readers
from colloquy.store.sqlite import SqliteStore
from tests.store.factories import T0, add_key, add_user, at


@pytest.fixture
def sqlite_path(sqlite_template: Path, tmp_path: Path) -> Path:
    path = tmp_path / "driver.db"
    shutil.copyfile(sqlite_template, path)
    return path


@pytest.fixture
async def sqlite_store(sqlite_path: Path) -> AsyncIterator[SqliteStore]:
    store = SqliteStore(f"sqlite+aiosqlite:///{sqlite_path}")
    yield store
    await store.close()


@pytest.fixture
def handoffs(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """Every hand-off to a thread: the name of each function handed to an executor (the
    writer's), and ``read`` for each read handed to the reader threads."""
    seen: list[str] = []
    original = ThreadPoolExecutor.submit
    original_read = Readers.read

    def counted(self: ThreadPoolExecutor, fn, /, *args, **kwargs):  # type: ignore[no-untyped-def]
        seen.append(getattr(fn, "__name__", repr(fn)))
        return original(self, fn, *args, **kwargs)

    async def read(self: Readers, fn):  # type: ignore[no-untyped-def]
        seen.append("read")
        return await original_read(self, fn)

    monkeypatch.setattr(ThreadPoolExecutor, "submit", counted)
    monkeypatch.setattr(Readers, "read", read)
    yield seen


async def test_a_read_is_one_handoff(sqlite_store: SqliteStore, handoffs: list[str]) -> None:
    assert await sqlite_store.session_user("nobody", "token") is None
    assert handoffs == ["read"]


async def test_a_write_is_one_handoff(sqlite_store: SqliteStore, handoffs: list[str]) -> None:
    """Its transaction, its statements and the counters, all in one call on the writer's
    thread."""
    await sqlite_store.create_user("alice", "hash", Role.REVIEWER, T0)
    assert handoffs == ["_commit"]


async def test_a_failed_write_is_rolled_back(sqlite_store: SqliteStore) -> None:
    rollbacks: list[int] = []
    engine = sqlite_store.database.write_engine  # type: ignore[attr-defined]
    event.listen(engine, "rollback", lambda _conn: rollbacks.append(1))
    await sqlite_store.create_user("alice", "hash", Role.REVIEWER, T0)
    assert rollbacks == []

    with pytest.raises(UsernameTaken):
        await sqlite_store.create_user("alice", "other-hash", Role.ADMIN, T0)

    assert rollbacks == [1]
    # The writer is usable again, and the failed insert left nothing behind.
    await sqlite_store.create_user("bob", "hash", None, T0)
    assert (await sqlite_store.get_user("bob")) is not None
    alice = await sqlite_store.get_user("alice")
    assert alice is not None and alice.role is Role.REVIEWER


async def test_a_key_lookup_is_no_handoff(sqlite_store: SqliteStore, handoffs: list[str]) -> None:
    """It runs on the event loop's own connection (``ThreadedDatabase.glance``)."""
    assert await sqlite_store.key_credential("0" * 32, T0) is None
    assert handoffs == []


async def test_a_key_lookup_sees_another_connection_revoke_at_once(
    sqlite_store: SqliteStore, sqlite_path: Path
) -> None:
    """The glance's connection keeps no snapshot between lookups: a key revoked by another
    process fails its very next lookup."""
    alice = await add_user(sqlite_store, "alice")
    key = await add_key(sqlite_store, alice.id)
    assert await sqlite_store.key_credential(key.id, at(1)) is not None
    other = sqlite3.connect(sqlite_path)
    with other:
        other.execute("UPDATE api_keys SET revoked_at = created_at WHERE id = ?", (key.id,))
    other.close()
    assert await sqlite_store.key_credential(key.id, at(1)) is None


async def test_a_key_lookup_on_a_locked_database_waits_on_a_reader(
    sqlite_store: SqliteStore, sqlite_path: Path, handoffs: list[str]
) -> None:
    """The loop never waits for a lock: while another connection holds the database
    exclusively, the lookup goes to a reader thread, which waits for the lock, and answers."""
    alice = await add_user(sqlite_store, "alice")
    key = await add_key(sqlite_store, alice.id)
    await sqlite_store.close()  # its connections gone, so that another can lock the file
    handoffs.clear()
    store = SqliteStore(f"sqlite+aiosqlite:///{sqlite_path}")
    holder = sqlite3.connect(sqlite_path, isolation_level=None)
    holder.execute("PRAGMA locking_mode=EXCLUSIVE")
    holder.execute("BEGIN EXCLUSIVE")
    try:
        lookup = asyncio.create_task(store.key_credential(key.id, at(1)))
        while "read" not in handoffs:
            assert not lookup.done(), lookup.exception()
            await asyncio.sleep(0.01)
        holder.execute("COMMIT")
        holder.close()
        credential = await lookup
        assert credential is not None and credential.key_id == key.id
        assert handoffs == ["read"]
    finally:
        holder.close()
        await store.close()


async def test_the_writer_keeps_its_connection_until_a_write_fails(
    sqlite_store: SqliteStore,
) -> None:
    """One checkout for any number of transactions; a failed one gives its connection back, and
    the next transaction takes a fresh one; closing the store gives the last one back."""
    engine = sqlite_store.database.write_engine  # type: ignore[attr-defined]
    checkouts: list[int] = []
    event.listen(engine, "checkout", lambda *_: checkouts.append(1))
    for name in ("alice", "bob", "carol"):
        await sqlite_store.create_user(name, "hash", None, T0)
    assert len(checkouts) == 1
    assert engine.pool.checkedout() == 1

    with pytest.raises(UsernameTaken):
        await sqlite_store.create_user("alice", "other-hash", Role.ADMIN, T0)
    assert engine.pool.checkedout() == 0
    await sqlite_store.create_user("dave", "hash", None, T0)
    assert len(checkouts) == 2
    assert (await sqlite_store.get_user("dave")) is not None

    await sqlite_store.close()
    assert engine.pool.checkedout() == 0
