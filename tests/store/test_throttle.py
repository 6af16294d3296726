"""Throttles in the store: failures with growing waits, settling a success, per-key write
allowances, concurrent attempts all counted, and expired rows deleted."""

import asyncio
from datetime import datetime, timedelta

from sqlalchemy import func, select

from colloquy.store import tables
from colloquy.store.protocol import Backoff, RateLimit, Store, ThrottleKey
from tests.store.factories import T0

USER = ThrottleKey("user", "u1")
ADDRESS = ThrottleKey("address", "a1")
BACKOFF = Backoff(
    free=3,
    first_wait=timedelta(seconds=1),
    max_wait=timedelta(seconds=10),
    forget_after=timedelta(hours=1),
)
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


async def test_rate_limit_allows_a_burst_then_one_per_interval(store):
    limit = RateLimit(limit=6, window=timedelta(minutes=1))  # one per 10 s
    key = ThrottleKey("propose", "k1")
    for _ in range(6):
        assert await store.take_rate(key, limit, sec(0)) is None
    assert await store.take_rate(key, limit, sec(0)) == timedelta(seconds=10)
    assert await store.take_rate(key, limit, sec(4)) == timedelta(seconds=6)
    assert await store.take_rate(key, limit, sec(10)) is None
    assert await store.take_rate(key, limit, sec(10)) == timedelta(seconds=10)
    # A quiet minute gives the whole burst back; other keys and scopes have their own.
    for _ in range(6):
        assert await store.take_rate(key, limit, sec(80)) is None
    assert await store.take_rate(ThrottleKey("confirm", "k1"), limit, sec(80)) is None
    assert await store.take_rate(ThrottleKey("propose", "k2"), limit, sec(80)) is None


async def test_concurrent_rate_takes_allow_exactly_the_limit(store):
    limit = RateLimit(limit=10, window=timedelta(minutes=1))
    key = ThrottleKey("flag", "k1")
    results = await asyncio.gather(*(store.take_rate(key, limit, sec(0)) for _ in range(30)))
    assert results.count(None) == 10


async def test_expired_rows_are_deleted(store):
    limit = RateLimit(limit=60, window=timedelta(minutes=1))
    for i in range(5):
        assert await store.take_rate(ThrottleKey("propose", f"k{i}"), limit, sec(0)) is None
    assert await store.count_attempt([(USER, BACKOFF)], sec(0)) is None
    assert await rows(store) == 6
    # Two hours on, every row has expired; the next attempt deletes them (and adds its own).
    assert await store.count_attempt([(ADDRESS, BACKOFF)], sec(7200)) is None
    assert await rows(store) == 1
