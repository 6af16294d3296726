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
    insert,
    literal,
    select,
    text,
)
from sqlalchemy.exc import DBAPIError, IntegrityError

from colloquy.domain.models import ReviewStatus
from colloquy.store import tables as t
from colloquy.store.sql import driver_statements
from tests.store.factories import add_unit, at, is_utc, unit_id

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


def sync_write_engine(store):
    engine = store.database.write_engine
    return getattr(engine, "sync_engine", engine)


def _events(unit: str, kind: str, n: int) -> list[dict]:
    return [
        {"unit_id": unit, "kind": kind, "actor": f"a{i}", "at": at(i), "note": None,
         "duplicate_of": None}
        for i in range(n)
    ]  # fmt: skip


_EVENTS_OF = (
    select(t.events.c.kind, t.events.c.actor, t.events.c.at)
    .where(t.events.c.kind.in_(bindparam("kinds", expanding=True)))
    .order_by(t.events.c.kind, t.events.c.actor)
)


async def test_writes_send_and_write_what_connection_execute_does(store):
    """One row and several (``executemany``), and an upsert's ``RETURNING``: the same SQL and
    values reach the driver (values processed: aware dates, JSON) and the same rows are written."""
    unit = (await add_unit(store, ReviewStatus.APPROVED)).id
    engine = sync_write_engine(store)
    seen: list[tuple[str, object, bool]] = []

    def record(_conn, _cursor, statement, parameters, _context, executemany):
        seen.append((statement, parameters, executemany))

    c = t.unit_counts.c
    upsert = store.database.dialect.upsert(t.unit_counts).values(
        key=bindparam("k"), shard=0, n=bindparam("n")
    )
    upsert = upsert.on_conflict_do_update(
        index_elements=["key", "shard"], set_={"n": c.n + upsert.excluded.n}
    ).returning(c.n)

    def both(conn):
        answers = []
        for n in (1, 3):
            driver_statements.execute(conn, insert(t.events), _events(unit, "same", n))
            conn.execute(insert(t.events), _events(unit, "same", n))
        driver_statements.execute(conn, insert(t.events), _events(unit, "one", 1)[0])
        for _ in range(2):
            answers.append(
                [tuple(r) for r in driver_statements.fetch(conn, upsert, {"k": "x", "n": 2})]
            )
            answers.append([tuple(r) for r in conn.execute(upsert, {"k": "y", "n": 2})])
        return answers

    event.listen(engine, "before_cursor_execute", record)
    try:
        answers = await store.database.write(both)
    finally:
        event.remove(engine, "before_cursor_execute", record)
    assert answers == [[(2,)], [(2,)], [(4,)], [(4,)]]
    ours = [s for s in seen if "events" in s[0] or "unit_counts" in s[0]]
    assert len(ours) == 9
    # Every pair (ours, then Connection.execute's) the same: SQL, values, executemany or not.
    for mine, theirs in (ours[0:2], ours[2:4]):
        assert mine[0] == theirs[0] and mine[2] == theirs[2]
        assert [tuple(v) for v in (mine[1] if mine[2] else [mine[1]])] == [
            tuple(v) for v in (theirs[1] if theirs[2] else [theirs[1]])
        ]
    assert [s[2] for s in ours[:5]] == [False, False, True, True, False]
    assert ours[5][0] == ours[6][0] and list(ours[5][1])[1:] == list(ours[6][1])[1:]
    written = await store.database.read(
        lambda conn: driver_statements.fetch(conn, _EVENTS_OF, {"kinds": ["same", "one"]})
    )
    assert [tuple(r) for r in written] == sorted(
        [(e["kind"], e["actor"], e["at"]) for e in _events(unit, "one", 1)]
        + [(e["kind"], e["actor"], e["at"]) for n in (1, 1, 3, 3) for e in _events(unit, "same", n)]
    )


async def test_a_date_value_is_bound_as_connection_execute_binds_it(store):
    """A value of a column's type is processed for the driver as SQLAlchemy processes it: an
    aware date compared with stored ones finds the row (SQLite keeps naive UTC text)."""
    unit = (await add_unit(store, ReviewStatus.APPROVED)).id
    await store.database.write(
        lambda conn: driver_statements.execute(conn, insert(t.events), _events(unit, "dated", 3))
    )
    e = t.events.c
    on = select(e.actor).where(e.kind == "dated", e.at == bindparam("when", type_=e.at.type))
    found = await store.database.read(
        lambda conn: driver_statements.fetch(conn, on, {"when": at(1)})
    )
    assert [r.actor for r in found] == ["a1"]


async def test_a_taken_key_raises_the_integrity_error_connection_execute_raises(store):
    unit = await add_unit(store, ReviewStatus.APPROVED)
    taken = {"key": "k", "shard": 0, "n": 1}

    def twice(conn):
        driver_statements.execute(conn, insert(t.unit_counts), taken)
        driver_statements.execute(conn, insert(t.unit_counts), taken)

    with pytest.raises(IntegrityError):
        await store.database.write(twice)
    # Nothing of the failed write was kept, and the writer writes again.
    await store.database.write(
        lambda conn: driver_statements.execute(conn, insert(t.events), _events(unit.id, "z", 1))
    )
    kept = await store.database.read(
        lambda conn: conn.execute(select(t.unit_counts.c.n).where(t.unit_counts.c.key == "k")).all()
    )
    assert kept == []
