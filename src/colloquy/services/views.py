"""What the services answer for statistics and API keys: typed views with real dates, enums
and numbers, which ``api/`` writes as JSON and ``web/`` renders as they are (neither parses the
other's format back)."""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum

from colloquy.domain import scoring
from colloquy.domain.models import ReviewStatus
from colloquy.store.protocol import Activity, ApiKeyRecord, DailyCount


@dataclass(frozen=True)
class ConfidenceBucket:
    """One bar of a confidence histogram: units from ``low`` up to ``high`` (the next bucket's
    ``low``; None for the last bucket, which is closed at 1.0)."""

    label: str
    low: float
    high: float | None
    count: int


def confidence_buckets(
    edges: Sequence[tuple[str, int]], points: Mapping[int, int]
) -> list[ConfidenceBucket]:
    """The buckets named by ``edges`` (label, lower edge in points), each with its count."""
    lows = [edge for _, edge in edges]
    highs: list[int | None] = [*lows[1:], None]
    return [
        ConfidenceBucket(
            label=label,
            low=scoring.from_points(edge),
            high=None if high is None else scoring.from_points(high),
            count=points[edge],
        )
        for (label, edge), high in zip(edges, highs, strict=True)
    ]


@dataclass(frozen=True)
class KnowledgeStatsView:
    """The commons at a glance: every tier and bucket present, counts only."""

    total_count: int
    tier_counts: dict[str, int]
    domain_counts: dict[str, int]
    confidence: list[ConfidenceBucket]


@dataclass(frozen=True)
class ReviewStatsView:
    """The reviewers' overview: units per status, approved units per domain and per confidence
    bucket, the newest activity and the trend."""

    counts: dict[ReviewStatus, int]
    domains: dict[str, int]
    confidence: list[ConfidenceBucket]
    activity: list[Activity]
    # The days of the trend window with any event, oldest first; ``today`` ends the window.
    daily: list[DailyCount]
    today: date

    def days_from(self, first: date) -> list[DailyCount]:
        """One count per day from ``first`` through today, zero on days without events."""
        by_day = {c.day: c for c in self.daily}
        days = []
        day = first
        while day <= self.today:
            days.append(by_day.get(day) or DailyCount(day=day, proposed=0, approved=0, rejected=0))
            day += timedelta(days=1)
        return days

    def since_first_event(self) -> list[DailyCount]:
        """Every day from the first with any event through today (none if there was none)."""
        return self.days_from(self.daily[0].day) if self.daily else []


class KeyState(StrEnum):
    """An API key's state; a revoked key is revoked, whether or not it has also expired."""

    ACTIVE = "active"
    REVOKED = "revoked"
    EXPIRED = "expired"


@dataclass(frozen=True)
class KeyView:
    """An API key as its owner sees it at ``at``: the one place its state is worked out."""

    record: ApiKeyRecord
    at: datetime

    @property
    def remaining(self) -> timedelta:
        return self.record.expires_at - self.at

    @property
    def expired(self) -> bool:
        return self.record.expires_at <= self.at

    @property
    def state(self) -> KeyState:
        if self.record.revoked_at is not None:
            return KeyState.REVOKED
        return KeyState.EXPIRED if self.expired else KeyState.ACTIVE
