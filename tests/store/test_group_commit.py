"""Group commit on a real SQLite writer: jobs that queue share a transaction, and each caller
still gets exactly the outcome it would have had alone."""

import asyncio
import sqlite3
import threading
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import event, text
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import OperationalError

from colloquy.store.sql.dialects import SQLITE
from colloquy.store.sql.group_commit import GroupCommit
from colloquy.store.sqlite import create_engines


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "group.db"


@pytest.fixture
async def writer(path: Path) -> AsyncIterator[Engine]:
    engine, reader = create_engines(f"sqlite:///{path}", readers=1)
    reader.dispose()
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE notes (n INTEGER PRIMARY KEY)"))
    yield engine
    engine.dispose()


def counting_commits(engine: Engine) -> list[int]:
    commits: list[int] = []
    event.listen(engine, "commit", lambda _conn: commits.append(1))
    return commits


def stored(engine: Engine) -> list[int]:
    with engine.connect() as conn:
        return list(conn.execute(text("SELECT n FROM notes ORDER BY n")).scalars())


def note(n: int, fail: bool = False):
    def job(conn: Connection) -> int:
        conn.execute(text("INSERT INTO notes (n) VALUES (:n)"), {"n": n})
        if fail:
            raise ValueError(f"job {n} failed after writing")
        return n * 10

    return job


async def test_jobs_that_queue_share_one_commit(writer):
    group = GroupCommit(writer.begin)
    commits = counting_commits(writer)
    results = await asyncio.gather(*(group.run(note(n)) for n in range(20)))
    assert results == [n * 10 for n in range(20)]
    assert stored(writer) == list(range(20))
    # All twenty queue before the writer task first runs: one transaction holds them all.
    assert len(commits) == 1


async def test_a_failing_job_fails_alone(writer):
    group = GroupCommit(writer.begin)
    outcomes = await asyncio.gather(
        *(group.run(note(n, fail=n == 5)) for n in range(10)), return_exceptions=True
    )
    assert isinstance(outcomes[5], ValueError)
    assert [o for i, o in enumerate(outcomes) if i != 5] == [n * 10 for n in range(10) if n != 5]
    assert stored(writer) == [n for n in range(10) if n != 5]


async def test_a_caller_that_gives_up_before_its_turn_writes_nothing(writer):
    group = GroupCommit(writer.begin)
    release = threading.Event()

    def slow(conn: Connection) -> int:
        release.wait()  # on the writer's thread, while the event loop goes on
        return note(1)(conn)

    first = asyncio.create_task(group.run(slow))
    await asyncio.sleep(0)
    second = asyncio.create_task(group.run(note(2)))
    third = asyncio.create_task(group.run(note(3)))
    await asyncio.sleep(0)
    second.cancel()
    release.set()
    assert await first == 10
    assert await third == 30
    with pytest.raises(asyncio.CancelledError):
        await second
    assert stored(writer) == [1, 3]


async def test_close_waits_for_queued_jobs(writer):
    group = GroupCommit(writer.begin)
    tasks = [asyncio.create_task(group.run(note(n))) for n in range(5)]
    await asyncio.sleep(0)
    await group.close()
    assert all(task.done() for task in tasks)
    assert stored(writer) == list(range(5))


async def test_a_group_that_loses_a_lock_race_fails_every_caller_at_once(writer, path):
    """Another connection holds the write lock past the busy timeout: no job is at fault, so
    each caller gets the error (to run again as a whole) instead of each job retrying alone."""
    with writer.connect() as conn:
        conn.exec_driver_sql("PRAGMA busy_timeout = 50")
    transactions: list[int] = []

    def begin():
        transactions.append(1)
        return writer.begin()

    group = GroupCommit(begin, SQLITE.lost_lock_race)
    rival = sqlite3.connect(path, isolation_level=None)
    try:
        rival.execute("BEGIN IMMEDIATE")
        outcomes = await asyncio.gather(
            *(group.run(note(n)) for n in range(5)), return_exceptions=True
        )
    finally:
        rival.close()
    assert all(isinstance(o, OperationalError) and SQLITE.lost_lock_race(o) for o in outcomes), (
        outcomes
    )
    assert len(transactions) == 1
    assert stored(writer) == []
