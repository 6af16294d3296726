"""What a change to units writes besides the ``units`` row: the unit's ranking rows, its event,
and whole units inserted with everything of theirs. Each runs inside the caller's write job,
in the lock order (``database``), its statements on the driver's cursor (``driver_statements``)."""

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Insert, bindparam, insert, null, select, update
from sqlalchemy.engine import Connection

from colloquy.domain import scoring
from colloquy.domain.models import ReviewStatus
from colloquy.domain.normalize import normalize_pattern
from colloquy.store import tables as t
from colloquy.store.protocol import UnitArchive
from colloquy.store.sql.counters import Counters, Tally, approved_keys, utc_day
from colloquy.store.sql.driver_statements import execute
from colloquy.store.sql.ranking import ranking_rows
from colloquy.store.sql.rows import event_values, flag_values, unit_values

# Statements that most writes run, built once.
_INSERT = {table: insert(table) for table in (t.units, t.unit_domains, t.flags, t.events)}
_INSERT_EVENT = _INSERT[t.events]
_SYNC_RANKING = (
    update(t.unit_domains)
    .where(t.unit_domains.c.unit_id == bindparam("ranked_unit"))
    .values(confidence=bindparam("points"), rank=bindparam("new_rank"))
)


def ranking_columns(status: ReviewStatus, points: int, domain_count: int) -> dict[str, Any]:
    """The ranking columns of a unit's domain rows: set only while it is approved."""
    if status is not ReviewStatus.APPROVED:
        return {"confidence": None, "rank": None}
    return {"confidence": points, "rank": points / domain_count}


def sync_ranking(
    conn: Connection, unit_id: str, status: ReviewStatus, points: int, domain_count: int
) -> None:
    """The unit's ranking rows, after a change of its status or confidence."""
    columns = ranking_columns(status, points, domain_count)
    values = {"ranked_unit": unit_id, "points": columns["confidence"], "new_rank": columns["rank"]}
    execute(conn, _SYNC_RANKING, values)


def add_event(
    conn: Connection,
    unit_id: str,
    kind: str,
    actor: str,
    at: datetime,
    note: str | None = None,
    duplicate_of: str | None = None,
) -> None:
    execute(conn, _INSERT_EVENT, event_values(unit_id, kind, actor, at, note, duplicate_of))


def event_from(
    unit_id: ColumnElement[Any],
    kind: ColumnElement[Any],
    actor: ColumnElement[Any],
    at: ColumnElement[Any],
    note: ColumnElement[Any],
) -> Insert:
    """An event inserted from the columns of another step of the same statement (a write in
    one statement: ``evidence``, ``proposals``), as ``add_event`` inserts one from values."""
    return insert(t.events).from_select(
        ["unit_id", "kind", "actor", "at", "note", "duplicate_of"],
        select(unit_id, kind, actor, at, note, null()),
    )


def insert_units(conn: Connection, counters: Counters, archives: Sequence[UnitArchive]) -> None:
    """Insert units with their ranking rows, flags and events, and count them."""
    values: dict[t.Table, list[dict[str, Any]]] = {table: [] for table in _INSERT}
    tally = Tally()
    for archive in archives:
        item, unit = archive.item, archive.item.unit
        points = scoring.to_points(unit.evidence.confidence)
        tally.units[f"status:{item.status.value}"] += 1
        if item.status is ReviewStatus.APPROVED:
            tally.units.update(approved_keys(unit.tier, points))
            tally.domains.update(unit.domains)
        values[t.units].append(unit_values(item))
        columns = ranking_columns(item.status, points, len(unit.domains))
        values[t.unit_domains] += [
            {"unit_id": unit.id, **row, **columns}
            for row in ranking_rows(
                unit.domains,
                unit.context.languages,
                unit.context.frameworks,
                normalize_pattern(unit.context.pattern),
            )
        ]
        # An archived flag does not say who raised it.
        values[t.flags] += [flag_values(unit.id, f, "", f.timestamp) for f in unit.flags]
        values[t.events] += [
            event_values(unit.id, e.kind, e.actor, e.at, e.note, e.duplicate_of)
            for e in archive.events
        ]
        tally.days[(utc_day(unit.evidence.first_observed), "proposed")] += 1
        if item.reviewed_at is not None and item.status is not ReviewStatus.PENDING:
            tally.days[(utc_day(item.reviewed_at), item.status.value)] += 1
    # In the lock order: units, unit_domains, flags, events, then the counters.
    for table, table_values in values.items():
        if table_values:
            execute(conn, _INSERT[table], table_values)
    counters.add(conn, tally)
