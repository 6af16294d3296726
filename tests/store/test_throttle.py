"""Throttles in the store: failures with growing waits, settling a success, per-key write
allowances spent by the writes themselves (a refusal writes nothing), concurrent attempts all
counted, and expired rows deleted."""

import asyncio
from datetime import datetime, timedelta

import pytest
from sqlalchemy import func, select

from colloquy.domain.models import FlagReason, ReviewStatus
from colloquy.store import tables
from colloquy.store.protocol import (
    Allowance,
    AllowanceSpent,
    Backoff,
    FlagInput,
    RateLimit,
    Store,
    ThrottleKey,
)
from tests.store.factories import T0, add_unit, at, new_unit, unit_id

USER = ThrottleKey("user", "u1")
ADDRESS = ThrottleKey("address", "a1")
BACKOFF = Backoff(
    free=3,
    first_wait=timedelta(seconds=1),
    max_wait=timedelta(seconds=10),
    forget_after=timedelta(hours=1),
)
STALE = FlagInput(FlagReason.STALE)
WIDE = Backoff(
    free=100,
    first_wait=timedelta(seconds=1),
    max_wait=timedelta(minutes=5),
    forget_after=timedelta(hours=1),
)


def sec(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


async def rows(store: Store) -> int:
    count = select(func.count()).select_from(tables.throttles)
    return await store.database.read(  # type: ignore[attr-defined]
        lambda conn: conn.execute(count).scalar_one()
    )


def test_backoff_waits_double_up_to_the_cap():
    waits = [BACKOFF.wait(n).total_seconds() for n in range(10)]
    assert waits == [0, 0, 0, 1, 2, 4, 8, 10, 10, 10]
    assert BACKOFF.wait(10**6) == BACKOFF.max_wait


async def test_an_attempt_timed_before_the_last_counted_one_is_admitted(store):
    """Simultaneous sign-ins reach the row in any order: one that took its time a moment
    before the first counted attempt, with no wait set, is counted, not refused."""
    keys = [(USER, BACKOFF)]
    assert await store.count_attempt(keys, sec(0.002)) is None
    assert await store.count_attempt(keys, sec(0.001)) is None
    assert await store.count_attempt(keys, sec(0)) is None
    # Those were the three free failures; the third, at 0 s, set the first wait.
    assert await store.count_attempt(keys, sec(0.003)) == sec(1) - sec(0.003)


async def test_waits_grow_after_the_free_failures(store):
    keys = [(USER, BACKOFF)]
    # Three free failures, one after another at the same instant.
    for _ in range(3):
        assert await store.count_attempt(keys, sec(0)) is None
    # The fourth must wait one second, and asking again does not count or extend it.
    assert await store.count_attempt(keys, sec(0)) == timedelta(seconds=1)
    assert await store.count_attempt(keys, sec(0.5)) == timedelta(seconds=0.5)
    # Once the wait is over it counts (failure 4), and the next wait is twice as long.
    assert await store.count_attempt(keys, sec(1)) is None
    assert await store.count_attempt(keys, sec(1)) == timedelta(seconds=2)
    assert await store.count_attempt(keys, sec(3)) is None
    assert await store.count_attempt(keys, sec(3)) == timedelta(seconds=4)
    # Up to the cap.
    t = 7.0
    for _ in range(4):
        assert await store.count_attempt(keys, sec(t)) is None
        wait = await store.count_attempt(keys, sec(t))
        assert wait is not None
        t += wait.total_seconds()
    assert wait == BACKOFF.max_wait
    # After an hour without failures they are forgotten: three free ones again.
    later = t + 3600 + 1
    for _ in range(3):
        assert await store.count_attempt(keys, sec(later)) is None
    assert await store.count_attempt(keys, sec(later)) == timedelta(seconds=1)


async def test_a_waiting_key_stops_the_later_ones(store):
    strict = Backoff(1, timedelta(seconds=30), timedelta(seconds=30), timedelta(hours=1))
    assert await store.count_attempt([(ADDRESS, strict)], sec(0)) is None
    other = ThrottleKey("user", "u2")
    # The address must wait, so the user's failure is not counted.
    for _ in range(5):
        assert await store.count_attempt([(ADDRESS, strict), (other, BACKOFF)], sec(1)) == (
            timedelta(seconds=29)
        )
    for _ in range(3):
        assert await store.count_attempt([(other, BACKOFF)], sec(1)) is None
    assert await store.count_attempt([(other, BACKOFF)], sec(1)) is not None


async def test_settling_clears_one_key_and_refunds_the_other(store):
    keys = [(ADDRESS, BACKOFF), (USER, BACKOFF)]
    for _ in range(2):
        assert await store.count_attempt(keys, sec(0)) is None
    await store.settle_attempt(cleared=[USER], refunded=[ADDRESS])
    # The user's failures are gone; the address has one left: two more free attempts, not 3.
    assert await store.count_attempt([(USER, BACKOFF)], sec(0)) is None
    assert await store.count_attempt([(ADDRESS, BACKOFF)], sec(0)) is None
    assert await store.count_attempt([(ADDRESS, BACKOFF)], sec(0)) is None
    assert await store.count_attempt([(ADDRESS, BACKOFF)], sec(0)) is not None
    # Settling a key that has no row is harmless.
    await store.settle_attempt(cleared=[ThrottleKey("user", "none")], refunded=[USER])


async def test_concurrent_attempts_all_count(store):
    results = await asyncio.gather(
        *(store.count_attempt([(ADDRESS, WIDE), (USER, BACKOFF)], sec(0)) for _ in range(20))
    )
    # Every attempt counted against the address; exactly three got through for the user.
    assert results.count(None) == 3
    assert set(results) - {None} == {timedelta(seconds=1)}
    assert await store.count_attempt([(ADDRESS, WIDE)], sec(0)) is None
    stored = select(tables.throttles.c.count).where(tables.throttles.c.subject == "a1")
    count = await store.database.read(  # type: ignore[attr-defined]
        lambda conn: conn.execute(stored).scalar_one()
    )
    assert count == 21


async def take(store: Store, key: ThrottleKey, limit: RateLimit, at: datetime) -> timedelta | None:
    """Propose a unit spending one request of ``key``'s allowance: ``None``, or the wait."""
    try:
        await store.insert_unit(new_unit(created_at=at), Allowance(key, limit))
    except AllowanceSpent as spent:
        return spent.wait
    return None


async def units(store: Store) -> int:
    return (await store.stats([])).total_count


async def test_rate_limit_allows_a_burst_then_one_per_interval(store):
    limit = RateLimit(limit=6, window=timedelta(minutes=1))  # one per 10 s
    key = ThrottleKey("propose", "k1")
    for _ in range(6):
        assert await take(store, key, limit, sec(0)) is None
    assert await take(store, key, limit, sec(0)) == timedelta(seconds=10)
    assert await take(store, key, limit, sec(4)) == timedelta(seconds=6)
    assert await take(store, key, limit, sec(10)) is None
    assert await take(store, key, limit, sec(10)) == timedelta(seconds=10)
    # A quiet minute gives the whole burst back; other keys and scopes have their own.
    for _ in range(6):
        assert await take(store, key, limit, sec(80)) is None
    assert await take(store, ThrottleKey("confirm", "k1"), limit, sec(80)) is None
    assert await take(store, ThrottleKey("propose", "k2"), limit, sec(80)) is None
    # Each refused proposal wrote nothing.
    assert await units(store) == 6 + 1 + 6 + 2


async def test_requests_reaching_the_allowance_out_of_order_get_the_whole_burst(store):
    """Writes are timed before they queue for the row: four timed a moment apart may reach it
    latest first. All four of a limit of four are allowed, and the fifth waits for the
    interval the first of them (by the row's count) opened."""
    limit = RateLimit(limit=4, window=timedelta(minutes=1))  # one per 15 s
    key = ThrottleKey("propose", "k1")
    for seconds in (0.003, 0.002, 0.001, 0):
        assert await take(store, key, limit, sec(seconds)) is None
    assert await take(store, key, limit, sec(0.004)) == sec(15.003) - sec(0.004)
    assert await take(store, key, limit, sec(15.003)) is None
    assert await units(store) == 5


async def test_concurrent_takes_allow_exactly_the_limit(store):
    limit = RateLimit(limit=10, window=timedelta(minutes=1))
    key = ThrottleKey("flag", "k1")
    results = await asyncio.gather(*(take(store, key, limit, sec(0)) for _ in range(30)))
    assert results.count(None) == 10
    assert await units(store) == 10


async def test_a_spent_allowance_changes_no_unit_and_unknown_ids_spend_it(store):
    unit = await add_unit(store, ReviewStatus.APPROVED)
    spend = Allowance(ThrottleKey("confirm", "k1"), RateLimit(2, timedelta(minutes=1)))
    # An unknown id spends the allowance like a known one (it stops id scanning).
    assert await store.confirm(unit_id(), "carol", at(1), spend) is None
    confirmed = await store.confirm(unit.id, "carol", at(1), spend)
    assert confirmed is not None
    with pytest.raises(AllowanceSpent) as refused:
        await store.confirm(unit.id, "carol", at(1), spend)
    assert refused.value.wait == timedelta(seconds=30)
    flags = Allowance(ThrottleKey("flag", "k1"), RateLimit(1, timedelta(minutes=1)))
    assert await store.flag(unit.id, STALE, "dave", at(1), flags) is not None
    with pytest.raises(AllowanceSpent):
        await store.flag(unit.id, STALE, "dave", at(1), flags)
    after = await store.get_unit(unit.id)
    assert after is not None
    assert after.unit.evidence.confirmations == confirmed.evidence.confirmations == 2
    assert [e.kind for e in await store.history(unit.id, 100)] == [
        "proposed",
        "approved",
        "confirmed",
        "flagged",
    ]


async def test_a_refused_write_does_not_fail_the_writes_grouped_with_it(store):
    unit = await add_unit(store, ReviewStatus.APPROVED)

    def allowance(name: str) -> Allowance:
        return Allowance(ThrottleKey("confirm", name), RateLimit(1, timedelta(minutes=1)))

    assert await store.confirm(unit.id, "carol", at(1), allowance("spent")) is not None
    # Queued together (SQLite groups them in one transaction): one refused, the rest go in.
    results = await asyncio.gather(
        store.confirm(unit.id, "carol", at(1), allowance("spent")),
        *(store.confirm(unit.id, f"agent-{i}", at(1), allowance(f"k{i}")) for i in range(4)),
        store.confirm(unit.id, "dave", at(1), allowance("fresh")),
        return_exceptions=True,
    )
    assert isinstance(results[0], AllowanceSpent)
    assert all(r is not None and not isinstance(r, BaseException) for r in results[1:])
    after = await store.get_unit(unit.id)
    assert after is not None
    assert after.unit.evidence.confirmations == 1 + 1 + 4 + 1


async def test_expired_rows_are_deleted(store):
    limit = RateLimit(limit=60, window=timedelta(minutes=1))
    for i in range(5):
        assert await take(store, ThrottleKey("propose", f"k{i}"), limit, sec(0)) is None
    assert await store.count_attempt([(USER, BACKOFF)], sec(0)) is None
    assert await rows(store) == 6
    # Two hours on, every row has expired; the next attempt deletes them (and adds its own).
    assert await store.count_attempt([(ADDRESS, BACKOFF)], sec(7200)) is None
    assert await rows(store) == 1
