"""Units: insert, fetch, ranked query, browsing, statistics, confirmations and flags."""

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import TypeVar

from sqlalchemy import (
    ColumnElement,
    and_,
    select,
    true,
    tuple_,
)
from sqlalchemy.engine import Connection

from colloquy.domain import scoring
from colloquy.domain.models import (
    Evidence,
    KnowledgeUnit,
    ReviewStatus,
)
from colloquy.store import tables as t
from colloquy.store.protocol import (
    Allowance,
    AllowanceSpent,
    FlagInput,
    InvalidCursor,
    KnowledgeStats,
    NewUnit,
    Page,
    QuerySpec,
    RankedUnit,
    Ranking,
    ReviewItem,
    UnitFilter,
)
from colloquy.store.sql.counters import Counters, stats_columns, stats_from
from colloquy.store.sql.cursors import decode_cursor, encode_cursor
from colloquy.store.sql.database import Database
from colloquy.store.sql.driver_statements import fetch
from colloquy.store.sql.evidence import CONFIRMATION, FLAG, EvidenceWrites, NewEvidence
from colloquy.store.sql.proposals import ProposalWrites
from colloquy.store.sql.ranking import DomainSizes, Planner
from colloquy.store.sql.ranking.hybrid import AliasSource, HybridRanker
from colloquy.store.sql.ranking.planner import Statement
from colloquy.store.sql.ranking.word_counts import WordCounts
from colloquy.store.sql.rows import load, prepare_flags, render
from colloquy.store.sql.throttle import Allowances, Refused

_STATS = select(*stats_columns())

T = TypeVar("T")


class UnitRepository:
    """Units: proposals, reads, the ranked query, browsing, statistics, and evidence."""

    def __init__(
        self,
        db: Database,
        counters: Counters,
        planner: Planner,
        domain_sizes: DomainSizes,
        hybrid: HybridRanker,
        aliases: AliasSource,
    ) -> None:
        """``planner`` reads cq-ranked queries, ordering their bounds by ``domain_sizes``;
        ``hybrid`` reads hybrid-ranked ones, with the alias table ``aliases`` gives."""
        self._db = db
        self._counters = counters
        self._planner = planner
        self._domain_sizes = domain_sizes
        self._hybrid = hybrid
        self._aliases = aliases
        self._search = db.dialect.text_search
        self._allowances = Allowances(db.dialect.upsert)
        self._evidence = EvidenceWrites(db.dialect, counters, self._allowances)
        self._proposals = ProposalWrites(db.dialect, counters, self._allowances)
        self.word_counts = WordCounts(self._search, hybrid.word_cap)
        """Shared with the neighbours' searches (``sql.neighbours``)."""

    async def insert_unit(self, unit: NewUnit, allowance: Allowance | None = None) -> KnowledgeUnit:
        created_at = unit.created_at.astimezone(UTC)
        item = ReviewItem(
            unit=KnowledgeUnit(
                id=unit.id,
                domains=unit.domains,
                insight=unit.insight,
                context=unit.context,
                evidence=Evidence(
                    confidence=scoring.from_points(scoring.INITIAL_POINTS),
                    confirmations=1,
                    first_observed=created_at,
                    last_confirmed=created_at,
                ),
                created_by=unit.created_by,
                extensions=unit.extensions,
            ),
            status=ReviewStatus.PENDING,
            reviewed_by=None,
            reviewed_at=None,
        )
        _allowed(await self._db.write(self._proposals.job(item, allowance)))
        # Stored exactly as built (the conformance suite reads it back to prove it).
        return item.unit

    async def get_unit(self, unit_id: str) -> ReviewItem | None:
        return await self._db.read(lambda conn: load(conn, t.units.c.id == unit_id))

    async def get_approved(self, unit_id: str) -> KnowledgeUnit | None:
        item = await self._db.read(
            lambda conn: load(
                conn, and_(t.units.c.id == unit_id, t.units.c.status == ReviewStatus.APPROVED)
            )
        )
        return item.unit if item else None

    async def query(self, spec: QuerySpec) -> list[KnowledgeUnit]:
        return [ranked.unit for ranked in await self.ranked(spec)]

    async def ranked(self, spec: QuerySpec) -> list[RankedUnit]:
        """Rank in SQL, reading only units that can make the top ``limit`` (store/sql/ranking)."""

        def read(conn: Connection) -> list[RankedUnit]:
            sizes = self._domain_sizes.read(conn)
            if spec.ranking is Ranking.HYBRID:
                rows = self._hybrid.rows(
                    conn,
                    spec,
                    self._aliases(conn),
                    self._planner,
                    sizes,
                    self._search,
                    self.word_counts,
                )
            else:
                rows = self._planner.rows(conn, spec, sizes)
            items = render(conn, rows)
            return [RankedUnit(i.unit, r.score) for i, r in zip(items, rows, strict=True)]

        return await self._db.read(read)

    async def prepare_queries(self, ranking: Ranking) -> None:
        """Compile and prepare the statements of the common query shapes of ``ranking``, one
        shape at a time, on every pooled read connection, and rendering's reads of flags.

        Each shape costs tens of milliseconds the first time a process compiles it
        (``driver_statements``), and each connection prepares each statement once; done
        ahead, the first agents to ask do not wait for either. A shape at a time, as the
        server is already answering: a query waits for one shape's hand-off at most.
        """
        # cq ranking renders the planner's rows; hybrid ranking takes only their ids.
        shapes = self._planner.prepared(units=ranking is Ranking.CQ)
        for index, statements in enumerate(shapes):

            def prepare(
                conn: Connection, statements: list[Statement] = statements, flags: bool = not index
            ) -> None:
                for statement, params in statements:
                    fetch(conn, statement, params)
                if flags:  # with the first shape: one unit's flags, and several units'
                    prepare_flags(conn)

            await self._db.each_reader(prepare)

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
                        t.unit_domains.c.domain == filters.domain, t.unit_domains.c.feature == ""
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
            conditions.append(self._db.dialect.text_match(filters.text.strip()))
        if cursor is not None:
            parts = decode_cursor(cursor, 2)
            if parts is None:
                raise InvalidCursor(cursor)
            try:
                after = datetime.fromisoformat(parts[0])
            except ValueError as exc:
                raise InvalidCursor(cursor) from exc
            if after.tzinfo is None:  # issued cursors are UTC; a naive time fails in the driver
                raise InvalidCursor(cursor)
            conditions.append(tuple_(u.created_at, u.id) < tuple_(after, parts[1]))
        stmt = (
            select(t.units)
            .where(true(), *conditions)
            .order_by(u.created_at.desc(), u.id.desc())
            .limit(limit + 1)
        )

        def read(conn: Connection) -> Page[ReviewItem]:
            rows = conn.execute(stmt).all()
            items = render(conn, rows[:limit])
            next_cursor = None
            if len(rows) > limit and items:
                last = items[-1].unit
                next_cursor = encode_cursor(last.evidence.first_observed.isoformat(), last.id)
            return Page(items=items, next_cursor=next_cursor)

        return await self._db.read(read)

    async def stats(self, bucket_edges: Sequence[int]) -> KnowledgeStats:
        return await self._db.read(
            lambda conn: stats_from(conn.execute(_STATS).one(), bucket_edges)
        )

    # ------------------------------------------------------------ evidence

    async def confirm(
        self, unit_id: str, actor: str, at: datetime, allowance: Allowance | None = None
    ) -> KnowledgeUnit | None:
        job = self._evidence.job(NewEvidence(CONFIRMATION, unit_id, actor, at, allowance))
        return _allowed(await self._db.write(job))

    async def flag(
        self,
        unit_id: str,
        flag: FlagInput,
        actor: str,
        at: datetime,
        allowance: Allowance | None = None,
    ) -> KnowledgeUnit | None:
        job = self._evidence.job(NewEvidence(FLAG, unit_id, actor, at, allowance, flag))
        return _allowed(await self._db.write(job))


def _allowed(answer: T | Refused) -> T:
    """A write job's answer; ``AllowanceSpent`` when it was refused for its allowance."""
    if isinstance(answer, Refused):
        raise AllowanceSpent(answer.wait)
    return answer
