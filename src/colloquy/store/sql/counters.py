"""The kept counters: what each write adds to them (a ``Tally``, added last in its transaction)
and what the statistics make of them, so that the statistics cost the same at any size.

``unit_counts`` holds one counter per key (``status:<status>`` for every unit; ``tier:<tier>``
and ``confidence:<points>`` for approved ones), ``daily_counts`` the proposals and decisions
per day, ``domain_counts`` the approved units per domain. The first two are spread over shards
(``Dialect.counter_shards``) that reads sum; see ``database`` for why counters come last.
"""

import operator
import random
from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Insert,
    Label,
    Row,
    Select,
    SmallInteger,
    bindparam,
    func,
    literal,
    select,
    union_all,
)
from sqlalchemy.engine import Connection

from colloquy.domain.models import ReviewStatus, Tier
from colloquy.store import tables as t
from colloquy.store.dialect import JsonObjectAgg
from colloquy.store.protocol import KnowledgeStats
from colloquy.store.sql.dialects import Dialect
from colloquy.store.sql.driver_statements import execute

# Domains listed by the statistics, most used first.
STATS_DOMAIN_LIMIT = 500
# The columns of a ``daily_counts`` row, one per kind of event counted.
DAY_COLUMNS = ("proposed", "approved", "rejected")


@dataclass
class Tally:
    """What one write transaction adds to the kept counters (``Counters.add``)."""

    units: Counter[str] = field(default_factory=Counter)
    domains: Counter[str] = field(default_factory=Counter)
    days: Counter[tuple[date, str]] = field(default_factory=Counter)


def utc_day(at: datetime) -> date:
    return at.astimezone(UTC).date()


def approved_keys(tier: Tier, points: int) -> list[str]:
    """The counters an approved unit adds to."""
    return [f"tier:{tier.value}", f"confidence:{points}"]


# Where a write transaction keeps what its jobs add until it ends (``conn.info``).
_PENDING = "colloquy.pending_tally"


class Counters:
    """Adds tallies to the counters with the dialect's upsert, each into one shard.

    Jobs ``add`` to their transaction's pending tally, which ``Database`` writes as the
    transaction ends (``pending``): a group of jobs (``group_commit``) then writes one statement
    per counter table, not one per job, and the counters still come last in the lock order.
    Nothing reads a counter inside a write, so deferring the sum changes no answer."""

    def __init__(self, dialect: Dialect) -> None:
        self._dialect = dialect
        self._shards = dialect.counter_shards
        # Built once, one fixed statement per table run with a list of rows: building an
        # upsert and compiling it anew for each write cost more than running it.
        self._units = _adding(dialect, t.unit_counts, ("key", "shard"), ("n",))
        self._days = _adding(dialect, t.daily_counts, ("day", "shard"), DAY_COLUMNS)
        self._domains = _adding(dialect, t.domain_counts, ("domain",), ("approved",))

    def unit_counts_adding(
        self,
        shifts: Sequence[tuple[ColumnElement[str], int]],
        where: ColumnElement[bool] | None = None,
    ) -> Insert:
        """The ``unit_counts`` upsert adding each ``(key, n)`` of ``shifts`` (where ``where``
        holds), into the shard of the ``shard`` parameter (``shard()``): for a statement that
        adds to the counters itself rather than through ``add``. The keys are taken in the
        order ``_write`` takes them (code points: collation "C"), the lock order."""
        shard = bindparam("shard", type_=SmallInteger)
        parts = [
            select(key.label("key"), shard.label("shard"), literal(n, BigInteger).label("n"))
            for key, n in shifts
        ]
        if where is not None:
            parts = [part.where(where) for part in parts]
        rows = union_all(*parts).subquery("shifts")
        ordered = select(rows.c.key, rows.c.shard, rows.c.n).order_by(rows.c.key.collate("C"))
        return _adding(self._dialect, t.unit_counts, ("key", "shard"), ("n",), ordered)

    def daily_counts_from(self, rows: Select[Any]) -> Insert:
        """The ``daily_counts`` upsert of ``rows`` (day, shard, and ``DAY_COLUMNS``), as
        ``unit_counts_adding`` is for ``unit_counts``."""
        return _adding(self._dialect, t.daily_counts, ("day", "shard"), DAY_COLUMNS, rows)

    def shard(self) -> int:
        """The shard a transaction adds to, picked at random."""
        return random.randrange(self._shards)  # noqa: S311 (spreads load; no secret)

    @staticmethod
    def add(conn: Connection, tally: Tally) -> None:
        """Add ``tally`` to what ``conn``'s write transaction adds to the counters."""
        pending: Tally = conn.info[_PENDING]
        pending.units.update(tally.units)
        pending.domains.update(tally.domains)
        pending.days.update(tally.days)

    @contextmanager
    def pending(self, conn: Connection) -> Iterator[None]:
        """Collect what the transaction's jobs ``add``; write it if the body ends normally."""
        tally = conn.info[_PENDING] = Tally()
        try:
            yield
            self._write(conn, tally)
        finally:
            del conn.info[_PENDING]

    def _write(self, conn: Connection, tally: Tally) -> None:
        """Add ``tally`` to the kept counters: last in the transaction, in the lock order
        (``database``), into one shard picked at random."""
        shard = self.shard()
        units = [{"key": k, "shard": shard, "n": n} for k, n in sorted(tally.units.items()) if n]
        if units:
            execute(conn, self._units, units)
        per_day: dict[date, dict[str, Any]] = {}
        for (day, column), n in sorted(tally.days.items()):
            if n:
                row = per_day.setdefault(
                    day, {"day": day, "shard": shard, **dict.fromkeys(DAY_COLUMNS, 0)}
                )
                row[column] += n
        if per_day:
            execute(conn, self._days, list(per_day.values()))
        domains = [{"domain": k, "approved": n} for k, n in sorted(tally.domains.items()) if n]
        if domains:
            execute(conn, self._domains, domains)


def _adding(
    dialect: Dialect,
    table: t.Table,
    keys: Sequence[str],
    columns: Sequence[str],
    rows: Select[Any] | None = None,
) -> Insert:
    """The upsert that inserts a row, or adds its ``columns`` to the row already there; run
    with several rows (or from ``rows``), it takes them in their order (the lock order)."""
    stmt = dialect.upsert(table)
    if rows is not None:
        stmt = stmt.from_select([*keys, *columns], rows)
    return stmt.on_conflict_do_update(
        index_elements=list(keys),
        set_={column: table.c[column] + stmt.excluded[column] for column in columns},
    )


def read_counter(conn: Connection, key: str) -> int:
    """One kept counter: the sum of its shards."""
    c = t.unit_counts.c
    result = conn.execute(select(func.coalesce(func.sum(c.n), 0)).where(c.key == key))
    return int(result.scalar_one())


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
