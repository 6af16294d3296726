"""The shared part of the SQL store: engines, transactions, rendering rows into records, and
the bookkeeping (events, kept aggregates, ranking columns) that every write does.

Each store method is one transaction (on SQLite, writes that queue for the one writer share
one: ``group_commit``), run again whole if it loses a lock race (``retry``). Counters, status
transitions and caps are conditional statements done by the database
(``UPDATE ... WHERE status = 'pending' RETURNING``), never read-modify-write in Python.
Backends supply the engines, how a write transaction is opened, the dialect's INSERT (for
``ON CONFLICT``), which errors are lost lock races, and how many shards the counters have.

Lock order: every write transaction takes its locks in this one order, so that no two of them
ever wait for each other in a cycle (a deadlock):

1. the ``units`` row it changes (``UPDATE`` or ``SELECT ... FOR UPDATE``), or the rows it
   inserts; a transaction changes one existing unit at most;
2. that unit's ``unit_domains`` rows;
3. its ``flags`` and ``events`` rows (inserts; their foreign keys share the lock of step 1);
4. the kept counters, last, in ``SqlBase._bookkeep``: ``unit_counts`` by (key, shard), then
   ``daily_counts`` by (day, shard), then ``domain_counts`` by domain, each in sorted order.

The counters come last because many writers add to the same few of them: a lock taken just
before the commit is held the shortest. Each write adds to one shard of ``unit_counts`` and
``daily_counts``, picked at random (tables.py), so writers seldom share one of those rows.
``domain_counts`` is not sharded (the statistics read its largest rows from an index), so an
approval in a popular domain still waits for the one before it: it comes last of all.
"""

import base64
import binascii
import json
import operator
import random
from collections import Counter
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Label,
    Row,
    bindparam,
    func,
    insert,
    select,
    update,
)
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from colloquy.domain import scoring
from colloquy.domain.bounds import text_problem
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
from colloquy.store import tables as t
from colloquy.store.dialect import JsonObjectAgg
from colloquy.store.protocol import (
    ApiKeyRecord,
    KnowledgeStats,
    ReviewItem,
    UnitArchive,
    UserRecord,
)
from colloquy.store.sql.faults import translated
from colloquy.store.sql.group_commit import GroupCommit, Job, T
from colloquy.store.sql.ranking import ranking_rows
from colloquy.store.sql.retry import retried

InsertFactory = Callable[[t.Table], Any]
# Domains listed by the statistics, most used first.
STATS_DOMAIN_LIMIT = 500


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
    if not all(isinstance(p, str) and text_problem(p) is None for p in parts):
        return None
    return parts


def utc_day(at: datetime) -> date:
    return at.astimezone(UTC).date()


# The columns of a ``daily_counts`` row, one per kind of event counted.
DAY_COLUMNS = ("proposed", "approved", "rejected")


@dataclass
class Tally:
    """What one write transaction adds to the kept counters (``SqlBase._bookkeep``)."""

    units: Counter[str] = field(default_factory=Counter)
    domains: Counter[str] = field(default_factory=Counter)
    days: Counter[tuple[date, str]] = field(default_factory=Counter)


def approved_keys(tier: Tier, points: int) -> list[str]:
    """The counters an approved unit adds to."""
    return [f"tier:{tier.value}", f"confidence:{points}"]


def ranking_columns(status: ReviewStatus, points: int, domain_count: int) -> dict[str, Any]:
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


# Statements every write runs, built once.
_INSERT_EVENT = insert(t.events)
_SYNC_RANKING = (
    update(t.unit_domains)
    .where(t.unit_domains.c.unit_id == bindparam("ranked_unit"))
    .values(confidence=bindparam("points"), rank=bindparam("new_rank"))
)


def stats_columns() -> list[Label[Any]]:
    """Every kept counter and the most used domains, as two JSON objects (see ``stats_from``)."""
    c, d = t.unit_counts.c, t.domain_counts.c
    counters = select(c.key, func.sum(c.n).label("n")).group_by(c.key).subquery()
    top_domains = (
        select(d.domain, d.approved)
        .where(d.approved > 0)
        .order_by(d.approved.desc(), d.domain.desc())
        .limit(STATS_DOMAIN_LIMIT)
        .subquery()
    )
    return [
        select(JsonObjectAgg(counters.c.key, counters.c.n)).scalar_subquery().label("counters"),
        select(JsonObjectAgg(top_domains.c.domain, top_domains.c.approved))
        .scalar_subquery()
        .label("domains"),
    ]


_count_then_name = operator.itemgetter(1, 0)


def stats_from(row: Row[Any], bucket_edges: Sequence[int]) -> KnowledgeStats:
    """The statistics from a row holding ``stats_columns()``."""
    edges = sorted(bucket_edges)
    counts: dict[str, int] = row.counters or {}
    # Most used first, ties by name descending: the order the dashboard lists them in.
    domain_counts = dict(sorted((row.domains or {}).items(), key=_count_then_name, reverse=True))
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
    by_status = {status: counts.get(f"status:{status.value}", 0) for status in ReviewStatus}
    return KnowledgeStats(
        total_count=sum(by_status.values()),
        status_counts=by_status,
        tier_counts=tiers,
        domain_counts=domain_counts,
        confidence_points=buckets,
    )


class SqlBase:
    """Engines, transactions and the helpers that every part of the store shares."""

    def __init__(
        self,
        write_engine: AsyncEngine,
        read_engine: AsyncEngine,
        insert_factory: InsertFactory,
        one_writer: bool = False,
        counter_shards: int = 1,
    ) -> None:
        """``one_writer``: the backend runs one write transaction at a time (SQLite), so
        concurrent writes are grouped into one transaction (``group_commit``).
        ``counter_shards``: the shards that writes spread the hot counters over."""
        self._write_engine = write_engine
        self._read_engine = read_engine
        self._upsert = insert_factory
        self._shards = counter_shards
        self._group = GroupCommit(self._writing, self._transient) if one_writer else None

    async def close(self) -> None:
        if self._group is not None:
            await self._group.close()
        await self._write_engine.dispose()
        if self._read_engine is not self._write_engine:
            await self._read_engine.dispose()

    # Every connection is taken here, so driver faults become store faults here (``faults``).
    @asynccontextmanager
    async def _reading(self) -> AsyncIterator[AsyncConnection]:
        async with translated(), self._read_engine.connect() as conn:
            yield conn

    @asynccontextmanager
    async def _writing(self) -> AsyncIterator[AsyncConnection]:
        async with translated(), self._write_engine.begin() as conn:
            yield conn

    async def _write(self, job: Job[T]) -> T:
        """``job`` run in a write transaction, grouped with others where writes are serial,
        and run again in a fresh one if it loses a lock race (so ``job`` must be re-runnable:
        everything it does goes through ``conn``)."""
        group = self._group
        if group is not None:
            return await retried(lambda: group.run(job), self._transient)

        async def alone() -> T:
            async with self._writing() as conn:
                return await job(conn)

        return await retried(alone, self._transient)

    def _transient(self, error: BaseException) -> bool:
        """Whether ``error`` is a lost lock race (a deadlock, a serialisation failure, a busy
        database) that the same transaction, run again, is expected to get past."""
        return False

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
        values = {"unit_id": unit_id, "kind": kind, "actor": actor, "at": at, "note": note}
        await conn.execute(_INSERT_EVENT, values)

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
        columns = ranking_columns(status, points, domain_count)
        values = {
            "ranked_unit": unit_id,
            "points": columns["confidence"],
            "new_rank": columns["rank"],
        }
        await conn.execute(_SYNC_RANKING, values)

    async def _bookkeep(self, conn: AsyncConnection, tally: Tally) -> None:
        """Add ``tally`` to the kept counters: last in the transaction, in the lock order
        (module docstring), into one shard picked at random."""
        shard = random.randrange(self._shards)  # noqa: S311 (spreads load; no secret)
        units = [{"key": k, "shard": shard, "n": n} for k, n in sorted(tally.units.items()) if n]
        await self._add(conn, t.unit_counts, units, ("key", "shard"), ("n",))
        per_day: dict[date, dict[str, Any]] = {}
        for (day, column), n in sorted(tally.days.items()):
            row = per_day.setdefault(
                day, {"day": day, "shard": shard, **dict.fromkeys(DAY_COLUMNS, 0)}
            )
            row[column] += n
        await self._add(conn, t.daily_counts, list(per_day.values()), ("day", "shard"), DAY_COLUMNS)
        domains = [{"domain": k, "approved": n} for k, n in sorted(tally.domains.items()) if n]
        await self._add(conn, t.domain_counts, domains, ("domain",), ("approved",))

    async def _add(
        self,
        conn: AsyncConnection,
        table: t.Table,
        rows: list[dict[str, Any]],
        keys: Sequence[str],
        columns: Sequence[str],
    ) -> None:
        """Insert ``rows``, or add their ``columns`` to the rows already there, in their order."""
        if not rows:
            return
        stmt = self._upsert(table).values(rows)
        stmt = stmt.on_conflict_do_update(
            index_elements=list(keys),
            set_={column: table.c[column] + stmt.excluded[column] for column in columns},
        )
        await conn.execute(stmt)

    async def _insert_archives(
        self, conn: AsyncConnection, archives: Sequence[UnitArchive]
    ) -> None:
        """Insert units with their tags, flags and events, and count them per day."""
        rows: dict[t.Table, list[dict[str, Any]]] = {
            table: []
            for table in (
                t.units,
                t.unit_domains,
                t.flags,
                t.events,
            )
        }
        tally = Tally()
        for archive in archives:
            item, unit = archive.item, archive.item.unit
            tally.units[f"status:{item.status.value}"] += 1
            if item.status is ReviewStatus.APPROVED:
                points = scoring.to_points(unit.evidence.confidence)
                tally.units.update(approved_keys(unit.tier, points))
                tally.domains.update(unit.domains)
            rows[t.units].append(_unit_values(item))
            columns = ranking_columns(
                item.status, scoring.to_points(unit.evidence.confidence), len(unit.domains)
            )
            rows[t.unit_domains] += [
                {"unit_id": unit.id, **row, **columns}
                for row in ranking_rows(
                    unit.domains,
                    unit.context.languages,
                    unit.context.frameworks,
                    normalize_pattern(unit.context.pattern),
                )
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
            tally.days[(utc_day(unit.evidence.first_observed), "proposed")] += 1
            if item.reviewed_at is not None and item.status is not ReviewStatus.PENDING:
                tally.days[(utc_day(item.reviewed_at), item.status.value)] += 1
        # In the lock order: units, unit_domains, flags, events, then the counters.
        for table, values in rows.items():
            if values:
                await conn.execute(insert(table), values)
        await self._bookkeep(conn, tally)

    async def _counter(self, conn: AsyncConnection, key: str) -> int:
        """One kept counter: the sum of its shards."""
        c = t.unit_counts.c
        total = await conn.execute(select(func.coalesce(func.sum(c.n), 0)).where(c.key == key))
        return int(total.scalar_one())

    @staticmethod
    def _user(row: Row[Any]) -> UserRecord:
        return UserRecord(
            id=row.id, username=row.username, role=Role(row.role), created_at=row.created_at
        )

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
