"""Small builders for the Store conformance suite: units, evidence, users and API keys.

Everything here speaks only the Store protocol, so the suite proves any backend.
"""

import itertools
from datetime import UTC, datetime, timedelta
from typing import Any

from colloquy.domain import scoring
from colloquy.domain.models import (
    Context,
    FlagReason,
    Insight,
    KnowledgeUnit,
    ReviewStatus,
    Role,
)
from colloquy.store.protocol import (
    ApiKeyRecord,
    Decision,
    FlagInput,
    NewApiKey,
    NewUnit,
    Store,
    UserRecord,
)

# A fixed, microsecond-bearing instant: every test builds its own timeline from it.
T0 = datetime(2026, 3, 1, 12, 0, 0, 123456, tzinfo=UTC)

# Serial numbers for ids; fixed ids (unit_id(n) with a small n) never collide with them.
_serial = itertools.count(100_000)


def at(minutes: float = 0) -> datetime:
    """``T0`` plus some minutes."""
    return T0 + timedelta(minutes=minutes)


def unit_id(n: int | None = None) -> str:
    """A valid unit id; ids made from larger numbers sort later."""
    return f"ku_{next(_serial) if n is None else n:032x}"


def new_unit(
    *,
    id: str | None = None,
    domains: list[str] | None = None,
    languages: list[str] | None = None,
    frameworks: list[str] | None = None,
    pattern: str = "",
    created_by: str = "alice",
    created_at: datetime | None = None,
    summary: str | None = None,
    detail: str | None = None,
    extensions: dict[str, Any] | None = None,
) -> NewUnit:
    uid = id or unit_id()
    return NewUnit(
        id=uid,
        domains=["web"] if domains is None else domains,
        insight=Insight(
            summary=summary or f"summary of {uid}",
            detail=detail or f"detail of {uid}",
            action=f"action for {uid}",
        ),
        context=Context(languages=languages or [], frameworks=frameworks or [], pattern=pattern),
        created_by=created_by,
        created_at=created_at or T0,
        extensions=extensions,
    )


async def add_unit(
    store: Store,
    status: ReviewStatus = ReviewStatus.PENDING,
    *,
    confirms: int = 0,
    flags: int = 0,
    reviewer: str = "rita",
    **fields: Any,
) -> KnowledgeUnit:
    """Propose a unit, then (optionally) decide it and apply confirms, then flags."""
    unit = await store.insert_unit(new_unit(**fields))
    if status is not ReviewStatus.PENDING:
        decided_at = unit.evidence.first_observed + timedelta(seconds=1)
        decision = await store.decide(unit.id, status, reviewer, decided_at)
        assert isinstance(decision, Decision)
    for i in range(confirms):
        confirmed = await store.confirm(unit.id, f"confirmer-{i}", at(60 + i))
        assert confirmed is not None
        unit = confirmed
    for i in range(flags):
        flagged = await store.flag(
            unit.id, FlagInput(FlagReason.STALE), f"flagger-{i}", at(120 + i)
        )
        assert flagged is not None
        unit = flagged
    return unit


def expected_points(confirms: int = 0, flags: int = 0) -> int:
    """Confidence in points after confirms then flags, clamping at every step."""
    points = scoring.INITIAL_POINTS
    for _ in range(confirms):
        points = min(points + scoring.BOOST_POINTS, scoring.CEILING_POINTS)
    for _ in range(flags):
        points = max(points - scoring.PENALTY_POINTS, scoring.FLOOR_POINTS)
    return points


async def add_user(
    store: Store, username: str = "alice", role: Role | None = Role.MEMBER, when: datetime = T0
) -> UserRecord:
    return await store.create_user(username, f"hash-of-{username}", role, when)


def new_key(
    user_id: int,
    *,
    name: str = "laptop",
    labels: list[str] | None = None,
    created_at: datetime = T0,
    ttl: timedelta = timedelta(days=30),
) -> NewApiKey:
    n = next(_serial)
    return NewApiKey(
        id=f"{n:032x}",
        user_id=user_id,
        name=name,
        labels=labels or [],
        prefix=f"{n:08x}"[-8:],
        key_hash=f"{n:064x}",
        ttl=f"{int(ttl.total_seconds())}s",
        expires_at=created_at + ttl,
        created_at=created_at,
    )


async def add_key(store: Store, user_id: int, max_active: int = 20, **fields: Any) -> ApiKeyRecord:
    return await store.create_api_key(new_key(user_id, **fields), max_active)


def is_utc(value: datetime | None) -> bool:
    return value is not None and value.utcoffset() == timedelta(0)
