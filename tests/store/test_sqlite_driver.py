"""The SQLite driver path: one trip to aiosqlite's thread per statement, and rollbacks only
when a transaction is open."""

import shutil
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import aiosqlite
import pytest

from colloquy.domain.models import Role
from colloquy.store.protocol import UsernameTaken
from colloquy.store.sqlite import SqliteStore
from tests.store.factories import T0


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
def trips(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """The name of every function aiosqlite runs on its thread."""
    seen: list[str] = []
    original = aiosqlite.Connection._execute

    async def counted(self: aiosqlite.Connection, fn, *args, **kwargs):  # type: ignore[no-untyped-def]
        seen.append(getattr(fn, "__name__", repr(fn)))
        return await original(self, fn, *args, **kwargs)

    monkeypatch.setattr(aiosqlite.Connection, "_execute", counted)
    yield seen


async def test_a_read_is_one_trip(sqlite_store: SqliteStore, trips: list[str]) -> None:
    await sqlite_store.session_user("nobody", "token")  # opens the pooled connection
    trips.clear()

    assert await sqlite_store.session_user("nobody", "token") is None

    assert trips == ["_run"]


async def test_a_failed_write_is_rolled_back(sqlite_store: SqliteStore, trips: list[str]) -> None:
    await sqlite_store.create_user("alice", "hash", Role.REVIEWER, T0)
    trips.clear()

    with pytest.raises(UsernameTaken):
        await sqlite_store.create_user("alice", "other-hash", Role.ADMIN, T0)

    assert "rollback" in trips
    # The writer is usable again, and the failed insert left nothing behind.
    await sqlite_store.create_user("bob", "hash", None, T0)
    assert (await sqlite_store.get_user("bob")) is not None
    alice = await sqlite_store.get_user("alice")
    assert alice is not None and alice.role is Role.REVIEWER
