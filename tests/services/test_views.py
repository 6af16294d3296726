"""The typed views the services answer: an API key's state, confidence buckets and the
zero-filled trend, each worked out in one place for the API, the dashboard and the CLI."""

from datetime import UTC, date, datetime, timedelta

import pytest

from colloquy.domain import scoring
from colloquy.services.views import (
    ConfidenceBucket,
    KeyState,
    KeyView,
    ReviewStatsView,
    confidence_buckets,
)
from colloquy.store.protocol import ApiKeyRecord, DailyCount

AT = datetime(2026, 6, 1, 12, tzinfo=UTC)


def record(expires_in: timedelta, revoked: bool = False) -> ApiKeyRecord:
    return ApiKeyRecord(
        id="k1",
        name="agent",
        labels=[],
        prefix="cqa_v1_k1",
        ttl="30d",
        expires_at=AT + expires_in,
        created_at=AT - timedelta(days=1),
        last_used_at=None,
        revoked_at=AT - timedelta(hours=1) if revoked else None,
    )


@pytest.mark.parametrize(
    ("expires_in", "revoked", "state", "expired"),
    [
        (timedelta(days=3), False, KeyState.ACTIVE, False),
        (timedelta(seconds=1), False, KeyState.ACTIVE, False),
        (timedelta(0), False, KeyState.EXPIRED, True),
        (timedelta(days=-2), False, KeyState.EXPIRED, True),
        (timedelta(days=3), True, KeyState.REVOKED, False),
        # Revoked wins over expired, but the expiry still shows.
        (timedelta(days=-2), True, KeyState.REVOKED, True),
    ],
)
def test_key_state(expires_in, revoked, state, expired) -> None:
    view = KeyView(record(expires_in, revoked), AT)
    assert view.state is state
    assert view.expired is expired
    assert view.remaining == expires_in
    assert f"{view.state}" == state.value


def test_confidence_buckets_carry_their_bounds() -> None:
    edges = scoring.REVIEW_BUCKETS
    points = {edge: i for i, (_, edge) in enumerate(edges)}
    assert confidence_buckets(edges, points) == [
        ConfidenceBucket("0.0-0.3", 0.0, 0.3, 0),
        ConfidenceBucket("0.3-0.6", 0.3, 0.6, 1),
        ConfidenceBucket("0.6-0.8", 0.6, 0.8, 2),
        ConfidenceBucket("0.8-1.0", 0.8, None, 3),
    ]


def count(day: date, proposed: int = 0, approved: int = 0, rejected: int = 0) -> DailyCount:
    return DailyCount(day=day, proposed=proposed, approved=approved, rejected=rejected)


def stats_with(daily: list[DailyCount], today: date) -> ReviewStatsView:
    return ReviewStatsView(
        counts={}, domains={}, confidence=[], activity=[], daily=daily, today=today
    )


def test_days_are_zero_filled_through_today() -> None:
    daily = [count(date(2026, 6, 2), 1), count(date(2026, 6, 4), 0, 2), count(date(2026, 7, 1), 9)]
    assert stats_with(daily, date(2026, 6, 5)).days_from(date(2026, 6, 1)) == [
        count(date(2026, 6, 1)),
        count(date(2026, 6, 2), 1),
        count(date(2026, 6, 3)),
        count(date(2026, 6, 4), 0, 2),
        count(date(2026, 6, 5)),
    ]


def test_since_first_event_starts_at_the_first_counted_day() -> None:
    stats = stats_with([count(date(2026, 6, 3), 0, 0, 1)], date(2026, 6, 4))
    assert stats.since_first_event() == [count(date(2026, 6, 3), 0, 0, 1), count(date(2026, 6, 4))]
    assert stats_with([], date(2026, 6, 4)).since_first_event() == []
    # Events dated after today (a clock set back) show nothing past today.
    assert stats_with([count(date(2026, 6, 9), 1)], date(2026, 6, 4)).since_first_event() == []
