"""A proposal: a new pending unit, the write job in the dialect's form.

The steps, in the lock order (``database``): the key's write allowance spent; the ``units``
row inserted; its ``unit_domains`` rows and its ``proposed`` event; the counters it adds to
(``status:pending``, then the day's proposals), last. The answer is the unit as built: nothing
is read back.

SQLite runs the steps one statement each on the driver's cursor (``unit_writes.insert_units``,
``driver_statements``; no round trips there).
PostgreSQL runs them as one statement of data-modifying CTEs (``Dialect.one_statement_writes``),
as ``evidence`` does and for the reasons its docstring gives: a proposal costs three round trips
(``BEGIN``, the statement, ``COMMIT``) instead of eight. Each step reads the rows of the one
before it, so the locks are taken in the lock order: the unit is inserted only if ``spent``
returned a row (the allowance's ``throttles`` row is then held); its ranking rows, its event and
the ``unit_counts`` row are written from ``inserted``'s row; the ``daily_counts`` row from the
``unit_counts`` row ``counted`` returned, so after it, in the order ``Counters`` takes them.
The statement has one shape whatever the unit's domains and tags, its ranking rows' keys being
two arrays unnested together, so it is compiled once and prepared once per connection.
"""

from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy import (
    ARRAY,
    Insert,
    Select,
    String,
    bindparam,
    func,
    insert,
    literal,
    null,
    select,
    true,
)
from sqlalchemy.engine import Connection

from colloquy.domain import scoring
from colloquy.domain.normalize import normalize_pattern
from colloquy.store import tables as t
from colloquy.store.protocol import Allowance, ReviewItem, UnitArchive, UnitEvent
from colloquy.store.sql.counters import DAY_COLUMNS, Counters, utc_day
from colloquy.store.sql.dialects import Dialect
from colloquy.store.sql.ranking import ranking_keys, ranking_payload
from colloquy.store.sql.rows import unit_values
from colloquy.store.sql.throttle import Allowances, Refused
from colloquy.store.sql.unit_writes import event_from, insert_units, ranking_columns

# The ``unit_domains`` columns that are the same on every ranking row of a unit.
_RANKING_PAYLOAD = [c for c in t.unit_domains.c if c.name not in {"unit_id", "domain", "feature"}]


def _one_statement(spend: Insert | None, counters: Counters) -> Select[Any]:
    """The whole proposal as one statement of CTEs (see the module docstring), answering the
    new unit's id; with ``spend``, the allowance's upsert, no row when the allowance is spent
    (and nothing written). Parameters: ``new_<column>`` for each ``units`` column,
    ``ranked_domains`` and ``ranked_features`` (one element per ranking row),
    ``ranked_<column>`` for the rest of a ranking row, ``day`` and ``shard``."""
    # Not the column's own name: an INSERT takes a parameter named as a column as its value.
    new = select(*(bindparam(f"new_{c.name}", type_=c.type) for c in t.units.c))
    if spend is not None:
        spent = spend.cte("spent")
        new = new.where(select(spent.c.until_us).exists())
    u = t.units.c
    inserted = (
        insert(t.units)
        .from_select([c.name for c in t.units.c], new)
        .returning(u.id, u.status, u.created_by, u.created_at)
        .cte("inserted")
    )
    d = t.unit_domains.c
    keys = (
        func.unnest(
            bindparam("ranked_domains", type_=ARRAY(d.domain.type)),
            bindparam("ranked_features", type_=ARRAY(d.feature.type)),
        )
        .table_valued("domain", "feature")
        .render_derived("keys")
    )
    ranked = (
        insert(t.unit_domains)
        .from_select(
            ["unit_id", "domain", "feature", *(c.name for c in _RANKING_PAYLOAD)],
            select(
                inserted.c.id,
                keys.c.domain,
                keys.c.feature,
                *(bindparam(f"ranked_{c.name}", type_=c.type) for c in _RANKING_PAYLOAD),
            ).select_from(inserted.join(keys, true())),
        )
        .cte("ranked")
    )
    event = event_from(
        inserted.c.id,
        literal("proposed", String),
        inserted.c.created_by,
        inserted.c.created_at,
        null(),
    ).cte("event")
    counted = (
        counters.unit_counts_adding([(literal("status:", String) + inserted.c.status, 1)])
        .returning(t.unit_counts.c.shard)
        .cte("counted")
    )
    proposed = (literal(1 if column == "proposed" else 0) for column in DAY_COLUMNS)
    dated = counters.daily_counts_from(
        select(bindparam("day", type_=t.daily_counts.c.day.type), counted.c.shard, *proposed)
    ).cte("dated")
    return select(inserted.c.id).add_cte(ranked, event, dated)


# A write job's answer: None once written, or a refusal when the allowance is spent.
ProposalJob = Callable[[Connection], Refused | None]


class ProposalWrites:
    """Builds proposal write jobs in the dialect's form; statements built once."""

    def __init__(self, dialect: Dialect, counters: Counters, allowances: Allowances) -> None:
        self._counters = counters
        self._allowances = allowances
        self._one_statement: dict[bool, Select[Any]] | None = None
        if dialect.one_statement_writes:
            self._one_statement = {
                spends: _one_statement(allowances.statement if spends else None, counters)
                for spends in (False, True)
            }

    def job(self, item: ReviewItem, allowance: Allowance | None) -> ProposalJob:
        """The write of ``item``, a pending unit, with its ``proposed`` event, spending
        ``allowance`` first, at the time the unit was proposed."""
        at = item.unit.evidence.first_observed
        if self._one_statement is None:
            return self._stepwise(item, allowance, at)
        statement = self._one_statement[allowance is not None]
        params = _params(item) | {"shard": self._counters.shard()}
        spend = self._allowances.values(allowance, at) if allowance is not None else {}

        def one_statement(conn: Connection) -> Refused | None:
            if conn.execute(statement, params | spend).first() is not None:
                return None
            return Refused(self._allowances.wait(conn, spend))

        return one_statement

    def _stepwise(self, item: ReviewItem, allowance: Allowance | None, at: datetime) -> ProposalJob:
        unit = item.unit
        proposed = UnitEvent(kind="proposed", actor=unit.created_by, at=at)
        archive = UnitArchive(item=item, events=[proposed])

        def stepwise(conn: Connection) -> Refused | None:
            if allowance is not None:
                wait = self._allowances.take(conn, allowance, at)
                if wait is not None:
                    return Refused(wait)
            insert_units(conn, self._counters, [archive])
            return None

        return stepwise


def _params(item: ReviewItem) -> dict[str, Any]:
    """The parameters of the one statement (``_one_statement``) for ``item``."""
    unit = item.unit
    tags = (
        unit.domains,
        unit.context.languages,
        unit.context.frameworks,
        normalize_pattern(unit.context.pattern),
    )
    points = scoring.to_points(unit.evidence.confidence)
    ranked = ranking_payload(*tags) | ranking_columns(item.status, points, len(unit.domains))
    keys = ranking_keys(*tags)
    return (
        {f"new_{name}": value for name, value in unit_values(item).items()}
        | {f"ranked_{c.name}": ranked[c.name] for c in _RANKING_PAYLOAD}
        | {
            "ranked_domains": [domain for domain, _ in keys],
            "ranked_features": [feature for _, feature in keys],
            "day": utc_day(unit.evidence.first_observed),
        }
    )
