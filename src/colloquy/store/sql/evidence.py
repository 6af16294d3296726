"""Evidence on an approved unit, a confirmation or a flag: the write job, in the dialect's form.

The steps, in the lock order (``database``): the key's write allowance spent; the unit's row
locked (its confidence before) and changed; its ``unit_domains`` rows when its confidence
moved; the flag, if any, and the event; the confidence counters it moves the unit between,
last; then the answer rendered (which reads the unit's flags after the lock, so it holds
every flag that ``flag_count`` counts: a flagged unit's answer costs one more statement).

SQLite runs the steps one statement each, on the driver's cursor (``driver_statements``): a
statement is a call into the library, no round trip, and the counters are added by
``Counters`` once for a whole group commit. PostgreSQL
runs them as one statement (``Dialect.one_statement_writes``), each step a data-modifying CTE
fed by the one before it: a confirmation costs three round trips (``BEGIN``, this statement,
``COMMIT``) instead of eight, and each statement saved spares the client its execution in
SQLAlchemy and asyncpg and a socket write and read. Why the locks are still taken in the lock
order, although PostgreSQL runs a statement's CTEs in an order of its own choosing: a step
reads the rows of the one before it, and a row is locked only once it is produced, so

- the unit's row is locked (``before``, ``FOR UPDATE``) only if ``spent`` returned a row: the
  allowance's upsert has then run, holding its ``throttles`` row;
- the unit is changed only as ``before`` hands its locked row over (``updated``); under READ
  COMMITTED the lock waits for a writer before it, then reads the row as that writer left it,
  and the change is applied to that latest row, so ``confidence_before`` is the value changed;
- its ``unit_domains`` rows, the flag, the event and the counters are written from
  ``updated``'s row, after it. The first three are this unit's rows, which every writer
  reaches through the unit's row lock, so whether they come before or after the counters
  closes no cycle; the counters' rows, which writers share, are the last that others contend
  for, taken in the order every writer takes them (``Counters``: by key, in code points).
"""

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    Float,
    Insert,
    Select,
    String,
    Text,
    Update,
    and_,
    bindparam,
    case,
    cast,
    insert,
    literal,
    select,
    true,
    update,
)
from sqlalchemy.engine import Connection

from colloquy.domain import scoring
from colloquy.domain.models import KnowledgeUnit, ReviewStatus
from colloquy.store import tables as t
from colloquy.store.protocol import Allowance, FlagInput
from colloquy.store.sql.counters import Counters, Tally
from colloquy.store.sql.dialects import Dialect
from colloquy.store.sql.driver_statements import execute, fetch
from colloquy.store.sql.rows import flag_values, render
from colloquy.store.sql.throttle import Allowances, Refused
from colloquy.store.sql.unit_writes import add_event, event_from, sync_ranking

_u = t.units.c
_APPROVED_BY_ID = and_(_u.id == bindparam("unit_id"), _u.status == ReviewStatus.APPROVED)
_raised = _u.confidence + scoring.BOOST_POINTS
_lowered = _u.confidence - scoring.PENALTY_POINTS
_CONFIRMED = {
    "confidence": case((_raised > scoring.CEILING_POINTS, scoring.CEILING_POINTS), else_=_raised),
    "confirmations": _u.confirmations + 1,
    "last_confirmed": bindparam("at", type_=_u.last_confirmed.type),
}
_FLAGGED = {
    "confidence": case((_lowered < scoring.FLOOR_POINTS, scoring.FLOOR_POINTS), else_=_lowered),
    "flag_count": _u.flag_count + 1,
}

# Step by step: the old value under the row lock, then the change, returning the whole row so
# that the answer needs no second read.
_LOCK_CONFIDENCE = select(_u.confidence).where(_APPROVED_BY_ID).with_for_update()
_CONFIRM = update(t.units).where(_APPROVED_BY_ID).values(_CONFIRMED).returning(t.units)
_FLAG = update(t.units).where(_APPROVED_BY_ID).values(_FLAGGED).returning(t.units)
_INSERT_FLAG = insert(t.flags)


def _typed(name: str, column: Any) -> Any:
    return bindparam(name, type_=column.type)


def _one_statement(
    values: dict[str, Any], kind: str, flagged: bool, spend: Insert | None, counters: Counters
) -> Select[Any]:
    """The whole write as one statement of CTEs (see the module docstring), answering the
    changed ``units`` row with ``confidence_before``; with ``spend``, the allowance's upsert,
    it answers no row when the allowance is spent, else ``until_us`` and the row (all None
    when there is no such approved unit)."""
    # Not ``unit_id``: an UPDATE takes a parameter named as one of its columns as a value to set.
    approved = and_(_u.id == bindparam("evidence_unit"), _u.status == ReviewStatus.APPROVED)
    lock = select(_u.id, _u.confidence.label("confidence_before")).where(approved)
    spent = None
    if spend is not None:
        spent = spend.cte("spent")
        lock = lock.where(select(spent.c.until_us).exists())
    before = lock.with_for_update().cte("before")
    updated = (
        update(t.units)
        .where(_u.id == before.c.id)
        .values(values)
        .returning(*t.units.c, before.c.confidence_before)
        .cte("updated")
    )
    d = t.unit_domains.c
    ranked = (
        update(t.unit_domains)
        .where(d.unit_id == updated.c.id, updated.c.confidence != updated.c.confidence_before)
        .values(
            confidence=updated.c.confidence,
            # As ``ranking_columns`` computes it: double precision, correctly rounded.
            rank=cast(updated.c.confidence, Float) / cast(updated.c.domain_count, Float),
        )
        .cte("ranked")
    )
    e, f = t.events.c, t.flags.c
    at = _typed("at", e.at)
    event = event_from(
        updated.c.id,
        bindparam("kind", kind, type_=String),
        _typed("actor", e.actor),
        at,
        bindparam("note", type_=Text),
    ).cte("event")
    # The confidence counters it moves the unit between, into the shard the job picked.
    counted = counters.unit_counts_adding(
        [
            (literal("confidence:", String) + cast(points, String), n)
            for points, n in ((updated.c.confidence_before, -1), (updated.c.confidence, 1))
        ],
        updated.c.confidence != updated.c.confidence_before,
    ).cte("counted")
    writes = [ranked, event, counted]
    if flagged:
        flag = insert(t.flags).from_select(
            ["unit_id", "reason", "detail", "duplicate_of", "actor", "created_at"],
            select(
                updated.c.id,
                _typed("flag_reason", f.reason),
                _typed("flag_detail", f.detail),
                _typed("flag_duplicate_of", f.duplicate_of),
                _typed("actor", f.actor),
                at,
            ),
        )
        writes.append(flag.cte("flag"))
    if spent is None:
        answer = select(updated)
    else:
        answer = select(spent.c.until_us, updated).select_from(spent.outerjoin(updated, true()))
    return answer.add_cte(*writes)


@dataclass(frozen=True, slots=True)
class _Kind:
    """One kind of evidence: its change to the unit's row, event, and whether it is a flag."""

    values: dict[str, Any]
    event: str
    flagged: bool
    stepwise: Update
    """The change as a statement of its own (step by step)."""


CONFIRMATION = _Kind(_CONFIRMED, "confirmed", False, _CONFIRM)
FLAG = _Kind(_FLAGGED, "flagged", True, _FLAG)


@dataclass(frozen=True, slots=True)
class NewEvidence:
    """One piece of evidence on ``unit_id`` by ``actor``, spending ``allowance`` (if any)."""

    kind: _Kind
    unit_id: str
    actor: str
    at: datetime
    allowance: Allowance | None
    flag: FlagInput | None = None

    @property
    def note(self) -> str | None:
        """The event's note: a flag's reason."""
        return self.flag.reason.value if self.flag is not None else None


# A write job's answer: the changed unit, None when there is no such approved unit, or a
# refusal when the allowance is spent.
EvidenceJob = Callable[[Connection], KnowledgeUnit | Refused | None]


class EvidenceWrites:
    """Builds evidence write jobs in the dialect's form; statements built once."""

    def __init__(self, dialect: Dialect, counters: Counters, allowances: Allowances) -> None:
        self._counters = counters
        self._allowances = allowances
        self._one_statement: dict[tuple[str, bool], Select[Any]] | None = None
        if dialect.one_statement_writes:
            self._one_statement = {
                (kind.event, spends): _one_statement(
                    kind.values,
                    kind.event,
                    kind.flagged,
                    allowances.statement if spends else None,
                    counters,
                )
                for kind in (CONFIRMATION, FLAG)
                for spends in (False, True)
            }

    def job(self, evidence: NewEvidence) -> EvidenceJob:
        """The write of ``evidence``, spending its allowance first."""
        if self._one_statement is None:
            return self._stepwise(evidence)
        kind, allowance, flag, at = evidence.kind, evidence.allowance, evidence.flag, evidence.at
        statement = self._one_statement[(kind.event, allowance is not None)]
        params: dict[str, Any] = {
            "evidence_unit": evidence.unit_id,
            "actor": evidence.actor,
            "at": at,
            "note": evidence.note,
            "shard": self._counters.shard(),
        }
        if flag is not None:
            params |= {
                "flag_reason": flag.reason.value,
                "flag_detail": flag.detail,
                "flag_duplicate_of": flag.duplicate_of,
            }
        spend = self._allowances.values(allowance, at) if allowance is not None else {}

        def one_statement(conn: Connection) -> KnowledgeUnit | Refused | None:
            row = conn.execute(statement, params | spend).first()
            if row is None:
                if allowance is not None:
                    return Refused(self._allowances.wait(conn, spend))
                return None
            if row.id is None:
                return None
            return self._answer(conn, row)

        return one_statement

    def _stepwise(self, evidence: NewEvidence) -> EvidenceJob:
        kind, unit_id, actor, at = evidence.kind, evidence.unit_id, evidence.actor, evidence.at
        allowance, flag = evidence.allowance, evidence.flag
        values = {"unit_id": unit_id, "at": at} if kind is CONFIRMATION else {"unit_id": unit_id}

        def stepwise(conn: Connection) -> KnowledgeUnit | Refused | None:
            if allowance is not None:
                wait = self._allowances.take(conn, allowance, at)
                if wait is not None:
                    return Refused(wait)
            locked = fetch(conn, _LOCK_CONFIDENCE, {"unit_id": unit_id})
            if not locked:
                return None
            before = locked[0].confidence
            (row,) = fetch(conn, kind.stepwise, values)
            if row.confidence != before:
                sync_ranking(conn, unit_id, ReviewStatus.APPROVED, row.confidence, row.domain_count)
            if flag is not None:
                execute(conn, _INSERT_FLAG, flag_values(unit_id, flag, actor, at))
            add_event(conn, unit_id, kind.event, actor, at, evidence.note)
            if row.confidence != before:
                shift = {f"confidence:{before}": -1, f"confidence:{row.confidence}": 1}
                self._counters.add(conn, Tally(units=Counter(shift)))
            return self._answer(conn, row)

        return stepwise

    @staticmethod
    def _answer(conn: Connection, row: Any) -> KnowledgeUnit:
        (item,) = render(conn, [row])
        return item.unit
