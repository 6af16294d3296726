"""Statements on the driver's cursor (store/sql/driver_statements.py) read what
``Connection.execute`` reads, on both backends: same rows, same decoded values, the same SQL
and values seen by ``before_cursor_execute``, and driver errors handled as SQLAlchemy does."""

import pytest
from sqlalchemy import (
    Integer,
    String,
    bindparam,
    case,
    column,
    event,
    func,
    literal,
    select,
    text,
)
from sqlalchemy.exc import DBAPIError

from colloquy.domain.models import ReviewStatus
from colloquy.store import tables as t
from colloquy.store.sql import driver_statements
from tests.store.factories import add_unit, is_utc, unit_id

# Every kind of value the ranking's statements hold: a list expanded per element, a literal of
# the statement's own, a typed parameter, and whole ``units`` rows (JSON lists, dates).
_u = t.units.c
_above = case((_u.confidence > bindparam("least", type_=Integer()), 1), else_=0).label("above")
UNITS = (
    select(t.units, _above, literal(7, Integer).label("seven"))
    .where(_u.status.in_(bindparam("statuses", expanding=True)), _u.id != bindparam("not_id"))
    .order_by(_u.id)
)
COUNT = (
    text("SELECT count(*) FROM units WHERE status IN :statuses AND id <> :not_id")
    .bindparams(bindparam("statuses", expanding=True, type_=String()))
    .columns(column("n", Integer()))
)


def sync_engine(store):
    engine = store.database.read_engine
    return getattr(engine, "sync_engine", engine)


async def test_rows_are_those_of_connection_execute(store):
    statuses = (ReviewStatus.APPROVED, ReviewStatus.APPROVED, ReviewStatus.REJECTED,
                ReviewStatus.PENDING)  # fmt: skip
    fields = {"domains": ["web", "db"], "languages": ["go"], "extensions": {"k": [1, "v"]}}
    units = [
        await add_unit(store, status, id=unit_id(n), confirms=int(n == 2), **fields)
        for n, status in enumerate(statuses, start=1)
    ]
    for statuses in (["approved"], ["approved", "rejected"], ["approved", "pending", "rejected"]):
        params = {"statuses": statuses, "not_id": units[0].id, "least": 5000}

        def both(conn, params=params):
            return (
                driver_statements.fetch(conn, UNITS, params),
                [tuple(r) for r in conn.execute(UNITS, params)],
                driver_statements.fetch(conn, COUNT, params),
            )

        fetched, executed, ((count,),) = await store.database.read(both)
        assert [tuple(r) for r in fetched] == executed
        assert len(fetched) == count == len(statuses)
        first = fetched[0]
        assert first.id == units[1].id and first.seven == 7 and first.above in (0, 1)
        assert first.domains == ["web", "db"] and first.extensions == {"k": [1, "v"]}
        assert is_utc(first.created_at) and is_utc(first.reviewed_at)
    # A column without a name is named by its position.
    unnamed = select(func.count()).select_from(t.units)
    (row,) = await store.database.read(lambda conn: driver_statements.fetch(conn, unnamed, {}))
    assert row == (4,) and row._0 == 4


async def test_rows_decoded_later_are_those_decoded_at_once(store, backend):
    """Rows fetched without ``decode`` keep the driver's values (SQLite's JSON and dates as
    text) until ``decoded``, which gives the rows a decoding fetch gives, named as they are."""
    fields = {"domains": ["web", "db"], "extensions": {"k": [1, "v"]}}
    for n, status in enumerate((ReviewStatus.APPROVED, ReviewStatus.APPROVED), start=1):
        await add_unit(store, status, id=unit_id(n), **fields)
    params = {"statuses": ["approved"], "not_id": "", "least": 5000}

    def both(conn):
        return (
            driver_statements.fetch(conn, UNITS, params),
            driver_statements.fetch(conn, UNITS, params, decode=False),
        )

    at_once, raw = await store.database.read(both)
    later = driver_statements.decoded(raw)
    assert [tuple(r) for r in later] == [tuple(r) for r in at_once]
    assert [r._fields for r in later] == [r._fields for r in at_once]
    assert later[0].domains == ["web", "db"] and is_utc(later[0].created_at)
    if backend == "sqlite":
        assert isinstance(raw[0].domains, str) and isinstance(raw[0].created_at, str)
    # Rows without a column to decode come back as they are.
    (row,) = await store.database.read(
        lambda conn: driver_statements.fetch(conn, COUNT, params, decode=False)
    )
    assert driver_statements.decoded([row]) == [row]


async def test_listeners_see_the_sql_and_values_the_driver_gets(store):
    await add_unit(store, ReviewStatus.APPROVED)
    engine = sync_engine(store)
    seen: list[tuple[str, tuple]] = []

    def record(_conn, _cursor, statement, parameters, _context, _executemany):
        seen.append((statement, tuple(parameters)))

    params = {"statuses": ["approved", "pending"], "not_id": "none", "least": 1}
    event.listen(engine, "before_cursor_execute", record)
    try:
        await store.database.read(lambda conn: driver_statements.fetch(conn, UNITS, params))
        await store.database.read(lambda conn: conn.execute(UNITS, params).all())
    finally:
        event.remove(engine, "before_cursor_execute", record)
    assert len(seen) == 2
    assert seen[0] == seen[1]


async def test_a_driver_error_is_raised_as_sqlalchemy_raises_it(store):
    broken = text("SELECT no_such_column FROM units WHERE id = :id").columns(column("x"))
    with pytest.raises(DBAPIError) as raised:
        await store.database.read(lambda conn: driver_statements.fetch(conn, broken, {"id": "x"}))
    assert "no_such_column" in str(raised.value.orig)
    # The connection is still good for the next read.
    assert await store.database.read(
        lambda conn: driver_statements.fetch(conn, COUNT, {"statuses": ["x"], "not_id": ""})
    ) == [(0,)]
