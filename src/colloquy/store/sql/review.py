"""Review: decisions, the pending queue, activity, daily counts and history."""

from collections import Counter
from collections.abc import Sequence
from datetime import date, datetime
from functools import lru_cache
from typing import Any

from sqlalchemy import (
    Row,
    Select,
    literal,
    select,
    union_all,
    update,
)
from sqlalchemy.ext.asyncio import AsyncConnection

from colloquy.domain.models import (
    ReviewStatus,
    Tier,
)
from colloquy.store import tables as t
from colloquy.store.protocol import (
    Activity,
    AlreadyDecided,
    DailyCount,
    DecidedActivity,
    Decision,
    ProposedActivity,
    ReviewItem,
    ReviewOverview,
    UnitEvent,
)
from colloquy.store.sql.base import SqlBase, approved_keys, utc_day


@lru_cache(maxsize=4)
def _activity_statement(limit: int) -> Select[Any]:
    """The newest decisions and pending proposals, one current state per unit.

    Each part walks an index from its newest entry and stops at the limit, so the feed costs
    the same at any size: decisions on events (kind, id), pending units on units
    (status, created_at, id), whose created_at is the proposal's first_observed. Built once:
    assembling the subqueries costs several times more than running them.
    """
    e, u = t.events.c, t.units.c
    parts = [
        select(e.kind, e.unit_id, e.actor, e.at, u.summary)
        .join(t.units, u.id == e.unit_id)
        .where(e.kind == kind)
        .order_by(e.id.desc())
        .limit(limit)
        .subquery()
        for kind in (ReviewStatus.APPROVED, ReviewStatus.REJECTED)
    ]
    parts.append(
        select(
            literal("proposed").label("kind"),
            u.id.label("unit_id"),
            u.created_by.label("actor"),
            u.created_at.label("at"),
            u.summary,
        )
        .where(u.status == ReviewStatus.PENDING)
        .order_by(u.created_at.desc(), u.id.desc())
        .limit(limit)
        .subquery()
    )
    newest = union_all(*(select(part) for part in parts)).subquery()
    return select(newest).order_by(newest.c.at.desc(), newest.c.unit_id.desc()).limit(limit)


class ReviewStore(SqlBase):
    async def decide(
        self,
        unit_id: str,
        status: ReviewStatus,
        reviewer: str,
        at: datetime,
        note: str | None = None,
    ) -> Decision | AlreadyDecided | None:
        u = t.units.c
        async with self._writing() as conn:
            updated = await conn.execute(
                update(t.units)
                .where(u.id == unit_id, u.status == ReviewStatus.PENDING)
                .values(status=status.value, reviewed_by=reviewer, reviewed_at=at, review_note=note)
                .returning(u.confidence, u.domain_count, u.tier, u.domains)
            )
            decided = updated.first()
            if decided is None:
                current = (
                    await conn.execute(select(u.status).where(u.id == unit_id))
                ).scalar_one_or_none()
                return None if current is None else AlreadyDecided(ReviewStatus(current))
            await self._sync_ranking(
                conn, unit_id, status, decided.confidence, decided.domain_count
            )
            counts = Counter({"status:pending": -1, f"status:{status.value}": 1})
            domain_deltas: Counter[str] = Counter()
            if status is ReviewStatus.APPROVED:
                counts.update(approved_keys(Tier(decided.tier), decided.confidence))
                domain_deltas.update(decided.domains)
            await self._tally(conn, counts, domain_deltas)
            await self._event(conn, unit_id, status.value, reviewer, at, note)
            await self._count_day(conn, status.value, utc_day(at))
        return Decision(unit_id=unit_id, status=status, reviewed_by=reviewer, reviewed_at=at)

    async def pending_page(self, limit: int, offset: int) -> tuple[list[ReviewItem], int]:
        u = t.units.c
        pending = u.status == ReviewStatus.PENDING
        async with self._reading() as conn:
            total = (await self._counts(conn)).get("status:pending", 0)
            if limit == 0:
                return [], total
            rows = (
                await conn.execute(
                    select(t.units)
                    .where(pending)
                    .order_by(u.created_at, u.id)
                    .limit(limit)
                    .offset(offset)
                )
            ).all()
            return await self._render(conn, rows), total

    async def review_overview(
        self, bucket_edges: Sequence[int], activity_limit: int, since: date
    ) -> ReviewOverview:
        async with self._reading() as conn:
            return ReviewOverview(
                stats=await self._stats(conn, bucket_edges),
                activity=await self._activity(conn, activity_limit),
                daily=await self._daily_counts(conn, since),
            )

    async def _activity(self, conn: AsyncConnection, limit: int) -> list[Activity]:
        rows = (await conn.execute(_activity_statement(limit))).all()
        return [self._activity_item(r) for r in rows]

    @staticmethod
    def _activity_item(row: Row[Any]) -> Activity:
        if row.kind == "proposed":
            return ProposedActivity(unit_id=row.unit_id, summary=row.summary, timestamp=row.at)
        return DecidedActivity(
            unit_id=row.unit_id,
            summary=row.summary,
            timestamp=row.at,
            reviewed_by=row.actor,
            type=row.kind,
        )

    async def _daily_counts(self, conn: AsyncConnection, since: date) -> list[DailyCount]:
        d = t.daily_counts.c
        rows = (
            await conn.execute(select(t.daily_counts).where(d.day >= since).order_by(d.day))
        ).all()
        return [
            DailyCount(day=r.day, proposed=r.proposed, approved=r.approved, rejected=r.rejected)
            for r in rows
        ]

    async def history(self, unit_id: str, limit: int) -> list[UnitEvent]:
        e = t.events.c
        async with self._reading() as conn:
            rows = (
                await conn.execute(
                    select(t.events).where(e.unit_id == unit_id).order_by(e.id).limit(limit)
                )
            ).all()
        return [UnitEvent(kind=r.kind, actor=r.actor, at=r.at, note=r.note) for r in rows]
