"""Review: decisions, the pending queue, activity, daily counts and history."""

from collections import Counter
from collections.abc import Sequence
from datetime import date, datetime
from functools import lru_cache
from typing import Any

from sqlalchemy import (
    Date,
    Select,
    bindparam,
    func,
    literal,
    literal_column,
    select,
    union_all,
    update,
)
from sqlalchemy.engine import Connection

from colloquy.domain.models import (
    ReviewStatus,
    Tier,
)
from colloquy.store import tables as t
from colloquy.store.dialect import JsonArray, JsonArrayAgg, json_timestamp
from colloquy.store.protocol import (
    Activity,
    AlreadyDecided,
    DailyCount,
    DecidedActivity,
    Decision,
    NotAnOriginal,
    ProposedActivity,
    ReviewItem,
    ReviewOverview,
    UnitEvent,
)
from colloquy.store.sql.counters import (
    DAY_COLUMNS,
    Counters,
    Tally,
    approved_keys,
    read_counter,
    stats_columns,
    stats_from,
    utc_day,
)
from colloquy.store.sql.database import Database
from colloquy.store.sql.rows import render, to_event
from colloquy.store.sql.unit_writes import add_event, sync_ranking

_u = t.units.c
# Statements of every decision, built once.
_STATUS = select(_u.status).where(_u.id == bindparam("unit_id"))
_DECIDE = (
    update(t.units)
    .where(_u.id == bindparam("unit_id"), _u.status == ReviewStatus.PENDING)
    .values(
        status=bindparam("new_status"),
        reviewed_by=bindparam("reviewer"),
        reviewed_at=bindparam("at"),
        review_note=bindparam("note"),
    )
    .returning(_u.confidence, _u.domain_count, _u.tier, _u.domains)
)
# What a unit may be rejected as a duplicate of: another unit, still in the running.
ORIGINAL_STATUSES = frozenset({ReviewStatus.PENDING, ReviewStatus.APPROVED})


@lru_cache(maxsize=4)
def _overview_statement(activity_limit: int) -> Select[Any]:
    """The review statistics in one row: the stats, the activity and the daily counts (since
    ``:since``, their shards summed), each as JSON. Built once: assembling it costs several
    times more than running it.

    Each activity part walks an index from its newest entry and stops at the limit, so the feed
    costs the same at any size: decisions on each kind's partial index of events, pending units
    on units (status, created_at, id), whose created_at is the proposal's first_observed. The
    parts are merged and cut to the limit in Python.
    """
    e, u, d = t.events.c, t.units.c, t.daily_counts.c
    parts = [
        select(e.kind, e.unit_id, e.actor, e.at, u.summary)
        .join(t.units, u.id == e.unit_id)
        # Spelled out, not bound: PostgreSQL's generic plan for a prepared statement (as
        # asyncpg keeps them) cannot use a partial index on a parameter's value.
        .where(e.kind == literal_column(f"'{kind}'"))
        .order_by(e.id.desc())
        .limit(activity_limit)
        for kind in t.DECISION_KINDS
    ]
    parts.append(
        select(literal("proposed"), u.id, u.created_by, u.created_at, u.summary)
        .where(u.status == ReviewStatus.PENDING)
        .order_by(u.created_at.desc(), u.id.desc())
        .limit(activity_limit)
    )
    newest = union_all(*(select(part.subquery()) for part in parts)).subquery()
    days = (
        select(d.day, *(func.sum(d[column]).label(column) for column in DAY_COLUMNS))
        .where(d.day >= bindparam("since", type_=Date))
        .group_by(d.day)
        .subquery()
    )
    return select(
        *stats_columns(),
        select(JsonArrayAgg(JsonArray(*newest.c))).scalar_subquery().label("activity"),
        select(JsonArrayAgg(JsonArray(*days.c))).scalar_subquery().label("daily"),
    )


def _activity(packed: list[list[Any]] | None, limit: int) -> list[Activity]:
    newest = sorted(
        (
            (json_timestamp(at), unit_id, kind, actor, summary)
            for kind, unit_id, actor, at, summary in packed or ()
        ),
        reverse=True,
    )
    return [
        ProposedActivity(unit_id=unit_id, summary=summary, timestamp=at, proposed_by=actor)
        if kind == "proposed"
        else DecidedActivity(
            unit_id=unit_id, summary=summary, timestamp=at, reviewed_by=actor, type=kind
        )
        for at, unit_id, kind, actor, summary in newest[:limit]
    ]


def _daily(packed: list[list[Any]] | None) -> list[DailyCount]:
    return sorted(
        (
            DailyCount(day=date.fromisoformat(day), proposed=p, approved=a, rejected=r)
            for day, p, a, r in packed or ()
        ),
        key=lambda c: c.day,
    )


class ReviewRepository:
    """Review: decisions, the pending queue, the overview and units' history."""

    def __init__(self, db: Database, counters: Counters) -> None:
        self._db = db
        self._counters = counters

    async def decide(
        self,
        unit_id: str,
        status: ReviewStatus,
        reviewer: str,
        at: datetime,
        note: str | None = None,
        duplicate_of: str | None = None,
    ) -> Decision | None:
        # Returns a refusal rather than raising it: a job that raises rolls back the group it
        # shares (``database``), though a refusal has written nothing.
        def job(conn: Connection) -> Decision | ReviewStatus | NotAnOriginal | None:
            if duplicate_of is not None:
                # Read, not locked: a transaction changes one existing unit at most (the lock
                # order), and an original rejected meanwhile still names a stored unit.
                original = conn.execute(_STATUS, {"unit_id": duplicate_of}).scalar_one_or_none()
                if (
                    status is not ReviewStatus.REJECTED
                    or duplicate_of == unit_id
                    or original not in ORIGINAL_STATUSES
                ):
                    return NotAnOriginal(duplicate_of)
            updated = conn.execute(
                _DECIDE,
                {
                    "unit_id": unit_id,
                    "new_status": status.value,
                    "reviewer": reviewer,
                    "at": at,
                    "note": note,
                },
            )
            decided = updated.first()
            if decided is None:
                current = conn.execute(_STATUS, {"unit_id": unit_id}).scalar_one_or_none()
                return None if current is None else ReviewStatus(current)
            # In the lock order: the unit (above), its unit_domains, its event, the counters.
            sync_ranking(conn, unit_id, status, decided.confidence, decided.domain_count)
            add_event(conn, unit_id, status.value, reviewer, at, note, duplicate_of)
            tally = Tally(units=Counter({"status:pending": -1, f"status:{status.value}": 1}))
            if status is ReviewStatus.APPROVED:
                tally.units.update(approved_keys(Tier(decided.tier), decided.confidence))
                tally.domains.update(decided.domains)
            tally.days[(utc_day(at), status.value)] += 1
            self._counters.add(conn, tally)
            return Decision(
                unit_id=unit_id,
                status=status,
                reviewed_by=reviewer,
                reviewed_at=at,
                duplicate_of=duplicate_of,
            )

        outcome = await self._db.write(job)
        if isinstance(outcome, ReviewStatus):
            raise AlreadyDecided(outcome)
        if isinstance(outcome, NotAnOriginal):
            raise outcome
        return outcome

    async def pending_page(self, limit: int, offset: int) -> tuple[list[ReviewItem], int]:
        u = t.units.c
        pending = u.status == ReviewStatus.PENDING

        def read(conn: Connection) -> tuple[list[ReviewItem], int]:
            total = read_counter(conn, f"status:{ReviewStatus.PENDING.value}")
            if limit == 0:
                return [], total
            rows = conn.execute(
                select(t.units)
                .where(pending)
                .order_by(u.created_at, u.id)
                .limit(limit)
                .offset(offset)
            ).all()
            return render(conn, rows), total

        return await self._db.read(read)

    async def review_overview(
        self, bucket_edges: Sequence[int], activity_limit: int, since: date
    ) -> ReviewOverview:
        row = await self._db.read(
            lambda conn: conn.execute(_overview_statement(activity_limit), {"since": since}).one()
        )
        return ReviewOverview(
            stats=stats_from(row, bucket_edges),
            activity=_activity(row.activity, activity_limit),
            daily=_daily(row.daily),
        )

    async def history(self, unit_id: str, limit: int) -> list[UnitEvent]:
        e = t.events.c
        rows = await self._db.read(
            lambda conn: conn.execute(
                select(t.events).where(e.unit_id == unit_id).order_by(e.id).limit(limit)
            ).all()
        )
        return [to_event(r) for r in rows]
