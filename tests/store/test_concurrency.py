"""Concurrent writes against one store: nothing is lost, decisions and caps hold.

Every state change is one atomic database operation, so a burst of ``asyncio.gather`` calls on
the same store must give the same result as running them one after another.
"""

import asyncio
from collections import Counter
from datetime import timedelta
from itertools import zip_longest

from sqlalchemy import func, select

from colloquy.domain import scoring
from colloquy.domain.models import FlagReason, ReviewStatus, Role
from colloquy.store import tables as t
from colloquy.store.protocol import (
    Allowance,
    AlreadyDecided,
    Decision,
    FlagInput,
    KeyLimitReached,
    RateLimit,
    ThrottleKey,
)
from tests.store.factories import add_unit, add_user, at, new_key


async def test_concurrent_confirms_all_count(store):
    unit = await add_unit(store, ReviewStatus.APPROVED)
    results = await asyncio.gather(
        *(store.confirm(unit.id, f"agent-{i}", at(10 + i)) for i in range(50))
    )
    assert all(r is not None for r in results)
    # Each call saw its own increment: the returned counts are 2..51, once each.
    assert sorted(r.evidence.confirmations for r in results) == list(range(2, 52))

    item = await store.get_unit(unit.id)
    assert item is not None
    assert item.unit.evidence.confirmations == 51
    assert item.unit.evidence.confidence == 1.0
    history = await store.history(unit.id, 1000)
    confirmed = [e for e in history if e.kind == "confirmed"]
    assert len(confirmed) == 50
    assert {e.actor for e in confirmed} == {f"agent-{i}" for i in range(50)}


async def test_concurrent_flags_all_count(store):
    unit = await add_unit(store, ReviewStatus.APPROVED)
    results = await asyncio.gather(
        *(
            store.flag(unit.id, FlagInput(FlagReason.STALE, detail=str(i)), f"a{i}", at(i))
            for i in range(20)
        )
    )
    assert all(r is not None for r in results)

    item = await store.get_unit(unit.id)
    assert item is not None
    assert len(item.unit.flags) == 20
    assert sorted(int(f.detail) for f in item.unit.flags) == list(range(20))
    assert item.unit.evidence.confidence == 0.0
    assert len([e for e in await store.history(unit.id, 1000) if e.kind == "flagged"]) == 20


async def test_concurrent_decisions_have_one_winner(store):
    unit = await add_unit(store)
    statuses = [ReviewStatus.APPROVED, ReviewStatus.REJECTED] * 5
    results = await asyncio.gather(
        *(
            store.decide(unit.id, status, f"reviewer-{i}", at(10 + i))
            for i, status in enumerate(statuses)
        ),
        return_exceptions=True,
    )
    decisions = [r for r in results if isinstance(r, Decision)]
    refusals = [r for r in results if isinstance(r, AlreadyDecided)]
    assert len(decisions) == 1
    assert len(refusals) == 9
    [winner] = decisions
    assert all(r.status is winner.status for r in refusals)

    item = await store.get_unit(unit.id)
    assert item is not None
    assert item.status is winner.status
    assert item.reviewed_by == winner.reviewed_by
    assert item.reviewed_at == winner.reviewed_at
    decided = [e for e in await store.history(unit.id, 100) if e.kind != "proposed"]
    assert [(e.kind, e.actor) for e in decided] == [(winner.status.value, winner.reviewed_by)]
    counts = (await store.stats([0])).status_counts
    assert counts[winner.status] == 1
    assert counts[ReviewStatus.PENDING] == 0


async def test_concurrent_key_creation_respects_the_cap(store):
    alice = await add_user(store, "alice")

    async def create(i: int) -> bool:
        try:
            await store.create_api_key(new_key(alice.id, created_at=at(i)), 20)
        except KeyLimitReached:
            return False
        return True

    results = await asyncio.gather(*(create(i) for i in range(30)))
    assert results.count(True) == 20
    assert results.count(False) == 10
    assert len(await store.list_api_keys(alice.id)) == 20


async def test_concurrent_first_users_make_one_admin(store):
    users = await asyncio.gather(
        *(store.create_user(f"user{i}", "h", None, at(i)) for i in range(8))
    )
    roles = [u.role for u in users]
    assert roles.count(Role.ADMIN) == 1
    assert roles.count(Role.REVIEWER) == 7


async def test_concurrent_evidence_keeps_ranking_rows_and_counters(store):
    """Confirms and flags racing on one unit, each spending an allowance: every answer is the
    unit as its own change left it, and the ranking rows and confidence counters end where
    the last change put the unit (on PostgreSQL each is one statement of several steps)."""
    await add_unit(store, ReviewStatus.APPROVED)  # another unit, at 5000 points throughout
    unit = await add_unit(store, ReviewStatus.APPROVED, domains=["web", "api", "db"])
    limit = RateLimit(1000, timedelta(minutes=1))
    confirms = [
        store.confirm(unit.id, f"c{i}", at(10), Allowance(ThrottleKey("confirm", "k"), limit))
        for i in range(12)
    ]
    flags = [
        store.flag(
            unit.id,
            FlagInput(FlagReason.INCORRECT, detail=str(i)),
            f"f{i}",
            at(10),
            Allowance(ThrottleKey("flag", "k"), limit),
        )
        for i in range(8)
    ]
    answers = await asyncio.gather(*(c for pair in zip_longest(confirms, flags) for c in pair if c))
    assert all(a is not None for a in answers)
    assert sorted(a.evidence.confirmations for a in answers if a is not None)[-1] == 13
    # A flag's answer holds its own flag and every one before it.
    assert sorted(len(a.flags) for a in answers[1::2][:8] if a is not None) == list(range(1, 9))

    item = await store.get_unit(unit.id)
    assert item is not None
    assert item.unit.evidence.confirmations == 13
    assert sorted(int(f.detail or "") for f in item.unit.flags) == list(range(8))
    points = scoring.to_points(item.unit.evidence.confidence)
    d = t.unit_domains.c
    rows = await store.database.read(
        lambda conn: conn.execute(select(d.confidence, d.rank).where(d.unit_id == unit.id)).all()
    )
    assert len(rows) == 3
    assert {(r.confidence, r.rank) for r in rows} == {(points, points / 3)}
    c = t.unit_counts.c
    counted = await store.database.read(
        lambda conn: conn.execute(
            select(c.key, func.sum(c.n)).where(c.key.like("confidence:%")).group_by(c.key)
        ).all()
    )
    expected = Counter(["confidence:5000", f"confidence:{points}"])
    assert {key: n for key, n in counted if n} == dict(expected)
    kinds = [e.kind for e in await store.history(unit.id, 100)]
    assert kinds.count("confirmed") == 12
    assert kinds.count("flagged") == 8
