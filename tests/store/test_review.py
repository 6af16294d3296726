"""decide(), pending_page(), and the activity and daily counts of review_overview()."""

from datetime import UTC, date, datetime, timedelta, timezone

import pytest

from colloquy.domain.models import ReviewStatus
from colloquy.store.protocol import (
    AlreadyDecided,
    DailyCount,
    DecidedActivity,
    Decision,
    ProposedActivity,
)
from colloquy.store.sql import review as review_store
from tests.store.factories import add_unit, at, is_utc, unit_id

# ------------------------------------------------------------------ decide


async def activity(store, limit):
    return (await store.review_overview([0], limit, date.min)).activity


async def daily_counts(store, since):
    return (await store.review_overview([0], 0, since)).daily


async def test_decide_unknown_unit_is_none(store):
    assert await store.decide(unit_id(999), ReviewStatus.APPROVED, "rita", at(1)) is None


async def test_approve_a_pending_unit(store):
    unit = await add_unit(store)
    when = at(5).astimezone(timezone(timedelta(hours=9)))

    decision = await store.decide(unit.id, ReviewStatus.APPROVED, "rita", when, note="ok")
    assert decision == Decision(
        unit_id=unit.id, status=ReviewStatus.APPROVED, reviewed_by="rita", reviewed_at=when
    )

    item = await store.get_unit(unit.id)
    assert item is not None
    assert item.status is ReviewStatus.APPROVED
    assert item.reviewed_by == "rita"
    assert item.reviewed_at == when
    assert is_utc(item.reviewed_at)
    assert item.review_note == "ok"
    # The unit itself is untouched by review.
    assert item.unit == unit
    assert await store.get_approved(unit.id) == unit


async def test_reject_with_and_approve_without_a_note(store):
    unit = await add_unit(store)
    decision = await store.decide(unit.id, ReviewStatus.REJECTED, "rex", at(5), note="spam")
    assert isinstance(decision, Decision)
    assert decision.status is ReviewStatus.REJECTED

    item = await store.get_unit(unit.id)
    assert item is not None
    assert item.status is ReviewStatus.REJECTED
    assert item.reviewed_by == "rex"
    assert item.review_note == "spam"
    assert await store.get_approved(unit.id) is None

    # Without a note, none is stored.
    other = await add_unit(store)
    await store.decide(other.id, ReviewStatus.APPROVED, "rita", at(5))
    item = await store.get_unit(other.id)
    assert item is not None
    assert item.review_note is None


async def test_decisions_are_final(store):
    approved = await add_unit(store, ReviewStatus.APPROVED, reviewer="rita")
    rejected = await add_unit(store, ReviewStatus.REJECTED, reviewer="rex")
    before = {u.id: await store.get_unit(u.id) for u in (approved, rejected)}

    for status in (ReviewStatus.APPROVED, ReviewStatus.REJECTED):
        with pytest.raises(AlreadyDecided) as again:
            await store.decide(approved.id, status, "mallory", at(50), note="override")
        assert again.value.status is ReviewStatus.APPROVED
        with pytest.raises(AlreadyDecided) as again:
            await store.decide(rejected.id, status, "mallory", at(50), note="override")
        assert again.value.status is ReviewStatus.REJECTED

    for uid, item in before.items():
        assert await store.get_unit(uid) == item
        assert [e.actor for e in await store.history(uid, 10)] == ["alice", item.reviewed_by]


# ------------------------------------------------------------------ pending_page


async def test_pending_page_oldest_first_with_offset_and_total(store):
    # Inserted out of time order; one pair shares an instant (ordered by id).
    minutes = [4, 0, 2, 2, 1]
    pending = [await add_unit(store, created_at=at(m)) for m in minutes]
    await add_unit(store, ReviewStatus.APPROVED, created_at=at(-10))
    await add_unit(store, ReviewStatus.REJECTED, created_at=at(-5))
    expected = [u.id for u in sorted(pending, key=lambda u: (u.evidence.first_observed, u.id))]

    pages = []
    for offset in (0, 2, 4):
        items, total = await store.pending_page(2, offset)
        assert total == 5
        assert all(i.status is ReviewStatus.PENDING for i in items)
        pages.append([i.unit.id for i in items])
    assert pages == [expected[0:2], expected[2:4], expected[4:]]

    assert await store.pending_page(0, 0) == ([], 5)
    assert await store.pending_page(10, 5) == ([], 5)
    items, total = await store.pending_page(100, 0)
    assert [i.unit.id for i in items] == expected
    assert total == 5


async def test_pending_page_shrinks_as_units_are_decided(store):
    assert await store.pending_page(20, 0) == ([], 0)
    assert await store.pending_page(0, 0) == ([], 0)
    units = [await add_unit(store, created_at=at(i)) for i in range(3)]
    await store.decide(units[1].id, ReviewStatus.APPROVED, "rita", at(10))
    items, total = await store.pending_page(10, 0)
    assert [i.unit.id for i in items] == [units[0].id, units[2].id]
    assert total == 2


# ------------------------------------------------------------------ activity


async def test_activity_shows_each_unit_once_in_its_current_state(store):
    a = await add_unit(store, created_at=at(1), summary="A")
    b = await add_unit(store, created_at=at(2), summary="B")
    c = await add_unit(store, created_at=at(3), summary="C")
    d = await add_unit(store, created_at=at(4), summary="D", created_by="dora")
    await store.decide(b.id, ReviewStatus.APPROVED, "rita", at(5))
    await store.decide(c.id, ReviewStatus.REJECTED, "rex", at(6), note="no")
    await store.confirm(b.id, "carol", at(7))  # evidence never shows in the feed

    feed = await activity(store, 10)
    assert feed == [
        DecidedActivity(
            unit_id=c.id, summary="C", timestamp=at(6), reviewed_by="rex", type="rejected"
        ),
        DecidedActivity(
            unit_id=b.id, summary="B", timestamp=at(5), reviewed_by="rita", type="approved"
        ),
        ProposedActivity(unit_id=d.id, summary="D", timestamp=at(4), proposed_by="dora"),
        ProposedActivity(unit_id=a.id, summary="A", timestamp=at(1), proposed_by="alice"),
    ]
    assert all(is_utc(item.timestamp) for item in feed)

    assert await activity(store, 2) == feed[:2]
    assert await activity(store, 1) == feed[:1]


async def test_activity_limit_with_many_units(store):
    assert await activity(store, 20) == []
    units = [await add_unit(store, created_at=at(i)) for i in range(8)]
    for i, unit in enumerate(units[:4]):
        await store.decide(unit.id, ReviewStatus.APPROVED, "rita", at(20 + i))
    feed = await activity(store, 5)
    assert [(f.type, f.unit_id) for f in feed] == [
        ("approved", units[3].id),
        ("approved", units[2].id),
        ("approved", units[1].id),
        ("approved", units[0].id),
        ("proposed", units[7].id),
    ]
    assert len({f.unit_id for f in await activity(store, 100)}) == 8


# ------------------------------------------------------------------ daily_counts


def day_at(d: int, hour: int) -> datetime:
    return datetime(2026, 3, d, hour, 30, tzinfo=UTC)


async def test_daily_counts_per_day(store):
    one = await add_unit(store, created_at=day_at(1, 9))
    two = await add_unit(store, created_at=day_at(1, 23))
    three = await add_unit(store, created_at=day_at(2, 0))
    await add_unit(store, created_at=day_at(3, 12))
    await store.decide(one.id, ReviewStatus.APPROVED, "rita", day_at(2, 10))
    await store.decide(two.id, ReviewStatus.APPROVED, "rita", day_at(2, 11))
    await store.decide(three.id, ReviewStatus.REJECTED, "rex", day_at(4, 8))

    assert await daily_counts(store, date(2026, 3, 1)) == [
        DailyCount(day=date(2026, 3, 1), proposed=2, approved=0, rejected=0),
        DailyCount(day=date(2026, 3, 2), proposed=1, approved=2, rejected=0),
        DailyCount(day=date(2026, 3, 3), proposed=1, approved=0, rejected=0),
        DailyCount(day=date(2026, 3, 4), proposed=0, approved=0, rejected=1),
    ]
    assert [c.day for c in await daily_counts(store, date(2026, 3, 3))] == [
        date(2026, 3, 3),
        date(2026, 3, 4),
    ]
    assert await daily_counts(store, date(2026, 3, 5)) == []

    # A refused second decision counts nothing.
    with pytest.raises(AlreadyDecided):
        await store.decide(one.id, ReviewStatus.REJECTED, "rex", day_at(2, 12))
    assert (await daily_counts(store, date(2026, 3, 2)))[0] == DailyCount(
        day=date(2026, 3, 2), proposed=1, approved=2, rejected=0
    )


async def test_daily_counts_use_the_utc_day(store):
    # 23:30 on 1 March in New York is 04:30 on 2 March UTC.
    new_york = timezone(timedelta(hours=-5))
    unit = await add_unit(store, created_at=datetime(2026, 3, 1, 23, 30, tzinfo=new_york))
    await store.decide(
        unit.id, ReviewStatus.APPROVED, "rita", datetime(2026, 3, 3, 1, 0, tzinfo=UTC)
    )
    assert await daily_counts(store, date(2026, 2, 28)) == [
        DailyCount(day=date(2026, 3, 2), proposed=1, approved=0, rejected=0),
        DailyCount(day=date(2026, 3, 3), proposed=0, approved=1, rejected=0),
    ]


async def test_activity_walks_each_decision_kinds_own_index(store, backend):
    """Newer events of other kinds (confirmations here) must not be walked past to find the
    newest decisions: each kind is read from its own partial index."""
    units = [await add_unit(store, domains=["web"]) for _ in range(40)]
    for n, unit in enumerate(units):
        status = ReviewStatus.REJECTED if n % 8 == 0 else ReviewStatus.APPROVED
        await store.decide(unit.id, status, "rita", at(n))
    approved = [u for n, u in enumerate(units) if n % 8]
    for n in range(200):
        await store.confirm(approved[n % len(approved)].id, "bob", at(100 + n))
    statement = review_store._overview_statement(20)

    def explained(conn) -> str:
        if backend == "postgres":
            conn.exec_driver_sql("ANALYZE events")
            # A table this small is cheapest to scan whole; at scale that is never a choice.
            conn.exec_driver_sql("SET enable_seqscan = off")
            explain = "EXPLAIN "
        else:
            explain = "EXPLAIN QUERY PLAN "
        compiled = statement.compile(dialect=conn.dialect)
        values = compiled.construct_params({"since": date.min})
        params = (
            tuple(values[name] for name in compiled.positiontup) if compiled.positiontup else values
        )
        plan = " ".join(str(row[-1]) for row in conn.exec_driver_sql(
            explain + str(compiled), params
        ))  # fmt: skip
        if backend == "postgres":
            conn.exec_driver_sql("RESET enable_seqscan")
        return plan

    plan = await store.database.read(explained)
    assert "ix_events_approved_id" in plan, plan
    assert "ix_events_rejected_id" in plan, plan
    overview = await store.review_overview([0], 20, date.min)
    assert len(overview.activity) == 20
