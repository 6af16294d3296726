"""The reviewers' side: the queue, decisions, statistics and browsing."""

from datetime import date, timedelta
from typing import Any

from colloquy.clock import iso, now
from colloquy.domain import scoring
from colloquy.domain.models import ReviewStatus
from colloquy.services.errors import AlreadyReviewed, InvalidInput, UnitNotFound
from colloquy.store.protocol import (
    Activity,
    AlreadyDecided,
    DailyCount,
    Decision,
    InvalidCursor,
    Page,
    ReviewItem,
    Store,
    UnitEvent,
    UnitFilter,
)

ACTIVITY_LIMIT = 20
TREND_DAYS = 30
HISTORY_LIMIT = 200


def review_item(item: ReviewItem) -> dict[str, Any]:
    return {
        "knowledge_unit": item.unit.for_reviewers(),
        "status": item.status.value,
        "reviewed_by": item.reviewed_by,
        "reviewed_at": iso(item.reviewed_at),
    }


def activity_item(event: Activity) -> dict[str, Any]:
    body: dict[str, Any] = {
        "type": event.type,
        "unit_id": event.unit_id,
        "summary": event.summary,
    }
    if event.type != "proposed":
        body["reviewed_by"] = event.reviewed_by  # type: ignore[union-attr]
    body["timestamp"] = iso(event.timestamp)
    return body


def fill_days(counts: list[DailyCount], today: date) -> list[dict[str, Any]]:
    """Consecutive days from the first with any event through today, zero-filled."""
    if not counts:
        return []
    by_day = {c.day: c for c in counts}
    days = []
    day = counts[0].day
    while day <= today:
        c = by_day.get(day)
        days.append(
            {
                "date": day.isoformat(),
                "proposed": c.proposed if c else 0,
                "approved": c.approved if c else 0,
                "rejected": c.rejected if c else 0,
            }
        )
        day += timedelta(days=1)
    return days


class ReviewService:
    def __init__(self, store: Store) -> None:
        self._store = store

    async def queue(self, limit: int, offset: int) -> tuple[list[ReviewItem], int]:
        return await self._store.pending_page(limit, offset)

    async def decide(
        self, unit_id: str, status: ReviewStatus, reviewer: str, note: str | None = None
    ) -> Decision:
        try:
            decision = await self._store.decide(unit_id, status, reviewer, now(), note)
        except AlreadyDecided as exc:
            raise AlreadyReviewed(exc.status.value) from exc
        if decision is None:
            raise UnitNotFound()
        return decision

    async def get(self, unit_id: str) -> ReviewItem:
        item = await self._store.get_unit(unit_id)
        if item is None:
            raise UnitNotFound()
        return item

    async def history(self, unit_id: str) -> list[UnitEvent]:
        return await self._store.history(unit_id, HISTORY_LIMIT)

    async def units(self, filters: UnitFilter, cursor: str | None, limit: int) -> Page[ReviewItem]:
        try:
            return await self._store.page_units(filters, cursor, limit)
        except InvalidCursor as exc:
            raise InvalidInput("cursor is not one this server issued") from exc

    async def stats(self) -> dict[str, Any]:
        today = now().date()
        overview = await self._store.review_overview(
            [edge for _, edge in scoring.REVIEW_BUCKETS],
            ACTIVITY_LIMIT,
            today - timedelta(days=TREND_DAYS),
        )
        stats = overview.stats
        return {
            "counts": {status.value: stats.status_counts[status] for status in ReviewStatus},
            "domains": stats.domain_counts,
            "confidence_distribution": {
                label: stats.confidence_points[edge] for label, edge in scoring.REVIEW_BUCKETS
            },
            "recent_activity": [activity_item(a) for a in overview.activity],
            "trends": {"daily": fill_days(overview.daily, today)},
        }
