"""Units stored before the input bounds (``colloquy doctor``): found, then quarantined.

Earlier versions stored what a unit must not hold (``domain.bounds``): extensions too deep or
too large to render, NaN, NUL characters and lone surrogates (SQLite), domains past their
limit once lower-cased. Such a unit answered 500 wherever it was rendered, export included.
Quarantine rejects it, with the reason in its review note, and repairs it so that it renders,
exports and imports anywhere: unstorable characters become U+FFFD, tags are cut to their
limit, and extensions that break a bound are dropped (the note says why).
"""

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import cq_schema
from sqlalchemy import Row, Table, delete, insert, select, update
from sqlalchemy.engine import Connection

from colloquy.domain import bounds
from colloquy.domain.models import ReviewStatus, Tier
from colloquy.domain.normalize import normalize_pattern, normalize_tags
from colloquy.domain.tag_text import unit_tag_text
from colloquy.store import tables as t
from colloquy.store.protocol import UnitCheck, UnitFinding
from colloquy.store.sql.counters import Counters, Tally, approved_keys, utc_day
from colloquy.store.sql.database import Database
from colloquy.store.sql.ranking import ranking_rows
from colloquy.store.sql.rows import render
from colloquy.store.sql.unit_writes import add_event

NOTE_PREFIX = "quarantined by colloquy doctor: "
# Problems are described briefly: a path into deep extensions can be long.
PROBLEM_CHARS = 200
# A unit's history is repaired this many events at a time.
EVENT_BATCH = 1_000
# A unit left without any domain once repaired (every one was blank) is filed under this one.
NO_DOMAIN = "quarantined"
_TEXT_COLUMNS = ("summary", "detail", "action", "created_by", "reviewed_by", "superseded_by")


def _text(value: Any) -> Any:
    return None if value is None else bounds.replace_unstorable(str(value))


def _list(value: Any) -> list[str]:
    return [_text(v) for v in value] if isinstance(value, list) else []


def _cut(values: list[str], max_length: int) -> list[str]:
    """Each value cut to ``max_length``, blanks dropped, duplicates (cutting makes some) too."""
    cut = (value[:max_length].strip() for value in values)
    return list(dict.fromkeys(value for value in cut if value))


def _extensions(value: Any) -> dict[str, Any] | None:
    if not isinstance(value, dict):
        return None
    try:
        return bounds.canonical_extensions(value)
    except bounds.BoundError:
        return None


def repaired(row: Row[Any]) -> dict[str, Any]:
    """The ``units`` values of ``row`` with everything a bound forbids repaired."""
    values = {name: _text(getattr(row, name)) for name in _TEXT_COLUMNS}
    domains = _cut(normalize_tags(_list(row.domains)), cq_schema.DOMAIN_MAX_LENGTH) or [NO_DOMAIN]
    pattern = _text(row.pattern) or ""
    languages = _cut(_list(row.languages), cq_schema.LANGUAGE_MAX_LENGTH)
    frameworks = _cut(_list(row.frameworks), cq_schema.FRAMEWORK_MAX_LENGTH)
    return values | {
        "domains": domains,
        "domain_count": len(domains),
        "languages": languages,
        "frameworks": frameworks,
        "tag_text": unit_tag_text(domains, languages, frameworks),
        "pattern": pattern,
        "pattern_key": normalize_pattern(pattern),
        "extensions": _extensions(row.extensions),
    }


def _note(problems: list[str], earlier: str | None) -> str:
    note = NOTE_PREFIX + "; ".join(problems)
    if earlier:
        note += f" (earlier note: {_text(earlier)})"
    return note


class QuarantineRepository:
    """Finds the units that break a bound, and quarantines them one at a time."""

    def __init__(self, db: Database, counters: Counters) -> None:
        self._db = db
        self._counters = counters

    async def check_units(self, after: str | None, limit: int) -> UnitCheck:
        stmt = select(t.units).order_by(t.units.c.id).limit(limit)
        if after is not None:
            stmt = stmt.where(t.units.c.id > after)

        def read(conn: Connection) -> UnitCheck:
            rows = conn.execute(stmt).all()
            problems = self._problems(conn, rows)
            findings = [
                UnitFinding(unit_id=row.id, status=ReviewStatus(row.status), problems=found)
                for row, found in zip(rows, problems, strict=True)
                if found
            ]
            next_after = rows[-1].id if len(rows) == limit else None
            return UnitCheck(checked=len(rows), findings=findings, next_after=next_after)

        return await self._db.read(read)

    def _problems(self, conn: Connection, rows: Sequence[Row[Any]]) -> list[list[str]]:
        """Each row's problems: rendered together, or one by one when one of them cannot be."""
        try:
            items = render(conn, rows)
            found = [bounds.unit_problems(i.unit, i.review_note, i.reviewed_by) for i in items]
        except Exception:
            if len(rows) == 1:
                raise
            return [self._row_problems(conn, row) for row in rows]
        return [[bounds.replace_unstorable(p)[:PROBLEM_CHARS] for p in ps] for ps in found]

    def _row_problems(self, conn: Connection, row: Row[Any]) -> list[str]:
        try:
            return (self._problems(conn, [row]))[0]
        except Exception as exc:  # what cannot be rendered is exactly what is looked for
            return [bounds.replace_unstorable(f"cannot be rendered: {exc}")[:PROBLEM_CHARS]]

    async def quarantine_unit(self, unit_id: str, actor: str, at: datetime) -> UnitFinding | None:
        u = t.units.c

        def job(conn: Connection) -> UnitFinding | None:
            locked = select(t.units).where(u.id == unit_id).with_for_update()
            row = conn.execute(locked).first()
            if row is None:
                return None
            problems = self._row_problems(conn, row)
            if not problems:
                return None
            status = ReviewStatus(row.status)
            decided = status is not ReviewStatus.REJECTED
            values = repaired(row) | {"status": ReviewStatus.REJECTED.value}
            values["review_note"] = note = _note(problems, row.review_note)
            if decided:
                values |= {"reviewed_by": actor, "reviewed_at": at}
            conn.execute(update(t.units).where(u.id == unit_id).values(**values))
            self._rerank(conn, unit_id, values)
            self._repair_history(conn, unit_id)
            kind = ReviewStatus.REJECTED.value if decided else "quarantined"
            add_event(conn, unit_id, kind, actor, at, note)
            tally = Tally()
            if decided:
                tally.units.update({f"status:{status.value}": -1, "status:rejected": 1})
                tally.days[(utc_day(at), ReviewStatus.REJECTED.value)] += 1
            if status is ReviewStatus.APPROVED:
                # What approving it added, keyed as it was then.
                tally.units.subtract(approved_keys(Tier(row.tier), row.confidence))
                tally.domains.subtract(row.domains)
            self._counters.add(conn, tally)
            fresh = conn.execute(select(t.units).where(u.id == unit_id)).one()
            left = self._row_problems(conn, fresh)
            if left:  # rolls the whole quarantine back
                raise RuntimeError(f"unit {unit_id} still breaks a bound once repaired: {left}")
            return UnitFinding(unit_id=unit_id, status=status, problems=problems)

        return await self._db.write(job)

    def _rerank(self, conn: Connection, unit_id: str, values: dict[str, Any]) -> None:
        """The unit's ranking rows, rebuilt from its repaired tags, outside every ranking range
        (it is rejected)."""
        conn.execute(delete(t.unit_domains).where(t.unit_domains.c.unit_id == unit_id))
        rows = ranking_rows(
            values["domains"], values["languages"], values["frameworks"], values["pattern_key"]
        )
        conn.execute(
            insert(t.unit_domains),
            [{"unit_id": unit_id, **r, "confidence": None, "rank": None} for r in rows],
        )

    def _repair_history(self, conn: Connection, unit_id: str) -> None:
        """Unstorable characters in the unit's flags and events, replaced, a batch at a time."""
        for table, columns in ((t.flags, ("detail", "actor")), (t.events, ("note", "actor"))):
            self._repair_rows(conn, table, columns, unit_id)

    def _repair_rows(
        self, conn: Connection, table: Table, columns: tuple[str, ...], unit_id: str
    ) -> None:
        c = table.c
        last = 0
        while True:
            batch = conn.execute(
                select(c.id, *(c[name] for name in columns))
                .where(c.unit_id == unit_id, c.id > last)
                .order_by(c.id)
                .limit(EVENT_BATCH)
            ).all()
            for row in batch:
                fixed = {name: _text(getattr(row, name)) for name in columns}
                if any(fixed[name] != getattr(row, name) for name in columns):
                    conn.execute(update(table).where(c.id == row.id).values(**fixed))
            if len(batch) < EVENT_BATCH:
                return
            last = batch[-1].id
