"""The dialect-neutral Store implementation, shared by the SQLite and PostgreSQL backends.

Each method is one transaction. Counters, status transitions and caps are single conditional
statements (``UPDATE ... WHERE status = 'pending' RETURNING``), never read-modify-write in Python.
Backends supply the engines, how a write transaction is opened, and the dialect's INSERT (for
``ON CONFLICT``).
"""

import base64
import binascii
import json
from collections import Counter
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Row,
    and_,
    case,
    delete,
    exists,
    func,
    insert,
    select,
    true,
    tuple_,
    update,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from colloquy.domain import scoring
from colloquy.domain.models import (
    Context,
    Evidence,
    Flag,
    FlagReason,
    Insight,
    KnowledgeUnit,
    ReviewStatus,
    Role,
    Tier,
)
from colloquy.domain.normalize import normalize_pattern
from colloquy.store import ranking
from colloquy.store import tables as t
from colloquy.store.protocol import (
    Activity,
    AlreadyDecided,
    ApiKeyCredential,
    ApiKeyRecord,
    DailyCount,
    DecidedActivity,
    Decision,
    FlagInput,
    KeyArchive,
    KeyLimitReached,
    KnowledgeStats,
    NewApiKey,
    NewUnit,
    Page,
    ProposedActivity,
    QuerySpec,
    ReviewItem,
    UnitArchive,
    UnitEvent,
    UnitFilter,
    UserArchive,
    UserCredential,
    UsernameTaken,
    UserRecord,
)

# Query pruning: units seeded per query domain (at least the limit), and how fast the score
# threshold comes down from the best possible score towards the seed's floor.
SEED_PER_DOMAIN = 64
THRESHOLD_DESCENT = 0.5
# Bounds on lists that the wire returns without paging.
STATS_DOMAIN_LIMIT = 500
MAX_KEYS_LISTED = 200

InsertFactory = Callable[[t.Table], Any]


def encode_cursor(*parts: str) -> str:
    return base64.urlsafe_b64encode(json.dumps(parts).encode()).decode().rstrip("=")


def decode_cursor(cursor: str, size: int) -> list[str] | None:
    """The parts of a cursor made by ``encode_cursor``, or None if it is not one."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        parts = json.loads(raw)
    except (binascii.Error, ValueError, UnicodeDecodeError):
        return None
    if not isinstance(parts, list) or len(parts) != size:
        return None
    if not all(isinstance(p, str) for p in parts):
        return None
    return parts


def utc_day(at: datetime) -> date:
    return at.astimezone(UTC).date()


def _approved_keys(tier: Tier, points: int) -> list[str]:
    """The counters an approved unit adds to."""
    return [f"tier:{tier.value}", f"confidence:{points}"]


def _ranking(status: ReviewStatus, points: int, domain_count: int) -> dict[str, Any]:
    """The ranking columns of a unit's domain rows: set only while it is approved."""
    if status is not ReviewStatus.APPROVED:
        return {"confidence": None, "rank": None}
    return {"confidence": points, "rank": points / domain_count}


def _unit_values(item: ReviewItem) -> dict[str, Any]:
    """The ``units`` row of a unit in a given review state."""
    unit = item.unit
    return {
        "id": unit.id,
        "status": item.status.value,
        "tier": unit.tier.value,
        "version": unit.version,
        "confidence": scoring.to_points(unit.evidence.confidence),
        "confirmations": unit.evidence.confirmations,
        "flag_count": len(unit.flags),
        "created_at": unit.evidence.first_observed,
        "last_confirmed": unit.evidence.last_confirmed,
        "created_by": unit.created_by,
        "reviewed_by": item.reviewed_by,
        "reviewed_at": item.reviewed_at,
        "review_note": item.review_note,
        "summary": unit.insight.summary,
        "detail": unit.insight.detail,
        "action": unit.insight.action,
        "domains": unit.domains,
        "domain_count": len(unit.domains),
        "languages": unit.context.languages,
        "frameworks": unit.context.frameworks,
        "pattern": unit.context.pattern,
        "pattern_key": normalize_pattern(unit.context.pattern),
        "extensions": unit.extensions,
        "superseded_by": unit.superseded_by,
    }


class InvalidCursor(ValueError):
    """A page cursor that this store did not issue."""


class SqlStore:
    """Store over SQLAlchemy Core; see ``store.protocol.Store`` for the contract."""

    def __init__(
        self,
        write_engine: AsyncEngine,
        read_engine: AsyncEngine,
        insert_factory: InsertFactory,
    ) -> None:
        self._write_engine = write_engine
        self._read_engine = read_engine
        self._upsert = insert_factory

    async def close(self) -> None:
        await self._write_engine.dispose()
        if self._read_engine is not self._write_engine:
            await self._read_engine.dispose()

    @asynccontextmanager
    async def _reading(self) -> AsyncIterator[AsyncConnection]:
        async with self._read_engine.connect() as conn:
            yield conn

    @asynccontextmanager
    async def _writing(self) -> AsyncIterator[AsyncConnection]:
        async with self._write_engine.begin() as conn:
            yield conn

    # ------------------------------------------------------------ rendering

    async def _render(self, conn: AsyncConnection, rows: Sequence[Row[Any]]) -> list[ReviewItem]:
        flagged = [r.id for r in rows if r.flag_count]
        flags_by_unit: dict[str, list[Flag]] = {}
        if flagged:
            result = await conn.execute(
                select(t.flags).where(t.flags.c.unit_id.in_(flagged)).order_by(t.flags.c.id)
            )
            for f in result:
                flags_by_unit.setdefault(f.unit_id, []).append(
                    Flag(
                        reason=FlagReason(f.reason),
                        timestamp=f.created_at,
                        detail=f.detail,
                        duplicate_of=f.duplicate_of,
                    )
                )
        return [
            ReviewItem(
                unit=KnowledgeUnit(
                    id=r.id,
                    version=r.version,
                    domains=r.domains,
                    insight=Insight(summary=r.summary, detail=r.detail, action=r.action),
                    context=Context(
                        languages=r.languages, frameworks=r.frameworks, pattern=r.pattern
                    ),
                    evidence=Evidence(
                        confidence=scoring.from_points(r.confidence),
                        confirmations=r.confirmations,
                        first_observed=r.created_at,
                        last_confirmed=r.last_confirmed,
                    ),
                    tier=Tier(r.tier),
                    created_by=r.created_by,
                    superseded_by=r.superseded_by,
                    extensions=r.extensions,
                    flags=flags_by_unit.get(r.id, []),
                ),
                status=ReviewStatus(r.status),
                reviewed_by=r.reviewed_by,
                reviewed_at=r.reviewed_at,
                review_note=r.review_note,
            )
            for r in rows
        ]

    async def _load(self, conn: AsyncConnection, where: ColumnElement[bool]) -> ReviewItem | None:
        rows = (await conn.execute(select(t.units).where(where))).all()
        items = await self._render(conn, rows)
        return items[0] if items else None

    async def _event(
        self,
        conn: AsyncConnection,
        unit_id: str,
        kind: str,
        actor: str,
        at: datetime,
        note: str | None = None,
    ) -> None:
        await conn.execute(
            insert(t.events).values(unit_id=unit_id, kind=kind, actor=actor, at=at, note=note)
        )

    def _text_match(self, query: str) -> ColumnElement[bool]:
        """Units whose summary, detail or action contain every word of ``query``."""
        raise NotImplementedError

    async def _lock_users(self, conn: AsyncConnection) -> None:
        """Serialise "is this the first user?" decisions (a no-op where writes are serial)."""

    async def _sync_ranking(
        self,
        conn: AsyncConnection,
        unit_id: str,
        status: ReviewStatus,
        points: int,
        domain_count: int,
    ) -> None:
        await conn.execute(
            update(t.unit_domains)
            .where(t.unit_domains.c.unit_id == unit_id)
            .values(**_ranking(status, points, domain_count))
        )

    async def _tally(
        self, conn: AsyncConnection, counts: Counter[str], domains: Counter[str]
    ) -> None:
        """Apply deltas to the kept aggregates (``unit_counts`` and ``domain_counts``)."""
        for table, column, key, deltas in (
            (t.unit_counts, "n", "key", counts),
            (t.domain_counts, "approved", "domain", domains),
        ):
            changed = {k: d for k, d in sorted(deltas.items()) if d}
            if not changed:
                continue
            stmt = self._upsert(table).values([{key: k, column: d} for k, d in changed.items()])
            stmt = stmt.on_conflict_do_update(
                index_elements=[key], set_={column: table.c[column] + stmt.excluded[column]}
            )
            await conn.execute(stmt)

    async def _count_day(
        self, conn: AsyncConnection, column: str, day: date, count: int = 1
    ) -> None:
        values = {"day": day, "proposed": 0, "approved": 0, "rejected": 0}
        values[column] = count
        stmt = self._upsert(t.daily_counts).values(**values)
        stmt = stmt.on_conflict_do_update(
            index_elements=["day"], set_={column: t.daily_counts.c[column] + count}
        )
        await conn.execute(stmt)

    # ------------------------------------------------------------ units

    async def insert_unit(self, unit: NewUnit) -> KnowledgeUnit:
        item = ReviewItem(
            unit=KnowledgeUnit(
                id=unit.id,
                domains=unit.domains,
                insight=unit.insight,
                context=unit.context,
                evidence=Evidence(
                    confidence=scoring.from_points(scoring.INITIAL_POINTS),
                    confirmations=1,
                    first_observed=unit.created_at,
                    last_confirmed=unit.created_at,
                ),
                created_by=unit.created_by,
                extensions=unit.extensions,
            ),
            status=ReviewStatus.PENDING,
            reviewed_by=None,
            reviewed_at=None,
        )
        proposed = UnitEvent(kind="proposed", actor=unit.created_by, at=unit.created_at)
        async with self._writing() as conn:
            await self._insert_archives(conn, [UnitArchive(item=item, events=[proposed])])
            stored = await self._load(conn, t.units.c.id == unit.id)
        assert stored is not None
        return stored.unit

    async def _insert_archives(
        self, conn: AsyncConnection, archives: Sequence[UnitArchive]
    ) -> None:
        """Insert units with their tags, flags and events, and count them per day."""
        rows: dict[t.Table, list[dict[str, Any]]] = {
            table: []
            for table in (
                t.units,
                t.unit_domains,
                t.unit_languages,
                t.unit_frameworks,
                t.flags,
                t.events,
            )
        }
        per_day: Counter[tuple[date, str]] = Counter()
        counts: Counter[str] = Counter()
        domain_deltas: Counter[str] = Counter()
        for archive in archives:
            item, unit = archive.item, archive.item.unit
            counts[f"status:{item.status.value}"] += 1
            if item.status is ReviewStatus.APPROVED:
                counts.update(
                    _approved_keys(unit.tier, scoring.to_points(unit.evidence.confidence))
                )
                domain_deltas.update(unit.domains)
            rows[t.units].append(_unit_values(item))
            ranking = _ranking(
                item.status, scoring.to_points(unit.evidence.confidence), len(unit.domains)
            )
            rows[t.unit_domains] += [
                {"unit_id": unit.id, "domain": d, "domain_count": len(unit.domains), **ranking}
                for d in unit.domains
            ]
            rows[t.unit_languages] += [
                {"unit_id": unit.id, "language": v} for v in dict.fromkeys(unit.context.languages)
            ]
            rows[t.unit_frameworks] += [
                {"unit_id": unit.id, "framework": v} for v in dict.fromkeys(unit.context.frameworks)
            ]
            rows[t.flags] += [
                {
                    "unit_id": unit.id,
                    "reason": f.reason.value,
                    "detail": f.detail,
                    "duplicate_of": f.duplicate_of,
                    "actor": "",
                    "created_at": f.timestamp,
                }
                for f in unit.flags
            ]
            rows[t.events] += [
                {"unit_id": unit.id, "kind": e.kind, "actor": e.actor, "at": e.at, "note": e.note}
                for e in archive.events
            ]
            per_day[(utc_day(unit.evidence.first_observed), "proposed")] += 1
            if item.reviewed_at is not None and item.status is not ReviewStatus.PENDING:
                per_day[(utc_day(item.reviewed_at), item.status.value)] += 1
        for table, values in rows.items():
            if values:
                await conn.execute(insert(table), values)
        for (day, column), count in sorted(per_day.items()):
            await self._count_day(conn, column, day, count)
        await self._tally(conn, counts, domain_deltas)

    async def get_unit(self, unit_id: str) -> ReviewItem | None:
        async with self._reading() as conn:
            return await self._load(conn, t.units.c.id == unit_id)

    async def get_approved(self, unit_id: str) -> KnowledgeUnit | None:
        async with self._reading() as conn:
            item = await self._load(
                conn, and_(t.units.c.id == unit_id, t.units.c.status == ReviewStatus.APPROVED)
            )
        return item.unit if item else None

    async def query(self, spec: QuerySpec) -> list[KnowledgeUnit]:
        """Rank in SQL, reading only units that can make the top ``limit`` (store/ranking.py).

        The seed (each query domain's best units) gives a score the answer is sure to reach.
        Then, from the best possible score down to that floor, each round scores the units whose
        bound reaches the round's threshold; once ``limit`` of them do, nothing else can.
        """
        size = max(SEED_PER_DOMAIN, spec.limit)
        async with self._reading() as conn:
            seeded = set((await conn.execute(*ranking.seed(spec.domains, size))).scalars())
            if not seeded:
                return []
            rows = await self._rank(conn, spec, seeded)
            # Fewer than ``limit`` means every query domain had fewer approved units than the
            # seed takes, so all candidates were scored: the answer is exact.
            if len(rows) == spec.limit:
                rows = await self._prune(conn, spec, rows)
            return [item.unit for item in await self._render(conn, rows)]

    async def _rank(
        self, conn: AsyncConnection, spec: QuerySpec, ids: set[str]
    ) -> Sequence[Row[Any]]:
        return (await conn.execute(*ranking.ranked(spec, sorted(ids)))).all()

    async def _prune(
        self, conn: AsyncConnection, spec: QuerySpec, seeded: Sequence[Row[Any]]
    ) -> Sequence[Row[Any]]:
        """The exact top ``limit``, given the seed's (whose last score every answer reaches)."""
        floor = seeded[-1].score
        d = t.domain_counts.c
        largest = (
            await conn.execute(
                select(d.domain)
                .where(d.domain.in_(spec.domains))
                .order_by(d.approved.desc(), d.domain)
                .limit(1)
            )
        ).scalar_one()
        threshold = ranking.max_score(spec)
        while threshold > floor:
            threshold = max(threshold * THRESHOLD_DESCENT, floor)
            query = ranking.candidates(spec, threshold, largest)
            if query is None:
                continue
            ids = set((await conn.execute(*query)).scalars())
            rows = await self._rank(conn, spec, ids)
            if len(rows) == spec.limit and rows[-1].score >= threshold:
                return rows
        return seeded

    async def page_units(
        self, filters: UnitFilter, cursor: str | None, limit: int
    ) -> Page[ReviewItem]:
        u = t.units.c
        conditions: list[ColumnElement[bool]] = []
        if filters.status is not None:
            conditions.append(u.status == filters.status)
        if filters.domain is not None:
            conditions.append(
                u.id.in_(
                    select(t.unit_domains.c.unit_id).where(
                        t.unit_domains.c.domain == filters.domain
                    )
                )
            )
        if filters.confidence_min is not None:
            conditions.append(u.confidence >= filters.confidence_min)
        if filters.confidence_max is not None:
            if filters.confidence_max >= scoring.CEILING_POINTS:
                conditions.append(u.confidence <= filters.confidence_max)
            else:
                conditions.append(u.confidence < filters.confidence_max)
        if filters.created_by is not None:
            conditions.append(u.created_by == filters.created_by)
        if filters.text and filters.text.strip():
            conditions.append(self._text_match(filters.text.strip()))
        if cursor is not None:
            parts = decode_cursor(cursor, 2)
            if parts is None:
                raise InvalidCursor(cursor)
            try:
                after = datetime.fromisoformat(parts[0])
            except ValueError as exc:
                raise InvalidCursor(cursor) from exc
            conditions.append(tuple_(u.created_at, u.id) < tuple_(after, parts[1]))
        stmt = (
            select(t.units)
            .where(true(), *conditions)
            .order_by(u.created_at.desc(), u.id.desc())
            .limit(limit + 1)
        )
        async with self._reading() as conn:
            rows = (await conn.execute(stmt)).all()
            items = await self._render(conn, rows[:limit])
        next_cursor = None
        if len(rows) > limit and items:
            last = items[-1].unit
            next_cursor = encode_cursor(last.evidence.first_observed.isoformat(), last.id)
        return Page(items=items, next_cursor=next_cursor)

    async def _counts(self, conn: AsyncConnection) -> dict[str, int]:
        rows = await conn.execute(select(t.unit_counts.c.key, t.unit_counts.c.n))
        return {key: n for key, n in rows}

    async def stats(self, bucket_edges: Sequence[int]) -> KnowledgeStats:
        """From the kept aggregates: a few rows, whatever the number of units."""
        edges = sorted(bucket_edges)
        d = t.domain_counts.c
        async with self._reading() as conn:
            counts = await self._counts(conn)
            domains = await conn.execute(
                select(d.domain, d.approved)
                .where(d.approved > 0)
                .order_by(d.approved.desc(), d.domain.desc())
                .limit(STATS_DOMAIN_LIMIT)
            )
            domain_counts = {domain: n for domain, n in domains}
        buckets = dict.fromkeys(edges, 0)
        tiers: dict[str, int] = {}
        for key, n in counts.items():
            kind, _, value = key.partition(":")
            if kind == "tier" and n:
                tiers[value] = n
            elif kind == "confidence" and n:
                points = int(value)
                lower = max((edge for edge in edges if edge <= points), default=edges[0])
                buckets[lower] += n
        return KnowledgeStats(
            total_count=sum(counts.get(f"status:{s.value}", 0) for s in ReviewStatus),
            tier_counts=tiers,
            domain_counts=domain_counts,
            confidence_points=buckets,
        )

    async def status_counts(self) -> dict[ReviewStatus, int]:
        async with self._reading() as conn:
            counts = await self._counts(conn)
        return {status: counts.get(f"status:{status.value}", 0) for status in ReviewStatus}

    # ------------------------------------------------------------ evidence

    async def confirm(self, unit_id: str, actor: str, at: datetime) -> KnowledgeUnit | None:
        u = t.units.c
        raised = u.confidence + scoring.BOOST_POINTS
        return await self._evidence(
            unit_id,
            {
                "confidence": case(
                    (raised > scoring.CEILING_POINTS, scoring.CEILING_POINTS), else_=raised
                ),
                "confirmations": u.confirmations + 1,
                "last_confirmed": at,
            },
            "confirmed",
            actor,
            at,
        )

    async def flag(
        self, unit_id: str, flag: FlagInput, actor: str, at: datetime
    ) -> KnowledgeUnit | None:
        u = t.units.c
        lowered = u.confidence - scoring.PENALTY_POINTS
        row = {
            "unit_id": unit_id,
            "reason": flag.reason.value,
            "detail": flag.detail,
            "duplicate_of": flag.duplicate_of,
            "actor": actor,
            "created_at": at,
        }
        return await self._evidence(
            unit_id,
            {
                "confidence": case(
                    (lowered < scoring.FLOOR_POINTS, scoring.FLOOR_POINTS), else_=lowered
                ),
                "flag_count": u.flag_count + 1,
            },
            "flagged",
            actor,
            at,
            flag_row=row,
            note=flag.reason.value,
        )

    async def _evidence(
        self,
        unit_id: str,
        changes: dict[str, Any],
        kind: str,
        actor: str,
        at: datetime,
        flag_row: dict[str, Any] | None = None,
        note: str | None = None,
    ) -> KnowledgeUnit | None:
        where = and_(t.units.c.id == unit_id, t.units.c.status == ReviewStatus.APPROVED)
        async with self._writing() as conn:
            # The old value, under the row lock, moves the unit between confidence counters.
            before = (
                await conn.execute(select(t.units.c.confidence).where(where).with_for_update())
            ).scalar_one_or_none()
            if before is None:
                return None
            updated = (
                await conn.execute(
                    update(t.units)
                    .where(where)
                    .values(**changes)
                    .returning(t.units.c.confidence, t.units.c.domain_count)
                )
            ).one()
            if updated.confidence != before:
                await self._sync_ranking(
                    conn, unit_id, ReviewStatus.APPROVED, updated.confidence, updated.domain_count
                )
                moved = Counter({f"confidence:{before}": -1, f"confidence:{updated.confidence}": 1})
                await self._tally(conn, moved, Counter())
            if flag_row is not None:
                await conn.execute(insert(t.flags).values(**flag_row))
            await self._event(conn, unit_id, kind, actor, at, note)
            item = await self._load(conn, t.units.c.id == unit_id)
        return item.unit if item else None

    # ------------------------------------------------------------ review

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
                counts.update(_approved_keys(Tier(decided.tier), decided.confidence))
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

    async def activity(self, limit: int) -> list[Activity]:
        e, u = t.events.c, t.units.c
        base = select(e.id, e.kind, e.unit_id, e.actor, e.at, u.summary).join(
            t.units, u.id == e.unit_id
        )
        queries = [
            base.where(e.kind == kind).order_by(e.id.desc()).limit(limit)
            for kind in (ReviewStatus.APPROVED, ReviewStatus.REJECTED)
        ]
        queries.append(
            base.where(e.kind == "proposed", u.status == ReviewStatus.PENDING)
            .order_by(e.id.desc())
            .limit(limit)
        )
        rows: list[Row[Any]] = []
        async with self._reading() as conn:
            for query in queries:
                rows.extend((await conn.execute(query)).all())
        rows.sort(key=lambda r: (r.at, r.id), reverse=True)
        return [self._activity(r) for r in rows[:limit]]

    @staticmethod
    def _activity(row: Row[Any]) -> Activity:
        if row.kind == "proposed":
            return ProposedActivity(unit_id=row.unit_id, summary=row.summary, timestamp=row.at)
        return DecidedActivity(
            unit_id=row.unit_id,
            summary=row.summary,
            timestamp=row.at,
            reviewed_by=row.actor,
            type=row.kind,
        )

    async def daily_counts(self, since: date) -> list[DailyCount]:
        d = t.daily_counts.c
        async with self._reading() as conn:
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

    # ------------------------------------------------------------ users

    @staticmethod
    def _user(row: Row[Any]) -> UserRecord:
        return UserRecord(
            id=row.id, username=row.username, role=Role(row.role), created_at=row.created_at
        )

    async def create_user(
        self, username: str, password_hash: str, role: Role | None, at: datetime
    ) -> UserRecord:
        try:
            async with self._writing() as conn:
                if role is None:
                    await self._lock_users(conn)
                    existing = (
                        await conn.execute(select(func.count()).select_from(t.users))
                    ).scalar_one()
                    role = Role.ADMIN if existing == 0 else Role.REVIEWER
                row = (
                    await conn.execute(
                        insert(t.users)
                        .values(
                            username=username,
                            password_hash=password_hash,
                            role=role.value,
                            created_at=at,
                        )
                        .returning(t.users)
                    )
                ).one()
        except IntegrityError as exc:
            raise UsernameTaken(username) from exc
        return self._user(row)

    async def get_user(self, username: str) -> UserRecord | None:
        async with self._reading() as conn:
            row = (
                await conn.execute(select(t.users).where(t.users.c.username == username))
            ).first()
        return self._user(row) if row else None

    async def get_credential(self, username: str) -> UserCredential | None:
        async with self._reading() as conn:
            row = (
                await conn.execute(select(t.users).where(t.users.c.username == username))
            ).first()
        return UserCredential(self._user(row), row.password_hash) if row else None

    async def list_users(self, after: str | None, limit: int) -> Page[UserRecord]:
        stmt = select(t.users).order_by(t.users.c.username).limit(limit + 1)
        if after is not None:
            stmt = stmt.where(t.users.c.username > after)
        async with self._reading() as conn:
            rows = (await conn.execute(stmt)).all()
        users = [self._user(r) for r in rows[:limit]]
        more = len(rows) > limit
        return Page(items=users, next_cursor=users[-1].username if more and users else None)

    async def _update_user(self, username: str, **values: Any) -> bool:
        async with self._writing() as conn:
            result = await conn.execute(
                update(t.users)
                .where(t.users.c.username == username)
                .values(**values)
                .returning(t.users.c.id)
            )
            return result.first() is not None

    async def set_password_hash(self, username: str, password_hash: str) -> bool:
        return await self._update_user(username, password_hash=password_hash)

    async def set_role(self, username: str, role: Role) -> bool:
        return await self._update_user(username, role=role.value)

    async def delete_user(self, username: str) -> bool:
        async with self._writing() as conn:
            result = await conn.execute(
                delete(t.users).where(t.users.c.username == username).returning(t.users.c.id)
            )
            return result.first() is not None

    async def revoke_session(self, token_id: str, expires_at: datetime, at: datetime) -> None:
        r = t.revoked_sessions
        async with self._writing() as conn:
            await conn.execute(delete(r).where(r.c.expires_at < at))
            stmt = self._upsert(r).values(token_id=token_id, expires_at=expires_at)
            await conn.execute(stmt.on_conflict_do_nothing(index_elements=["token_id"]))

    async def session_user(self, username: str, token_id: str) -> UserRecord | None:
        revoked = exists().where(t.revoked_sessions.c.token_id == token_id)
        async with self._reading() as conn:
            row = (
                await conn.execute(select(t.users).where(t.users.c.username == username, ~revoked))
            ).first()
        return self._user(row) if row else None

    # ------------------------------------------------------------ API keys

    @staticmethod
    def _key(row: Row[Any]) -> ApiKeyRecord:
        return ApiKeyRecord(
            id=row.id,
            name=row.name,
            labels=row.labels,
            prefix=row.key_prefix,
            ttl=row.ttl,
            expires_at=row.expires_at,
            created_at=row.created_at,
            last_used_at=row.last_used_at,
            revoked_at=row.revoked_at,
        )

    async def create_api_key(self, key: NewApiKey, max_active: int) -> ApiKeyRecord:
        k = t.api_keys.c
        async with self._writing() as conn:
            # Lock the owner's row so that concurrent creations count one after another.
            await conn.execute(
                select(t.users.c.id).where(t.users.c.id == key.user_id).with_for_update()
            )
            active = (
                await conn.execute(
                    select(func.count())
                    .select_from(t.api_keys)
                    .where(
                        k.user_id == key.user_id,
                        k.revoked_at.is_(None),
                        k.expires_at > key.created_at,
                    )
                )
            ).scalar_one()
            if active >= max_active:
                raise KeyLimitReached(max_active)
            row = (
                await conn.execute(
                    insert(t.api_keys)
                    .values(
                        id=key.id,
                        user_id=key.user_id,
                        name=key.name,
                        labels=key.labels,
                        key_prefix=key.prefix,
                        key_hash=key.key_hash,
                        ttl=key.ttl,
                        expires_at=key.expires_at,
                        created_at=key.created_at,
                    )
                    .returning(t.api_keys)
                )
            ).one()
        return self._key(row)

    async def list_api_keys(self, user_id: int) -> list[ApiKeyRecord]:
        k = t.api_keys.c
        async with self._reading() as conn:
            rows = (
                await conn.execute(
                    select(t.api_keys)
                    .where(k.user_id == user_id)
                    .order_by(k.created_at.desc(), k.id)
                    .limit(MAX_KEYS_LISTED)
                )
            ).all()
        return [self._key(r) for r in rows]

    async def revoke_api_key(self, user_id: int, key_id: str, at: datetime) -> bool:
        k = t.api_keys.c
        async with self._writing() as conn:
            result = await conn.execute(
                update(t.api_keys)
                .where(k.id == key_id, k.user_id == user_id)
                .values(revoked_at=func.coalesce(k.revoked_at, at))
                .returning(k.id)
            )
            return result.first() is not None

    async def key_credential(self, key_id: str, at: datetime) -> ApiKeyCredential | None:
        k = t.api_keys.c
        async with self._reading() as conn:
            row = (
                await conn.execute(
                    select(k.id.label("key_id"), k.key_hash, k.last_used_at, t.users)
                    .join(t.users, t.users.c.id == k.user_id)
                    .where(k.id == key_id, k.revoked_at.is_(None), k.expires_at > at)
                )
            ).first()
        if row is None:
            return None
        return ApiKeyCredential(
            key_id=row.key_id,
            key_hash=row.key_hash,
            last_used_at=row.last_used_at,
            user=self._user(row),
        )

    async def touch_api_key(self, key_id: str, at: datetime) -> None:
        k = t.api_keys.c
        async with self._writing() as conn:
            await conn.execute(update(t.api_keys).where(k.id == key_id).values(last_used_at=at))

    # ------------------------------------------------------------ export / import

    async def export_units(self, after: str | None, limit: int) -> list[UnitArchive]:
        stmt = select(t.units).order_by(t.units.c.id).limit(limit)
        if after is not None:
            stmt = stmt.where(t.units.c.id > after)
        async with self._reading() as conn:
            items = await self._render(conn, (await conn.execute(stmt)).all())
            ids = [i.unit.id for i in items]
            events: dict[str, list[UnitEvent]] = {}
            if ids:
                e = t.events.c
                result = await conn.execute(
                    select(t.events).where(e.unit_id.in_(ids)).order_by(e.id)
                )
                for r in result:
                    events.setdefault(r.unit_id, []).append(
                        UnitEvent(kind=r.kind, actor=r.actor, at=r.at, note=r.note)
                    )
        return [UnitArchive(item=i, events=events.get(i.unit.id, [])) for i in items]

    async def import_units(self, units: Sequence[UnitArchive]) -> int:
        ids = [a.item.unit.id for a in units]
        async with self._writing() as conn:
            present = set(
                (await conn.execute(select(t.units.c.id).where(t.units.c.id.in_(ids)))).scalars()
            )
            fresh = list(
                {a.item.unit.id: a for a in units if a.item.unit.id not in present}.values()
            )
            await self._insert_archives(conn, fresh)
        return len(fresh)

    async def export_users(self, after: str | None, limit: int) -> list[UserArchive]:
        stmt = select(t.users).order_by(t.users.c.username).limit(limit)
        if after is not None:
            stmt = stmt.where(t.users.c.username > after)
        async with self._reading() as conn:
            rows = (await conn.execute(stmt)).all()
        return [UserArchive(user=self._user(r), password_hash=r.password_hash) for r in rows]

    async def import_users(self, users: Sequence[UserArchive]) -> int:
        names = [u.user.username for u in users]
        async with self._writing() as conn:
            present = set(
                (
                    await conn.execute(
                        select(t.users.c.username).where(t.users.c.username.in_(names))
                    )
                ).scalars()
            )
            fresh = {u.user.username: u for u in users if u.user.username not in present}
            if fresh:
                await conn.execute(
                    insert(t.users),
                    [
                        {
                            "username": u.user.username,
                            "password_hash": u.password_hash,
                            "role": u.user.role.value,
                            "created_at": u.user.created_at,
                        }
                        for u in fresh.values()
                    ],
                )
        return len(fresh)

    async def export_keys(self, after: str | None, limit: int) -> list[KeyArchive]:
        k = t.api_keys.c
        stmt = (
            select(t.api_keys, t.users.c.username)
            .join(t.users, t.users.c.id == k.user_id)
            .order_by(k.id)
            .limit(limit)
        )
        if after is not None:
            stmt = stmt.where(k.id > after)
        async with self._reading() as conn:
            rows = (await conn.execute(stmt)).all()
        return [
            KeyArchive(key=self._key(r), username=r.username, key_hash=r.key_hash) for r in rows
        ]

    async def import_keys(self, keys: Sequence[KeyArchive]) -> int:
        """Keys whose owner is missing here are skipped (import users first)."""
        k = t.api_keys.c
        async with self._writing() as conn:
            present = set(
                (
                    await conn.execute(select(k.id).where(k.id.in_([a.key.id for a in keys])))
                ).scalars()
            )
            owner_rows = await conn.execute(
                select(t.users.c.username, t.users.c.id).where(
                    t.users.c.username.in_(sorted({a.username for a in keys}))
                )
            )
            owners = {name: user_id for name, user_id in owner_rows}
            fresh = {a.key.id: a for a in keys if a.key.id not in present and a.username in owners}
            if fresh:
                await conn.execute(
                    insert(t.api_keys),
                    [
                        {
                            "id": a.key.id,
                            "user_id": owners[a.username],
                            "name": a.key.name,
                            "labels": a.key.labels,
                            "key_prefix": a.key.prefix,
                            "key_hash": a.key_hash,
                            "ttl": a.key.ttl,
                            "expires_at": a.key.expires_at,
                            "created_at": a.key.created_at,
                            "last_used_at": a.key.last_used_at,
                            "revoked_at": a.key.revoked_at,
                        }
                        for a in fresh.values()
                    ],
                )
        return len(fresh)
