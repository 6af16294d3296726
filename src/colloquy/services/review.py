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
    Neighbour,
    NotAnOriginal,
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
# Neighbours a reviewer is shown beside a unit ("possibly the same as").
NEIGHBOURS_SHOWN = 5


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
        self,
        unit_id: str,
        status: ReviewStatus,
        reviewer: str,
        note: str | None = None,
        duplicate_of: str | None = None,
    ) -> Decision:
        """``duplicate_of``: reject the unit as a duplicate of that one (another unit, pending
        or approved)."""
        if duplicate_of is not None and status is not ReviewStatus.REJECTED:
            raise InvalidInput("only a rejection can name what the unit duplicates")
        try:
            decision = await self._store.decide(
                unit_id, status, reviewer, now(), note, duplicate_of
            )
        except AlreadyDecided as exc:
            raise AlreadyReviewed(exc.status.value) from exc
        except NotAnOriginal as exc:
            raise InvalidInput(
                "duplicate_of must name another unit that is pending or approved"
            ) from exc
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

    async def neighbours(self, unit_id: str) -> list[Neighbour]:
        """The units that may say the same as this one, closest first; computed now, when a
        reviewer looks, so proposing never waits for it."""
        return await self._store.neighbours(unit_id, NEIGHBOURS_SHOWN)

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
