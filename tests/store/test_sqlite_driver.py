"""The SQLite driver path: one hand-off to a thread per store call, reads and writes alike,
and a failed write rolled back."""

import shutil
from collections.abc import AsyncIterator, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from sqlalchemy import event

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
def handoffs(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """The name of every function handed to a thread."""
    seen: list[str] = []
    original = ThreadPoolExecutor.submit

    def counted(self: ThreadPoolExecutor, fn, /, *args, **kwargs):  # type: ignore[no-untyped-def]
        seen.append(getattr(fn, "__name__", repr(fn)))
        return original(self, fn, *args, **kwargs)

    monkeypatch.setattr(ThreadPoolExecutor, "submit", counted)
    yield seen


async def test_a_read_is_one_handoff(sqlite_store: SqliteStore, handoffs: list[str]) -> None:
    assert await sqlite_store.session_user("nobody", "token") is None
    assert handoffs == ["_read"]


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
