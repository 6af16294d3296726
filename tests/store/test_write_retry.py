"""A write that loses a lock race is run again inside the store, whole, and succeeds: a real
deadlock on PostgreSQL, and a real "database is locked" on SQLite, caused by a rival
connection; the caller sees only its result, and every counter counts the write once."""

import asyncio
import logging
import sqlite3
from datetime import date

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from colloquy.domain.models import ReviewStatus
from colloquy.store import sqlite
from colloquy.store.factory import async_url
from colloquy.store.protocol import Decision
from colloquy.store.sqlite import database_path
from tests.store.factories import add_unit, at

RETRY_LOGGER = "colloquy.store.sql.retry"


async def assert_approved_once(store, unit_id: str) -> None:
    item = await store.get_unit(unit_id)
    assert item is not None and item.status is ReviewStatus.APPROVED
    overview = await store.review_overview([0], 10, date.min)
    assert overview.stats.status_counts[ReviewStatus.PENDING] == 0
    assert overview.stats.status_counts[ReviewStatus.APPROVED] == 1
    assert overview.stats.domain_counts == {"python": 1}
    assert [(d.proposed, d.approved) for d in overview.daily] == [(1, 1)]
    assert [a.type for a in overview.activity] == ["approved"]


@pytest.mark.parametrize("backend", ["postgres"])
async def test_a_deadlock_victim_is_run_again(store, database_url, caplog):
    """The rival locks the counters, then the unit that ``decide`` has locked and is waiting
    with: a lock cycle, which PostgreSQL breaks by aborting ``decide``'s transaction (it has
    waited longest). The rival gets the unit's lock only once that transaction is gone."""
    caplog.set_level(logging.INFO, logger=RETRY_LOGGER)
    unit = await add_unit(store, domains=["python"])
    engine = create_async_engine(async_url(database_url))
    try:
        async with engine.connect() as rival:
            await rival.execute(
                text("LOCK TABLE domain_counts, unit_counts, daily_counts IN EXCLUSIVE MODE")
            )
            decide = asyncio.create_task(
                store.decide(unit.id, ReviewStatus.APPROVED, "rita", at(5))
            )
            waiting = text(
                "SELECT count(*) FROM pg_locks WHERE NOT granted"
                " AND relation = 'unit_counts'::regclass"
            )
            async with asyncio.timeout(20):
                # Polls PostgreSQL, which has no event to wait on.
                while not (await rival.execute(waiting)).scalar_one():  # noqa: ASYNC110
                    await asyncio.sleep(0.02)
            # Blocks until PostgreSQL ends decide's transaction as the deadlock's victim.
            locked = text("SELECT id FROM units WHERE id = :id FOR UPDATE")
            assert (await rival.execute(locked, {"id": unit.id})).scalar_one() == unit.id
            assert not decide.done()  # its second run waits for the rival's lock on the unit
            await rival.commit()
        decision = await decide
    finally:
        await engine.dispose()
    assert isinstance(decision, Decision)
    assert decision.status is ReviewStatus.APPROVED
    retries = [r.getMessage() for r in caplog.records if r.name == RETRY_LOGGER]
    assert len(retries) == 1 and "40P01" in retries[0], retries
    await assert_approved_once(store, unit.id)


@pytest.mark.parametrize("backend", ["sqlite"])
async def test_a_write_blocked_past_the_busy_timeout_is_run_again(
    store, database_url, caplog, monkeypatch
):
    """Another connection (as another process would) holds the write lock for longer than the
    busy timeout: the first run fails with "database is locked", a later one succeeds."""
    # Before the store's writer connects: each run then gives up after 50 ms.
    monkeypatch.setattr(sqlite, "BUSY_TIMEOUT_MS", 50)
    caplog.set_level(logging.INFO, logger=RETRY_LOGGER)
    unit = await add_unit(store, domains=["python"])
    path = database_path(database_url)
    assert path is not None
    rival = sqlite3.connect(path, isolation_level=None)
    try:
        rival.execute("BEGIN IMMEDIATE")
        decide = asyncio.create_task(store.decide(unit.id, ReviewStatus.APPROVED, "rita", at(5)))
        await asyncio.sleep(0.12)
        assert not decide.done()
        rival.execute("COMMIT")
        decision = await decide
    finally:
        rival.close()
    assert isinstance(decision, Decision)
    retries = [r.getMessage() for r in caplog.records if r.name == RETRY_LOGGER]
    assert retries and all("SQLITE_BUSY" in message for message in retries), retries
    await assert_approved_once(store, unit.id)
