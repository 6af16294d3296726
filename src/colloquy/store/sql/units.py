"""Units: insert, fetch, ranked query, browsing, statistics, confirmations and flags."""

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

from sqlalchemy import (
    ColumnElement,
    Update,
    and_,
    bindparam,
    case,
    insert,
    select,
    true,
    tuple_,
    update,
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
    UnitArchive,
    UnitEvent,
    UnitFilter,
)
from colloquy.store.sql.counters import Counters, Tally, stats_columns, stats_from
from colloquy.store.sql.cursors import decode_cursor, encode_cursor
from colloquy.store.sql.database import Database
from colloquy.store.sql.driver_statements import fetch
from colloquy.store.sql.ranking import DomainSizes, Planner
from colloquy.store.sql.ranking.hybrid import AliasSource, HybridRanker
from colloquy.store.sql.ranking.planner import Statement
from colloquy.store.sql.ranking.word_counts import WordCounts
from colloquy.store.sql.rows import flag_values, load, prepare_flags, render
from colloquy.store.sql.throttle import Allowances
from colloquy.store.sql.unit_writes import add_event, insert_units, sync_ranking

_STATS = select(*stats_columns())

# Evidence statements, built once: building and keying a statement costs more than running it.
_u = t.units.c
_APPROVED_BY_ID = and_(_u.id == bindparam("unit_id"), _u.status == ReviewStatus.APPROVED)
_LOCK_CONFIDENCE = select(_u.confidence).where(_APPROVED_BY_ID).with_for_update()
_raised = _u.confidence + scoring.BOOST_POINTS
_lowered = _u.confidence - scoring.PENALTY_POINTS
# Each returns the whole updated row, so that the answer needs no second read.
_CONFIRM = (
    update(t.units)
    .where(_APPROVED_BY_ID)
    .values(
        confidence=case((_raised > scoring.CEILING_POINTS, scoring.CEILING_POINTS), else_=_raised),
        confirmations=_u.confirmations + 1,
        last_confirmed=bindparam("at"),
    )
    .returning(t.units)
)
_FLAG = (
    update(t.units)
    .where(_APPROVED_BY_ID)
    .values(
        confidence=case((_lowered < scoring.FLOOR_POINTS, scoring.FLOOR_POINTS), else_=_lowered),
        flag_count=_u.flag_count + 1,
    )
    .returning(t.units)
)
_INSERT_FLAG = insert(t.flags)


T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class _Refused:
    """A write job's answer when its allowance is spent: how long until there is one."""

    wait: timedelta


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
        proposed = UnitEvent(kind="proposed", actor=unit.created_by, at=created_at)
        archive = UnitArchive(item=item, events=[proposed])

        await self._write_spending(
            allowance, created_at, lambda conn: insert_units(conn, self._counters, [archive])
        )
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
        return await self._evidence(
            unit_id, _CONFIRM, {"at": at}, "confirmed", actor, at, allowance
        )

    async def flag(
        self,
        unit_id: str,
        flag: FlagInput,
        actor: str,
        at: datetime,
        allowance: Allowance | None = None,
    ) -> KnowledgeUnit | None:
        row = flag_values(unit_id, flag, actor, at)
        return await self._evidence(
            unit_id, _FLAG, {}, "flagged", actor, at, allowance, row, flag.reason.value
        )

    async def _write_spending(
        self, allowance: Allowance | None, at: datetime, job: Callable[[Connection], T]
    ) -> T:
        """``job``'s answer, its allowance spent at ``at`` first in the same write job (the
        lock order); ``AllowanceSpent`` when none is left. The refusal is returned by the job,
        not raised in it: it writes nothing and must not fail a group commit."""

        def spending(conn: Connection) -> T | _Refused:
            if allowance is not None:
                wait = self._allowances.take(conn, allowance, at)
                if wait is not None:
                    return _Refused(wait)
            return job(conn)

        answer = await self._db.write(spending)
        if isinstance(answer, _Refused):
            raise AllowanceSpent(answer.wait)
        return answer

    async def _evidence(
        self,
        unit_id: str,
        change: Update,
        values: dict[str, Any],
        kind: str,
        actor: str,
        at: datetime,
        allowance: Allowance | None,
        flag_row: dict[str, Any] | None = None,
        note: str | None = None,
    ) -> KnowledgeUnit | None:
        def job(conn: Connection) -> KnowledgeUnit | None:
            # The old value, under the row lock, moves the unit between confidence counters.
            before = conn.execute(_LOCK_CONFIDENCE, {"unit_id": unit_id}).scalar_one_or_none()
            if before is None:
                return None
            updated = conn.execute(change, {"unit_id": unit_id, **values}).one()
            # In the lock order: the unit (above), its unit_domains, flag and event, counters.
            moved = updated.confidence != before
            if moved:
                sync_ranking(
                    conn, unit_id, ReviewStatus.APPROVED, updated.confidence, updated.domain_count
                )
            if flag_row is not None:
                conn.execute(_INSERT_FLAG, flag_row)
            add_event(conn, unit_id, kind, actor, at, note)
            if moved:
                shift = {f"confidence:{before}": -1, f"confidence:{updated.confidence}": 1}
                self._counters.add(conn, Tally(units=Counter(shift)))
            (item,) = render(conn, [updated])
            return item.unit

        return await self._write_spending(allowance, at, job)
