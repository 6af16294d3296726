"""The reviewers' side: the queue, decisions, statistics and browsing."""

from datetime import timedelta

from colloquy.clock import now
from colloquy.domain import scoring
from colloquy.domain.models import KnowledgeUnit, ReviewStatus
from colloquy.services.errors import AlreadyReviewed, InvalidInput, UnitNotFound
from colloquy.services.views import ReviewStatsView, confidence_buckets
from colloquy.store.protocol import (
    AlreadyDecided,
    Decision,
    InvalidCursor,
    Page,
    QuerySpec,
    Ranking,
    ReviewItem,
    Store,
    UnitEvent,
    UnitFilter,
)

ACTIVITY_LIMIT = 20
TREND_DAYS = 30
HISTORY_LIMIT = 200


# Most units the dashboard's ranked search lists (as many as one agent query may ask for).
SEARCH_LIMIT = 50


class ReviewService:
    def __init__(self, store: Store, ranking: Ranking = Ranking.HYBRID) -> None:
        """``ranking``: how agents' queries are ranked (``CQ_RANKING``); with ``hybrid`` the
        dashboard's text search ranks the same way."""
        self._store = store
        self.ranks_text = ranking is Ranking.HYBRID

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

    async def search(self, text: str) -> list[KnowledgeUnit]:
        """The approved units that best answer ``text``, ranked as an agent's query with that
        free text ``q`` is (hybrid ranking), at most ``SEARCH_LIMIT``."""
        spec = QuerySpec(domains=[], q=text, ranking=Ranking.HYBRID, limit=SEARCH_LIMIT)
        return await self._store.query(spec)

    async def stats(self) -> ReviewStatsView:
        today = now().date()
        overview = await self._store.review_overview(
            [edge for _, edge in scoring.REVIEW_BUCKETS],
            ACTIVITY_LIMIT,
            today - timedelta(days=TREND_DAYS),
        )
        stats = overview.stats
        return ReviewStatsView(
            counts={status: stats.status_counts[status] for status in ReviewStatus},
            domains=stats.domain_counts,
            confidence=confidence_buckets(scoring.REVIEW_BUCKETS, stats.confidence_points),
            activity=overview.activity,
            daily=overview.daily,
            today=today,
        )
