"""confirm(), flag() and history(): evidence on approved units, and the audit trail."""

from datetime import timedelta, timezone

from colloquy.domain import scoring
from colloquy.domain.models import FlagReason, ReviewStatus
from colloquy.store.protocol import FlagInput, UnitEvent
from tests.store.factories import add_unit, at, is_utc, unit_id

STALE = FlagInput(FlagReason.STALE)


async def test_confirm_and_flag_ignore_units_that_are_not_approved(store):
    pending = await add_unit(store)
    rejected = await add_unit(store, ReviewStatus.REJECTED)
    for uid in (pending.id, rejected.id, unit_id(424242)):
        assert await store.confirm(uid, "carol", at(10)) is None
        assert await store.flag(uid, STALE, "dave", at(11)) is None

    for unit in (pending, rejected):
        item = await store.get_unit(unit.id)
        assert item is not None
        assert item.unit.evidence == unit.evidence
        assert item.unit.flags == []
        kinds = [e.kind for e in await store.history(unit.id, 10)]
        assert "confirmed" not in kinds
        assert "flagged" not in kinds
    assert await store.history(unit_id(424242), 10) == []


async def test_confirm_raises_confidence_and_counts(store):
    unit = await add_unit(store, ReviewStatus.APPROVED)
    when = at(10).astimezone(timezone(timedelta(hours=-5)))

    confirmed = await store.confirm(unit.id, "carol", when)
    assert confirmed is not None
    assert confirmed.evidence.confidence == 0.6
    assert confirmed.evidence.confirmations == 2
    assert confirmed.evidence.last_confirmed == when
    assert is_utc(confirmed.evidence.last_confirmed)
    assert confirmed.evidence.first_observed == unit.evidence.first_observed
    assert confirmed.flags == []

    item = await store.get_unit(unit.id)
    assert item is not None
    assert item.unit == confirmed


async def test_confirm_clamps_at_the_ceiling(store):
    unit = await add_unit(store, ReviewStatus.APPROVED)
    points = []
    for i in range(7):
        confirmed = await store.confirm(unit.id, "carol", at(10 + i))
        assert confirmed is not None
        points.append(scoring.to_points(confirmed.evidence.confidence))
    assert points == [6000, 7000, 8000, 9000, 10000, 10000, 10000]
    assert confirmed.evidence.confidence == 1.0
    assert confirmed.evidence.confirmations == 8
    assert confirmed.evidence.last_confirmed == at(16)


async def test_flag_lowers_confidence_and_appends_flags(store):
    unit = await add_unit(store, ReviewStatus.APPROVED)
    inputs = [
        FlagInput(FlagReason.STALE),
        FlagInput(FlagReason.INCORRECT, detail="the flag is --force, not -f"),
        FlagInput(FlagReason.DUPLICATE, detail="same as the other", duplicate_of=unit_id(7)),
        FlagInput(FlagReason.STALE, detail="still stale"),
    ]
    points = []
    for i, flag in enumerate(inputs):
        flagged = await store.flag(unit.id, flag, f"dave-{i}", at(20 + i))
        assert flagged is not None
        points.append(scoring.to_points(flagged.evidence.confidence))
    assert points == [3500, 2000, 500, 0]  # clamped at the floor

    item = await store.get_unit(unit.id)
    assert item is not None
    flags = item.unit.flags
    assert [(f.reason, f.detail, f.duplicate_of) for f in flags] == [
        (FlagReason.STALE, None, None),
        (FlagReason.INCORRECT, "the flag is --force, not -f", None),
        (FlagReason.DUPLICATE, "same as the other", unit_id(7)),
        (FlagReason.STALE, "still stale", None),
    ]
    assert [f.timestamp for f in flags] == [at(20 + i) for i in range(4)]
    assert all(is_utc(f.timestamp) for f in flags)
    # Flags touch neither confirmations nor last_confirmed.
    assert item.unit.evidence.confirmations == 1
    assert item.unit.evidence.last_confirmed == unit.evidence.last_confirmed
    assert item.unit.evidence.confidence == 0.0

    # From the floor, a confirmation adds its boost; flags stay.
    confirmed = await store.confirm(unit.id, "carol", at(30))
    assert confirmed is not None
    assert confirmed.evidence.confidence == 0.1
    assert len(confirmed.flags) == 4


async def test_history_records_every_event_with_its_actor_in_order(store):
    unit = await add_unit(store, created_by="alice", created_at=at(0))
    await store.decide(unit.id, ReviewStatus.APPROVED, "rita", at(1), note="looks right")
    await store.confirm(unit.id, "carol", at(2))
    await store.flag(unit.id, FlagInput(FlagReason.INCORRECT, detail="x"), "dave", at(3))
    await store.confirm(unit.id, "erin", at(4))

    history = await store.history(unit.id, 100)
    assert [(e.kind, e.actor, e.at) for e in history] == [
        ("proposed", "alice", at(0)),
        ("approved", "rita", at(1)),
        ("confirmed", "carol", at(2)),
        ("flagged", "dave", at(3)),
        ("confirmed", "erin", at(4)),
    ]
    assert history[1].note == "looks right"
    assert history[3].note == "incorrect"
    assert all(isinstance(e, UnitEvent) and is_utc(e.at) for e in history)

    assert await store.history(unit.id, 2) == history[:2]


async def test_history_is_per_unit(store):
    one = await add_unit(store, ReviewStatus.APPROVED, confirms=2)
    two = await add_unit(store, ReviewStatus.APPROVED)
    assert len(await store.history(one.id, 10)) == 4
    assert [e.kind for e in await store.history(two.id, 10)] == ["proposed", "approved"]

    three = await add_unit(store, created_by="alice")
    await store.decide(three.id, ReviewStatus.REJECTED, "rex", at(1), note="spam")
    assert [(e.kind, e.actor, e.note) for e in await store.history(three.id, 10)] == [
        ("proposed", "alice", None),
        ("rejected", "rex", "spam"),
    ]
